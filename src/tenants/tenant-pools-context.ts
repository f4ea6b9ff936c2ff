import { TenantPoolError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { ResolvedTenantPoolsOptions, TenantPgPool, TenantPgPoolConfig } from './tenant-pools-config.js';
import type { TenantEventBus } from './tenant-pool-events.js';
import type { TenantEntry } from './tenant-pool-entry.js';
import { view } from './tenant-pg-view.js';

/**
 * The state one TenantPools shares with its parts (admission, lifecycle, closing, failures, stats, idle sweep).
 * Internal: TenantPools keeps it in a private field and hands it only to those modules.
 */

/** Cumulative counters since the TenantPools was created (the mutable form of `TenantPoolsCounters`). */
export function createCounters() {
  return { opened: 0, closed: 0, evictions: 0, idleClosed: 0, broken: 0, connectFailures: 0, limitRejections: 0, budgetRejections: 0 };
}

export type TenantPoolsCounterState = ReturnType<typeof createCounters>;

export interface TenantPoolsContext<P extends TenantPgPool> {
  readonly options: ResolvedTenantPoolsOptions<P>;
  readonly inspector: Inspector;
  readonly bus: TenantEventBus;
  readonly onError: (error: unknown) => void;
  /** The current entry of each tenant (admitting, opening or open). */
  readonly entries: Map<string, TenantEntry<P>>;
  /** Entries whose pool is ending; their connections still count against the budget until `end()` resolves. */
  readonly closing: Set<TenantEntry<P>>;
  /** Sum of `reserved` over entries and closing. */
  reserved: number;
  readonly counters: TenantPoolsCounterState;
  /** True after `close()` was called. */
  closed: boolean;
}

export function noop(): void {
  // intentionally empty
}

export function assertOpen<P extends TenantPgPool>(ctx: TenantPoolsContext<P>, tenantId: string | undefined): void {
  if (ctx.closed) {
    throw new TenantPoolError(
      'POOLSCOPE_ERR_TENANT_POOLS_CLOSED',
      tenantId,
      'This TenantPools was closed (close() was called); its pools are ended. Create a new TenantPools to open tenant pools again.',
    );
  }
}

/** A new pool of `options.Pool` with `poolConfig` under `config`. */
export function createPool<P extends TenantPgPool>(options: ResolvedTenantPoolsOptions<P>, config: TenantPgPoolConfig): P {
  const pool = new options.Pool({ ...options.poolConfig, ...config } as TenantPgPoolConfig);
  // pg emits 'error' for idle clients (terminated, server gone); unhandled, that would kill the process.
  view(pool).on('error', noop);
  return pool;
}
