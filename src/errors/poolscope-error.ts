/** The error code catalogue and the base class every poolscope error extends (re-exported by src/errors.ts). */

/** Every error code poolscope can produce, `POOLSCOPE_ERR_<AREA>_<WHAT>`. */
export const ERROR_CODES = [
  'POOLSCOPE_ERR_POOL_DUPLICATE_NAME',
  'POOLSCOPE_ERR_POOL_INVALID_NAME',
  'POOLSCOPE_ERR_POOL_ALREADY_TRACKED',
  'POOLSCOPE_ERR_POOL_NOT_TRACKED',
  'POOLSCOPE_ERR_POOL_UNSUPPORTED',
  'POOLSCOPE_ERR_OPTIONS_INVALID',
  'POOLSCOPE_ERR_INSPECTOR_CLOSED',
  'POOLSCOPE_ERR_TRANSACTION_ROLLBACK_FAILED',
  'POOLSCOPE_ERR_HTTP_FORBIDDEN',
  'POOLSCOPE_ERR_HTTP_NOT_FOUND',
  'POOLSCOPE_ERR_HTTP_METHOD_NOT_ALLOWED',
  'POOLSCOPE_ERR_HTTP_BAD_REQUEST',
  'POOLSCOPE_ERR_HTTP_METRICS_DISABLED',
  'POOLSCOPE_ERR_HTTP_SERVER_VIEW_DISABLED',
  'POOLSCOPE_ERR_HTTP_CLUSTER_DISABLED',
  'POOLSCOPE_ERR_HTTP_INTERNAL',
  'POOLSCOPE_ERR_HTTP_LISTEN_FAILED',
  'POOLSCOPE_ERR_CONFIG_INVALID',
  'POOLSCOPE_ERR_TENANT_INVALID_ID',
  'POOLSCOPE_ERR_TENANT_LIMIT_REACHED',
  'POOLSCOPE_ERR_TENANT_BUDGET_EXHAUSTED',
  'POOLSCOPE_ERR_TENANT_CONNECT_FAILED',
  'POOLSCOPE_ERR_TENANT_DATABASE_FAILED',
  'POOLSCOPE_ERR_TENANT_POOLS_CLOSED',
  'POOLSCOPE_ERR_TESTING_LEAKED_CONNECTIONS',
  'POOLSCOPE_ERR_TESTING_CLEANUP_FAILED',
  'POOLSCOPE_ERR_POOL_CONNECTION_DESTROYED',
  'POOLSCOPE_ERR_POOL_PING_TIMEOUT',
  'POOLSCOPE_ERR_POOL_PING_FAILED',
  'POOLSCOPE_ERR_PG_UNAVAILABLE',
  'POOLSCOPE_ERR_SERVER_CONNECT_FAILED',
  'POOLSCOPE_ERR_SERVER_CONNECTION_LOST',
  'POOLSCOPE_ERR_SERVER_QUERY_FAILED',
  'POOLSCOPE_ERR_SERVER_UNEXPECTED_ANSWER',
  'POOLSCOPE_ERR_SERVER_VERSION_UNSUPPORTED',
  'POOLSCOPE_ERR_SQL_INVALID_IDENTIFIER',
  'POOLSCOPE_ERR_HTTP_REGISTER_FAILED',
  'POOLSCOPE_ERR_HTTP_ASSET_MISSING',
  'POOLSCOPE_ERR_CLI_INTERRUPTED',
  'POOLSCOPE_ERR_EMBEDDED_UNAVAILABLE',
  'POOLSCOPE_ERR_EMBEDDED_START_FAILED',
  'POOLSCOPE_ERR_EMBEDDED_TIMEOUT',
  'POOLSCOPE_ERR_DEMO_EXPORT_FAILED',
  'POOLSCOPE_ERR_DEMO_DATABASE_FAILED',
  'POOLSCOPE_ERR_CLUSTER_INVALID_NAME',
  'POOLSCOPE_ERR_CLUSTER_INVALID_SECRET',
  'POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE',
  'POOLSCOPE_ERR_CLUSTER_MESSAGE_TOO_LARGE',
  'POOLSCOPE_ERR_CLUSTER_NODE_NAME_TAKEN',
  'POOLSCOPE_ERR_CLUSTER_JOIN_FAILED',
  'POOLSCOPE_ERR_CLUSTER_NOT_JOINED',
  'POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST',
  'POOLSCOPE_ERR_CLUSTER_SEND_FAILED',
  'POOLSCOPE_ERR_INTERNAL_INVARIANT',
] as const;

/** A poolscope error code. */
export type PoolscopeErrorCode = (typeof ERROR_CODES)[number];

/** Base class of every error poolscope throws or rejects with. `code` is stable; match on it, not on the message. */
export class PoolscopeError extends Error {
  readonly code: PoolscopeErrorCode;

  constructor(code: PoolscopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PoolscopeError';
    this.code = code;
  }
}

/** A short, safe description of a value for an error message (no huge dumps). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}

/** The message of an unknown thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
