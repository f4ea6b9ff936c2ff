import { MAX_APPLICATION_NAME_LENGTH } from '../../core/pool-tracker-options.js';
import type { PgPoolOptionsView } from './pg-types.js';

/**
 * The application_name of a pg pool's connections: how pg resolves it from the pool's options, the connection
 * string and the environment, and the name poolscope generates when nothing names them.
 */

/** Where the application_name of a pg pool's new connections comes from, in pg's order of precedence. */
export const PG_APPLICATION_NAME_SOURCES = ['connection-string', 'config', 'environment', 'fallback'] as const;
/**
 * `connection-string`: its `application_name` parameter; `config`: the pool's `application_name` option;
 * `environment`: PGAPPNAME; `fallback`: `fallback_application_name` (connection string parameter or option).
 */
export type PgApplicationNameSource = (typeof PG_APPLICATION_NAME_SOURCES)[number];

/** The application_name a pg pool gives new connections, as its options and the environment tell. */
export interface PgApplicationNameResolution {
  /** undefined when nothing names them (pg sends no application_name; the server shows ''). */
  readonly name: string | undefined;
  readonly source: PgApplicationNameSource | undefined;
  /**
   * Whether setting `options.application_name` reaches new connections: false when the connection string has an
   * `application_name` parameter (pg lets it win, even empty) or cannot be parsed.
   */
  readonly settable: boolean;
}

/**
 * Resolves a pool's application_name the way pg does (pg/lib/connection-parameters.js and client.js): the
 * connection string's parameters override the options; a non-empty `application_name` wins, then PGAPPNAME, then
 * `fallback_application_name`. `pg.defaults.application_name` (module-global) cannot be seen from the pool.
 */
export function pgApplicationNameOf(
  options: PgPoolOptionsView,
  env: Readonly<Record<string, string | undefined>> = process.env,
): PgApplicationNameResolution {
  let params: URLSearchParams | undefined;
  let settable = true;
  const connectionString = options.connectionString;
  if (typeof connectionString === 'string' && connectionString !== '') {
    params = connectionStringParams(connectionString);
    if (params === undefined || params.has('application_name')) settable = false;
  }
  const fromUrl = params?.get('application_name');
  if (fromUrl) return { name: fromUrl, source: 'connection-string', settable };
  const own: unknown = options.application_name;
  if (params?.has('application_name') !== true && own) return { name: String(own), source: 'config', settable };
  const fromEnv = env.PGAPPNAME;
  if (fromEnv) return { name: fromEnv, source: 'environment', settable };
  const fallback: unknown = params?.has('fallback_application_name') === true
    ? params.get('fallback_application_name')
    : options.fallback_application_name;
  if (fallback) return { name: String(fallback), source: 'fallback', settable };
  return { name: undefined, source: undefined, settable };
}

/** The query parameters of a connection string as pg-connection-string reads them; undefined if unparseable. */
function connectionStringParams(connectionString: string): URLSearchParams | undefined {
  if (connectionString.startsWith('/')) return new URLSearchParams(); // "/socket/dir dbname": no parameters
  let text = connectionString;
  if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(text)) text = encodeURI(text).replace(/%25(\d\d)/g, '%$1');
  try {
    return new URL(text, 'postgres://base').searchParams;
  } catch {
    try {
      return new URL(text.replace('@/', '@___DUMMY___/'), 'postgres://base').searchParams;
    } catch {
      return undefined;
    }
  }
}

/**
 * `<appName>/<instanceId>/<poolName>`, at most 63 bytes (PostgreSQL's limit), printable ASCII only: other
 * characters and `/` inside a part become `_`. When too long, the pool name is kept whole (a name over 59
 * characters keeps its start and end around a `~`), then the instance id keeps its end (the pid) and the app name
 * its start, sharing what is left.
 *
 * ```ts
 * generatedApplicationName('@acme/billing', 'web-7f9c-12345', 'main'); // '@acme_billing/web-7f9c-12345/main'
 * ```
 */
export function generatedApplicationName(appName: string, instanceId: string, poolName: string): string {
  const max = MAX_APPLICATION_NAME_LENGTH;
  let pool = applicationNamePart(poolName);
  const poolMax = max - 4; // room for at least one character of app and instance, and two slashes
  if (pool.length > poolMax) {
    const head = Math.floor((poolMax - 1) / 2);
    pool = `${pool.slice(0, head)}~${pool.slice(pool.length - (poolMax - 1 - head))}`;
  }
  let app = applicationNamePart(appName);
  let instance = applicationNamePart(instanceId);
  const room = max - 2 - pool.length;
  if (app.length + instance.length > room) {
    const instanceRoom = Math.min(instance.length, Math.max(Math.ceil(room / 2), room - app.length));
    instance = instance.slice(instance.length - instanceRoom);
    app = app.slice(0, room - instanceRoom);
  }
  return `${app}/${instance}/${pool}`;
}

function applicationNamePart(text: string): string {
  const part = text.trim().replace(/[^\x20-\x2e\x30-\x7e]/g, '_');
  return part === '' ? '_' : part;
}

/** The application_name poolscope set on a pool's options, and what was there before (to put it back). */
export interface ConnectionNaming {
  readonly name: string;
  readonly hadOwn: boolean;
  readonly previous: unknown;
}

/**
 * Sets `options.application_name` to `name` for the connections the pool opens from now on, unless the pool's
 * config names them: its application_name (options or connection string) always wins; PGAPPNAME and
 * fallback_application_name win unless `explicit` (a name the user gave poolscope). Returns what to undo, if set.
 */
export function nameConnections(options: PgPoolOptionsView, name: string, explicit: boolean): ConnectionNaming | undefined {
  const current = pgApplicationNameOf(options);
  if (!current.settable || current.source === 'config' || current.source === 'connection-string') return undefined;
  if (!explicit && current.source !== undefined) return undefined;
  const naming = { name, hadOwn: Object.hasOwn(options, 'application_name'), previous: options.application_name };
  options.application_name = name;
  return naming;
}

/** Puts back what was there before nameConnections, unless someone changed the name since. */
export function unnameConnections(options: PgPoolOptionsView, naming: ConnectionNaming): void {
  if (options.application_name !== naming.name) return;
  const writable = options as Record<string, unknown>;
  if (naming.hadOwn) writable.application_name = naming.previous;
  else delete writable.application_name;
}
