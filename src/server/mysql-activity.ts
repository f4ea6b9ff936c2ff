import { OptionsError, ServerViewError, messageOf } from '../errors.js';

/**
 * The server's view of a MySQL or MariaDB server's connections: information_schema.PROCESSLIST (every session: its
 * connection id, user, database, command, time in state, running statement), with InnoDB's open transactions
 * (information_schema.INNODB_TRX) and each session's `program_name` connection attribute
 * (performance_schema.session_connect_attrs) where the server has them. Read through a mysql2 connection or pool of
 * your own, never through the pool being inspected (an exhausted pool could not answer). Modest by design: see
 * docs/reference/adapter-mysql2.md for what is not available.
 */

/**
 * What runs the statements: a mysql2 connection or pool (callback API: it has `promise()`; or the promise API). Its
 * user needs the PROCESS privilege to see other users' sessions (else the server lists only its own user's).
 */
export interface MysqlActivitySource {
  query(...args: never[]): unknown;
}

export interface MysqlActivityOptions {
  /** Characters of statement text kept per session (cut by the server). Default 1000. */
  readonly maxQueryTextLength?: number;
}

/** Whether an optional part of the report could be read, and why not. */
export interface MysqlFeatureAvailability {
  readonly available: boolean;
  /** Why it is not available (e.g. performance_schema is OFF); null when it is. */
  readonly reason: string | null;
}

/** A session's open InnoDB transaction (information_schema.INNODB_TRX). */
export interface MysqlTransactionSnapshot {
  /** RUNNING, LOCK WAIT, ROLLING BACK, COMMITTING. */
  readonly state: string;
  /** Seconds since InnoDB started it (at its first read or write, not at BEGIN), by the server's clock. */
  readonly ageSeconds: number;
  readonly rowsLocked: number;
  readonly rowsModified: number;
}

/** One session as the server lists it. */
export interface MysqlSessionSnapshot {
  /** The connection id (PROCESSLIST ID, CONNECTION_ID(); mysql2's `threadId`, a lease's `backendPid`). */
  readonly connectionId: number;
  readonly user: string | null;
  /** Client host:port. */
  readonly host: string | null;
  readonly database: string | null;
  /** Sleep, Query, Execute, Connect, Daemon, Killed, ... */
  readonly command: string;
  /** Seconds in the current state. */
  readonly timeSeconds: number;
  readonly state: string | null;
  /** The running statement's text, cut at maxQueryTextLength; null when none runs. */
  readonly query: string | null;
  /** Its `program_name` connection attribute; null when it sent none or program names are not available. */
  readonly programName: string | null;
  /** Its open InnoDB transaction; null when none (or transactions are not available). */
  readonly transaction: MysqlTransactionSnapshot | null;
  /** The session that read this report. */
  readonly self: boolean;
}

/** What `readMysqlActivity` returns: JSON-serialisable. */
export interface MysqlActivityReport {
  /** When the server read it (its clock, UTC, ISO-8601). */
  readonly takenAt: string;
  readonly serverVersion: string;
  readonly maxConnections: number | null;
  readonly sessions: readonly MysqlSessionSnapshot[];
  /** performance_schema.session_connect_attrs: needs performance_schema ON (a server start option). */
  readonly programNames: MysqlFeatureAvailability;
  /** information_schema.INNODB_TRX: needs InnoDB and the PROCESS privilege. */
  readonly transactions: MysqlFeatureAvailability;
}

const SOURCE = 'readMysqlActivity';
export const DEFAULT_MYSQL_ACTIVITY_MAX_QUERY_TEXT_LENGTH = 1000;

const SERVER_SQL =
  "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ') AS taken_at, VERSION() AS version, " +
  '@@max_connections AS max_connections';
const PERFORMANCE_SCHEMA_SQL = 'SELECT @@performance_schema AS on_';
const processlistSql = (maxText: number): string =>
  `SELECT ID AS id, USER AS user, HOST AS host, DB AS db, COMMAND AS command, TIME AS time, STATE AS state, ` +
  `LEFT(INFO, ${maxText}) AS info, ID = CONNECTION_ID() AS self FROM information_schema.PROCESSLIST ORDER BY ID`;
const TRANSACTIONS_SQL =
  'SELECT trx_mysql_thread_id AS id, trx_state AS state, TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS age, ' +
  'trx_rows_locked AS rows_locked, trx_rows_modified AS rows_modified FROM information_schema.INNODB_TRX';
const PROGRAM_NAMES_SQL =
  "SELECT PROCESSLIST_ID AS id, ATTR_VALUE AS value FROM performance_schema.session_connect_attrs WHERE ATTR_NAME = 'program_name'";

type Row = Record<string, unknown>;

