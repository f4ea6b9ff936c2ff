import type { HealthLevel } from '../core/pool-health.js';
import type { LeaseSnapshot } from '../core/lease.js';
import type { InspectorSnapshot, PoolSnapshot } from '../core/pool-snapshot.js';
import type { PoolStats } from '../core/pool-stats.js';
import type { Recommendation } from '../core/recommendations.js';
import { formatRecommendation } from '../core/recommendations.js';
import type { PoolApiView, PoolListReport } from '../http/pool-api-routes.js';
import type { RecommendationsReport } from '../http/recommendations-route.js';
import type { UtilizationMarker } from './utilization-marker.js';
import { MARKER_COLORS } from './utilization-marker.js';
import { distributionRow, formatMillisShort } from './latency-summary.js';
import { paint } from './terminal-style.js';
import { textTable } from './text-table.js';
import { counterText, notAvailableText } from './pool-counters-text.js';
import type { InspectWorkerPoolReport, WorkerPoolSource } from './worker-pool-report.js';
import { workerPoolLines, workerPoolReport } from './worker-pool-report.js';

export { counterText, notAvailableText } from './pool-counters-text.js';
export type { InspectWorkerPoolReport } from './worker-pool-report.js';

/**
 * What `poolscope inspect` shows, as pure functions of the API's answers: the report object (its JSON output) and
 * its text rendering. No I/O here, so tests render fixed bodies.
 */

export { UTILIZATION_MARKERS } from './utilization-marker.js';
export type { UtilizationMarker } from './utilization-marker.js';

/**
 * The marker of each health level (HEALTH_LEVELS, src/core/pool-health.ts): the markers are the levels under seed
 * 002's names, never a verdict of their own. `normal` shows as `GOOD`, or `LOW` below LOW_UTILIZATION_PERCENT.
 */
export const MARKER_OF_LEVEL = Object.freeze({
  normal: 'GOOD',
  warning: 'HIGH',
  critical: 'CRITICAL',
} as const satisfies Record<HealthLevel, UtilizationMarker>);

/** Below this utilization (whole percent) a `normal` pool shows `LOW`: more connections than its load uses. */
export const LOW_UTILIZATION_PERCENT = 60;

/**
 * The marker of a pool: `CRITICAL` when it is critical (isPoolCritical: the exit code is then 1), else its level's
 * marker (`HIGH` for `warning`: at or above its `warningPercent`, or callers waiting), with `normal` split into `LOW`
 * (below 60% in use) and `GOOD`.
 */
export function utilizationMarker(stats: PoolStats): UtilizationMarker {
  if (isPoolCritical(stats)) return 'CRITICAL';
  const marker = MARKER_OF_LEVEL[stats.level];
  return marker === 'GOOD' && stats.utilizationPercent < LOW_UTILIZATION_PERCENT ? 'LOW' : marker;
}

/**
 * A pool that makes `inspect` exit 1: not `expectFull`, and at level `critical` (its own `criticalPercent`, 90 by
 * default) or above 90% utilization.
 */
export function isPoolCritical(stats: PoolStats): boolean {
  return !stats.expectFull && (stats.level === 'critical' || stats.utilizationPercent > 90);
}

/** One pool in the report: the API's view plus the marker and the verdict. */
export interface InspectPoolReport extends PoolApiView {
  readonly marker: UtilizationMarker;
  /** isPoolCritical(stats). */
  readonly critical: boolean;
}

/** The JSON output of `poolscope inspect` (docs/reference/cli.md). Fields may be added, never renamed or removed. */
export interface InspectReport {
  /** The ops routes' base read (the URL with the prefix). */
  readonly url: string;
  /** When the app read its pools (the `/api/pools` answer's timestamp). */
  readonly timestamp: string;
  readonly pools: readonly InspectPoolReport[];
  /**
   * The worker pools (`/api/worker-pools`), with their workers under --detailed. Absent when the app's poolscope
   * predates worker pools (the route answered 404).
   */
  readonly workerPools?: readonly InspectWorkerPoolReport[];
  /** With --detailed: the `/api/snapshot` answer (only the --pool pool when given). */
  readonly snapshot?: InspectorSnapshot;
  /** With --recommendations: the `/api/recommendations` answer's list. */
  readonly recommendations?: readonly Recommendation[];
  /** Any pool or worker pool critical (the exit code is then 1). */
  readonly critical: boolean;
}

