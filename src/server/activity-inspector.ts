import { OptionsError, PgUnavailableError, PoolscopeError, ServerViewError, messageOf } from '../errors.js';
import { MIN_SERVER_VERSION, SESSION_SETUP_SQL, activitySqlFor } from './activity-queries.js';

/**
 * The database's own view of its connections (pg_stat_activity), read over the inspector's OWN connection: never
 * through the pool being inspected, so an exhausted pool can still be inspected. See docs/reference/server-view.md.
 */

/** application_name of the inspector's session when it connects with `{ connectionString }`. */
export const DEFAULT_ACTIVITY_APPLICATION_NAME = 'poolscope-activity';
/** statement_timeout of the inspector's session: no inspection can hang longer. */
export const DEFAULT_ACTIVITY_STATEMENT_TIMEOUT_MILLIS = 5000;
/** How long connecting may take (with `{ connectionString }`). */
export const DEFAULT_ACTIVITY_CONNECTION_TIMEOUT_MILLIS = 5000;
/** Characters of query text kept per session (cut by the server, before it is sent). */
export const DEFAULT_ACTIVITY_MAX_QUERY_TEXT_LENGTH = 1000;

/** pg_stat_activity.state values of a session idle inside a transaction. */
export const IDLE_IN_TRANSACTION_STATES = ['idle in transaction', 'idle in transaction (aborted)'] as const;
export type IdleInTransactionState = (typeof IDLE_IN_TRANSACTION_STATES)[number];

/**
 * What the inspector needs of a client: a `new pg.Client(config)` fits (not yet connected: the inspector connects
 * it on first use and ends it on `close()`). If it has `on()` (an EventEmitter, as pg.Client is), the inspector
 * listens to `'error'` and `'end'`, so a dropped connection never crashes the process.
 */
export interface ActivityClientLike {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<unknown>;
}

/** How the inspector reaches the server: exactly one of `client` or `connectionString`. */
export interface ActivityInspectorOptions {
  /** A client of its own (e.g. `new pg.Client(config)`), not connected yet and not shared with anything else. */
  readonly client?: ActivityClientLike;
  /** Or a connection string: the inspector loads `pg` (`await import('pg')`) and creates a `pg.Client`. */
  readonly connectionString?: string;
  /** application_name of its session (with `connectionString` only). Default `'poolscope-activity'`. */
  readonly applicationName?: string;
  /** Connect timeout (with `connectionString` only). Default 5000. */
  readonly connectionTimeoutMillis?: number;
  /** statement_timeout set on its session, so an inspection never hangs. Default 5000. */
  readonly statementTimeoutMillis?: number;
  /** Characters of query text kept per session. Default 1000. */
  readonly maxQueryTextLength?: number;
}

/** Optional filters of a report: only sessions with this application_name / database / user. */
export interface ServerActivityOptions {
  readonly applicationName?: string;
  readonly database?: string;
  readonly user?: string;
}

/** The filters a report was taken with; null = not filtered. */
export interface ServerActivityFilters {
  readonly applicationName: string | null;
  readonly database: string | null;
  readonly user: string | null;
}

/** One client backend as pg_stat_activity shows it. Ages are measured by the server (see takenAt). */
export interface ServerSessionSnapshot {
  readonly pid: number;
  /** '' when the client set none. */
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  /** Client IP address; null for a Unix-socket connection. */
  readonly clientAddress: string | null;
  /**
   * 'active', 'idle', 'idle in transaction', 'idle in transaction (aborted)', 'fastpath function call', 'disabled'
   * (track_activities off), or null when the inspector's role may not see this session's details.
   */
  readonly state: string | null;
  /** Running or last query, cut at maxQueryTextLength; '<insufficient privilege>' for a session the role may not see. */
  readonly query: string | null;
  /** When the connection was opened (ISO-8601). */
  readonly backendStart: string | null;
  /** When its current transaction began; null outside a transaction. */
  readonly transactionStart: string | null;
  /** When its running or last query began. */
  readonly queryStart: string | null;
  /** When `state` last changed. */
  readonly stateChange: string | null;
  /** now() - transactionStart; null outside a transaction. */
  readonly transactionAgeMillis: number | null;
  /** now() - stateChange. */
  readonly stateAgeMillis: number | null;
  /** now() - queryStart. */
  readonly queryAgeMillis: number | null;
  /** e.g. 'Lock', 'Client', 'IO', 'Timeout'; null when not waiting. */
  readonly waitEventType: string | null;
  /** e.g. 'transactionid', 'relation', 'ClientRead', 'PgSleep'. */
  readonly waitEvent: string | null;
  /** pg_blocking_pids(pid) while waiting on a lock; [] otherwise. */
  readonly blockedBy: readonly number[];
  /** How long it has waited on a lock (see docs); null when not waiting on one. */
  readonly lockWaitMillis: number | null;
}

