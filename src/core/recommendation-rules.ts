import { formatMillis } from './format-millis.js';
import type { LeaseSnapshot } from './lease.js';
import type {
  PoolRecommendationInput,
  Recommendation,
  ResolvedRecommendationThresholds as Thresholds,
  ServerCapacity,
} from './recommendation-types.js';

/**
 * The recommendation rules: pure functions over one pool's input (or every pool's, for the server's budget), each
 * returning one Recommendation with its evidence and numbered fixes, or null when it has nothing to say.
 */

/** Utilization stays high and callers wait (or time out): the pool is too small for its load. */
export function raiseMax({ stats, history = [] }: PoolRecommendationInput, t: Thresholds): Recommendation | null {
  if (stats.expectFull) return null;
  const high = history.filter((point) => point.utilizationPercent >= t.highUtilizationPercent).length;
  const waited = history.filter((point) => point.pending > 0).length;
  const timeouts = stats.counters.timeouts;
  const sustained = history.length > 0 ? high / history.length >= t.sustainedShare : stats.utilizationPercent >= t.highUtilizationPercent;
  const callersWaited = waited > 0 || stats.pending > 0 || timeouts > 0;
  if (!sustained || !callersWaited) return null;
  const to = Math.max(stats.max + 1, Math.ceil(stats.max * 1.5));
  const evidence = [
    history.length > 0
      ? `utilization at or above ${t.highUtilizationPercent}% in ${high} of ${history.length} samples (${percentOf(high, history.length)}%)`
      : `utilization ${stats.utilizationPercent}% now (${stats.used}/${stats.max})`,
  ];
  if (waited > 0) evidence.push(`callers waited in ${waited} of ${history.length} samples`);
  if (stats.pending > 0) evidence.push(`${stats.pending} caller(s) waiting now`);
  if (timeouts > 0) evidence.push(`${timeouts} acquire timeout(s) since tracking began`);
  evidence.push(`wait time p95 ${formatMillis(stats.waitTime.p95Millis)}, hold time p95 ${formatMillis(stats.useTime.p95Millis)}`);
  return {
    id: 'raise-max',
    poolName: stats.poolName,
    severity: timeouts > 0 || stats.pending > 0 ? 'critical' : 'warning',
    title: `Pool '${stats.poolName}' stays busy and callers wait: it is too small for its load, or connections are held too long`,
    evidence,
    fixes: [
      'Track down slow queries and long holders (see the holders list, or `poolscope inspect --detailed`) and make them fast',
      `Increase max from ${stats.max} to ${to} (check the server's max_connections budget across every instance first)`,
      'Release connections as soon as the database work is done: no network calls or awaits on other services while holding one',
    ],
    change: { option: 'max', from: stats.max, to },
  };
}

/** Holders over the threshold: slow queries or leaks; names the file:line that holds most of them. */
export function investigateLongHolders({ stats, holders = [] }: PoolRecommendationInput, t: Thresholds): Recommendation | null {
  if (stats.expectFull) return null;
  const long = holders.filter((lease) => lease.heldMillis > t.longHoldMillis);
  if (long.length === 0) return null;
  const byPlace = new Map<string, LeaseSnapshot[]>();
  for (const lease of long) {
    const place = lease.location ?? 'an uncaptured place';
    byPlace.set(place, [...(byPlace.get(place) ?? []), lease]);
  }
  const ranked = [...byPlace.entries()].sort((a, b) => b[1].length - a[1].length || maxHeld(b[1]) - maxHeld(a[1]));
  const [topPlace, topLeases] = ranked[0] as [string, LeaseSnapshot[]];
  const evidence = ranked.slice(0, 3).map(([place, leases]) => {
    const query = leases.map((lease) => lease.query).find((q) => q !== null && q.runningMillis !== null);
    const what = query?.runningMillis != null ? `running ${quote(query.text)} for ${formatMillis(query.runningMillis)}` : 'no query running';
    return `${leases.length} connection(s) held up to ${formatMillis(maxHeld(leases))}, acquired at ${place} (${what})`;
  });
  const idleHolders = long.filter((lease) => lease.query === null || lease.query.runningMillis === null).length;
  return {
    id: 'investigate-long-holders',
    poolName: stats.poolName,
    severity: long.length >= Math.ceil(stats.max / 2) ? 'critical' : 'warning',
    title: `${long.length} connection(s) of pool '${stats.poolName}' held longer than ${t.longHoldMillis} ms, most from ${topPlace}`,
    evidence,
    fixes: [
      `Look at ${topPlace}: ${topLeases.length} of the long holders were acquired there`,
      idleHolders > 0
        ? `${idleHolders} of them run no query: a missing release() (use withClient/withTransaction) or slow non-database work while holding`
        : 'They are running queries: check those queries with EXPLAIN ANALYZE and add the missing indexes',
      'Set leakThresholdMillis to get a report with the stack the moment a checkout is held too long',
    ],
    change: null,
  };
}

