import type { TransactionStatus } from '../../core/lease.js';
import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import { maskConnectionString } from '../../core/connection-string-mask.js';
import type { PgPoolInternal } from './pg-types.js';

/** What poolscope reads of a pg client and pool: the transaction status, and the pool's settings (allowlisted). */

/** pg's `getTransactionStatus()` (pg >= 8.21) as poolscope's status; `unknown` on older pg. */
export function transactionStatusOf(client: { getTransactionStatus?: () => string | null }): TransactionStatus {
  const read = client.getTransactionStatus;
  if (typeof read !== 'function') return 'unknown';
  switch (read.call(client)) {
    case 'I':
      return 'idle';
    case 'T':
      return 'in-transaction';
    case 'E':
      return 'failed';
    default:
      return 'unknown';
  }
}

/** The allowlisted settings of a pg pool; the connection string's password is masked, the password never copied. */
export function pgConfigSnapshot(options: PgPoolInternal['options']): PoolConfigSnapshot {
  const out: Record<string, unknown> = {};
  const numbers = ['max', 'min', 'idleTimeoutMillis', 'connectionTimeoutMillis', 'maxUses', 'maxLifetimeSeconds'] as const;
  for (const key of numbers) {
    const value = options[key];
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  }
  if (typeof options.allowExitOnIdle === 'boolean') out.allowExitOnIdle = options.allowExitOnIdle;
  for (const key of ['application_name', 'host', 'database', 'user'] as const) {
    const value = options[key];
    if (typeof value === 'string') out[key] = value;
  }
  const port = typeof options.port === 'string' ? Number(options.port) : options.port;
  if (typeof port === 'number' && Number.isFinite(port)) out.port = port;
  if (options.ssl !== undefined) out.ssl = Boolean(options.ssl);
  if (typeof options.connectionString === 'string') out.connectionString = maskConnectionString(options.connectionString);
  return out as PoolConfigSnapshot;
}