/** Sessions counted by application, user, database and state. */
export interface ServerActivityGroup {
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly state: string | null;
  readonly count: number;
}

/** A session sitting idle inside an open transaction (holding its locks and snapshot). */
export interface IdleInTransactionSession {
  readonly pid: number;
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly state: IdleInTransactionState;
  /** now() - transaction start. */
  readonly transactionAgeMillis: number | null;
  /** now() - state change: how long it has been idle. */
  readonly stateAgeMillis: number | null;
  /** The last query it ran, cut at maxQueryTextLength. */
  readonly query: string | null;
}

/** A session waiting for a lock, and the sessions holding it up. */
export interface LockWaitSession {
  readonly pid: number;
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly state: string | null;
  /** The kind of lock awaited ('transactionid', 'relation', 'tuple', ...). */
  readonly waitEvent: string | null;
  /** pg_blocking_pids(pid). */
  readonly blockedBy: readonly number[];
  /** The blocked statement. */
  readonly query: string | null;
  /** How long it has waited (PostgreSQL 14+: since pg_locks.waitstart; before: since the statement began). */
  readonly waitingMillis: number | null;
  readonly transactionAgeMillis: number | null;
}

/** The session with the oldest open transaction (any state: running or idle). */
export interface OldestTransaction {
  readonly pid: number;
  readonly transactionAgeMillis: number;
  readonly state: string | null;
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly query: string | null;
}

/** What `ActivityInspector.activity()` returns: JSON-serialisable. */
export interface ServerActivityReport {
  /** The server's now() when the report was read (ISO-8601); every age is measured from it. */
  readonly takenAt: string;
  /** server_version, e.g. '15.4 (Debian 15.4-1)'. */
  readonly version: string;
  /** server_version_num, e.g. 150004. */
  readonly versionNumber: number;
  readonly maxConnections: number;
  /** superuser_reserved_connections + reserved_connections (the latter on PostgreSQL 16+). */
  readonly reservedConnections: number;
  /** Client backends on the whole server (every database and user, the inspector's own session included). */
  readonly usedConnections: number;
  /** maxConnections - reservedConnections - usedConnections: what ordinary roles can still open (may be < 0). */
  readonly headroom: number;
  /** Backends whose type the inspector's role may not see (not in usedConnections); 0 with pg_read_all_stats. */
  readonly hiddenBackends: number;
  /** The inspector's own session (excluded from everything below). */
  readonly inspectorPid: number;
  readonly filters: ServerActivityFilters;
  /** Largest first. */
  readonly groups: readonly ServerActivityGroup[];
  /** Oldest transaction first. */
  readonly idleInTransaction: readonly IdleInTransactionSession[];
  /** Longest wait first. */
  readonly waitingOnLocks: readonly LockWaitSession[];
  readonly oldestTransaction: OldestTransaction | null;
  /** Every client backend that passes the filters, by pid. */
  readonly sessions: readonly ServerSessionSnapshot[];
}

/** An open session of the inspector. */
interface ActivitySession {
  readonly client: ActivityClientLike;
  versionNumber: number;
  /** The connection emitted 'error' or 'end', or a query failed without a SQLSTATE. */
  broken: boolean;
}

interface EventSourceLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Reads pg_stat_activity over a connection of its own and reports what the server sees: connection budget, who is
 * connected, who idles in a transaction, who waits on whose lock.
 *
 * ```ts
 * const activity = new ActivityInspector({ connectionString: process.env.DATABASE_URL });
 * const report = await activity.activity({ applicationName: 'api' });
 * await activity.close();
 * ```
 *
 * Connects lazily on the first `activity()`; with `{ connectionString }` it reconnects after a dropped connection,
 * with `{ client }` it cannot (a pg.Client connects once). `close()` is idempotent.
 */
