import type { HealthLevel } from '../core/pool-health.js';
import type { ReadyzReport } from '../http/readyz-route.js';
import type { LatencySummary } from './latency-summary.js';
import { formatMillisShort, summarizeLatencies } from './latency-summary.js';
import type { StressOptions } from './stress-options.js';
import { textTable } from './text-table.js';

/**
 * What `poolscope stress` reports, as data and pure renderers: the wave results, pool health readings from
 * `/readyz`, the summary, the JSON output and the text lines.
 */

/** One pool as `/readyz` showed it. */
export interface StressPoolHealth {
  readonly poolName: string;
  readonly usedCount: number;
  readonly maxCount: number;
  readonly utilizationPercent: number;
  readonly waitingCount: number;
  readonly level: HealthLevel;
}

/** One read of the health URL. */
export interface StressHealthReading {
  readonly readAt: string;
  /** The HTTP status, null when there was no answer. */
  readonly httpStatus: number | null;
  /** `/readyz`'s verdict (`ok` or `unavailable`), null when not read. */
  readonly status: string | null;
  readonly pools: readonly StressPoolHealth[];
  /** Why there is no reading, null when there is one. */
  readonly error: string | null;
}

/** One wave of concurrent requests. */
export interface StressWaveReport {
  /** 1-based. */
  readonly wave: number;
  /** Requests sent. */
  readonly requests: number;
  /** False when Ctrl-C cut the wave short. */
  readonly completed: boolean;
  /** Answered with a status below 400. */
  readonly succeeded: number;
  /** Answered with a status of 400 or more, or no answer (network error, timeout). */
  readonly failed: number;
  /** Cancelled by Ctrl-C (neither success nor failure). */
  readonly aborted: number;
  /** Answers by HTTP status (`{"200": 48, "503": 2}`). */
  readonly statuses: Readonly<Record<string, number>>;
  /** Requests with no answer, by reason (`timeout`, `ECONNREFUSED`, ...). */
  readonly errors: Readonly<Record<string, number>>;
  /** Time to the full answer of every request that got one (any status); null when none did. */
  readonly latency: LatencySummary | null;
  /** The wave's wall time. */
  readonly durationMillis: number;
  /** Pool health read right after the wave; null when interrupted before the read. */
  readonly health: StressHealthReading | null;
}

/** A pool's worst moment over the run. */
export interface StressPoolPeak {
  readonly poolName: string;
  readonly maxCount: number;
  readonly peakUtilizationPercent: number;
  /** The wave after which the peak was read (0: before the first wave). */
  readonly peakUtilizationWave: number;
  readonly peakWaitingCount: number;
  readonly peakWaitingWave: number;
}

export interface StressSummary {
  readonly wavesRun: number;
  readonly totalRequests: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly aborted: number;
  /** failed / (succeeded + failed), percent with one decimal; 0 when nothing finished. */
  readonly failureRatePercent: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  /** Every answered request of the run. */
  readonly latency: LatencySummary | null;
  /** Most failures, then the highest p95; null when no wave ran. */
  readonly worstWave: { readonly wave: number; readonly failed: number; readonly p95Millis: number | null } | null;
  /** Per pool, over the initial reading and every wave's. */
  readonly peaks: readonly StressPoolPeak[];
}

/** The JSON output of `poolscope stress` (docs/reference/cli.md). Fields may be added, never renamed or removed. */
export interface StressReport {
  readonly target: { readonly url: string; readonly healthUrl: string };
  readonly settings: {
    readonly requests: number;
    readonly waves: number;
    readonly delayMillis: number;
    readonly timeoutMillis: number;
  };
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Ctrl-C stopped the run: the waves are those run so far. */
  readonly interrupted: boolean;
  readonly initialHealth: StressHealthReading | null;
  readonly waves: readonly StressWaveReport[];
  readonly summary: StressSummary;
}