/**
 * Reads the server's sessions through `source` (a mysql2 connection or pool of your own).
 *
 * ```ts
 * const admin = await mysql.createConnection({ host, user: 'monitor', password });
 * const report = await readMysqlActivity(admin);
 * const joined = connectionIdJoin(inspector.snapshotAll(), report);
 * ```
 *
 * Rejects with ServerViewError POOLSCOPE_ERR_SERVER_QUERY_FAILED when the processlist cannot be read; the optional
 * parts (program names, transactions) say `available: false` with the reason instead.
 */
export async function readMysqlActivity(source: MysqlActivitySource, options: MysqlActivityOptions = {}): Promise<MysqlActivityReport> {
  const maxText = options.maxQueryTextLength ?? DEFAULT_MYSQL_ACTIVITY_MAX_QUERY_TEXT_LENGTH;
  if (!Number.isInteger(maxText) || maxText <= 0) {
    throw new OptionsError('maxQueryTextLength', maxText, 'a whole number of characters > 0');
  }
  const run = runnerOf(source);
  let server: Row;
  let processlist: Row[];
  try {
    server = (await run(SERVER_SQL))[0] ?? {};
    processlist = await run(processlistSql(maxText));
  } catch (error) {
    throw new ServerViewError('POOLSCOPE_ERR_SERVER_QUERY_FAILED', SOURCE, `Reading information_schema.PROCESSLIST failed: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const [transactions, programNames] = await Promise.all([readTransactions(run), readProgramNames(run)]);
  const sessions = processlist.map((row): MysqlSessionSnapshot => {
    const id = Number(row.id);
    return {
      connectionId: id,
      user: text(row.user),
      host: text(row.host),
      database: text(row.db),
      command: text(row.command) ?? '',
      timeSeconds: Number(row.time ?? 0),
      state: text(row.state),
      query: text(row.info),
      programName: programNames.byId.get(id) ?? null,
      transaction: transactions.byId.get(id) ?? null,
      self: Number(row.self) === 1,
    };
  });
  return {
    takenAt: text(server.taken_at) ?? new Date().toISOString(),
    serverVersion: text(server.version) ?? '',
    maxConnections: server.max_connections === undefined || server.max_connections === null ? null : Number(server.max_connections),
    sessions,
    programNames: programNames.availability,
    transactions: transactions.availability,
  };
}

type Run = (sql: string) => Promise<Row[]>;

/** Runs a statement on the source and gives its rows as objects (whatever the source's rowsAsArray / nestTables). */
function runnerOf(source: MysqlActivitySource): Run {
  const withPromise = source as { promise?: unknown };
  // A callback connection or pool has promise(); a promise one answers query() with [rows, fields].
  const target = (typeof withPromise.promise === 'function' ? (withPromise.promise as () => unknown).call(source) : source) as {
    query(options: { sql: string; rowsAsArray: boolean; nestTables: boolean }): Promise<[unknown, unknown]>;
  };
  return async (sql) => {
    const [rows] = await target.query({ sql, rowsAsArray: false, nestTables: false });
    if (!Array.isArray(rows)) {
      throw new ServerViewError('POOLSCOPE_ERR_SERVER_UNEXPECTED_ANSWER', SOURCE, `Expected rows from "${sql.slice(0, 60)}..."`);
    }
    return rows as Row[];
  };
}

async function readTransactions(run: Run): Promise<{ byId: Map<number, MysqlTransactionSnapshot>; availability: MysqlFeatureAvailability }> {
  const byId = new Map<number, MysqlTransactionSnapshot>();
  try {
    for (const row of await run(TRANSACTIONS_SQL)) {
      byId.set(Number(row.id), {
        state: text(row.state) ?? '',
        ageSeconds: Number(row.age ?? 0),
        rowsLocked: Number(row.rows_locked ?? 0),
        rowsModified: Number(row.rows_modified ?? 0),
      });
    }
    return { byId, availability: { available: true, reason: null } };
  } catch (error) {
    return { byId, availability: { available: false, reason: `information_schema.INNODB_TRX could not be read: ${messageOf(error)}` } };
  }
}

async function readProgramNames(run: Run): Promise<{ byId: Map<number, string>; availability: MysqlFeatureAvailability }> {
  const byId = new Map<number, string>();
  try {
    const on = Number((await run(PERFORMANCE_SCHEMA_SQL))[0]?.on_ ?? 0) === 1;
    if (!on) {
      return {
        byId,
        availability: {
          available: false,
          reason:
            'performance_schema is OFF on this server, so it keeps no connection attributes (program_name); it can only ' +
            'be turned on at server start (performance_schema=ON in the server config)',
        },
      };
    }
    for (const row of await run(PROGRAM_NAMES_SQL)) {
      const value = text(row.value);
      if (value !== null) byId.set(Number(row.id), value);
    }
    return { byId, availability: { available: true, reason: null } };
  } catch (error) {
    return { byId, availability: { available: false, reason: `performance_schema.session_connect_attrs could not be read: ${messageOf(error)}` } };
  }
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}
