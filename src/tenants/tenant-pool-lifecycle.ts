import { TenantPoolError, messageOf } from '../errors.js';
import { systemClock } from '../core/monotonic-clock.js';
import { trackPgPool } from '../adapters/pg/pg-adapter.js';
import { guardedCheckout } from '../adapters/pg/pg-guarded-checkout.js';
import { tenantDatabaseName } from './tenant-id.js';
import type { TenantPgPool, TenantPgPoolConfig } from './tenant-pools-config.js';
import type { TenantEntry } from './tenant-pool-entry.js';
import { acquiresOf, evictionCandidate } from './tenant-pool-entry.js';
import type { TenantPoolsContext } from './tenant-pools-context.js';
import { assertOpen, createPool, noop } from './tenant-pools-context.js';
import type { ClientView } from './tenant-pg-view.js';
import { view } from './tenant-pg-view.js';
import { TenantAdmission } from './tenant-admission.js';
import { release, retire } from './tenant-pool-closing.js';
import { connectFailed, errorCode, poolError } from './tenant-connection-failure.js';

/**
 * Checks a connection out and returns it (a new pool's first connection, or a suspect pool's check). Listens for
 * 'error' from the hand-over on: a session that ended right away is destroyed and fails the check instead of
 * crashing the process.
 */
async function checkOneConnection(pool: TenantPgPool): Promise<void> {
  const checkout = await guardedCheckout<ClientView>(view(pool));
  const sessionError = checkout.sessionError;
  checkout.release();
  if (sessionError !== undefined) throw sessionError;
}

/**
 * Getting a tenant's pool: the fast path, opening a new pool (admission, creation, tracking, first connection),
 * and verifying a suspect pool (retiring it as broken when the check fails).
 */
export class TenantPoolLifecycle<P extends TenantPgPool> {
  readonly #ctx: TenantPoolsContext<P>;
  readonly #admission: TenantAdmission<P>;
  /** The drop of the tenant's database in flight, if any (`get()` waits for it). */
  readonly #dropping: (tenantId: string) => Promise<unknown> | undefined;

  constructor(ctx: TenantPoolsContext<P>, dropping: (tenantId: string) => Promise<unknown> | undefined) {
    this.#ctx = ctx;
    this.#admission = new TenantAdmission(ctx);
    this.#dropping = dropping;
  }

  /**
   * Finds or opens the tenant's pool and calls `use` with it in the same tick as the final state check (so a
   * checkout started by `use` makes the pool busy before any eviction can look at it).
   */
  async use<T>(tenantId: string, use: (pool: P, entry: TenantEntry<P>) => T): Promise<T> {
    const ctx = this.#ctx;
    assertOpen(ctx, tenantId);
    const database = tenantDatabaseName(ctx.options.databasePrefix, tenantId);
    // Fast path: open, healthy pool.
    const current = ctx.entries.get(tenantId);
    if (current !== undefined && current.state === 'open' && current.suspect === undefined && current.pool !== undefined) {
      current.lastUsedAt = systemClock.now();
      return use(current.pool, current);
    }
    const dropping = this.#dropping(tenantId);
    if (dropping !== undefined) await dropping.catch(noop);
    for (let attempt = 0; ; attempt += 1) {
      assertOpen(ctx, tenantId);
      let entry = ctx.entries.get(tenantId);
      if (entry === undefined) entry = this.#startOpening(tenantId, database);
      const pool = await entry.ready;
      assertOpen(ctx, tenantId);
      if (ctx.entries.get(tenantId) !== entry || entry.state !== 'open') {
        if (attempt < 5) continue; // closed or replaced meanwhile (evicted, closeTenant): open again
        throw connectFailed(
          ctx,
          tenantId,
          new TenantPoolError('POOLSCOPE_ERR_TENANT_CONNECT_FAILED', tenantId, 'the pool was closed again each time it was opened'),
        );
      }
      if (entry.suspect !== undefined && evictionCandidate(entry).inUse === 0) {
        try {
          await this.#verify(entry);
        } catch {
          // #verify retired the pool as broken: open a fresh one (whose own failure is reported as CONNECT_FAILED)
          continue;
        }
        if (ctx.entries.get(tenantId) !== entry || entry.state !== 'open') continue;
      }
      entry.lastUsedAt = systemClock.now();
      return use(pool, entry);
    }
  }