/** A health reading from a `/readyz` body. */
export function healthReadingOf(body: ReadyzReport, httpStatus: number, readAt: string): StressHealthReading {
  const pools = Array.isArray(body.pools) ? body.pools : [];
  return {
    readAt,
    httpStatus,
    status: typeof body.status === 'string' ? body.status : null,
    pools: pools.map((pool) => ({
      poolName: pool.poolName,
      usedCount: pool.usedCount,
      maxCount: pool.maxCount,
      utilizationPercent: pool.utilizationPercent,
      waitingCount: pool.waitingCount,
      level: pool.level,
    })),
    error: null,
  };
}

/** The summary of a run from its waves and every answered request's latency. */
export function summarizeStress(
  initialHealth: StressHealthReading | null,
  waves: readonly StressWaveReport[],
  latenciesMillis: readonly number[],
): StressSummary {
  const succeeded = sum(waves.map((wave) => wave.succeeded));
  const failed = sum(waves.map((wave) => wave.failed));
  const finished = succeeded + failed;
  let worstWave: StressSummary['worstWave'] = null;
  for (const wave of waves) {
    const p95 = wave.latency?.p95Millis ?? null;
    if (worstWave === null || wave.failed > worstWave.failed || (wave.failed === worstWave.failed && (p95 ?? -1) > (worstWave.p95Millis ?? -1))) {
      worstWave = { wave: wave.wave, failed: wave.failed, p95Millis: p95 };
    }
  }
  const peaks = new Map<string, StressPoolPeak>();
  const readings: [number, StressHealthReading | null][] = [[0, initialHealth], ...waves.map((wave): [number, StressHealthReading | null] => [wave.wave, wave.health])];
  for (const [wave, reading] of readings) {
    for (const pool of reading?.pools ?? []) {
      const peak = peaks.get(pool.poolName);
      peaks.set(pool.poolName, {
        poolName: pool.poolName,
        maxCount: pool.maxCount,
        peakUtilizationPercent: peak === undefined ? pool.utilizationPercent : Math.max(peak.peakUtilizationPercent, pool.utilizationPercent),
        peakUtilizationWave: peak === undefined || pool.utilizationPercent > peak.peakUtilizationPercent ? wave : peak.peakUtilizationWave,
        peakWaitingCount: peak === undefined ? pool.waitingCount : Math.max(peak.peakWaitingCount, pool.waitingCount),
        peakWaitingWave: peak === undefined || pool.waitingCount > peak.peakWaitingCount ? wave : peak.peakWaitingWave,
      });
    }
  }
  return {
    wavesRun: waves.length,
    totalRequests: sum(waves.map((wave) => wave.requests)),
    succeeded,
    failed,
    aborted: sum(waves.map((wave) => wave.aborted)),
    failureRatePercent: finished === 0 ? 0 : Math.round((failed / finished) * 1000) / 10,
    statuses: mergeCounts(waves.map((wave) => wave.statuses)),
    errors: mergeCounts(waves.map((wave) => wave.errors)),
    latency: summarizeLatencies(latenciesMillis),
    worstWave,
    peaks: [...peaks.values()],
  };
}

