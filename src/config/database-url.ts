import { PoolConfigError } from '../errors.js';
import { maskConnectionString } from '../core/connection-string-mask.js';

/**
 * Pool parameters written into a database URL, for ORMs that size their own pool from it. Prisma (v6 and earlier,
 * without a driver adapter) reads `connection_limit` (most connections) and `pool_timeout` (seconds to wait for a
 * free connection) from the URL's query string. pg itself ignores both.
 */

/** The query parameter names, as Prisma reads them. */
export const POOL_URL_PARAMETERS = Object.freeze({ connectionLimit: 'connection_limit', poolTimeoutSeconds: 'pool_timeout' } as const);

export interface PoolUrlParameters {
  /** `connection_limit`: a whole number >= 1. Undefined leaves the URL's parameter as it is. */
  readonly connectionLimit?: number;
  /**
   * `pool_timeout`, in whole seconds >= 1. Undefined leaves the URL's parameter as it is. 0 (Prisma's "wait
   * forever") is refused: poolscope wants every wait bounded.
   */
  readonly poolTimeoutSeconds?: number;
}

/** `scheme://` at the start (postgres://, postgresql://, mysql://, ...). */
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * A database URL safe to log: `maskConnectionString()` for a `scheme://` URL (password and secret-looking
 * parameters replaced by `***`), and `***` whole for anything else (text like `user:secret@host/db` parses as a URL
 * with no password part, so it could not be masked).
 */
export function maskDatabaseUrl(url: string): string {
  return URL_SCHEME.test(url) ? maskConnectionString(url) : '***';
}

/**
 * `url` with `connection_limit` and `pool_timeout` set: an existing parameter of the same name is replaced (every
 * occurrence), all other parameters are kept byte for byte and in order, the new ones are appended. Throws
 * PoolConfigError (POOLSCOPE_ERR_CONFIG_INVALID) for a value that is not a whole number >= 1 or a string that is not
 * a `scheme://` URL; the URL is never put in an error message (it holds the password).
 *
 *     withPoolParameters(process.env.DATABASE_URL!, { connectionLimit: 10, poolTimeoutSeconds: 20 })
 *     // postgres://app:secret@db:5432/app?sslmode=require&connection_limit=10&pool_timeout=20
 */
export function withPoolParameters(url: string, parameters: PoolUrlParameters): string {
  if (typeof url !== 'string' || !URL_SCHEME.test(url)) {
    // The text is never echoed: a string that is not a URL cannot be masked reliably (it may hold a password).
    throw new PoolConfigError(
      'url',
      typeof url === 'string' ? '***' : url,
      typeof url === 'string' ? 'does not start with a scheme such as postgresql://' : 'is not a string',
      "Pass a URL such as 'postgresql://user:password@host:5432/database'.",
    );
  }
  if (parameters === null || typeof parameters !== 'object') {
    throw new PoolConfigError('parameters', parameters, 'is not an object', 'Pass { connectionLimit, poolTimeoutSeconds }.');
  }
  const set: [string, number][] = [];
  for (const key of ['connectionLimit', 'poolTimeoutSeconds'] as const) {
    const value: unknown = parameters[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      const unit = key === 'connectionLimit' ? 'connections, e.g. 10' : 'seconds, e.g. 10';
      throw new PoolConfigError(key, value, 'is not a whole number >= 1', `Set ${key} to a whole number of ${unit}.`);
    }
    set.push([POOL_URL_PARAMETERS[key], value]);
  }
  if (set.length === 0) return url;

  const hashAt = url.indexOf('#');
  const fragment = hashAt === -1 ? '' : url.slice(hashAt);
  const beforeFragment = hashAt === -1 ? url : url.slice(0, hashAt);
  const queryAt = beforeFragment.indexOf('?');
  const base = queryAt === -1 ? beforeFragment : beforeFragment.slice(0, queryAt);
  const query = queryAt === -1 ? '' : beforeFragment.slice(queryAt + 1);
  const replaced = new Set(set.map(([name]) => name));
  const kept = query.split('&').filter((pair) => pair !== '' && !replaced.has(parameterName(pair)));
  const added = set.map(([name, value]) => `${name}=${value}`);
  return `${base}?${[...kept, ...added].join('&')}${fragment}`;
}

/**
 * The URL parameters that match a pg.Pool config: `connection_limit` = max, `pool_timeout` = the connection
 * timeout rounded up to whole seconds.
 */
export function poolUrlParametersFromConfig(config: { readonly max: number; readonly connectionTimeoutMillis: number }): Required<PoolUrlParameters> {
  return { connectionLimit: config.max, poolTimeoutSeconds: Math.ceil(config.connectionTimeoutMillis / 1000) };
}

/** The decoded name of a `name=value` query pair (undecodable names compare as written). */
function parameterName(pair: string): string {
  const equals = pair.indexOf('=');
  const name = (equals === -1 ? pair : pair.slice(0, equals)).replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