/** Leaks, dirty, double and foreign releases, not-awaited work, owners ending while holding: code to fix. */
export function fixMisuse({ stats }: PoolRecommendationInput): Recommendation | null {
  const c = stats.counters;
  const found: [number, string, string][] = [
    [c.leaksSuspected, 'suspected leak(s)', 'Release every checkout in a finally block, or use withClient/withTransaction, which always release'],
    [c.ownerEndedHolding, 'request(s)/job(s) ended still holding a connection', 'Await every database call before the request ends; release in finally'],
    [c.dirtyReleases, 'dirty release(s) (returned inside a transaction)', "COMMIT or ROLLBACK before release(), or use withTransaction; set onDirtyRelease: 'rollback' meanwhile"],
    [c.releasesInFlight, 'release(s) with a query still running (a missing await)', 'Await every query before release()'],
    [c.doubleReleases, 'double release(s)', 'Release each checkout exactly once (one finally block, not one per branch)'],
    [c.foreignReleases, 'foreign release(s) (a stale client released after it was handed to someone else)', 'Drop references to a client once it is released'],
  ];
  const present = found.filter(([count]) => count > 0);
  if (present.length === 0) return null;
  const leaks = c.leaksSuspected + c.ownerEndedHolding;
  return {
    id: 'fix-misuse',
    poolName: stats.poolName,
    severity: leaks > 0 || c.dirtyReleases > 0 ? 'critical' : 'warning',
    title: `Pool '${stats.poolName}' is misused: ${present.map(([count, what]) => `${count} ${what}`).join(', ')}`,
    evidence: present.map(([count, what]) => `${count} ${what} since tracking began (each reported with its file:line in the events)`),
    fixes: present.map(([, , fix]) => fix),
    change: null,
  };
}

/** Idle connections dominate and the pool never needs its min: a lower min frees server connections. */
export function lowerMin({ stats, history = [] }: PoolRecommendationInput, t: Thresholds): Recommendation | null {
  if (stats.min <= 0 || history.length === 0) return null;
  const open = history.filter((point) => point.total > 0);
  if (open.length === 0) return null;
  const idleShare = open.reduce((sum, point) => sum + point.idle / point.total, 0) / open.length;
  const peakUsed = Math.max(...history.map((point) => point.used));
  if (idleShare < t.idleShare || peakUsed >= stats.min) return null;
  const to = Math.max(0, peakUsed);
  return {
    id: 'lower-min',
    poolName: stats.poolName,
    severity: 'info',
    title: `Pool '${stats.poolName}' keeps ${stats.min} connections open but never used more than ${peakUsed} at once`,
    evidence: [
      `${Math.round(idleShare * 100)}% of open connections idle on average over ${history.length} samples`,
      `peak in use ${peakUsed}, min ${stats.min}`,
    ],
    fixes: [`Lower min from ${stats.min} to ${to}: idle connections cost the server memory and a slot of max_connections`],
    change: { option: 'min', from: stats.min, to },
  };
}

