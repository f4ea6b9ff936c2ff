/**
 * PoolStats built by hand, for tests of what reads them (recommendations, CLI reports, metrics): a quiet pool of
 * max 10 with every counter and distribution at zero, and any field overridden.
 */
import type { DistributionSnapshot } from '../../src/core/histogram.js';
import type { PoolCounters, PoolStats } from '../../src/core/pool-stats.js';
import { ALL_CAPABILITIES } from '../../src/core/adapter-capabilities.js';

/** A distribution that recorded nothing. */
export const EMPTY_DISTRIBUTION: DistributionSnapshot = Object.freeze({
  count: 0, sumMillis: 0, minMillis: 0, maxMillis: 0, meanMillis: 0, p50Millis: 0, p90Millis: 0, p95Millis: 0, p99Millis: 0,
});

/** Every counter at zero. */
export const ZERO_COUNTERS: PoolCounters = Object.freeze({
  acquires: 0, releases: 0, creates: 0, removes: 0, errors: 0, timeouts: 0, leaksSuspected: 0, dirtyReleases: 0,
  doubleReleases: 0, foreignReleases: 0, releasesInFlight: 0, ownerEndedHolding: 0, queries: 0, queryErrors: 0,
  saturationSnapshots: 0,
});

/** Fields to override; `counters` is merged into ZERO_COUNTERS. */
export type PoolStatsOverrides = Partial<Omit<PoolStats, 'counters'>> & { counters?: Partial<PoolCounters> };

/** Stats of pool "main" (max 10, `used` of them in use, none idle or pending) with `over` applied. */
export function poolStatsFixture(over: PoolStatsOverrides = {}): PoolStats {
  const { counters, ...rest } = over;
  const used = rest.used ?? 0;
  const max = rest.max ?? 10;
  return {
    poolName: 'main', timestamp: '2026-01-01T00:00:00.000Z', total: used, idle: 0, used, pending: 0, max, min: 0,
    utilizationPercent: Math.round((used / max) * 100), level: 'normal', expectFull: false, capabilities: ALL_CAPABILITIES,
    waitTime: EMPTY_DISTRIBUTION, useTime: EMPTY_DISTRIBUTION, createTime: EMPTY_DISTRIBUTION, ...rest,
    counters: { ...ZERO_COUNTERS, ...counters },
  };
}