export class ActivityInspector {
  readonly #given: ActivityClientLike | undefined;
  readonly #connectionString: string | undefined;
  readonly #applicationName: string;
  readonly #connectionTimeoutMillis: number;
  readonly #statementTimeoutMillis: number;
  readonly #maxQueryTextLength: number;
  readonly #inFlight = new Set<Promise<unknown>>();
  #session: Promise<ActivitySession> | undefined;
  /** The session #session resolved to, once it has. */
  #active: ActivitySession | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ActivityInspectorOptions) {
    if (options === null || typeof options !== 'object') {
      throw new OptionsError('options', options, 'an object { client } or { connectionString } for new ActivityInspector()');
    }
    const { client, connectionString } = options;
    if ((client === undefined) === (connectionString === undefined)) {
      throw new OptionsError(
        client === undefined ? 'connectionString' : 'client',
        client === undefined ? connectionString : 'both client and connectionString',
        'exactly one of { client } (e.g. new pg.Client(config)) or { connectionString }',
      );
    }
    if (client !== undefined) {
      const methods = client as unknown as Record<string, unknown> | null;
      if (methods === null || typeof methods !== 'object' || !['connect', 'query', 'end'].every((m) => typeof methods[m] === 'function')) {
        throw new OptionsError('client', client, 'an object with connect(), query(text, values) and end(), e.g. new pg.Client(config)');
      }
      for (const option of ['applicationName', 'connectionTimeoutMillis'] as const) {
        if (options[option] !== undefined) {
          const pgName = option === 'applicationName' ? 'application_name' : 'connectionTimeoutMillis';
          throw new OptionsError(option, options[option], `nothing with { client }: set ${pgName} on the client you pass`);
        }
      }
    } else if (typeof connectionString !== 'string' || connectionString === '') {
      throw new OptionsError('connectionString', connectionString, "a non-empty string such as 'postgres://user@host:5432/db'");
    }
    const applicationName = options.applicationName ?? DEFAULT_ACTIVITY_APPLICATION_NAME;
    if (typeof applicationName !== 'string') throw new OptionsError('applicationName', applicationName, 'a string');
    this.#given = client;
    this.#connectionString = connectionString;
    this.#applicationName = applicationName;
    this.#connectionTimeoutMillis = positiveInteger('connectionTimeoutMillis', options.connectionTimeoutMillis, DEFAULT_ACTIVITY_CONNECTION_TIMEOUT_MILLIS);
    this.#statementTimeoutMillis = positiveInteger('statementTimeoutMillis', options.statementTimeoutMillis, DEFAULT_ACTIVITY_STATEMENT_TIMEOUT_MILLIS);
    this.#maxQueryTextLength = positiveInteger('maxQueryTextLength', options.maxQueryTextLength, DEFAULT_ACTIVITY_MAX_QUERY_TEXT_LENGTH);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Reads pg_stat_activity now (one statement) and reports it. Rejects with OptionsError for a bad filter, with
   * POOLSCOPE_ERR_INSPECTOR_CLOSED after `close()`, and with an Error naming what failed (connect, session setup,
   * the read) whose `cause` is the driver's error.
   */
  async activity(options: ServerActivityOptions = {}): Promise<ServerActivityReport> {
    const filters = activityFilters(options);
    if (this.#closing !== undefined) {
      throw new PoolscopeError(
        'POOLSCOPE_ERR_INSPECTOR_CLOSED',
        'ActivityInspector.activity() was called after close(). Create a new ActivityInspector to read the server again.',
      );
    }
    const run = this.#read(filters);
    this.#inFlight.add(run);
    try {
      return await run;
    } finally {
      this.#inFlight.delete(run);
    }
  }