/** The API answers a report is built from. */
export interface InspectSources {
  readonly url: string;
  readonly pools: PoolListReport;
  /** `/api/worker-pools`' entries, or `/api/worker-pools/:name` answers (with workers); undefined: no such route. */
  readonly workerPools?: readonly WorkerPoolSource[] | undefined;
  readonly snapshot?: InspectorSnapshot | undefined;
  readonly recommendations?: RecommendationsReport | undefined;
  /** Keep only this pool (the snapshot lists every pool). */
  readonly pool?: string | undefined;
}

/** Builds the report from the API's answers. */
export function buildInspectReport(sources: InspectSources): InspectReport {
  const wanted = (name: string): boolean => sources.pool === undefined || name === sources.pool;
  const pools = sources.pools.pools
    .filter((view) => wanted(view.poolName))
    .map((view): InspectPoolReport => ({
      poolName: view.poolName,
      driver: view.driver,
      marker: utilizationMarker(view.stats),
      critical: isPoolCritical(view.stats),
      stats: view.stats,
      config: view.config,
    }));
  const workerPools = sources.workerPools?.filter((source) => wanted(source.poolName)).map(workerPoolReport);
  const critical = pools.some((pool) => pool.critical) || (workerPools ?? []).some((pool) => pool.critical);
  let report: InspectReport =
    workerPools === undefined
      ? { url: sources.url, timestamp: sources.pools.timestamp, pools, critical }
      : { url: sources.url, timestamp: sources.pools.timestamp, pools, workerPools, critical };
  if (sources.snapshot !== undefined) {
    const snapshot = sources.snapshot;
    const kept = snapshot.pools.filter((pool) => wanted(pool.poolName));
    const owners = snapshot.multiPoolOwners.filter((owner) => Object.keys(owner.leases).some(wanted));
    report = { ...report, snapshot: { takenAt: snapshot.takenAt, pools: kept, multiPoolOwners: owners } };
  }
  if (sources.recommendations !== undefined) {
    report = { ...report, recommendations: sources.recommendations.recommendations.filter((r) => r.poolName === null || wanted(r.poolName)) };
  }
  return report;
}

