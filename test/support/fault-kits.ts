/**
 * The pool kinds the fault scenarios run on (test/support/fault-scenarios.ts), one kit each: how to create a pool
 * through a given URL (the proxy's), run a unit of work, hold a connection in the kind's own scoped way, read the
 * driver's own counts, end it, and what counts as the driver's own error. Adding a kind is one kit here.
 *
 * Each kit uses its driver the way a careful application does (pg pools get an 'error' listener, as pg-pool's docs
 * ask; resource factories listen for 'error' on what they create and give a connect timeout), so that what the
 * scenarios find is poolscope's doing, not a missing listener of the app's.
 */
import pg from 'pg';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { Pool as TarnPool, TimeoutError as TarnTimeoutError } from 'tarn';
import knex, { type Knex } from 'knex';
import genericPool from 'generic-pool';
import type { Pool as GenericPool } from 'generic-pool';
import type { Inspector } from '../../src/core/inspector.js';
import type { PoolView } from '../../src/core/pool-view.js';
import { trackPgPool } from '../../src/adapters/pg/pg-adapter.js';
import { withClient } from '../../src/adapters/pg/pg-transactions.js';
import { trackMysql2Pool } from '../../src/adapters/mysql2/index.js';
import { trackTarnPool, trackKnex } from '../../src/adapters/tarn/index.js';
import { trackGenericPool } from '../../src/adapters/generic-pool/index.js';
import { TenantPools } from '../../src/tenants/tenant-pools.js';
import type { BackendKind } from './fault-backends.js';
import { PG_DATABASE_PREFIX } from './fault-backends.js';
import { isNodeNetworkError, type DriverCounts, type DriverErrorTest, type WatchedPool } from './fault-invariants.js';
import { driverCounts as mysqlDriverCounts } from './mysql-test-kit.js';
import { tarnCounts } from './tarn-test-kit.js';

/** A connection held in the kind's scoped way: its server session id and a statement runner. */
export interface FaultSession {
  readonly id: number;
  query(sql: string): Promise<unknown>;
}

/** How a scenario wants its pool. */
export interface FaultPoolSettings {
  /** The database under test, through the proxy. */
  readonly url: string;
  readonly max: number;
  /** Acquire (and connect) timeout, where the driver has one. */
  readonly acquireTimeoutMillis: number;
  /** The inspector that tracks every pool of the kit (its onError goes to the invariants). */
  readonly inspector: Inspector;
  /** Where a kit's own error hooks report (TenantPools' onError). */
  readonly onError: (error: unknown) => void;
}

/** One pool kind. `H` is what `create` returns (the pool, a Knex instance, a TenantPools...). */
export interface FaultKit<H> {
  /** The row name in the table: `pg`, `tenants`, `tarn`, `knex`, `generic-pool`, `mysql2`. */
  readonly kind: string;
  readonly backend: BackendKind;
  /** Whether the driver gives up waiting for a connection by itself (mysql2 does not: waiters wait). */
  readonly acquireTimeout: boolean;
  /** Creates the pool (tracked) and makes sure it works once. */
  create(settings: FaultPoolSettings): Promise<H>;
  /** The tracked pools with the driver's own counts. */
  pools(handle: H): WatchedPool[];
  /** One unit of work as an app does it: borrow, a trivial statement, give back (or a one-shot query). */
  work(handle: H): Promise<void>;
  /** Holds a connection for `fn` in the kind's scoped way, released (or destroyed on a broken session) after. */
  scoped(handle: H, fn: (session: FaultSession) => Promise<void>): Promise<void>;
  /** Opens `n` connections (held together, then returned) so that `n` are idle. */
  warm(handle: H, n: number): Promise<void>;
  /** Ends the pool (bounded by the caller). */
  end(handle: H): Promise<void>;
  readonly isDriverError: DriverErrorTest;
}

// ---- what each driver's own errors are -------------------------------------------------------------------------

/**
 * pg's (and pg-pool's) own errors: the server's (`DatabaseError`, with its SQLSTATE), Node's network errors
 * (ECONNRESET, ECONNREFUSED, EPIPE, ETIMEDOUT...), and the plain Errors pg and pg-pool create themselves (their
 * messages, from node_modules/pg/lib/client.js and node_modules/pg-pool/index.js). Knex prefixes the SQL to the
 * message of the same error object, so the messages are matched anywhere in it.
 */
