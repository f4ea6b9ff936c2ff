import { OptionsError } from '../errors.js';
import { Inspector } from '../core/inspector.js';
import { trackPgPool } from '../adapters/pg/pg-adapter.js';
import type { PgClientOf } from '../adapters/pg/pg-types.js';
import type { GuardedCheckout } from '../adapters/pg/pg-guarded-checkout.js';
import { guardedCheckout } from '../adapters/pg/pg-guarded-checkout.js';
import { tenantDatabaseName } from './tenant-id.js';
import type { TenantPgPool, TenantPoolsOptions } from './tenant-pools-config.js';
import { resolveTenantPoolsOptions } from './tenant-pools-config.js';
import type { TenantPoolEventOf, TenantPoolEventType } from './tenant-pool-events.js';
import { TENANT_EVENT_TYPES, TenantEventBus } from './tenant-pool-events.js';
import type { TenantEntry } from './tenant-pool-entry.js';
import type { TenantPoolsContext } from './tenant-pools-context.js';
import { createCounters, createPool, noop } from './tenant-pools-context.js';
import type { ClientView } from './tenant-pg-view.js';
import { view } from './tenant-pg-view.js';
import { endPool } from '../postgres/pg-pool-ending.js';
import { CONNECTION_FAILURE_CODES, connectionError, errorCode, noteFailure } from './tenant-connection-failure.js';
import { closeTenant, retire } from './tenant-pool-closing.js';
import { TenantPoolLifecycle } from './tenant-pool-lifecycle.js';
import type { TenantDatabaseResult } from './tenant-databases.js';
import { TenantDatabases } from './tenant-databases.js';
import type { TenantPoolsStats } from './tenant-pool-stats.js';
import { tenantPoolsStats } from './tenant-pool-stats.js';
import { sweepIdleTenants } from './tenant-idle-sweep.js';

export { TENANT_POOL_STATES } from './tenant-pool-entry.js';
export type { TenantPoolState } from './tenant-pool-entry.js';
export type { TenantPoolStats, TenantPoolsCounters, SystemPoolStats, TenantPoolsStats } from './tenant-pool-stats.js';
export type { TenantDatabaseResult } from './tenant-databases.js';

/**
 * A system pool plus one pg pool per tenant (tenant = a PostgreSQL database, `databasePrefix + tenantId`), each
 * tracked by an Inspector under its own name (`system`, `tenant:<id>`), with a cap on open tenant pools (LRU
 * eviction of idle ones), a global connection budget that is never exceeded, idle-pool closing, database
 * create/drop, and broken-pool replacement. See docs/reference/tenants.md.
 *
 * ```ts
 * const tenants = new TenantPools({ Pool: pg.Pool, connectionString: 'postgres://app@db/app', perTenantMax: 3 });
 * await tenants.ensureDatabase('acme');
 * const { rows } = await tenants.query('acme', 'SELECT now()');
 * await tenants.close();
 * ```
 */

/** A query result as `query()` returns it (pg's QueryResult has these and more). */
export interface TenantQueryResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number | null;
}

export class TenantPools<P extends TenantPgPool = TenantPgPool> {
  readonly #ctx: TenantPoolsContext<P>;
  readonly #ownsInspector: boolean;
  readonly #system: P;
  readonly #databases: TenantDatabases<P>;
  readonly #lifecycle: TenantPoolLifecycle<P>;
  readonly #offConnectionError: () => void;
  #sweepTimer: NodeJS.Timeout | undefined;
  #closePromise: Promise<void> | undefined;

