import { OptionsError, PoolscopeError, TenantPoolError, messageOf } from '../errors.js';
import { Inspector } from '../core/inspector.js';
import type { PoolTracker } from '../core/pool-tracker.js';
import { trackPgPool } from '../adapters/pg/pg-adapter.js';
import type { PgClientOf } from '../adapters/pg/pg-types.js';
import type { GuardedCheckout } from '../adapters/pg/pg-guarded-checkout.js';
import { guardedCheckout } from '../adapters/pg/pg-guarded-checkout.js';
import type { EvictionCandidate } from './eviction-policy.js';
import { isBusy, planEviction } from './eviction-policy.js';
import { quoteIdentifier, tenantDatabaseName } from './tenant-id.js';
import type { ResolvedTenantPoolsOptions, TenantPgPool, TenantPgPoolConfig, TenantPoolsOptions } from './tenant-pools-config.js';
import { resolveTenantPoolsOptions } from './tenant-pools-config.js';
import type { TenantCloseReason, TenantPoolEventOf, TenantPoolEventType } from './tenant-pool-events.js';
import { TENANT_EVENT_TYPES, TenantEventBus } from './tenant-pool-events.js';

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

/** Lifecycle of one tenant pool. */
export const TENANT_POOL_STATES = ['opening', 'open', 'closing'] as const;
export type TenantPoolState = (typeof TENANT_POOL_STATES)[number];

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

/** What `ensureDatabase()` / `dropDatabase()` did. */
export interface TenantDatabaseResult {
  readonly tenantId: string;
  readonly database: string;
  /** True when the database was created (ensure) or dropped (drop); false when there was nothing to do. */
  readonly changed: boolean;
}

/** A query result as `query()` returns it (pg's QueryResult has these and more). */
export interface TenantQueryResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number | null;
}

// ---- internal views of pg (structural; never imported) ----------------------------------------------------------