/** The JSON output: the report, indented, one trailing newline. */
export function renderStressJson(report: StressReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** The first line of the text output. */
export function renderStressHeader(options: Pick<StressOptions, 'targetUrl' | 'waves' | 'requests' | 'delayMillis' | 'timeoutMillis'>): string {
  return (
    `poolscope stress ${options.targetUrl}: ${options.waves} wave(s) x ${options.requests} concurrent request(s), ` +
    `${options.delayMillis} ms apart, timeout ${options.timeoutMillis} ms per request\n`
  );
}

/** A health reading as a small table (the initial one). */
export function renderHealthTable(title: string, reading: StressHealthReading): string {
  if (reading.error !== null) return `${title}: not read (${reading.error})\n`;
  const head = `${title} (${reading.status ?? 'no status'}, HTTP ${reading.httpStatus ?? '-'})`;
  if (reading.pools.length === 0) return `${head}: no pool tracked\n`;
  const rows = [
    ['pool', 'used/max', 'utilization', 'waiting', 'level'],
    ...reading.pools.map((pool) => [pool.poolName, `${pool.usedCount}/${pool.maxCount}`, `${pool.utilizationPercent}%`, String(pool.waitingCount), pool.level]),
  ];
  return `${head}\n${textTable(rows, { align: ['left', 'right', 'right', 'right', 'left'] })}\n`;
}

/** One wave as one line: counts, failures by kind, latency, and the pools after it. */
export function renderWaveLine(wave: StressWaveReport, waves: number): string {
  const width = String(waves).length;
  const parts = [`wave ${String(wave.wave).padStart(width)}/${waves}`, `${wave.succeeded} ok`, `${wave.failed} failed`];
  if (wave.failed > 0) parts[2] += ` (${failureKinds(wave.statuses, wave.errors)})`;
  if (wave.aborted > 0) parts.push(`${wave.aborted} aborted`);
  parts.push(wave.latency === null ? 'no answer' : latencyText(wave.latency));
  let line = parts.join('  ');
  if (wave.health !== null) line += `  | ${healthText(wave.health)}`;
  if (!wave.completed) line += '  (interrupted)';
  return `${line}\n`;
}

/** The final summary, several lines. */
export function renderStressSummary(report: StressReport): string {
  const s = report.summary;
  const lines = [report.interrupted ? `Summary (interrupted after ${s.wavesRun} wave(s))` : `Summary (${s.wavesRun} wave(s))`];
  lines.push(
    `  requests ${s.totalRequests}: ${s.succeeded} ok, ${s.failed} failed (${s.failureRatePercent}%)` + (s.aborted > 0 ? `, ${s.aborted} aborted` : ''),
  );
  if (s.failed > 0) lines.push(`  failures: ${failureKinds(failedStatuses(s.statuses), s.errors)}`);
  lines.push(`  latency ${s.latency === null ? 'none (no answer)' : latencyText(s.latency)}`);
  if (s.worstWave !== null) {
    lines.push(`  worst wave ${s.worstWave.wave}: ${s.worstWave.failed} failed, p95 ${s.worstWave.p95Millis === null ? '-' : `${formatMillisShort(s.worstWave.p95Millis)} ms`}`);
  }
  if (s.peaks.length > 0) {
    lines.push('  pool peaks (wave 0 = before the first wave):');
    lines.push(
      textTable(
        [
          ['pool', 'peak utilization', 'peak waiting'],
          ...s.peaks.map((peak) => [
            peak.poolName,
            `${peak.peakUtilizationPercent}% of ${peak.maxCount} (wave ${peak.peakUtilizationWave})`,
            `${peak.peakWaitingCount} (wave ${peak.peakWaitingWave})`,
          ]),
        ],
        { indent: '    ' },
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

function healthText(reading: StressHealthReading): string {
  if (reading.error !== null) return `health not read: ${reading.error}`;
  if (reading.pools.length === 0) return 'no pool tracked';
  return reading.pools.map((pool) => `${pool.poolName} ${pool.utilizationPercent}% (${pool.usedCount}/${pool.maxCount}) waiting ${pool.waitingCount}`).join('; ');
}

function latencyText(latency: LatencySummary): string {
  return `p50 ${formatMillisShort(latency.p50Millis)}  p95 ${formatMillisShort(latency.p95Millis)}  p99 ${formatMillisShort(latency.p99Millis)}  max ${formatMillisShort(latency.maxMillis)} ms`;
}

function failedStatuses(statuses: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(statuses).filter(([status]) => Number(status) >= 400));
}

/** `503 x 3, timeout x 1`. Only statuses >= 400 count as failures. */
function failureKinds(statuses: Readonly<Record<string, number>>, errors: Readonly<Record<string, number>>): string {
  return [...Object.entries(failedStatuses(statuses)), ...Object.entries(errors)].map(([kind, count]) => `${kind} x ${count}`).join(', ');
}

function mergeCounts(all: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const merged = new Map<string, number>();
  for (const counts of all) {
    for (const [key, count] of Object.entries(counts)) merged.set(key, (merged.get(key) ?? 0) + count);
  }
  return Object.fromEntries(merged);
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