  /** Throws OptionsError for a bad option, and the inspector's name errors if a pool name is taken. */
  constructor(options: TenantPoolsOptions<P>) {
    const resolved = resolveTenantPoolsOptions(options);
    this.#ownsInspector = resolved.inspector === undefined;
    const inspector = resolved.inspector ?? new Inspector({ historyIntervalMillis: 0 });
    const userOnError = resolved.onError;
    const onError = (error: unknown): void => {
      try {
        if (userOnError !== undefined) userOnError(error);
        else inspector.reportError(error);
      } catch {
        // the error hook itself failed: nothing safe is left to tell
      }
    };
    const ctx: TenantPoolsContext<P> = {
      options: resolved,
      inspector,
      bus: new TenantEventBus(onError),
      onError,
      entries: new Map<string, TenantEntry<P>>(),
      closing: new Set<TenantEntry<P>>(),
      reserved: 0,
      counters: createCounters(),
      closed: false,
    };
    this.#ctx = ctx;
    const system = createPool(resolved, {
      connectionString: resolved.connectionString,
      max: resolved.systemPoolMax,
      idleTimeoutMillis: resolved.idleTimeoutMillis,
      connectionTimeoutMillis: resolved.connectionTimeoutMillis,
    });
    try {
      trackPgPool(inspector, system, { ...resolved.systemTracking, name: resolved.systemPoolName });
    } catch (error) {
      view(system).end().catch(noop);
      if (this.#ownsInspector) inspector.close();
      throw error;
    }
    this.#system = system;
    this.#databases = new TenantDatabases(ctx, system);
    this.#lifecycle = new TenantPoolLifecycle(ctx, (tenantId) => this.#databases.dropping(tenantId));
    this.#offConnectionError = inspector.on('connection-error', (event) => connectionError(ctx, event.poolName, event.message));
    if (resolved.idleTenantTimeoutMillis > 0) {
      this.#sweepTimer = setInterval(() => this.sweepIdle(), resolved.sweepIntervalMillis);
      this.#sweepTimer.unref();
    }
  }

  /** The inspector tracking every pool (given in the options, or created by this TenantPools). */
  get inspector(): Inspector {
    return this.#ctx.inspector;
  }

  /** The system pool (the system database; not part of the connection budget). */
  get system(): P {
    return this.#system;
  }

  /** True after `close()` was called. */
  get closed(): boolean {
    return this.#ctx.closed;
  }

  /** The database name of a tenant (`databasePrefix + tenantId`); throws POOLSCOPE_ERR_TENANT_INVALID_ID. */
  databaseName(tenantId: string): string {
    return tenantDatabaseName(this.#ctx.options.databasePrefix, tenantId);
  }

  /** The inspector pool name of a tenant's pool (`tenant:<id>` by default). */
  poolName(tenantId: string): string {
    return this.#ctx.options.poolNamePrefix + tenantId;
  }

  /** Tenant ids with a pool open now. */
  openTenants(): string[] {
    return [...this.#ctx.entries.values()].filter((entry) => entry.state === 'open').map((entry) => entry.tenantId);
  }

  /**
   * The tenant's pool, opened on first use (one pool however many callers ask at once) and reused after; each
   * call counts as a use for LRU eviction. Prefer `query()`/`withClient()`, which hold a lease while they run: a
   * pool object kept across awaits can be evicted once it has no lease out.
   *
   * Rejects with TenantPoolError: INVALID_ID, LIMIT_REACHED, BUDGET_EXHAUSTED, CONNECT_FAILED (pg error as
   * `cause`), POOLS_CLOSED.
   */
  async get(tenantId: string): Promise<P> {
    return this.#lifecycle.use(tenantId, (pool) => pool);
  }

  /** Runs one query on the tenant's pool (`pool.query(text, values)`); pg's errors pass through unchanged. */
  async query<Row = Record<string, unknown>>(tenantId: string, text: string, values?: readonly unknown[]): Promise<TenantQueryResult<Row>> {
    let entryUsed: TenantEntry<P> | undefined;
    const pending = await this.#lifecycle.use(tenantId, (pool, entry) => {
      entryUsed = entry;
      // Called in the same tick as the entry check, so the pool is busy (a caller queued) before eviction can look.
      return { result: view(pool).query(text, values) };
    });
    try {
      return (await pending.result) as TenantQueryResult<Row>;
    } catch (error) {
      if (entryUsed !== undefined) noteFailure(entryUsed, error);
      throw error;
    }
  }

  /** Checks out a client of the tenant's pool, runs `fn` with it and releases it whatever happens. */
  async withClient<T>(tenantId: string, fn: (client: PgClientOf<P>) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') throw new OptionsError('fn', fn, 'a function (client) => result');
    let entryUsed: TenantEntry<P> | undefined;
    const pending = await this.#lifecycle.use(tenantId, (pool, entry) => {
      entryUsed = entry;
      // pg-pool listens for 'error' only on idle clients: a checked-out client whose session is terminated would
      // emit 'error' with no listener and crash the process. guardedCheckout listens from inside pg's hand-over
      // callback (not after an await: pg can hand the client over and parse a FATAL in the same synchronous pass)
      // until the release; started here, in the same tick as the entry check, like before.
      return { checkout: guardedCheckout<ClientView>(view(pool), (error) => noteFailure(entry, error)) };
    });
    let checkout: GuardedCheckout<ClientView>;
    try {
      checkout = await pending.checkout;
    } catch (error) {
      if (entryUsed !== undefined) noteFailure(entryUsed, error);
      throw error;
    }
    let failed: unknown;
    try {
      return await fn(checkout.client as unknown as PgClientOf<P>);
    } catch (error) {
      failed = error;
      if (entryUsed !== undefined) noteFailure(entryUsed, error);
      throw error;
    } finally {
      // A connection whose session failed is destroyed rather than returned.
      const broken =
        checkout.sessionError ??
        (failed !== undefined && CONNECTION_FAILURE_CODES.has(errorCode(failed) ?? '') ? (failed as Error) : undefined);
      checkout.release(broken);
    }
  }

  /**
   * Creates the tenant's database if it does not exist (`CREATE DATABASE "<prefix><id>"`, through the system pool
   * or `adminConnectionString`). Safe to call concurrently. Rejects with INVALID_ID, DATABASE_FAILED (pg error as
   * `cause`) or POOLS_CLOSED.
   */
  ensureDatabase(tenantId: string): Promise<TenantDatabaseResult> {
    return this.#databases.ensure(tenantId);
  }

  /**
   * Closes the tenant's pool (waiting for its connections to end), then drops its database: `DROP DATABASE IF
   * EXISTS ... WITH (FORCE)` on PostgreSQL 13+, else terminating its sessions first. `get()` calls made meanwhile
   * wait for the drop. Rejects with INVALID_ID, DATABASE_FAILED (pg error as `cause`) or POOLS_CLOSED.
   */
  dropDatabase(tenantId: string): Promise<TenantDatabaseResult> {
    return this.#databases.drop(tenantId);
  }

  /**
   * Closes the tenant's pool and waits until its connections have ended. Idempotent; resolves at once when the
   * tenant has no pool. A later `get()` opens a new pool.
   */
  async closeTenant(tenantId: string): Promise<void> {
    this.databaseName(tenantId); // validates
    await closeTenant(this.#ctx, tenantId, 'close-tenant');
  }

  /**
   * Closes every tenant pool and the system pool, waiting for their connections to end, and stops the idle
   * sweep. Idempotent (every call returns the same promise). Afterwards `get()` and the database calls reject with
   * POOLSCOPE_ERR_TENANT_POOLS_CLOSED. Closes the inspector only if TenantPools created it.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  /** Subscribes to one event type; returns the unsubscribe function. Listeners that throw go to `onError`. */
  on<T extends TenantPoolEventType>(type: T, listener: (event: TenantPoolEventOf<T>) => void): () => void {
    if (!(TENANT_EVENT_TYPES as readonly string[]).includes(type)) {
      throw new OptionsError('type', type, `one of ${TENANT_EVENT_TYPES.map((t) => `'${t}'`).join(', ')}`);
    }
    if (typeof listener !== 'function') throw new OptionsError('listener', listener, 'a function (event) => void');
    return this.#ctx.bus.on(type, listener);
  }

  /** Per tenant and total figures now. */
  stats(): TenantPoolsStats {
    return tenantPoolsStats(this.#ctx, this.#system);
  }

  /**
   * Closes tenant pools unused for `idleTenantTimeoutMillis` that have no lease out. The sweep timer calls this;
   * tests may call it directly. Returns the tenant ids closed. Never throws.
   */
  sweepIdle(): string[] {
    return sweepIdleTenants(this.#ctx);
  }

  // ---- closing ------------------------------------------------------------------------------------------------

  async #close(): Promise<void> {
    const ctx = this.#ctx;
    ctx.closed = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    // Openings in flight finish (or fail) first; admissions not yet done reject with POOLS_CLOSED.
    await Promise.all([...ctx.entries.values()].map((entry) => entry.ready.catch(noop)));
    await Promise.all([...ctx.entries.values()].map((entry) => retire(ctx, entry, 'close')));
    await Promise.all([...ctx.closing].map((entry) => entry.closing));
    await Promise.all(this.#databases.pendingOps().map((op) => op.catch(noop)));
    this.#offConnectionError();
    const pools = [this.#system, this.#databases.admin].filter((pool): pool is P => pool !== undefined);
    for (const name of [ctx.options.systemPoolName]) {
      if (ctx.inspector.pool(name) !== undefined) {
        try {
          ctx.inspector.untrack(name);
        } catch (error) {
          ctx.onError(error);
        }
      }
    }
    await Promise.all(pools.map((pool) => endPool(view(pool)).catch(ctx.onError)));
    if (this.#ownsInspector) ctx.inspector.close();
    ctx.bus.clear();
  }
}