const PG_OWN_MESSAGES = [
  /Connection terminated unexpectedly/,
  /Connection terminated due to connection timeout/,
  /Connection terminated/,
  /timeout expired/,
  /Query read timeout/,
  /Client has encountered a connection error and is not queryable/,
  /Client was closed and is not queryable/,
  /timeout exceeded when trying to connect/,
  /Cannot use a pool after calling end on the pool/,
  /Received unexpected \w+ message from backend/,
];

export function isPgError(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) return true;
  if (isNodeNetworkError(error)) return true;
  return error instanceof Error && error.constructor === Error && PG_OWN_MESSAGES.some((pattern) => pattern.test(error.message));
}

/** tarn's TimeoutError (its acquire timeout) besides the resources' own (pg's). */
export function isTarnPgError(error: unknown): boolean {
  return error instanceof TarnTimeoutError || isPgError(error);
}

/** Knex's KnexTimeoutError (acquire timeout), tarn's, and pg's errors as Knex passes them on. */
export function isKnexPgError(error: unknown): boolean {
  return (error instanceof Error && error.name === 'KnexTimeoutError') || isTarnPgError(error);
}

/** generic-pool's TimeoutError (`ResourceRequest timed out`) besides pg's. */
export function isGenericPoolPgError(error: unknown): boolean {
  return (error instanceof Error && error.name === 'TimeoutError' && /ResourceRequest timed out/.test(error.message)) || isPgError(error);
}

/**
 * mysql2's own errors carry a string `code`: the server's (`ER_...`), the protocol's (`PROTOCOL_CONNECTION_LOST`...),
 * Node's network errors; plus the plain messages mysql2 creates itself for closed pools and connections.
 */
const MYSQL2_OWN_MESSAGES = [/Pool is closed/, /Can't add new command when connection is in closed state/, /Connection lost/];

export function isMysql2Error(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.length > 0) return true;
  return MYSQL2_OWN_MESSAGES.some((pattern) => pattern.test(error.message));
}

// ---- shared pieces ----------------------------------------------------------------------------------------------

/** `n` scoped holds at once (each waits for the others, bounded), so `n` connections are open, then idle. */
async function warmScoped<H>(kit: Pick<FaultKit<H>, 'scoped'>, handle: H, n: number): Promise<void> {
  let holding = 0;
  const deadline = Date.now() + 5000;
  await Promise.all(
    Array.from({ length: n }, () =>
      kit.scoped(handle, async (session) => {
        await session.query('SELECT 1');
        holding += 1;
        while (holding < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      }),
    ),
  );
}

function pgCounts(pool: pg.Pool): DriverCounts {
  return { total: pool.totalCount, idle: pool.idleCount, used: pool.totalCount - pool.idleCount, waiting: pool.waitingCount };
}

const TRACKING = { leakThresholdMillis: 0 } as const;

/** A pg.Client as a tarn/generic-pool resource: listened to (a broken one fails validation), with a connect timeout. */
type PgResource = pg.Client & { faultBroken?: boolean };

async function createPgResource(url: string, connectTimeoutMillis: number): Promise<PgResource> {
  const client: PgResource = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMillis });
  const broken = (): void => {
    client.faultBroken = true;
  };
  client.on('error', broken);
  client.on('end', broken);
  await client.connect();
  return client;
}

function sessionOfPgClient(client: pg.ClientBase & { processID?: number }): FaultSession {
  return { id: client.processID ?? -1, query: (sql) => client.query(sql) };
}

// ---- pg -----------------------------------------------------------------------------------------------------------

interface PgHandle {
  readonly pool: pg.Pool;
  readonly view: PoolView;
  turn: number;
}

