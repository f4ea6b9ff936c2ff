import type { LeaseSnapshot } from './lease.js';
import type { OwnerSnapshot } from './owner-context.js';
import type { PoolStats } from './pool-stats.js';

/** Why a snapshot was taken. */
export const SNAPSHOT_REASONS = ['manual', 'saturation'] as const;
export type SnapshotReason = (typeof SNAPSHOT_REASONS)[number];

/** An allowlist of pool settings (never the password). Fields the pool does not set are absent. */
export interface PoolConfigSnapshot {
  readonly max?: number;
  readonly min?: number;
  readonly idleTimeoutMillis?: number;
  readonly connectionTimeoutMillis?: number;
  readonly maxUses?: number;
  readonly maxLifetimeSeconds?: number;
  readonly allowExitOnIdle?: boolean;
  readonly application_name?: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly user?: string;
  readonly ssl?: boolean;
  /** The connection string with its password masked. */
  readonly connectionString?: string;
}

/** Everything about one pool at one moment: JSON-serialisable. */
export interface PoolSnapshot {
  readonly id: number;
  readonly poolName: string;
  readonly takenAt: string;
  readonly reason: SnapshotReason;
  readonly stats: PoolStats;
  readonly config: PoolConfigSnapshot;
  /** Checked-out leases, longest held first. */
  readonly holders: readonly LeaseSnapshot[];
  /** Callers that called `connect()` and have no connection yet (queued or being connected), longest first. */
  readonly waiters: readonly LeaseSnapshot[];
}

/** An owner holding leases on more than one pool at the moment of the snapshot. */
export interface MultiPoolOwner {
  readonly owner: OwnerSnapshot;
  /** Lease ids by pool name. */
  readonly leases: Readonly<Record<string, readonly number[]>>;
}

/** Every tracked pool at one moment. */
export interface InspectorSnapshot {
  readonly takenAt: string;
  readonly pools: readonly PoolSnapshot[];
  /** Owners holding connections of several pools at once (seed 000's multi-pool case). */
  readonly multiPoolOwners: readonly MultiPoolOwner[];
}

/** Every pool's snapshot at `takenAt`, with the owners that hold connections of several pools at once. */
export function inspectorSnapshot(pools: readonly PoolSnapshot[], takenAt: string): InspectorSnapshot {
  const byOwner = new Map<number, { owner: OwnerSnapshot; leases: Record<string, number[]> }>();
  for (const pool of pools) {
    for (const holder of pool.holders) {
      if (holder.owner === null) continue;
      let entry = byOwner.get(holder.owner.id);
      if (entry === undefined) {
        entry = { owner: holder.owner, leases: {} };
        byOwner.set(holder.owner.id, entry);
      }
      (entry.leases[pool.poolName] ??= []).push(holder.id);
    }
  }
  const multiPoolOwners: MultiPoolOwner[] = [...byOwner.values()].filter((e) => Object.keys(e.leases).length > 1);
  return { takenAt, pools, multiPoolOwners };
}
