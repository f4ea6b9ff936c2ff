import { OptionsError, PoolConfigError, ServerViewError, messageOf } from '../errors.js';
import { importPg, pgExportOf } from '../postgres/pg-module-loader.js';
import type { PgClientLike, PgRowsRunner } from '../postgres/pg-client-shapes.js';
import { SERVER_LIMITS_SQL, serverLimitsOf, } from '../postgres/server-limits.js';
import type { PoolscopeLogger } from '../core/logger.js';
import { logWarnings, type PoolConfigWarning } from './pool-config-validation.js';

/**
 * Does the planned pool size fit the server? `max` connections per process times the processes expected to run at
 * once, against what ordinary roles may open: max_connections minus superuser_reserved_connections minus (on
 * PostgreSQL 16+) reserved_connections. One short query; a warning when the plan does not fit.
 */

/** The server's connection limits (and use), in one statement: src/postgres/server-limits.ts. */
export const SERVER_CAPACITY_SQL = SERVER_LIMITS_SQL;

/** application_name of the check's own session when it connects with `{ connectionString }`. */
export const SERVER_CAPACITY_APPLICATION_NAME = 'poolscope-capacity-check';
/** How long connecting may take (with `{ connectionString }`). */
export const DEFAULT_CAPACITY_CONNECTION_TIMEOUT_MILLIS = 5000;

/** Anything that runs a query: a pg.Pool, a connected pg.Client, a checked-out pg.PoolClient. */
export type CapacityQueryable = PgRowsRunner;

/** A client the check creates from a connection string (pg.Client fits): connected, queried once, ended. */
export type CapacityClientLike = PgClientLike;

/** `pg.Client`, or the `pg` module itself (its `Client`, or `default.Client`, is used). */
export type CapacityClientSource =
  | (new (config: Record<string, unknown>) => CapacityClientLike)
  | { readonly Client: unknown }
  | { readonly default: { readonly Client: unknown } };

export interface ServerCapacityCheckOptions {
  /** The pool's `max` (per process), e.g. `loadPoolConfig().max`. */
  readonly max: number;
  /** Processes (instances, replicas, workers) each running such a pool at the same time. Default 1. */
  readonly expectedInstances?: number;
  /** Ask through this (a pg.Pool, a connected pg.Client): used as is, never ended. Exclusive with `connectionString`. */
  readonly client?: CapacityQueryable;
  /** Or connect with this: a client of its own is created, queried once and ended. */
  readonly connectionString?: string;
  /**
   * With `connectionString`: `pg.Client` or the `pg` module to create the client with. Default: `await import('pg')`
   * (pg stays an optional peer dependency).
   */
  readonly pg?: CapacityClientSource;
  /** With `connectionString`: connect timeout. Default 5000. */
  readonly connectionTimeoutMillis?: number;
  /** Gets the warning (if any) at `warn`. Default: the warning is only returned. */
  readonly logger?: PoolscopeLogger;
}

/** What the server allows and what the plan needs. */
export interface ServerCapacityReport {
  /** server_version_num, e.g. 160004. */
  readonly serverVersionNumber: number;
  readonly maxConnections: number;
  readonly superuserReservedConnections: number;
  /** reserved_connections (PostgreSQL 16+, for roles with pg_use_reserved_connections); 0 before 16. */
  readonly reservedConnections: number;
  /** maxConnections - superuserReservedConnections - reservedConnections: what ordinary roles may open. */
  readonly availableConnections: number;
  readonly max: number;
  readonly expectedInstances: number;
  /** max * expectedInstances. */
  readonly plannedConnections: number;
  /** plannedConnections > availableConnections. */
  readonly exceeded: boolean;
  /** POOLSCOPE_WARN_CONFIG_SERVER_CAPACITY when exceeded; else empty. */
  readonly warnings: readonly PoolConfigWarning[];
}

/**
 * Reads the server's limits and compares the plan with them. Rejects with PoolConfigError for a `max` or
 * `expectedInstances` that is not a whole number >= 1, OptionsError for a bad connection option, and an Error
 * naming what failed (connecting, the query) whose `cause` is the driver's error. Never changes anything on the
 * server.
 */