  #startOpening(tenantId: string, database: string): TenantEntry<P> {
    const ctx = this.#ctx;
    const entry: TenantEntry<P> = {
      tenantId,
      database,
      poolName: ctx.options.poolNamePrefix + tenantId,
      state: 'admitting',
      pool: undefined,
      tracker: undefined,
      reserved: 0,
      lastUsedAt: systemClock.now(),
      lastAcquires: 0,
      suspect: undefined,
      verifying: undefined,
      ready: undefined as unknown as Promise<P>,
      closing: undefined,
    };
    ctx.entries.set(tenantId, entry);
    entry.ready = this.#open(entry);
    entry.ready.catch(noop); // the callers awaiting it get the rejection; close() only waits for it
    return entry;
  }

  async #open(entry: TenantEntry<P>): Promise<P> {
    const ctx = this.#ctx;
    const { tenantId } = entry;
    try {
      await this.#admission.admit(entry);
    } catch (error) {
      if (ctx.entries.get(tenantId) === entry) ctx.entries.delete(tenantId);
      entry.state = 'closing';
      throw error;
    }
    const options = ctx.options;
    let pool: P;
    try {
      const config: TenantPgPoolConfig = {
        connectionString: options.tenantConnectionString(entry.database),
        max: options.perTenantMax,
        idleTimeoutMillis: options.idleTimeoutMillis,
        connectionTimeoutMillis: options.connectionTimeoutMillis,
      };
      if (options.perTenantMin > 0) config.min = options.perTenantMin;
      pool = createPool(options, config);
    } catch (error) {
      release(ctx, entry);
      throw connectFailed(ctx, tenantId, error);
    }
    entry.pool = pool;
    view(pool).on('error', (error) => poolError(ctx, entry, error));
    try {
      entry.tracker = trackPgPool(ctx.inspector, pool, { ...options.tracking, name: entry.poolName });
    } catch (error) {
      // e.g. the inspector already tracks a pool of that name (another TenantPools with the same poolNamePrefix)
      await retire(ctx, entry, 'connect-failed');
      throw error;
    }
    if (options.verifyOnOpen) {
      try {
        await checkOneConnection(pool);
      } catch (error) {
        ctx.counters.connectFailures += 1;
        await retire(ctx, entry, 'connect-failed');
        throw connectFailed(ctx, tenantId, error);
      }
    }
    entry.lastAcquires = acquiresOf(entry);
    if (entry.state !== 'opening') return pool; // closed meanwhile (close()); the caller re-checks
    entry.state = 'open';
    entry.lastUsedAt = systemClock.now();
    ctx.counters.opened += 1;
    ctx.bus.emit({ type: 'tenant-opened', tenantId, poolName: entry.poolName, database: entry.database, max: options.perTenantMax });
    return pool;
  }

  // ---- health -------------------------------------------------------------------------------------------------

  /** Opens and returns one connection of a suspect pool; on failure retires it as broken (and rethrows). */
  #verify(entry: TenantEntry<P>): Promise<void> {
    entry.verifying ??= (async () => {
      const pool = entry.pool;
      if (pool === undefined) return;
      try {
        await checkOneConnection(pool);
        entry.suspect = undefined;
      } catch (error) {
        this.#markBroken(entry, error);
        throw error;
      } finally {
        entry.verifying = undefined;
      }
    })();
    return entry.verifying;
  }

  #markBroken(entry: TenantEntry<P>, error: unknown): void {
    const ctx = this.#ctx;
    if (entry.state !== 'open') return;
    ctx.counters.broken += 1;
    ctx.bus.emit({
      type: 'tenant-broken',
      tenantId: entry.tenantId,
      poolName: entry.poolName,
      code: errorCode(error),
      message: messageOf(error),
    });
    retire(ctx, entry, 'broken').catch(ctx.onError);
  }
}
