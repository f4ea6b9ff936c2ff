import { OptionsError, PoolscopeError, ServerViewError, messageOf } from '../errors.js';
import { activitySqlFor } from './activity-queries.js';
import { buildReport } from './activity-analysis.js';
import type { ServerActivityFilters, ServerActivityOptions, ServerActivityReport } from './activity-report.js';
import { openActivitySession, connectionSurvives } from './activity-session.js';
import type { ActivityClientLike, ActivitySession, ActivitySessionSettings } from './activity-session.js';

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

export { IDLE_IN_TRANSACTION_STATES } from './activity-report.js';
export type {
  IdleInTransactionState,
  ServerActivityOptions,
  ServerActivityFilters,
  ServerSessionSnapshot,
  ServerQueryTags,
  ServerActivityGroup,
  IdleInTransactionSession,
  LockWaitSession,
  OldestTransaction,
  ServerActivityReport,
} from './activity-report.js';
export type { ActivityClientLike } from './activity-session.js';
export { buildReport } from './activity-analysis.js';

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

  #connect(): Promise<ActivitySession> {
    const settings: ActivitySessionSettings = {
      given: this.#given,
      connectionString: this.#connectionString,
      applicationName: this.#applicationName,
      connectionTimeoutMillis: this.#connectionTimeoutMillis,
      statementTimeoutMillis: this.#statementTimeoutMillis,
    };
    return openActivitySession(settings, (session) => {
      if (this.#closing === undefined) this.#discard(session);
    });
  }
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