export const pgKit: FaultKit<PgHandle> = {
  kind: 'pg',
  backend: 'postgres',
  acquireTimeout: true,
  async create({ url, max, acquireTimeoutMillis, inspector }) {
    const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: acquireTimeoutMillis, idleTimeoutMillis: 60_000 });
    pool.on('error', () => undefined); // pg-pool's docs: an app listens for idle clients' errors
    const view = trackPgPool(inspector, pool, { name: 'main', ...TRACKING });
    const handle = { pool, view, turn: 0 };
    await pgKit.work(handle);
    return handle;
  },
  pools: ({ pool, view }) => [{ name: 'main', view, counts: () => pgCounts(pool) }],
  async work(handle) {
    handle.turn += 1;
    // Both ways an app uses a pg.Pool: the one-shot query, and a checkout (poolscope's withClient).
    if (handle.turn % 2 === 0) await handle.pool.query('SELECT 1');
    else await withClient(handle.pool, (client) => client.query('SELECT 1'));
  },
  scoped: ({ pool }, fn) => withClient(pool, (client) => fn(sessionOfPgClient(client))),
  warm: (handle, n) => warmScoped(pgKit, handle, n),
  end: ({ pool }) => pool.end(),
  isDriverError: isPgError,
};

// ---- tenants ------------------------------------------------------------------------------------------------------

/** Tenants of the scenarios: two, so that more than one tenant pool lives through each fault. */
export const FAULT_TENANTS = ['a', 'b'] as const;
const TENANT_PREFIX = `${PG_DATABASE_PREFIX}t_`;

interface TenantsHandle {
  readonly tenants: TenantPools<pg.Pool>;
  /** Every pg.Pool TenantPools created (the subclass below records them), newest last. */
  readonly created: pg.Pool[];
  turn: number;
}