/** The pools' maxima, times the instances that open them, approach the server's usable connections. */
export function serverConnectionBudget(
  pools: readonly PoolRecommendationInput[],
  server: ServerCapacity,
  t: Thresholds,
): Recommendation | null {
  const instances = server.instances ?? 1;
  const usable = server.maxConnections - server.reservedConnections;
  const perInstance = pools.reduce((sum, pool) => sum + pool.stats.max, 0);
  const demand = perInstance * instances;
  if (usable <= 0 || demand < usable * t.serverBudgetShare) return null;
  const over = demand > usable;
  return {
    id: 'server-connection-budget',
    poolName: null,
    severity: over ? 'critical' : 'warning',
    title: over
      ? `The pools can open ${demand} connections but the server allows ${usable}: under load, connections will be refused`
      : `The pools can open ${demand} of the server's ${usable} usable connections (${percentOf(demand, usable)}%)`,
    evidence: [
      `pool maxima: ${pools.map((pool) => `${pool.stats.poolName}=${pool.stats.max}`).join(', ')} (sum ${perInstance}) x ${instances} instance(s) = ${demand}`,
      `server max_connections ${server.maxConnections} minus ${server.reservedConnections} reserved = ${usable}`,
    ],
    fixes: [
      `Keep the sum of pool maxima across every instance below ${Math.floor(usable * t.serverBudgetShare)} (lower max per pool, or fewer instances)`,
      'Put a connection pooler (PgBouncer in transaction mode) between the instances and the server',
      "Raise the server's max_connections (costs server memory per connection)",
    ],
    change: null,
  };
}

/** A pool whose LISTEN or long-held connections take most of it while short work waits: give them their own pool. */
export function splitPool({ stats, holders = [] }: PoolRecommendationInput, t: Thresholds): Recommendation | null {
  if (stats.expectFull || holders.length === 0) return null;
  const listeners = holders.filter((lease) => lease.query !== null && /^\s*(LISTEN|UNLISTEN)\b/i.test(lease.query.text));
  const longIdle = holders.filter(
    (lease) => !listeners.includes(lease) && lease.heldMillis > t.longHoldMillis * 10 && lease.queriesInFlight === 0,
  );
  const parked = listeners.length + longIdle.length;
  const starving = stats.pending > 0 || stats.counters.timeouts > 0 || stats.waitTime.p95Millis > 100;
  if (parked === 0 || parked < stats.max / 2 || !starving) return null;
  const places = [...new Set([...listeners, ...longIdle].map((lease) => lease.location ?? 'an uncaptured place'))].slice(0, 3);
  const parkedMax = parked + 2;
  return {
    id: 'split-pool',
    poolName: stats.poolName,
    severity: 'warning',
    title: `${parked} of pool '${stats.poolName}''s ${stats.max} connections are parked (LISTEN or long-held) while short work waits`,
    evidence: [
      `${listeners.length} LISTEN connection(s), ${longIdle.length} held over ${(t.longHoldMillis * 10) / 1000} s without a query`,
      `waiting now ${stats.pending}, acquire timeouts ${stats.counters.timeouts}, wait p95 ${formatMillis(stats.waitTime.p95Millis)}`,
      `parked connections acquired at ${places.join(', ')}`,
    ],
    fixes: [
      `Move the long-held connections to a pool of their own (e.g. max ${parkedMax}) tracked with expectFull: true`,
      `Keep '${stats.poolName}' for short transactional work, so its max serves only that`,
    ],
    change: null,
  };
}

function maxHeld(leases: readonly LeaseSnapshot[]): number {
  return Math.max(...leases.map((lease) => lease.heldMillis));
}

function percentOf(part: number, whole: number): number {
  return whole <= 0 ? 0 : Math.round((part / whole) * 100);
}

function quote(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return `"${oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine}"`;
}
