import type { PoolStats } from '../core/pool-stats.js';

/** One pool's counters and capabilities, as the CLI's text reports say them (inspect, demo). */

/** What the pool's adapter cannot observe, for people; '' when it observes everything (or the app predates capabilities). */
export function notAvailableText(stats: PoolStats): string {
  const capabilities = stats.capabilities as PoolStats['capabilities'] | undefined;
  if (capabilities === undefined) return '';
  const missing: string[] = [];
  if (!capabilities.queries) missing.push('queries (running query, query counts, releases in flight)');
  if (!capabilities.transactions) missing.push('transactions (status, depth, dirty releases)');
  if (!capabilities.sessionIds) missing.push('session ids (no join with the server view)');
  return missing.join('; ');
}

/**
 * The counters that matter: always timeouts, leaks, dirty and double releases; the other problems when non-zero.
 * A counter the adapter cannot observe is `n/a`, not 0.
 */
export function counterText(stats: PoolStats): string {
  const c = stats.counters;
  const capabilities = (stats.capabilities as PoolStats['capabilities'] | undefined) ?? { queries: true, transactions: true };
  const always: [string, number | 'n/a'][] = [
    ['timeouts', c.timeouts],
    ['leaks suspected', c.leaksSuspected],
    ['dirty releases', capabilities.transactions ? c.dirtyReleases : 'n/a'],
    ['double releases', c.doubleReleases],
  ];
  const whenSeen: [string, number][] = [
    ['foreign releases', c.foreignReleases],
    ['releases in flight', capabilities.queries ? c.releasesInFlight : 0],
    ['owners ended holding', c.ownerEndedHolding],
    ['connection errors', c.errors],
    ['query errors', c.queryErrors],
  ];
  return [
    `acquires ${c.acquires}`,
    ...always.map(([label, count]) => `${label} ${count}`),
    ...whenSeen.filter(([, count]) => count > 0).map(([label, count]) => `${label} ${count}`),
  ].join(', ');
}