  /** Waits for reports in progress, then ends the connection. Idempotent; every call returns the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    const pending = this.#session;
    this.#session = undefined;
    this.#active = undefined;
    if (pending === undefined) return;
    const session = await pending.catch(() => undefined);
    if (session !== undefined) await session.client.end().catch(() => undefined);
  }

  async #read(filters: ServerActivityFilters): Promise<ServerActivityReport> {
    const session = await this.#open();
    let rows: unknown[];
    try {
      const result = await session.client.query(activitySqlFor(session.versionNumber), [
        filters.applicationName,
        filters.database,
        filters.user,
        this.#maxQueryTextLength,
      ]);
      rows = result.rows;
    } catch (error) {
      if (!connectionSurvives(error)) this.#discard(session);
      throw new ServerViewError(
        'POOLSCOPE_ERR_SERVER_QUERY_FAILED',
        'ActivityInspector',
        `ActivityInspector could not read pg_stat_activity: ${messageOf(error)}`,
        { cause: error },
      );
    }
    try {
      return buildReport(rows[0], filters);
    } catch (error) {
      throw new ServerViewError(
        'POOLSCOPE_ERR_SERVER_UNEXPECTED_ANSWER',
        'ActivityInspector',
        `ActivityInspector got an answer it does not understand from pg_stat_activity: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  /** The open session, connecting first if needed; concurrent callers share one connect. */
  #open(): Promise<ActivitySession> {
    const current = this.#session;
    if (current !== undefined) return current;
    const opening = this.#connect();
    this.#session = opening;
    opening.then(
      (session) => {
        if (this.#session === opening) this.#active = session;
      },
      () => {
        // With a connection string a later call may try again; a given client cannot be connected twice.
        if (this.#given === undefined && this.#session === opening) this.#session = undefined;
      },
    );
    return opening;
  }

  /** Forgets a broken session so the next call reconnects (connection string), or keeps failing clearly (client). */
  #discard(session: ActivitySession): void {
    if (session.broken) return;
    session.broken = true;
    if (this.#active === session) {
      this.#active = undefined;
      if (this.#given === undefined) {
        this.#session = undefined;
      } else {
        const lost = Promise.reject(
          new ServerViewError(
            'POOLSCOPE_ERR_SERVER_CONNECTION_LOST',
            'ActivityInspector',
            'ActivityInspector lost the connection of the client it was given and cannot reopen it (a pg.Client ' +
              'connects once). Create a new ActivityInspector with a new client, or use { connectionString } so it reconnects.',
          ),
        );
        lost.catch(() => undefined);
        this.#session = lost;
      }
    }
    void session.client.end().catch(() => undefined);
  }

  async #connect(): Promise<ActivitySession> {
    const client = this.#given ?? (await this.#createClient());
    const session: ActivitySession = { client, versionNumber: 0, broken: false };
    watch(client, () => {
      if (this.#closing === undefined) this.#discard(session);
    });
    try {
      await client.connect();
    } catch (error) {
      session.broken = true;
      if (this.#given === undefined) await client.end().catch(() => undefined);
      throw new ServerViewError(
        'POOLSCOPE_ERR_SERVER_CONNECT_FAILED',
        'ActivityInspector',
        `ActivityInspector could not connect to PostgreSQL: ${messageOf(error)}`,
        { cause: error },
      );
    }
    let row: Record<string, unknown> | undefined;
    try {
      const result = await client.query(SESSION_SETUP_SQL, [
        String(this.#statementTimeoutMillis),
        this.#given === undefined ? this.#applicationName : null,
      ]);
      row = asRecord(result.rows[0]);
    } catch (error) {
      session.broken = true;
      await client.end().catch(() => undefined);
      throw new ServerViewError(
        'POOLSCOPE_ERR_SERVER_CONNECT_FAILED',
        'ActivityInspector',
        `ActivityInspector could not set up its session (statement_timeout, server version): ${messageOf(error)}`,
        { cause: error },
      );
    }
    const versionNumber = Number(row?.version_number);
    if (!Number.isInteger(versionNumber) || versionNumber < MIN_SERVER_VERSION) {
      session.broken = true;
      await client.end().catch(() => undefined);
      throw new ServerViewError(
        'POOLSCOPE_ERR_SERVER_VERSION_UNSUPPORTED',
        'ActivityInspector',
        `ActivityInspector needs PostgreSQL 10 or later (pg_stat_activity.backend_type); the server reports ` +
          `server_version_num ${String(row?.version_number)}.`,
      );
    }
    session.versionNumber = versionNumber;
    return session;
  }

  async #createClient(): Promise<ActivityClientLike> {
    let loaded: unknown;
    try {
      loaded = await import('pg');
    } catch (error) {
      throw new PgUnavailableError(
        'ActivityInspector',
        "ActivityInspector needs the 'pg' package to connect with { connectionString }: install it (npm install pg), " +
          'or pass { client } (e.g. new pg.Client(config)).',
        { cause: error },
      );
    }
    const Client = pgClientConstructor(loaded);
    if (Client === undefined) {
      throw new PgUnavailableError('ActivityInspector', "ActivityInspector loaded 'pg' but found no Client class in it; pass { client } instead.");
    }
    return new Client({
      connectionString: this.#connectionString,
      application_name: this.#applicationName,
      connectionTimeoutMillis: this.#connectionTimeoutMillis,
    });
  }
}

type ClientConstructor = new (config: Record<string, unknown>) => ActivityClientLike;

function pgClientConstructor(loaded: unknown): ClientConstructor | undefined {
  const module = loaded as { Client?: unknown; default?: { Client?: unknown } } | null;
  const Client = module?.Client ?? module?.default?.Client;
  return typeof Client === 'function' ? (Client as ClientConstructor) : undefined;
}

/** Listens to 'error' (so a dropped connection never crashes the process) and 'end', when the client can. */
function watch(client: ActivityClientLike, onLost: () => void): void {
  const on = (client as unknown as Partial<EventSourceLike>).on;
  if (typeof on !== 'function') return;
  on.call(client, 'error', () => onLost());
  on.call(client, 'end', () => onLost());
}

/**
 * A PostgreSQL error (SQLSTATE) leaves the connection usable, except connection exceptions (class 08) and operator
 * intervention that ends the session (57P01 admin shutdown / pg_terminate_backend, 57P02, 57P03, 57P05); anything
 * without a SQLSTATE (socket, protocol) ends it too.
 */
function connectionSurvives(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return !code.startsWith('08') && !code.startsWith('57P');
}

function positiveInteger(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new OptionsError(option, value, 'a whole number > 0');
  }
  return value;
}