/** The JSON output: the report, indented, one trailing newline. */
export function renderInspectJson(report: InspectReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export interface InspectTextOptions {
  /** ANSI colours (only on a terminal without NO_COLOR). */
  readonly color: boolean;
}

/** Longest query text shown in a holder line. */
export const MAX_QUERY_TEXT_SHOWN = 60;

/** The text output of `poolscope inspect`. Ends with a newline. */
export function renderInspectText(report: InspectReport, options: InspectTextOptions): string {
  const { color } = options;
  const out: string[] = [`poolscope inspect ${report.url} at ${report.timestamp}`, ''];
  const workerPools = report.workerPools ?? [];
  if (report.pools.length === 0 && workerPools.length === 0) out.push('No pool is tracked.', '');
  for (const pool of report.pools) {
    out.push(...poolLines(pool, color));
    const snapshot = report.snapshot?.pools.find((candidate) => candidate.poolName === pool.poolName);
    if (report.snapshot !== undefined) out.push(...leaseLines(snapshot));
    out.push('');
  }
  for (const pool of workerPools) out.push(...workerPoolLines(pool, color), '');
  const owners = report.snapshot?.multiPoolOwners ?? [];
  if (owners.length > 0) {
    out.push(`Owners holding connections of several pools (${owners.length})`);
    for (const entry of owners) {
      const leases = Object.entries(entry.leases).map(([pool, ids]) => `${pool} ${ids.map((id) => `#${id}`).join(' ')}`);
      out.push(`  ${entry.owner.label}: ${leases.join('; ')}`);
    }
    out.push('');
  }
  if (report.recommendations !== undefined) {
    if (report.recommendations.length === 0) out.push('Recommendations: none', '');
    else {
      out.push(`Recommendations (${report.recommendations.length})`);
      for (const recommendation of report.recommendations) {
        out.push(...formatRecommendation(recommendation).split('\n').map((line) => `  ${line}`));
      }
      out.push('');
    }
  }
  const critical = [
    ...report.pools.filter((pool) => pool.critical).map((pool) => pool.poolName),
    ...workerPools.filter((pool) => pool.critical).map((pool) => `worker pool ${pool.poolName}`),
  ];
  out.push(
    critical.length === 0
      ? 'No pool is critical.'
      : paint(`Critical: ${critical.join(', ')} (exit code 1).`, 'red', color),
  );
  return `${out.join('\n')}\n`;
}

function poolLines(pool: InspectPoolReport, color: boolean): string[] {
  const s = pool.stats;
  const marker = paint(`[${pool.marker}]`, MARKER_COLORS[pool.marker], color);
  const judged = s.expectFull ? '  expectFull: full by design, not judged' : '';
  const lines = [`Pool ${paint(pool.poolName, 'bold', color)} (${pool.driver})  ${marker} ${s.utilizationPercent}% in use  level ${s.level}${judged}`];
  const missing = notAvailableText(s);
  if (missing !== '') lines.push(`  Not available from the ${pool.driver} adapter: ${missing}`);
  lines.push(
    textTable(
      [
        ['total', 'idle', 'used', 'pending', 'max', 'min'],
        [s.total, s.idle, s.used, s.pending, s.max, s.min].map(String),
      ],
      { align: ['right', 'right', 'right', 'right', 'right', 'right'] },
    ),
    '',
    textTable(
      [
        ['time', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'count'],
        distributionRow('wait', s.waitTime),
        distributionRow('use', s.useTime),
      ],
      { align: ['left', 'right', 'right', 'right', 'right', 'right'] },
    ),
    '',
    `  ${counterText(s)}`,
  );
  return lines;
}

function leaseLines(snapshot: PoolSnapshot | undefined): string[] {
  if (snapshot === undefined) return ['', '  (not in the snapshot)'];
  const lines = [''];
  if (snapshot.holders.length === 0) lines.push('  Holders: none');
  else {
    lines.push(`  Holders (${snapshot.holders.length})`);
    lines.push(
      textTable(
        [
          ['lease', 'owner', 'held ms', 'state', 'query', 'location'],
          ...snapshot.holders.map((lease) => [
            `#${lease.id}`,
            ownerText(lease),
            formatMillisShort(lease.heldMillis),
            stateText(lease),
            queryText(lease),
            lease.location ?? '-',
          ]),
        ],
        { indent: '    ', align: ['left', 'left', 'right'] },
      ),
    );
  }
  if (snapshot.waiters.length === 0) lines.push('  Waiters: none');
  else {
    lines.push(`  Waiters (${snapshot.waiters.length})`);
    lines.push(
      textTable(
        [
          ['lease', 'owner', 'waiting ms', 'location'],
          ...snapshot.waiters.map((lease) => [`#${lease.id}`, ownerText(lease), formatMillisShort(lease.waitMillis), lease.location ?? '-']),
        ],
        { indent: '    ', align: ['left', 'left', 'right'] },
      ),
    );
  }
  return lines;
}

function ownerText(lease: LeaseSnapshot): string {
  if (lease.owner === null) return '-';
  return lease.owner.ended ? `${lease.owner.label} (ended)` : lease.owner.label;
}

/** `held, in-transaction depth 2`, plus `leak suspected` / the connection's error when there is one. */
function stateText(lease: LeaseSnapshot): string {
  const { status, depth } = lease.transaction;
  const tx = status === 'not-available' ? 'transaction not available' : depth !== null && depth > 0 ? `${status} depth ${depth}` : status;
  const parts = [lease.state, tx];
  if (lease.leakSuspected) parts.push('leak suspected');
  if (lease.connectionError !== null) parts.push('connection error');
  return parts.join(', ');
}

function queryText(lease: LeaseSnapshot): string {
  if (lease.queriesRun === null) return 'n/a';
  if (lease.query === null) return '-';
  const oneLine = lease.query.text.replace(/\s+/g, ' ').trim();
  const text = oneLine.length > MAX_QUERY_TEXT_SHOWN ? `${oneLine.slice(0, MAX_QUERY_TEXT_SHOWN - 3)}...` : oneLine;
  return lease.query.runningMillis === null ? text : `${text} (running ${formatMillisShort(lease.query.runningMillis)} ms)`;
}
