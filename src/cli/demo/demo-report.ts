import type { Inspector } from '../../core/inspector.js';
import type { LeaseSnapshot } from '../../core/lease.js';
import type { PoolSnapshot } from '../../core/pool-snapshot.js';
import type { PoolscopeEventOf } from '../../core/pool-events.js';
import { formatMillis } from '../../core/format-millis.js';
import type { PlantedSite } from './demo-leak-sites.js';

/**
 * What `poolscope demo` prints about what poolscope found: the misuse reports (events grouped by kind and source
 * line), the saturation snapshot, and whether each planted misuse was reported at its line.
 */

/** The event types the demo collects: every kind of misuse report, and acquire timeouts. */
export const DEMO_REPORTED_EVENTS = [
  'leak-suspected',
  'owner-ended-holding',
  'release-in-flight',
  'dirty-release',
  'double-release',
  'foreign-release',
  'acquire-timeout',
] as const;
export type DemoReportedEvent = (typeof DEMO_REPORTED_EVENTS)[number];

/** Reports of one kind at one source line. */
export interface DemoReportGroup {
  readonly type: DemoReportedEvent;
  readonly poolName: string;
  /** The line the report names: where the connection was acquired, or released (release misuse), or waited. */
  readonly location: string | null;
  /** The request/job labels seen. */
  readonly owners: readonly string[];
  readonly count: number;
  /** The first report's message, as poolscope wrote it. */
  readonly example: string;
}

/** Collects the reports of an inspector, grouped by kind and line (bounded: one example per group). */
export class DemoReportLog {
  readonly #groups = new Map<string, { group: Omit<DemoReportGroup, 'count' | 'owners'>; count: number; owners: Set<string> }>();
  readonly #unsubscribe: (() => void)[] = [];

  constructor(inspector: Inspector) {
    for (const type of DEMO_REPORTED_EVENTS) {
      this.#unsubscribe.push(inspector.on(type, (event) => this.#record(event)));
    }
  }

  #record(event: PoolscopeEventOf<DemoReportedEvent>): void {
    const { location, owner } = placeOf(event);
    const key = `${event.type}\u0000${event.poolName}\u0000${location ?? ''}`;
    let entry = this.#groups.get(key);
    if (entry === undefined) {
      entry = { group: { type: event.type, poolName: event.poolName, location, example: event.message }, count: 0, owners: new Set() };
      this.#groups.set(key, entry);
    }
    entry.count += 1;
    if (owner !== null && entry.owners.size < 5) entry.owners.add(owner);
  }

  /** The groups in catalogue order of their kind, then by count. */
  groups(): DemoReportGroup[] {
    return [...this.#groups.values()]
      .map(({ group, count, owners }) => ({ ...group, count, owners: [...owners] }))
      .sort((a, b) => DEMO_REPORTED_EVENTS.indexOf(a.type) - DEMO_REPORTED_EVENTS.indexOf(b.type) || b.count - a.count);
  }

  /** Stops collecting. */
  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }
}

function placeOf(event: PoolscopeEventOf<DemoReportedEvent>): { location: string | null; owner: string | null } {
  switch (event.type) {
    case 'acquire-timeout':
      return { location: event.waiterLocation, owner: null };
    case 'release-in-flight':
    case 'dirty-release':
    case 'double-release':
    case 'foreign-release':
      return { location: event.releaseLocation ?? event.lease.location, owner: event.lease.owner?.label ?? null };
    default:
      return { location: event.lease.location, owner: event.lease.owner?.label ?? null };
  }
}

/** Whether a planted misuse was reported at its line, and by which kinds of report. */
export interface PlantedCheck {
  readonly planted: PlantedSite;
  readonly reportedAs: readonly DemoReportedEvent[];
}

/** Matches the planted sites against the report groups (a location `path:line:col` is on `path:line`). */
export function checkPlantedSites(planted: readonly PlantedSite[], groups: readonly DemoReportGroup[]): PlantedCheck[] {
  return planted.map((site) => ({
    planted: site,
    reportedAs: [...new Set(groups.filter((group) => group.location?.startsWith(`${site.site}:`) === true).map((group) => group.type))],
  }));
}