function activityFilters(options: ServerActivityOptions): ServerActivityFilters {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError('options', options, 'an object { applicationName?, database?, user? } (or nothing)');
  }
  const pick = (name: keyof ServerActivityOptions): string | null => {
    const value: unknown = options[name];
    if (value === undefined) return null;
    if (typeof value !== 'string') throw new OptionsError(name, value, 'a string (or leave it out for any)');
    return value;
  };
  return { applicationName: pick('applicationName'), database: pick('database'), user: pick('user') };
}

// ---- building the report from the row ---------------------------------------------------------------------------

/** Builds the report from the activity query's single row. Exported for tests. */
export function buildReport(row: unknown, filters: ServerActivityFilters): ServerActivityReport {
  const r = asRecord(row);
  if (r === undefined) throw unexpectedAnswer('no row');
  const maxConnections = requiredInteger(r, 'max_connections');
  const reservedConnections = requiredInteger(r, 'superuser_reserved_connections') + requiredInteger(r, 'reserved_connections');
  const usedConnections = requiredInteger(r, 'used_connections');
  const rawSessions = typeof r.sessions === 'string' ? (JSON.parse(r.sessions) as unknown) : r.sessions;
  if (!Array.isArray(rawSessions)) throw unexpectedAnswer('sessions is not a list');
  const sessions = rawSessions.map(sessionOf);
  return {
    takenAt: requiredIso(r, 'taken_at'),
    version: String(r.version),
    versionNumber: requiredInteger(r, 'version_number'),
    maxConnections,
    reservedConnections,
    usedConnections,
    headroom: maxConnections - reservedConnections - usedConnections,
    hiddenBackends: requiredInteger(r, 'hidden_backends'),
    inspectorPid: requiredInteger(r, 'own_pid'),
    filters,
    groups: groupsOf(sessions),
    idleInTransaction: idleInTransactionOf(sessions),
    waitingOnLocks: waitingOnLocksOf(sessions),
    oldestTransaction: oldestTransactionOf(sessions),
    sessions,
  };
}

function sessionOf(raw: unknown): ServerSessionSnapshot {
  const s = asRecord(raw);
  if (s === undefined) throw unexpectedAnswer('a session is not an object');
  const blockedBy = Array.isArray(s.blocked_by) ? s.blocked_by.map(Number).filter(Number.isInteger) : [];
  return {
    pid: requiredInteger(s, 'pid'),
    applicationName: typeof s.application_name === 'string' ? s.application_name : '',
    user: stringOrNull(s.usename),
    database: stringOrNull(s.datname),
    clientAddress: stringOrNull(s.client_addr),
    state: stringOrNull(s.state),
    query: stringOrNull(s.query),
    backendStart: isoOrNull(s.backend_start),
    transactionStart: isoOrNull(s.xact_start),
    queryStart: isoOrNull(s.query_start),
    stateChange: isoOrNull(s.state_change),
    transactionAgeMillis: numberOrNull(s.transaction_age_ms),
    stateAgeMillis: numberOrNull(s.state_age_ms),
    queryAgeMillis: numberOrNull(s.query_age_ms),
    waitEventType: stringOrNull(s.wait_event_type),
    waitEvent: stringOrNull(s.wait_event),
    blockedBy,
    lockWaitMillis: numberOrNull(s.lock_wait_ms),
  };
}

