import { isoAt, systemClock } from '../core/monotonic-clock.js';
import type { TenantPgPool } from './tenant-pools-config.js';
import type { TenantEntry, TenantPoolState } from './tenant-pool-entry.js';
import type { TenantPoolsContext } from './tenant-pools-context.js';
import { view } from './tenant-pg-view.js';

/** One tenant pool in `stats()`. */
export interface TenantPoolStats {
  readonly tenantId: string;
  readonly poolName: string;
  readonly database: string;
  readonly state: TenantPoolState;
  /** Connections checked out. */
  readonly used: number;
  readonly idle: number;
  /** Callers queued for a connection. */
  readonly pending: number;
  /** Connections open (idle + used + being opened). */
  readonly total: number;
  readonly max: number;
  /** ISO-8601 time of the last `get()`/`query()`/`withClient()` (or activity seen by the idle sweep). */
  readonly lastUsedAt: string;
  readonly idleMillis: number;
  /** A connection of this pool failed since it was last verified; the next `get()` verifies it first. */
  readonly suspect: boolean;
}

/** Cumulative counters since the TenantPools was created. */
export interface TenantPoolsCounters {
  readonly opened: number;
  readonly closed: number;
  /** Pools closed to make room (pool limit or budget). */
  readonly evictions: number;
  /** Pools closed by the idle sweep. */
  readonly idleClosed: number;
  /** Pools found broken and replaced. */
  readonly broken: number;
  /** New pools that could not open a connection (POOLSCOPE_ERR_TENANT_CONNECT_FAILED). */
  readonly connectFailures: number;
  /** get() rejected with POOLSCOPE_ERR_TENANT_LIMIT_REACHED. */
  readonly limitRejections: number;
  /** get() rejected with POOLSCOPE_ERR_TENANT_BUDGET_EXHAUSTED. */
  readonly budgetRejections: number;
}

/** The system pool in `stats()`. */
export interface SystemPoolStats {
  readonly poolName: string;
  readonly used: number;
  readonly idle: number;
  readonly pending: number;
  readonly total: number;
  readonly max: number;
}

/** A point-in-time view of every tenant pool and the budget. */
export interface TenantPoolsStats {
  readonly timestamp: string;
  /** Pools open (handed out), opening (being verified) and closing (ending, connections not yet gone). */
  readonly openPools: number;
  readonly openingPools: number;
  readonly closingPools: number;
  readonly maxTenantPools: number;
  /** Server connections of all tenant pools (including closing ones). */
  readonly totalConnections: number;
  readonly usedConnections: number;
  readonly pendingRequests: number;
  readonly connectionBudget: number;
  /** Sum of `max` of every open, opening and closing pool: the connections that may exist now. */
  readonly budgetUsed: number;
  readonly budgetLeft: number;
  readonly counters: TenantPoolsCounters;
  /** Sorted by tenant id. */
  readonly tenants: readonly TenantPoolStats[];
  readonly system: SystemPoolStats;
}

/** Per tenant and total figures now (`TenantPools.stats()`). */
export function tenantPoolsStats<P extends TenantPgPool>(ctx: TenantPoolsContext<P>, systemPool: P): TenantPoolsStats {
  const t = systemClock.now();
  const tenants: TenantPoolStats[] = [];
  let open = 0;
  let opening = 0;
  const all = [...ctx.entries.values(), ...ctx.closing];
  for (const entry of all) {
    if (entry.state === 'admitting') continue;
    if (entry.state === 'open') open += 1;
    else if (entry.state === 'opening') opening += 1;
    tenants.push(tenantStats(ctx, entry, t));
  }
  tenants.sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : a.state.localeCompare(b.state)));
  let total = 0;
  let used = 0;
  let pending = 0;
  for (const tenant of tenants) {
    total += tenant.total;
    used += tenant.used;
    pending += tenant.pending;
  }
  const system = view(systemPool);
  const systemMax = ctx.options.systemPoolMax;
  return {
    timestamp: isoAt(systemClock, t),
    openPools: open,
    openingPools: opening,
    closingPools: ctx.closing.size,
    maxTenantPools: ctx.options.maxTenantPools,
    totalConnections: total,
    usedConnections: used,
    pendingRequests: pending,
    connectionBudget: ctx.options.connectionBudget,
    budgetUsed: ctx.reserved,
    budgetLeft: Math.max(0, ctx.options.connectionBudget - ctx.reserved),
    counters: { ...ctx.counters },
    tenants,
    system: {
      poolName: ctx.options.systemPoolName,
      used: Math.max(0, system.totalCount - system.idleCount),
      idle: system.idleCount,
      pending: system.waitingCount,
      total: system.totalCount,
      max: systemMax,
    },
  };
}

function tenantStats<P extends TenantPgPool>(ctx: TenantPoolsContext<P>, entry: TenantEntry<P>, t: number): TenantPoolStats {
  const pool = entry.pool === undefined ? undefined : view(entry.pool);
  let used = pool === undefined ? 0 : Math.max(0, pool.totalCount - pool.idleCount);
  let pending = pool === undefined ? 0 : pool.waitingCount;
  const tracker = entry.tracker;
  if (tracker !== undefined && !tracker.closed) {
    const stats = tracker.stats();
    used = stats.used;
    pending = stats.pending;
  }
  return {
    tenantId: entry.tenantId,
    poolName: entry.poolName,
    database: entry.database,
    state: entry.state === 'admitting' ? 'opening' : entry.state,
    used,
    idle: pool?.idleCount ?? 0,
    pending,
    total: pool?.totalCount ?? 0,
    max: ctx.options.perTenantMax,
    lastUsedAt: isoAt(systemClock, entry.lastUsedAt),
    idleMillis: Math.max(0, Math.round(t - entry.lastUsedAt)),
    suspect: entry.suspect !== undefined,
  };
}
