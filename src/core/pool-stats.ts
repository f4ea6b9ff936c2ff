import type { AdapterCapabilities } from './adapter-capabilities.js';
import type { DistributionSnapshot } from './histogram.js';
import type { HealthLevel } from './pool-health.js';

/** Cumulative counters of one pool since it was tracked. */
export interface PoolCounters {
  /** Checkouts handed to callers. */
  readonly acquires: number;
  /** Releases of checkouts (first release only). */
  readonly releases: number;
  /** Connections opened by the pool. */
  readonly creates: number;
  /** Connections closed and removed by the pool. */
  readonly removes: number;
  /** Connection errors: failed connects, errors on idle or leased connections. */
  readonly errors: number;
  /** Callers that gave up after `connectionTimeoutMillis`. */
  readonly timeouts: number;
  readonly leaksSuspected: number;
  readonly dirtyReleases: number;
  readonly doubleReleases: number;
  readonly foreignReleases: number;
  readonly releasesInFlight: number;
  readonly ownerEndedHolding: number;
  readonly queries: number;
  readonly queryErrors: number;
  readonly saturationSnapshots: number;
}

/** A point-in-time view of one pool. Durations in milliseconds. */
export interface PoolStats {
  readonly poolName: string;
  /** ISO-8601 time of the reading. */
  readonly timestamp: string;
  /** Connections open (idle + used + being set up). */
  readonly total: number;
  readonly idle: number;
  /** Connections checked out. */
  readonly used: number;
  /** Callers queued for a connection because none is free and the pool is at max. */
  readonly pending: number;
  readonly max: number;
  readonly min: number;
  /** used / max, whole percent. */
  readonly utilizationPercent: number;
  readonly level: HealthLevel;
  readonly expectFull: boolean;
  /** What the pool's adapter can observe (docs/reference/adapters.md); surfaces say "not available" for what it cannot. */
  readonly capabilities: AdapterCapabilities;
  readonly counters: PoolCounters;
  /** From `connect()` to the checkout. */
  readonly waitTime: DistributionSnapshot;
  /** From the checkout to the release (hold time). */
  readonly useTime: DistributionSnapshot;
  /** Opening a new connection (including the pool's onConnect hook). */
  readonly createTime: DistributionSnapshot;
}