function groupsOf(sessions: readonly ServerSessionSnapshot[]): ServerActivityGroup[] {
  const groups = new Map<string, { applicationName: string; user: string | null; database: string | null; state: string | null; count: number }>();
  for (const s of sessions) {
    const key = JSON.stringify([s.applicationName, s.user, s.database, s.state]);
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { applicationName: s.applicationName, user: s.user, database: s.database, state: s.state, count: 1 });
    } else {
      group.count += 1;
    }
  }
  return [...groups.values()].sort(
    (a, b) =>
      b.count - a.count ||
      compareText(a.applicationName, b.applicationName) ||
      compareText(a.database, b.database) ||
      compareText(a.user, b.user) ||
      compareText(a.state, b.state),
  );
}

function idleInTransactionOf(sessions: readonly ServerSessionSnapshot[]): IdleInTransactionSession[] {
  return sessions
    .filter((s): s is ServerSessionSnapshot & { state: IdleInTransactionState } =>
      (IDLE_IN_TRANSACTION_STATES as readonly (string | null)[]).includes(s.state),
    )
    .map((s) => ({
      pid: s.pid,
      applicationName: s.applicationName,
      user: s.user,
      database: s.database,
      state: s.state,
      transactionAgeMillis: s.transactionAgeMillis,
      stateAgeMillis: s.stateAgeMillis,
      query: s.query,
    }))
    .sort((a, b) => (b.transactionAgeMillis ?? 0) - (a.transactionAgeMillis ?? 0) || a.pid - b.pid);
}

function waitingOnLocksOf(sessions: readonly ServerSessionSnapshot[]): LockWaitSession[] {
  return sessions
    .filter((s) => s.waitEventType === 'Lock')
    .map((s) => ({
      pid: s.pid,
      applicationName: s.applicationName,
      user: s.user,
      database: s.database,
      state: s.state,
      waitEvent: s.waitEvent,
      blockedBy: s.blockedBy,
      query: s.query,
      waitingMillis: s.lockWaitMillis,
      transactionAgeMillis: s.transactionAgeMillis,
    }))
    .sort((a, b) => (b.waitingMillis ?? 0) - (a.waitingMillis ?? 0) || a.pid - b.pid);
}

function oldestTransactionOf(sessions: readonly ServerSessionSnapshot[]): OldestTransaction | null {
  let oldest: (ServerSessionSnapshot & { transactionAgeMillis: number }) | undefined;
  for (const s of sessions) {
    if (s.transactionAgeMillis === null) continue;
    if (oldest === undefined || s.transactionAgeMillis > oldest.transactionAgeMillis) {
      oldest = s as ServerSessionSnapshot & { transactionAgeMillis: number };
    }
  }
  if (oldest === undefined) return null;
  return {
    pid: oldest.pid,
    transactionAgeMillis: oldest.transactionAgeMillis,
    state: oldest.state,
    applicationName: oldest.applicationName,
    user: oldest.user,
    database: oldest.database,
    query: oldest.query,
  };
}

function compareText(a: string | null, b: string | null): number {
  return (a ?? '').localeCompare(b ?? '');
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A part of the activity row that is not what the query returns (wrapped by `#read` with the whole story). */
function unexpectedAnswer(message: string): ServerViewError {
  return new ServerViewError('POOLSCOPE_ERR_SERVER_UNEXPECTED_ANSWER', 'ActivityInspector', message);
}

function requiredInteger(record: Record<string, unknown>, key: string): number {
  const value = Number(record[key]);
  if (record[key] === null || record[key] === undefined || !Number.isInteger(value)) {
    throw unexpectedAnswer(`${key} is not a whole number (got ${String(record[key])})`);
  }
  return value;
}

function requiredIso(record: Record<string, unknown>, key: string): string {
  const iso = isoOrNull(record[key]);
  if (iso === null) throw unexpectedAnswer(`${key} is not a timestamp (got ${String(record[key])})`);
  return iso;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** A server timestamp (JSON text with offset, or a Date from a client's type parser) as ISO-8601 UTC. */
function isoOrNull(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) return typeof value === 'string' ? value : null;
  return date.toISOString();
}
