import { PoolscopeError, TenantPoolError, messageOf } from '../errors.js';
import { sqlStateOf } from '../postgres/pg-client-shapes.js';
import type { TenantPgPool } from './tenant-pools-config.js';
import { tenantDatabaseName } from './tenant-id.js';
import type { TenantEntry } from './tenant-pool-entry.js';
import type { TenantPoolsContext } from './tenant-pools-context.js';

/**
 * Which failures mean a pool's connections cannot work, and marking such a pool suspect (its next `get()` verifies
 * it first); the CONNECT_FAILED error of a new pool.
 */

/** SQLSTATEs / error codes after which a pool's connections cannot work (database gone, server unreachable). */
export const CONNECTION_FAILURE_CODES = new Set([
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

export function errorCode(error: unknown): string | null {
  if (error instanceof PoolscopeError) return null; // a pg or system code (3D000, ECONNREFUSED), never poolscope's own
  return sqlStateOf(error);
}

export function connectFailed<P extends TenantPgPool>(ctx: TenantPoolsContext<P>, tenantId: string, cause: unknown): TenantPoolError {
  const code = errorCode(cause);
  return new TenantPoolError(
    'POOLSCOPE_ERR_TENANT_CONNECT_FAILED',
    tenantId,
    `Could not connect to the database of tenant "${tenantId}" (${tenantDatabaseName(ctx.options.databasePrefix, tenantId)})` +
      `${code === null ? '' : ` [${code}]`}: ${messageOf(cause)}. ` +
      (code === '3D000'
        ? 'The database does not exist: call ensureDatabase() first. '
        : 'Check that the server is reachable and the database exists (ensureDatabase()). ') +
      'The pg error is `cause`; the next get() tries a fresh pool.',
    { cause },
  );
}

/** pg emitted 'error' for an idle client (terminated, server gone): the pool removed it; verify on next use. */
export function poolError<P extends TenantPgPool>(ctx: TenantPoolsContext<P>, entry: TenantEntry<P>, error: Error): void {
  try {
    if (entry.state === 'open') entry.suspect = { code: errorCode(error), message: messageOf(error) };
  } catch (failure) {
    ctx.onError(failure);
  }
}

/** The inspector saw a connect failure or connection error on one of our pools. */
export function connectionError<P extends TenantPgPool>(ctx: TenantPoolsContext<P>, poolName: string, message: string): void {
  const prefix = ctx.options.poolNamePrefix;
  if (!poolName.startsWith(prefix)) return;
  const entry = ctx.entries.get(poolName.slice(prefix.length));
  if (entry !== undefined && entry.poolName === poolName && entry.state === 'open') {
    entry.suspect ??= { code: null, message };
  }
}

/** A query or checkout through query()/withClient() failed: connection-class failures make the pool suspect. */
export function noteFailure<P extends TenantPgPool>(entry: TenantEntry<P>, error: unknown): void {
  const code = errorCode(error);
  const connectionFailure =
    (code !== null && CONNECTION_FAILURE_CODES.has(code)) || /Connection terminated|terminating connection/i.test(messageOf(error));
  if (connectionFailure && entry.state === 'open') entry.suspect ??= { code, message: messageOf(error) };
}
