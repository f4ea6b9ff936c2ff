import { ServerViewError, messageOf } from '../errors.js';
import { loadPgExport } from '../postgres/pg-module-loader.js';
import type { PgClientLike } from '../postgres/pg-client-shapes.js';
import { MIN_SERVER_VERSION, SESSION_SETUP_SQL } from './activity-queries.js';
import { asRecord } from './activity-rows.js';

/** The inspector's own session: its client, connecting and setting it up, and telling when the connection is lost. */

/**
 * What the inspector needs of a client: a `new pg.Client(config)` fits (not yet connected: the inspector connects
 * it on first use and ends it on `close()`). If it has `on()` (an EventEmitter, as pg.Client is), the inspector
 * listens to `'error'` and `'end'`, so a dropped connection never crashes the process.
 */
export type ActivityClientLike = PgClientLike;

/** An open session of the inspector. */
export interface ActivitySession {
  readonly client: ActivityClientLike;
  versionNumber: number;
  /** The connection emitted 'error' or 'end', or a query failed without a SQLSTATE. */
  broken: boolean;
}

interface EventSourceLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** What opening a session needs: the inspector's settings. */
export interface ActivitySessionSettings {
  /** The client the inspector was given; undefined with `{ connectionString }` (a pg.Client is created). */
  readonly given: ActivityClientLike | undefined;
  readonly connectionString: string | undefined;
  readonly applicationName: string;
  readonly connectionTimeoutMillis: number;
  readonly statementTimeoutMillis: number;
}

/**
 * Opens a session: connects (creating a pg.Client first with `{ connectionString }`), sets statement_timeout and
 * application_name, reads the server version. `onLost` is called when the connection emits 'error' or 'end'.
 */
export async function openActivitySession(settings: ActivitySessionSettings, onLost: (session: ActivitySession) => void): Promise<ActivitySession> {
  const client = settings.given ?? (await createActivityClient(settings));
  const session: ActivitySession = { client, versionNumber: 0, broken: false };
  watch(client, () => onLost(session));
  try {
    await client.connect();
  } catch (error) {
    session.broken = true;
    if (settings.given === undefined) await client.end().catch(() => undefined);
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
      String(settings.statementTimeoutMillis),
      settings.given === undefined ? settings.applicationName : null,
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

async function createActivityClient(settings: ActivitySessionSettings): Promise<ActivityClientLike> {
  const Client = (await loadPgExport('Client', {
    feature: 'ActivityInspector',
    missing:
      "ActivityInspector needs the 'pg' package to connect with { connectionString }: install it (npm install pg), " +
      'or pass { client } (e.g. new pg.Client(config)).',
    noExport: "ActivityInspector loaded 'pg' but found no Client class in it; pass { client } instead.",
  })) as ClientConstructor;
  return new Client({
    connectionString: settings.connectionString,
    application_name: settings.applicationName,
    connectionTimeoutMillis: settings.connectionTimeoutMillis,
  });
}

type ClientConstructor = new (config: Record<string, unknown>) => ActivityClientLike;

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
export function connectionSurvives(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return !code.startsWith('08') && !code.startsWith('57P');
}