/** The report groups as text: one line per group, then the first message poolscope wrote for it. */
export function formatReportGroups(groups: readonly DemoReportGroup[]): string {
  if (groups.length === 0) return '  (nothing reported)\n';
  const lines: string[] = [];
  for (const group of groups) {
    const where = group.location === null ? 'an uncaptured place' : group.location;
    const verb = group.type === 'acquire-timeout' ? 'waited at' : group.type.includes('release') ? 'released at' : 'acquired at';
    const owners = group.owners.length === 0 ? '' : `  (${group.owners.join(', ')})`;
    lines.push(`  ${group.type} x${group.count} on pool '${group.poolName}', ${verb} ${where}${owners}`);
    // An acquire timeout's message goes on with the pool's numbers and its longest holders: show those too.
    const shown = group.type === 'acquire-timeout' ? firstLines(group.example, 9) : [firstLine(group.example)];
    for (const line of shown) lines.push(`      ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The planted-misuse check as text, and whether all were found. */
export function formatPlantedChecks(checks: readonly PlantedCheck[]): { readonly text: string; readonly allFound: boolean } {
  const lines = checks.map((check) => {
    const found = check.reportedAs.length > 0;
    return (
      `  ${found ? 'found' : 'MISSED'}  ${check.planted.endpoint.path} at ${check.planted.site}` +
      (found ? `: reported as ${check.reportedAs.join(', ')}` : ': no report names this line')
    );
  });
  return { text: `${lines.join('\n')}\n`, allFound: checks.every((check) => check.reportedAs.length > 0) };
}

/** A saturation snapshot as text: the pool's numbers, then every holder and waiter with its file:line. */
export function formatSnapshot(snapshot: PoolSnapshot): string {
  const { stats } = snapshot;
  const lines = [
    `  snapshot #${snapshot.id} of pool '${snapshot.poolName}' (${snapshot.reason}) at ${snapshot.takenAt}: ` +
      `${stats.used}/${stats.max} in use (${stats.utilizationPercent}%), ${stats.idle} idle, ${stats.pending} waiting`,
    `  holders (${snapshot.holders.length}), longest held first:`,
  ];
  for (const lease of snapshot.holders) lines.push(`    ${leaseLine(lease)}`);
  if (snapshot.waiters.length > 0) {
    lines.push(`  waiters (${snapshot.waiters.length}):`);
    for (const lease of snapshot.waiters) {
      lines.push(`    #${lease.id} ${ownerOf(lease)} waiting ${formatMillis(lease.waitMillis)} at ${lease.location ?? 'an uncaptured place'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function leaseLine(lease: LeaseSnapshot): string {
  const tx = lease.transaction.status === 'idle' ? 'no transaction' : `${lease.transaction.status} depth ${lease.transaction.depth}`;
  const query =
    lease.query === null
      ? ''
      : ` ${lease.query.runningMillis === null ? 'last' : `running ${formatMillis(lease.query.runningMillis)}`}: ${shorten(lease.query.text, 60)}`;
  return (
    `#${lease.id} ${ownerOf(lease)} held ${formatMillis(lease.heldMillis)}${lease.leakSuspected ? ' (LEAK suspected)' : ''}, ${tx}, ` +
    `pid ${lease.backendPid ?? '?'}, at ${lease.location ?? 'an uncaptured place'}${query}`
  );
}

function ownerOf(lease: LeaseSnapshot): string {
  if (lease.owner === null) return 'no owner';
  return `${lease.owner.kind} "${lease.owner.label}"${lease.owner.ended ? ' (ended)' : ''}`;
}

function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max - 3)}...` : flat);
}

function firstLines(text: string, count: number): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(0, count)
    .map((line) => (line.length > 400 ? `${line.slice(0, 397)}...` : line));
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 400 ? `${line.slice(0, 397)}...` : line;
}
