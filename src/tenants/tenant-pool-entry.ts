import type { PoolView } from '../core/pool-view.js';
import type { EvictionCandidate } from './eviction-policy.js';
import type { TenantPgPool } from './tenant-pools-config.js';
import { view } from './tenant-pg-view.js';

/** Lifecycle of one tenant pool. */
export const TENANT_POOL_STATES = ['opening', 'open', 'closing'] as const;
export type TenantPoolState = (typeof TENANT_POOL_STATES)[number];

export type EntryState = 'admitting' | TenantPoolState;

/** One tenant's pool as TenantPools keeps it, from admission to the end of its connections (internal). */
export interface TenantEntry<P extends TenantPgPool> {
  readonly tenantId: string;
  readonly database: string;
  readonly poolName: string;
  state: EntryState;
  pool: P | undefined;
  tracker: PoolView | undefined;
  /** Connections counted against the budget (0 until admitted, and again once ended). */
  reserved: number;
  lastUsedAt: number;
  lastAcquires: number;
  suspect: { readonly code: string | null; readonly message: string } | undefined;
  verifying: Promise<void> | undefined;
  ready: Promise<P>;
  closing: Promise<void> | undefined;
}

/** The entry as the eviction policy sees it (connections in use, callers waiting, budget share). */
export function evictionCandidate<P extends TenantPgPool>(entry: TenantEntry<P>): EvictionCandidate {
  const pool = entry.pool === undefined ? undefined : view(entry.pool);
  return {
    tenantId: entry.tenantId,
    lastUsedAt: entry.lastUsedAt,
    inUse: pool === undefined ? 0 : Math.max(0, pool.totalCount - pool.idleCount),
    pending: pool === undefined ? 0 : pool.waitingCount,
    max: entry.reserved,
  };
}

/** The entry's checkouts so far (its tracker's counter; the last value seen once the tracker is gone). */
export function acquiresOf<P extends TenantPgPool>(entry: TenantEntry<P>): number {
  try {
    return entry.tracker?.stats().counters.acquires ?? entry.lastAcquires;
  } catch {
    return entry.lastAcquires;
  }
}