export async function checkServerCapacity(options: ServerCapacityCheckOptions): Promise<ServerCapacityReport> {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError('options', options, 'an object { max, expectedInstances?, client | connectionString }');
  }
  const max = wholeNumber('max', options.max, undefined);
  const expectedInstances = wholeNumber('expectedInstances', options.expectedInstances, 1);
  const { client, connectionString } = options;
  if ((client === undefined) === (connectionString === undefined)) {
    throw new OptionsError(
      client === undefined ? 'connectionString' : 'client',
      client === undefined ? connectionString : 'both client and connectionString',
      'exactly one of { client } (a pg.Pool or a connected pg.Client) or { connectionString }',
    );
  }
  let row: unknown;
  if (client !== undefined) {
    if (client === null || typeof client !== 'object' || typeof client.query !== 'function') {
      throw new OptionsError('client', client, 'an object with query(text), e.g. a pg.Pool or a connected pg.Client');
    }
    row = await readLimits(client);
  } else {
    if (typeof connectionString !== 'string' || connectionString === '') {
      throw new OptionsError('connectionString', connectionString, "a non-empty string such as 'postgres://user@host:5432/db'");
    }
    const timeout = options.connectionTimeoutMillis ?? DEFAULT_CAPACITY_CONNECTION_TIMEOUT_MILLIS;
    if (!Number.isSafeInteger(timeout) || timeout < 1) {
      throw new OptionsError('connectionTimeoutMillis', timeout, 'a whole number of milliseconds > 0');
    }
    const Client = await clientConstructor(options.pg);
    const own = new Client({ connectionString, connectionTimeoutMillis: timeout, application_name: SERVER_CAPACITY_APPLICATION_NAME });
    // A connection dropped by the server emits 'error' on an idle pg.Client: never let it crash the process.
    const on = (own as Partial<{ on(event: string, listener: () => void): unknown }>).on;
    if (typeof on === 'function') on.call(own, 'error', () => undefined);
    try {
      try {
        await own.connect();
      } catch (error) {
        throw new ServerViewError(
          'POOLSCOPE_ERR_SERVER_CONNECT_FAILED',
          'checkServerCapacity',
          `checkServerCapacity could not connect to PostgreSQL: ${messageOf(error)}`,
          { cause: error },
        );
      }
      row = await readLimits(own);
    } finally {
      await own.end().catch(() => undefined);
    }
  }
  const report = buildCapacityReport(row, max, expectedInstances);
  logWarnings(report.warnings, options.logger);
  return report;
}

/** The report for a row of SERVER_CAPACITY_SQL; exported for tests of the arithmetic and the message. */
export function buildCapacityReport(row: unknown, max: number, expectedInstances: number): ServerCapacityReport {
  const { serverVersionNumber, maxConnections, superuserReservedConnections, reservedConnections } = serverLimitsOf(row, 'checkServerCapacity');
  const availableConnections = maxConnections - superuserReservedConnections - reservedConnections;
  const plannedConnections = max * expectedInstances;
  const exceeded = plannedConnections > availableConnections;
  const warnings: PoolConfigWarning[] = [];
  if (exceeded) {
    const perInstance = Math.floor(Math.max(availableConnections, 0) / expectedInstances);
    const lower =
      perInstance >= 1
        ? `lower max to ${perInstance} or less${expectedInstances > 1 ? ` per instance` : ''}`
        : 'run fewer instances';
    const reserved =
      `max_connections ${maxConnections} - superuser_reserved_connections ${superuserReservedConnections}` +
      (serverVersionNumber >= 160000 ? ` - reserved_connections ${reservedConnections}` : '');
    warnings.push({
      code: 'POOLSCOPE_WARN_CONFIG_SERVER_CAPACITY',
      variable: 'max',
      value: max,
      message:
        `max ${max} x ${expectedInstances} instance${expectedInstances === 1 ? '' : 's'} = ${plannedConnections} connections, ` +
        `but the server lets ordinary roles open ${availableConnections} (${reserved}). ` +
        `When every pool is full, new connections fail with "too many clients already". To fix: ${lower}, ` +
        'raise max_connections, or put PgBouncer in front.',
    });
  }
  return {
    serverVersionNumber,
    maxConnections,
    superuserReservedConnections,
    reservedConnections,
    availableConnections,
    max,
    expectedInstances,
    plannedConnections,
    exceeded,
    warnings,
  };
}

async function readLimits(client: CapacityQueryable): Promise<unknown> {
  try {
    const result = await client.query(SERVER_CAPACITY_SQL);
    return result.rows[0];
  } catch (error) {
    throw new ServerViewError(
      'POOLSCOPE_ERR_SERVER_QUERY_FAILED',
      'checkServerCapacity',
      `checkServerCapacity could not read max_connections from PostgreSQL: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

type ClientConstructor = new (config: Record<string, unknown>) => CapacityClientLike;

async function clientConstructor(source: CapacityClientSource | undefined): Promise<ClientConstructor> {
  const loaded: unknown =
    source ??
    (await importPg(
      'checkServerCapacity',
      "checkServerCapacity needs the 'pg' package to connect with { connectionString }: install it (npm install pg), " +
        'or pass { pg } or { client } (a pg.Pool or a connected pg.Client).',
    ));
  if (typeof loaded === 'function') return loaded as ClientConstructor;
  const Client = pgExportOf(loaded, 'Client');
  if (Client === undefined) {
    throw new OptionsError('pg', source === undefined ? "the 'pg' package" : source, 'pg.Client or the pg module (import pg from "pg")');
  }
  return Client as ClientConstructor;
}

function wholeNumber(name: 'max' | 'expectedInstances', value: unknown, fallback: number | undefined): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new PoolConfigError(
      name,
      value,
      'is not a whole number >= 1',
      name === 'max' ? "Pass the pool's max, e.g. loadPoolConfig().max." : 'Pass how many processes run the pool at once, e.g. 4.',
    );
  }
  return value;
}