interface ClientView {
  query(text: string, values?: readonly unknown[]): Promise<unknown>;
  release(err?: Error | boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

interface PoolView {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  /** pg-pool's connect; called in its callback form only, through guardedCheckout. */
  connect(...args: never[]): unknown;
  query(text: string, values?: readonly unknown[]): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'remove', listener: (client: unknown) => void): unknown;
  removeListener(event: 'remove', listener: (client: unknown) => void): unknown;
}

function view(pool: TenantPgPool): PoolView {
  return pool as unknown as PoolView;
}

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

type EntryState = 'admitting' | TenantPoolState;

interface TenantEntry<P extends TenantPgPool> {
  readonly tenantId: string;
  readonly database: string;
  readonly poolName: string;
  state: EntryState;
  pool: P | undefined;
  tracker: PoolTracker | undefined;
  /** Connections counted against the budget (0 until admitted, and again once ended). */
  reserved: number;
  lastUsedAt: number;
  lastAcquires: number;
  suspect: { readonly code: string | null; readonly message: string } | undefined;
  verifying: Promise<void> | undefined;
  ready: Promise<P>;
  closing: Promise<void> | undefined;
}

/** SQLSTATEs / error codes after which a pool's connections cannot work (database gone, server unreachable). */
const CONNECTION_FAILURE_CODES = new Set([
  '3D000', // invalid_catalog_name: the database does not exist
  '57P01', // admin_shutdown: pg_terminate_backend, DROP DATABASE ... WITH (FORCE)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

function errorCode(error: unknown): string | null {
  if (error instanceof PoolscopeError) return null; // a pg or system code (3D000, ECONNREFUSED), never poolscope's own
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** How long `endPool()` waits, after `end()`, for the closed clients' sockets to be gone before moving on. */
const SOCKET_CLOSE_WAIT_MILLIS = 2000;

/**
 * `pool.end()`, then waits until every client it closed has been removed: pg-pool resolves `end()` once its clients
 * are told to end, and emits `'remove'` only when a client's connection has actually closed.
 */
async function endPool(pool: PoolView): Promise<void> {
  const expected = pool.totalCount;
  let removed = 0;
  let wake: (() => void) | undefined;
  const onRemove = (): void => {
    removed += 1;
    if (removed >= expected) wake?.();
  };
  pool.on('remove', onRemove);
  try {
    await pool.end();
    if (removed < expected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SOCKET_CLOSE_WAIT_MILLIS);
        timer.unref();
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    pool.removeListener('remove', onRemove);
  }
}

function noop(): void {
  // intentionally empty
}

const now = (): number => performance.now();
const isoOf = (time: number): string => new Date(performance.timeOrigin + time).toISOString();

export class TenantPools<P extends TenantPgPool = TenantPgPool> {
  readonly #options: ResolvedTenantPoolsOptions<P>;
  readonly #inspector: Inspector;
  readonly #ownsInspector: boolean;
  readonly #bus: TenantEventBus;
  readonly #onError: (error: unknown) => void;
  readonly #system: P;
  #admin: P | undefined;
  /** The current entry of each tenant (admitting, opening or open). */
  readonly #entries = new Map<string, TenantEntry<P>>();
  /** Entries whose pool is ending; their connections still count against the budget until `end()` resolves. */
  readonly #closing = new Set<TenantEntry<P>>();
  /** Sum of `reserved` over #entries and #closing. */
  #reserved = 0;
  #admissionTail: Promise<void> = Promise.resolve();
  /** Database operations in flight, per tenant (serialised). */
  readonly #databaseOps = new Map<string, Promise<unknown>>();
  readonly #dropping = new Map<string, Promise<unknown>>();
  #serverVersion: Promise<number> | undefined;
  readonly #counters = { opened: 0, closed: 0, evictions: 0, idleClosed: 0, broken: 0, connectFailures: 0, limitRejections: 0, budgetRejections: 0 };
  readonly #offConnectionError: () => void;
  #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #closePromise: Promise<void> | undefined;

  /** Throws OptionsError for a bad option, and the inspector's name errors if a pool name is taken. */
  constructor(options: TenantPoolsOptions<P>) {
    const resolved = resolveTenantPoolsOptions(options);
    this.#options = resolved;
    this.#ownsInspector = resolved.inspector === undefined;
    this.#inspector = resolved.inspector ?? new Inspector({ historyIntervalMillis: 0 });
    const inspector = this.#inspector;
    const userOnError = resolved.onError;
    this.#onError = (error) => {
      try {
        if (userOnError !== undefined) userOnError(error);
        else inspector.reportError(error);
      } catch {
        // the error hook itself failed: nothing safe is left to tell
      }
    };
    this.#bus = new TenantEventBus(this.#onError);
    const system = this.#newPool({
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
    this.#offConnectionError = inspector.on('connection-error', (event) => this.#connectionError(event.poolName, event.message));
    if (resolved.idleTenantTimeoutMillis > 0) {
      this.#sweepTimer = setInterval(() => this.sweepIdle(), resolved.sweepIntervalMillis);
      this.#sweepTimer.unref();
    }
  }

  /** The inspector tracking every pool (given in the options, or created by this TenantPools). */
  get inspector(): Inspector {
    return this.#inspector;
  }

  /** The system pool (the system database; not part of the connection budget). */
  get system(): P {
    return this.#system;
  }

  /** True after `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The database name of a tenant (`databasePrefix + tenantId`); throws POOLSCOPE_ERR_TENANT_INVALID_ID. */
  databaseName(tenantId: string): string {
    return tenantDatabaseName(this.#options.databasePrefix, tenantId);
  }

  /** The inspector pool name of a tenant's pool (`tenant:<id>` by default). */
  poolName(tenantId: string): string {
    return this.#options.poolNamePrefix + tenantId;
  }

  /** Tenant ids with a pool open now. */
  openTenants(): string[] {
    return [...this.#entries.values()].filter((entry) => entry.state === 'open').map((entry) => entry.tenantId);
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
    return this.#use(tenantId, (pool) => pool);
  }

  /** Runs one query on the tenant's pool (`pool.query(text, values)`); pg's errors pass through unchanged. */
  async query<Row = Record<string, unknown>>(tenantId: string, text: string, values?: readonly unknown[]): Promise<TenantQueryResult<Row>> {
    let entryUsed: TenantEntry<P> | undefined;
    const pending = await this.#use(tenantId, (pool, entry) => {
      entryUsed = entry;
      // Called in the same tick as the entry check, so the pool is busy (a caller queued) before eviction can look.
      return { result: view(pool).query(text, values) };
    });
    try {
      return (await pending.result) as TenantQueryResult<Row>;
    } catch (error) {
      if (entryUsed !== undefined) this.#noteFailure(entryUsed, error);
      throw error;
    }
  }

  /** Checks out a client of the tenant's pool, runs `fn` with it and releases it whatever happens. */
  async withClient<T>(tenantId: string, fn: (client: PgClientOf<P>) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') throw new OptionsError('fn', fn, 'a function (client) => result');
    let entryUsed: TenantEntry<P> | undefined;
    const pending = await this.#use(tenantId, (pool, entry) => {
      entryUsed = entry;
      // pg-pool listens for 'error' only on idle clients: a checked-out client whose session is terminated would
      // emit 'error' with no listener and crash the process. guardedCheckout listens from inside pg's hand-over
      // callback (not after an await: pg can hand the client over and parse a FATAL in the same synchronous pass)
      // until the release; started here, in the same tick as the entry check, like before.
      return { checkout: guardedCheckout<ClientView>(view(pool), (error) => this.#noteFailure(entry, error)) };
    });
    let checkout: GuardedCheckout<ClientView>;
    try {
      checkout = await pending.checkout;
    } catch (error) {
      if (entryUsed !== undefined) this.#noteFailure(entryUsed, error);
      throw error;
    }
    let failed: unknown;
    try {
      return await fn(checkout.client as unknown as PgClientOf<P>);
    } catch (error) {
      failed = error;
      if (entryUsed !== undefined) this.#noteFailure(entryUsed, error);
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
  async ensureDatabase(tenantId: string): Promise<TenantDatabaseResult> {
    this.#assertOpen(tenantId);
    const database = this.databaseName(tenantId);
    return this.#databaseOp(tenantId, async () => {
      this.#assertOpen(tenantId);
      const admin = this.#adminPool();
      try {
        if (await this.#databaseExists(admin, database)) return { tenantId, database, changed: false };
        try {
          await admin.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
        } catch (error) {
          if (errorCode(error) === '42P04') return { tenantId, database, changed: false }; // created meanwhile elsewhere
          throw error;
        }
      } catch (error) {
        throw new TenantPoolError(
          'POOLSCOPE_ERR_TENANT_DATABASE_FAILED',
          tenantId,
          `Could not create database "${database}" for tenant "${tenantId}": ${messageOf(error)}. ` +
            'Check that the system (or admin) connection may CREATE DATABASE and that the server is up; the pg error is `cause`.',
          { cause: error },
        );
      }
      this.#bus.emit({ type: 'tenant-database-created', tenantId, database });
      return { tenantId, database, changed: true };
    });
  }

  /**
   * Closes the tenant's pool (waiting for its connections to end), then drops its database: `DROP DATABASE IF
   * EXISTS ... WITH (FORCE)` on PostgreSQL 13+, else terminating its sessions first. `get()` calls made meanwhile
   * wait for the drop. Rejects with INVALID_ID, DATABASE_FAILED (pg error as `cause`) or POOLS_CLOSED.
   */
  async dropDatabase(tenantId: string): Promise<TenantDatabaseResult> {
    this.#assertOpen(tenantId);
    const database = this.databaseName(tenantId);
    const op = this.#databaseOp(tenantId, async () => {
      this.#assertOpen(tenantId);
      await this.#closeTenant(tenantId, 'dropped');
      const admin = this.#adminPool();
      let existed: boolean;
      try {
        existed = await this.#databaseExists(admin, database);
        if (existed) await this.#dropDatabase(admin, database);
      } catch (error) {
        throw new TenantPoolError(
          'POOLSCOPE_ERR_TENANT_DATABASE_FAILED',
          tenantId,
          `Could not drop database "${database}" of tenant "${tenantId}": ${messageOf(error)}. ` +
            'Check that the system (or admin) connection owns the database (or is a superuser) and that no other ' +
            'application keeps reconnecting to it; the pg error is `cause`.',
          { cause: error },
        );
      }
      if (existed) this.#bus.emit({ type: 'tenant-database-dropped', tenantId, database });
      return { tenantId, database, changed: existed };
    });
    this.#dropping.set(tenantId, op);
    try {
      return await op;
    } finally {
      if (this.#dropping.get(tenantId) === op) this.#dropping.delete(tenantId);
    }
  }

  /**
   * Closes the tenant's pool and waits until its connections have ended. Idempotent; resolves at once when the
   * tenant has no pool. A later `get()` opens a new pool.
   */
  async closeTenant(tenantId: string): Promise<void> {
    this.databaseName(tenantId); // validates
    await this.#closeTenant(tenantId, 'close-tenant');
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
    return this.#bus.on(type, listener);
  }

  /** Per tenant and total figures now. */
  stats(): TenantPoolsStats {
    const t = now();
    const tenants: TenantPoolStats[] = [];
    let open = 0;
    let opening = 0;
    const all = [...this.#entries.values(), ...this.#closing];
    for (const entry of all) {
      if (entry.state === 'admitting') continue;
      if (entry.state === 'open') open += 1;
      else if (entry.state === 'opening') opening += 1;
      tenants.push(this.#tenantStats(entry, t));
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
    const system = view(this.#system);
    const systemMax = this.#options.systemPoolMax;
    return {
      timestamp: isoOf(t),
      openPools: open,
      openingPools: opening,
      closingPools: this.#closing.size,
      maxTenantPools: this.#options.maxTenantPools,
      totalConnections: total,
      usedConnections: used,
      pendingRequests: pending,
      connectionBudget: this.#options.connectionBudget,
      budgetUsed: this.#reserved,
      budgetLeft: Math.max(0, this.#options.connectionBudget - this.#reserved),
      counters: { ...this.#counters },
      tenants,
      system: {
        poolName: this.#options.systemPoolName,
        used: Math.max(0, system.totalCount - system.idleCount),
        idle: system.idleCount,
        pending: system.waitingCount,
        total: system.totalCount,
        max: systemMax,
      },
    };
  }

  /**
   * Closes tenant pools unused for `idleTenantTimeoutMillis` that have no lease out. The sweep timer calls this;
   * tests may call it directly. Returns the tenant ids closed. Never throws.
   */
  sweepIdle(): string[] {
    const closed: string[] = [];
    if (this.#closed) return closed;
    const timeout = this.#options.idleTenantTimeoutMillis;
    if (timeout <= 0) return closed;
    try {
      const t = now();
      for (const entry of [...this.#entries.values()]) {
        if (entry.state !== 'open' || entry.pool === undefined) continue;
        const acquires = this.#acquiresOf(entry);
        if (isBusy(this.#candidate(entry)) || acquires !== entry.lastAcquires) {
          entry.lastUsedAt = t;
          entry.lastAcquires = acquires;
          continue;
        }
        const idleMillis = t - entry.lastUsedAt;
        if (idleMillis < timeout) continue;
        this.#counters.idleClosed += 1;
        this.#bus.emit({
          type: 'tenant-evicted',
          tenantId: entry.tenantId,
          poolName: entry.poolName,
          reason: 'idle-timeout',
          forTenantId: null,
          idleMillis: Math.round(idleMillis),
        });
        this.#retire(entry, 'idle-timeout').catch(this.#onError);
        closed.push(entry.tenantId);
      }
    } catch (error) {
      this.#onError(error);
    }
    return closed;
  }

  // ---- getting a pool -------------------------------------------------------------------------------------------

  /**
   * Finds or opens the tenant's pool and calls `use` with it in the same tick as the final state check (so a
   * checkout started by `use` makes the pool busy before any eviction can look at it).
   */
  async #use<T>(tenantId: string, use: (pool: P, entry: TenantEntry<P>) => T): Promise<T> {
    this.#assertOpen(tenantId);
    const database = this.databaseName(tenantId);
    // Fast path: open, healthy pool.
    const current = this.#entries.get(tenantId);
    if (current !== undefined && current.state === 'open' && current.suspect === undefined && current.pool !== undefined) {
      current.lastUsedAt = now();
      return use(current.pool, current);
    }
    const dropping = this.#dropping.get(tenantId);
    if (dropping !== undefined) await dropping.catch(noop);
    for (let attempt = 0; ; attempt += 1) {
      this.#assertOpen(tenantId);
      let entry = this.#entries.get(tenantId);
      if (entry === undefined) entry = this.#startOpening(tenantId, database);
      const pool = await entry.ready;
      this.#assertOpen(tenantId);
      if (this.#entries.get(tenantId) !== entry || entry.state !== 'open') {
        if (attempt < 5) continue; // closed or replaced meanwhile (evicted, closeTenant): open again
        throw this.#connectFailed(
          tenantId,
          new TenantPoolError('POOLSCOPE_ERR_TENANT_CONNECT_FAILED', tenantId, 'the pool was closed again each time it was opened'),
        );
      }
      if (entry.suspect !== undefined && this.#candidate(entry).inUse === 0) {
        try {
          await this.#verify(entry);
        } catch {
          // #verify retired the pool as broken: open a fresh one (whose own failure is reported as CONNECT_FAILED)
          continue;
        }
        if (this.#entries.get(tenantId) !== entry || entry.state !== 'open') continue;
      }
      entry.lastUsedAt = now();
      return use(pool, entry);
    }
  }

  #startOpening(tenantId: string, database: string): TenantEntry<P> {
    const entry: TenantEntry<P> = {
      tenantId,
      database,
      poolName: this.poolName(tenantId),
      state: 'admitting',
      pool: undefined,
      tracker: undefined,
      reserved: 0,
      lastUsedAt: now(),
      lastAcquires: 0,
      suspect: undefined,
      verifying: undefined,
      ready: undefined as unknown as Promise<P>,
      closing: undefined,
    };
    this.#entries.set(tenantId, entry);
    entry.ready = this.#open(entry);
    entry.ready.catch(noop); // the callers awaiting it get the rejection; close() only waits for it
    return entry;
  }

  async #open(entry: TenantEntry<P>): Promise<P> {
    const { tenantId } = entry;
    try {
      await this.#admit(entry);
    } catch (error) {
      if (this.#entries.get(tenantId) === entry) this.#entries.delete(tenantId);
      entry.state = 'closing';
      throw error;
    }
    const options = this.#options;
    let pool: P;
    try {
      const config: TenantPgPoolConfig = {
        connectionString: options.tenantConnectionString(entry.database),
        max: options.perTenantMax,
        idleTimeoutMillis: options.idleTimeoutMillis,
        connectionTimeoutMillis: options.connectionTimeoutMillis,
      };
      if (options.perTenantMin > 0) config.min = options.perTenantMin;
      pool = this.#newPool(config);
    } catch (error) {
      this.#release(entry);
      throw this.#connectFailed(tenantId, error);
    }
    entry.pool = pool;
    view(pool).on('error', (error) => this.#poolError(entry, error));
    try {
      entry.tracker = trackPgPool(this.#inspector, pool, { ...options.tracking, name: entry.poolName });
    } catch (error) {
      // e.g. the inspector already tracks a pool of that name (another TenantPools with the same poolNamePrefix)
      await this.#retire(entry, 'connect-failed');
      throw error;
    }
    if (options.verifyOnOpen) {
      try {
        await checkOneConnection(pool);
      } catch (error) {
        this.#counters.connectFailures += 1;
        await this.#retire(entry, 'connect-failed');
        throw this.#connectFailed(tenantId, error);
      }
    }
    entry.lastAcquires = this.#acquiresOf(entry);
    if (entry.state !== 'opening') return pool; // closed meanwhile (close()); the caller re-checks
    entry.state = 'open';
    entry.lastUsedAt = now();
    this.#counters.opened += 1;
    this.#bus.emit({ type: 'tenant-opened', tenantId, poolName: entry.poolName, database: entry.database, max: options.perTenantMax });
    return pool;
  }

  /**
   * Reserves the new pool's `max` in the budget, one admission at a time: evicts least recently used idle pools
   * as needed and waits until their connections have ended, so the sum of the `max` of every pool whose
   * connections may exist never passes `connectionBudget`.
   */
  #admit(entry: TenantEntry<P>): Promise<void> {
    const run = async (): Promise<void> => {
      const { perTenantMax: need, connectionBudget: budget, maxTenantPools } = this.#options;
      for (;;) {
        this.#assertOpen(entry.tenantId);
        let openPools = 0;
        const candidates: EvictionCandidate[] = [];
        for (const other of this.#entries.values()) {
          if (other === entry || other.state === 'admitting') continue;
          openPools += 1;
          if (other.state === 'open') candidates.push(this.#candidate(other));
        }
        let closingConnections = 0;
        for (const closing of this.#closing) closingConnections += closing.reserved;
        const plan = planEviction(candidates, {
          openPools,
          maxPools: maxTenantPools,
          reservedConnections: this.#reserved,
          closingConnections,
          connectionBudget: budget,
          needConnections: need,
        });
        if (!plan.ok) throw this.#refusal(entry.tenantId, plan.failure, openPools);
        const t = now();
        for (const tenantId of plan.evict) {
          const victim = this.#entries.get(tenantId);
          if (victim === undefined) continue;
          this.#counters.evictions += 1;
          this.#bus.emit({
            type: 'tenant-evicted',
            tenantId,
            poolName: victim.poolName,
            reason: plan.reason ?? 'pool-limit',
            forTenantId: entry.tenantId,
            idleMillis: Math.round(t - victim.lastUsedAt),
          });
          this.#retire(victim, 'evicted').catch(this.#onError);
        }
        // Wait for the ended pools' connections to be gone (bounded: a closing pool with a lease out may take long).
        const deadline = now() + Math.max(this.#options.connectionTimeoutMillis, 1000);
        while (this.#reserved + need > budget && this.#closing.size > 0 && now() < deadline) {
          await this.#anyClosingEnded(deadline - now());
        }
        if (this.#reserved + need > budget) {
          if (this.#closing.size > 0) throw this.#refusal(entry.tenantId, 'connection-budget', openPools);
          continue; // plan again (not expected: admissions are serialised)
        }
        this.#assertOpen(entry.tenantId);
        entry.reserved = need;
        this.#reserved += need;
        entry.state = 'opening';
        return;
      }
    };
    const result = this.#admissionTail.then(run);
    this.#admissionTail = result.then(noop, noop);
    return result;
  }

  #anyClosingEnded(timeoutMillis: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, timeoutMillis));
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      for (const entry of this.#closing) entry.closing?.then(done, done);
    });
  }

  #refusal(tenantId: string, failure: 'pool-limit' | 'connection-budget', openPools: number): TenantPoolError {
    const { maxTenantPools, connectionBudget, perTenantMax } = this.#options;
    if (failure === 'pool-limit') {
      this.#counters.limitRejections += 1;
      return new TenantPoolError(
        'POOLSCOPE_ERR_TENANT_LIMIT_REACHED',
        tenantId,
        `Cannot open a pool for tenant "${tenantId}": ${openPools} of maxTenantPools ${maxTenantPools} tenant pools are open and ` +
          'every one has a connection checked out or a caller waiting, so none can be evicted. Raise maxTenantPools, ' +
          'release connections sooner, or retry.',
      );
    }
    this.#counters.budgetRejections += 1;
    return new TenantPoolError(
      'POOLSCOPE_ERR_TENANT_BUDGET_EXHAUSTED',
      tenantId,
      `Cannot open a pool for tenant "${tenantId}": it needs ${perTenantMax} connections and ${this.#reserved} of ` +
        `connectionBudget ${connectionBudget} are held by tenant pools that are busy or still closing, so none can be ` +
        'evicted to make room. Raise connectionBudget, lower perTenantMax, or retry when pools go idle.',
    );
  }

  #connectFailed(tenantId: string, cause: unknown): TenantPoolError {
    const code = errorCode(cause);
    return new TenantPoolError(
      'POOLSCOPE_ERR_TENANT_CONNECT_FAILED',
      tenantId,
      `Could not connect to the database of tenant "${tenantId}" (${this.databaseName(tenantId)})` +
        `${code === null ? '' : ` [${code}]`}: ${messageOf(cause)}. ` +
        (code === '3D000'
          ? 'The database does not exist: call ensureDatabase() first. '
          : 'Check that the server is reachable and the database exists (ensureDatabase()). ') +
        'The pg error is `cause`; the next get() tries a fresh pool.',
      { cause },
    );
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
    if (entry.state !== 'open') return;
    this.#counters.broken += 1;
    this.#bus.emit({
      type: 'tenant-broken',
      tenantId: entry.tenantId,
      poolName: entry.poolName,
      code: errorCode(error),
      message: messageOf(error),
    });
    this.#retire(entry, 'broken').catch(this.#onError);
  }

  /** pg emitted 'error' for an idle client (terminated, server gone): the pool removed it; verify on next use. */
  #poolError(entry: TenantEntry<P>, error: Error): void {
    try {
      if (entry.state === 'open') entry.suspect = { code: errorCode(error), message: messageOf(error) };
    } catch (failure) {
      this.#onError(failure);
    }
  }

  /** The inspector saw a connect failure or connection error on one of our pools. */
  #connectionError(poolName: string, message: string): void {
    const prefix = this.#options.poolNamePrefix;
    if (!poolName.startsWith(prefix)) return;
    const entry = this.#entries.get(poolName.slice(prefix.length));
    if (entry !== undefined && entry.poolName === poolName && entry.state === 'open') {
      entry.suspect ??= { code: null, message };
    }
  }

  /** A query or checkout through query()/withClient() failed: connection-class failures make the pool suspect. */
  #noteFailure(entry: TenantEntry<P>, error: unknown): void {
    const code = errorCode(error);
    const connectionFailure =
      (code !== null && CONNECTION_FAILURE_CODES.has(code)) || /Connection terminated|terminating connection/i.test(messageOf(error));
    if (connectionFailure && entry.state === 'open') entry.suspect ??= { code, message: messageOf(error) };
  }

  // ---- closing ------------------------------------------------------------------------------------------------

  async #closeTenant(tenantId: string, reason: TenantCloseReason): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const entry = this.#entries.get(tenantId);
      if (entry === undefined) break;
      if (entry.state === 'admitting' || entry.state === 'opening') {
        await entry.ready.catch(noop);
        continue;
      }
      await this.#retire(entry, reason);
    }
    const closing = [...this.#closing].filter((entry) => entry.tenantId === tenantId).map((entry) => entry.closing);
    await Promise.all(closing);
  }

  /**
   * Takes the entry out of service now (untracked, no longer handed out) and ends its pool; its budget share is
   * freed once `end()` has resolved, i.e. once its connections are closed. Never rejects.
   */
  #retire(entry: TenantEntry<P>, reason: TenantCloseReason): Promise<void> {
    if (entry.closing !== undefined) return entry.closing;
    entry.state = 'closing';
    if (this.#entries.get(entry.tenantId) === entry) this.#entries.delete(entry.tenantId);
    this.#closing.add(entry);
    const tracker = entry.tracker;
    entry.tracker = undefined;
    if (tracker !== undefined && this.#inspector.pool(entry.poolName) === tracker) {
      try {
        this.#inspector.untrack(entry.poolName);
      } catch (error) {
        this.#onError(error);
      }
    }
    const pool = entry.pool;
    entry.closing = (async () => {
      try {
        if (pool !== undefined) await endPool(view(pool));
      } catch (error) {
        this.#onError(error);
      } finally {
        this.#release(entry);
        this.#counters.closed += 1;
        this.#bus.emit({ type: 'tenant-closed', tenantId: entry.tenantId, poolName: entry.poolName, reason });
      }
    })();
    return entry.closing;
  }

  /** Frees the entry's budget share and forgets it. */
  #release(entry: TenantEntry<P>): void {
    this.#closing.delete(entry);
    if (this.#entries.get(entry.tenantId) === entry) this.#entries.delete(entry.tenantId);
    this.#reserved -= entry.reserved;
    entry.reserved = 0;
    entry.state = 'closing';
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    // Openings in flight finish (or fail) first; admissions not yet done reject with POOLS_CLOSED.
    await Promise.all([...this.#entries.values()].map((entry) => entry.ready.catch(noop)));
    await Promise.all([...this.#entries.values()].map((entry) => this.#retire(entry, 'close')));
    await Promise.all([...this.#closing].map((entry) => entry.closing));
    await Promise.all([...this.#databaseOps.values()].map((op) => op.catch(noop)));
    this.#offConnectionError();
    const pools = [this.#system, this.#admin].filter((pool): pool is P => pool !== undefined);
    for (const name of [this.#options.systemPoolName]) {
      if (this.#inspector.pool(name) !== undefined) {
        try {
          this.#inspector.untrack(name);
        } catch (error) {
          this.#onError(error);
        }
      }
    }
    await Promise.all(pools.map((pool) => endPool(view(pool)).catch(this.#onError)));
    if (this.#ownsInspector) this.#inspector.close();
    this.#bus.clear();
  }

  // ---- databases ----------------------------------------------------------------------------------------------

  #adminPool(): PoolView {
    const adminUrl = this.#options.adminConnectionString;
    if (adminUrl === undefined) return view(this.#system);
    this.#admin ??= this.#newPool({
      connectionString: adminUrl,
      max: 1,
      idleTimeoutMillis: 1000,
      connectionTimeoutMillis: this.#options.connectionTimeoutMillis,
    });
    return view(this.#admin);
  }

  async #databaseExists(admin: PoolView, database: string): Promise<boolean> {
    const result = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])) as { rowCount: number | null };
    return (result.rowCount ?? 0) > 0;
  }

  async #dropDatabase(admin: PoolView, database: string): Promise<void> {
    this.#serverVersion ??= admin
      .query(`SELECT current_setting('server_version_num') AS v`)
      .then((result) => Number((result as { rows: { v: string }[] }).rows[0]?.v ?? 0));
    const version = await this.#serverVersion.catch((error: unknown) => {
      this.#serverVersion = undefined;
      throw error;
    });
    const quoted = quoteIdentifier(database);
    if (version >= 130000) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
      return;
    }
    for (let attempt = 1; ; attempt += 1) {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${quoted}`);
        return;
      } catch (error) {
        // Before PostgreSQL 13 a session may reconnect between terminate and drop: retry a few times.
        if (errorCode(error) !== '55006' || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt).unref());
      }
    }
  }

  /** Runs database operations of one tenant one after another. */
  #databaseOp<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#databaseOps.get(tenantId) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const settled = result.then(noop, noop);
    this.#databaseOps.set(tenantId, settled);
    settled.then(() => {
      if (this.#databaseOps.get(tenantId) === settled) this.#databaseOps.delete(tenantId);
    }, noop);
    return result;
  }

  // ---- helpers ------------------------------------------------------------------------------------------------

  #newPool(config: TenantPgPoolConfig): P {
    const pool = new this.#options.Pool({ ...this.#options.poolConfig, ...config } as TenantPgPoolConfig);
    // pg emits 'error' for idle clients (terminated, server gone); unhandled, that would kill the process.
    view(pool).on('error', noop);
    return pool;
  }

  #candidate(entry: TenantEntry<P>): EvictionCandidate {
    const pool = entry.pool === undefined ? undefined : view(entry.pool);
    return {
      tenantId: entry.tenantId,
      lastUsedAt: entry.lastUsedAt,
      inUse: pool === undefined ? 0 : Math.max(0, pool.totalCount - pool.idleCount),
      pending: pool === undefined ? 0 : pool.waitingCount,
      max: entry.reserved,
    };
  }

  #acquiresOf(entry: TenantEntry<P>): number {
    try {
      return entry.tracker?.stats().counters.acquires ?? entry.lastAcquires;
    } catch {
      return entry.lastAcquires;
    }
  }

  #tenantStats(entry: TenantEntry<P>, t: number): TenantPoolStats {
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
      max: this.#options.perTenantMax,
      lastUsedAt: isoOf(entry.lastUsedAt),
      idleMillis: Math.max(0, Math.round(t - entry.lastUsedAt)),
      suspect: entry.suspect !== undefined,
    };
  }

  #assertOpen(tenantId: string | undefined): void {
    if (this.#closed) {
      throw new TenantPoolError(
        'POOLSCOPE_ERR_TENANT_POOLS_CLOSED',
        tenantId,
        'This TenantPools was closed (close() was called); its pools are ended. Create a new TenantPools to open tenant pools again.',
      );
    }
  }
}