export const tenantsKit: FaultKit<TenantsHandle> = {
  kind: 'tenants',
  backend: 'postgres',
  acquireTimeout: true,
  async create({ url, max, acquireTimeoutMillis, inspector, onError }) {
    const created: pg.Pool[] = [];
    class RecordedPool extends pg.Pool {
      constructor(config: pg.PoolConfig) {
        super(config);
        created.push(this);
      }
    }
    const tenants = new TenantPools<pg.Pool>({
      Pool: RecordedPool,
      connectionString: url,
      databasePrefix: TENANT_PREFIX,
      perTenantMax: max,
      connectionTimeoutMillis: acquireTimeoutMillis,
      idleTimeoutMillis: 60_000,
      idleTenantTimeoutMillis: 0,
      inspector,
      onError,
      tracking: TRACKING,
    });
    const handle = { tenants, created, turn: 0 };
    try {
      for (const tenant of FAULT_TENANTS) await tenants.ensureDatabase(tenant);
      for (const tenant of FAULT_TENANTS) await tenants.query(tenant, 'SELECT 1');
    } catch (error) {
      await tenants.close();
      throw error;
    }
    return handle;
  },
  pools({ tenants, created }) {
    const inspector = tenants.inspector;
    return inspector.poolNames().flatMap((name) => {
      const view = inspector.pool(name);
      const database = name === 'system' ? `${PG_DATABASE_PREFIX}main` : tenants.databaseName(name.slice('tenant:'.length));
      // The newest pool of that database that is not ending is the one tracked under that name.
      const pool = [...created].reverse().find((p) => !p.ending && databaseOf(p) === database);
      if (view === undefined || pool === undefined) return [];
      return [{ name, view, counts: () => pgCounts(pool) }];
    });
  },
  async work(handle) {
    handle.turn += 1;
    const tenant = FAULT_TENANTS[handle.turn % FAULT_TENANTS.length] as string;
    if (handle.turn % 4 < 2) await handle.tenants.query(tenant, 'SELECT 1');
    else await handle.tenants.withClient(tenant, (client) => client.query('SELECT 1'));
  },
  scoped: ({ tenants }, fn) => tenants.withClient('a', (client) => fn(sessionOfPgClient(client))),
  async warm(handle, n) {
    await warmScoped(tenantsKit, handle, n);
    let holding = 0;
    const deadline = Date.now() + 5000;
    await Promise.all(
      Array.from({ length: n }, () =>
        handle.tenants.withClient('b', async (client) => {
          await client.query('SELECT 1');
          holding += 1;
          while (holding < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        }),
      ),
    );
  },
  end: ({ tenants }) => tenants.close(),
  isDriverError: isPgError,
};

function databaseOf(pool: pg.Pool): string {
  const connectionString = (pool.options as { connectionString?: string }).connectionString ?? '';
  return decodeURIComponent(new URL(connectionString).pathname.slice(1));
}

// ---- tarn (pg.Client resources) ----------------------------------------------------------------------------------

interface TarnHandle {
  readonly pool: TarnPool<PgResource>;
  readonly view: PoolView;
}

async function withTarnResource(pool: TarnPool<PgResource>, fn: (client: PgResource) => Promise<void>): Promise<void> {
  const client = await pool.acquire().promise;
  try {
    await fn(client);
  } catch (error) {
    client.faultBroken ||= isPgError(error);
    throw error;
  } finally {
    pool.release(client);
  }
}

export const tarnKit: FaultKit<TarnHandle> = {
  kind: 'tarn',
  backend: 'postgres',
  acquireTimeout: true,
  async create({ url, max, acquireTimeoutMillis, inspector }) {
    const pool = new TarnPool<PgResource>({
      create: () => createPgResource(url, acquireTimeoutMillis),
      destroy: (client) => client.end().catch(() => undefined),
      validate: (client) => client.faultBroken !== true,
      min: 0,
      max,
      acquireTimeoutMillis,
      createTimeoutMillis: acquireTimeoutMillis,
      idleTimeoutMillis: 60_000,
      createRetryIntervalMillis: 50,
    });
    const view = trackTarnPool(inspector, pool, { name: 'tarn', resourceKind: 'pg', ...TRACKING });
    const handle = { pool, view };
    await tarnKit.work(handle);
    return handle;
  },
  pools: ({ pool, view }) => [{ name: 'tarn', view, counts: () => ({ ...tarnCounts(pool as TarnPool<unknown>), used: pool.numUsed() }) }],
  work: ({ pool }) => withTarnResource(pool, async (client) => void (await client.query('SELECT 1'))),
  scoped: ({ pool }, fn) => withTarnResource(pool, (client) => fn(sessionOfPgClient(client))),
  warm: (handle, n) => warmScoped(tarnKit, handle, n),
  async end({ pool }) {
    await pool.destroy();
  },
  isDriverError: isTarnPgError,
};

// ---- Knex (its tarn pool of pg.Clients) --------------------------------------------------------------------------

interface KnexHandle {
  readonly db: Knex;
  readonly view: PoolView;
  turn: number;
}

const SILENT_KNEX_LOG = { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined };

export const knexKit: FaultKit<KnexHandle> = {
  kind: 'knex',
  backend: 'postgres',
  acquireTimeout: true,
  async create({ url, max, acquireTimeoutMillis, inspector }) {
    const db = knex({
      client: 'pg',
      connection: { connectionString: url, connectionTimeoutMillis: acquireTimeoutMillis } as Knex.PgConnectionConfig,
      pool: { min: 0, max, idleTimeoutMillis: 60_000, createTimeoutMillis: acquireTimeoutMillis, createRetryIntervalMillis: 50 },
      acquireConnectionTimeout: acquireTimeoutMillis,
      log: SILENT_KNEX_LOG,
    });
    const view = trackKnex(inspector, db, { name: 'knex', ...TRACKING });
    const handle = { db, view, turn: 0 };
    await knexKit.work(handle);
    return handle;
  },
  pools: ({ db, view }) => {
    const pool = db.client.pool as TarnPool<unknown>;
    return [{ name: 'knex', view, counts: () => ({ ...tarnCounts(pool), used: pool.numUsed() }) }];
  },
  async work(handle) {
    handle.turn += 1;
    if (handle.turn % 2 === 0) await handle.db.raw('SELECT 1');
    else await handle.db.transaction((trx) => trx.raw('SELECT 1'));
  },
  // Knex's scoped use: a transaction (the connection is Knex's; the session id read on it).
  scoped: ({ db }, fn) =>
    db.transaction(async (trx) => {
      const { rows } = (await trx.raw('SELECT pg_backend_pid() AS pid')) as { rows: { pid: number }[] };
      await fn({ id: rows[0]?.pid ?? -1, query: (sql) => trx.raw(sql) });
    }),
  warm: (handle, n) => warmScoped(knexKit, handle, n),
  end: ({ db }) => db.destroy(),
  isDriverError: isKnexPgError,
};

// ---- generic-pool (pg.Client resources) ----------------------------------------------------------------------------

interface GenericHandle {
  readonly pool: GenericPool<PgResource>;
  readonly view: PoolView;
}

async function withGenericResource(pool: GenericPool<PgResource>, fn: (client: PgResource) => Promise<void>): Promise<void> {
  const client = await pool.acquire();
  let broken = false;
  try {
    await fn(client);
  } catch (error) {
    broken = client.faultBroken === true || isPgError(error);
    throw error;
  } finally {
    if (broken || client.faultBroken === true) await pool.destroy(client);
    else await pool.release(client);
  }
}

export const genericPoolKit: FaultKit<GenericHandle> = {
  kind: 'generic-pool',
  backend: 'postgres',
  acquireTimeout: true,
  async create({ url, max, acquireTimeoutMillis, inspector }) {
    const pool = genericPool.createPool<PgResource>(
      {
        create: () => createPgResource(url, acquireTimeoutMillis),
        destroy: (client) => client.end().catch(() => undefined),
        validate: async (client) => client.faultBroken !== true,
      },
      { max, min: 0, acquireTimeoutMillis, testOnBorrow: true, idleTimeoutMillis: 60_000 },
    );
    const view = trackGenericPool(inspector, pool, {
      name: 'generic',
      sessionIdOf: (client) => (client as { processID?: number }).processID ?? null,
      pingResource: (client) => client.query('SELECT 1'),
      ...TRACKING,
    });
    const handle = { pool, view };
    await genericPoolKit.work(handle);
    return handle;
  },
  pools: ({ pool, view }) => [{ name: 'generic', view, counts: () => ({ total: pool.size, idle: pool.available, used: pool.borrowed, waiting: pool.pending }) }],
  work: ({ pool }) => withGenericResource(pool, async (client) => void (await client.query('SELECT 1'))),
  scoped: ({ pool }, fn) => withGenericResource(pool, (client) => fn(sessionOfPgClient(client))),
  warm: (handle, n) => warmScoped(genericPoolKit, handle, n),
  async end({ pool }) {
    await pool.drain();
    await pool.clear();
  },
  isDriverError: isGenericPoolPgError,
};

// ---- mysql2 -------------------------------------------------------------------------------------------------------

interface MysqlHandle {
  readonly pool: mysqlPromise.Pool;
  readonly view: PoolView;
  turn: number;
}

async function withMysqlConnection(pool: mysqlPromise.Pool, fn: (connection: mysqlPromise.PoolConnection) => Promise<void>): Promise<void> {
  const connection = await pool.getConnection();
  let failed: unknown;
  try {
    await fn(connection);
  } catch (error) {
    failed = error;
    throw error;
  } finally {
    // A connection whose statement failed fatally is destroyed, not returned (mysql2's docs).
    if (failed !== undefined && (failed as { fatal?: unknown }).fatal === true) connection.destroy();
    else connection.release();
  }
}

export const mysql2Kit: FaultKit<MysqlHandle> = {
  kind: 'mysql2',
  backend: 'mysql',
  acquireTimeout: false,
  async create({ url, max, acquireTimeoutMillis, inspector }) {
    const pool = mysqlPromise.createPool({ uri: url, connectionLimit: max, maxIdle: max, idleTimeout: 60_000, connectTimeout: acquireTimeoutMillis });
    const view = trackMysql2Pool(inspector, pool, { name: 'mysql', ...TRACKING });
    const handle = { pool, view, turn: 0 };
    await mysql2Kit.work(handle);
    return handle;
  },
  pools: ({ pool, view }) => [
    {
      name: 'mysql',
      view,
      counts: () => {
        const counts = mysqlDriverCounts(pool.pool as unknown as mysql.Pool);
        return { ...counts, used: counts.total - counts.idle };
      },
    },
  ],
  async work(handle) {
    handle.turn += 1;
    if (handle.turn % 2 === 0) await handle.pool.query('SELECT 1');
    else await withMysqlConnection(handle.pool, async (connection) => void (await connection.query('SELECT 1')));
  },
  scoped: ({ pool }, fn) => withMysqlConnection(pool, (connection) => fn({ id: connection.threadId, query: (sql) => connection.query(sql) })),
  warm: (handle, n) => warmScoped(mysql2Kit, handle, n),
  end: ({ pool }) => pool.end(),
  isDriverError: isMysql2Error,
};
