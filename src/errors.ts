/**
 * The one catalogue of poolscope's error codes. Every code is listed in docs/reference/errors.md; a test keeps the
 * two in step. Setup calls throw these; awaited calls reject with them; listeners never throw.
 */

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
  'POOLSCOPE_ERR_CLI_INTERRUPTED',
  'POOLSCOPE_ERR_EMBEDDED_UNAVAILABLE',
  'POOLSCOPE_ERR_EMBEDDED_START_FAILED',
  'POOLSCOPE_ERR_EMBEDDED_TIMEOUT',
  'POOLSCOPE_ERR_DEMO_EXPORT_FAILED',
  'POOLSCOPE_ERR_DEMO_DATABASE_FAILED',
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

/** A pool name is empty, too long, or already tracked by this inspector. */
export class PoolNameError extends PoolscopeError {
  readonly poolName: string;

  constructor(code: 'POOLSCOPE_ERR_POOL_DUPLICATE_NAME' | 'POOLSCOPE_ERR_POOL_INVALID_NAME', poolName: string, message: string) {
    super(code, message);
    this.name = 'PoolNameError';
    this.poolName = poolName;
  }
}

/** A pool object was given that poolscope cannot track (not a pg.Pool, already tracked, unknown name). */
export class PoolTrackingError extends PoolscopeError {
  readonly poolName: string | undefined;

  constructor(
    code: 'POOLSCOPE_ERR_POOL_ALREADY_TRACKED' | 'POOLSCOPE_ERR_POOL_NOT_TRACKED' | 'POOLSCOPE_ERR_POOL_UNSUPPORTED',
    message: string,
    poolName?: string,
  ) {
    super(code, message);
    this.name = 'PoolTrackingError';
    this.poolName = poolName;
  }
}

/** An option has a value of the wrong type or out of range. `option` names it, `value` is what was given. */
export class OptionsError extends PoolscopeError {
  readonly option: string;
  readonly value: unknown;

  constructor(option: string, value: unknown, expected: string) {
    super('POOLSCOPE_ERR_OPTIONS_INVALID', `Invalid option ${option}: got ${describeValue(value)}; expected ${expected}.`);
    this.name = 'OptionsError';
    this.option = option;
    this.value = value;
  }
}

/** A method was called on an inspector after `close()`. */
export class InspectorClosedError extends PoolscopeError {
  constructor(method: string) {
    super(
      'POOLSCOPE_ERR_INSPECTOR_CLOSED',
      `Inspector.${method}() was called after close(). Create a new Inspector to track pools again.`,
    );
    this.name = 'InspectorClosedError';
  }
}

/**
 * `withTransaction` could not roll back after the callback failed. The callback's error is `cause`; the rollback's
 * error is `rollbackError`. The connection was destroyed rather than returned to the pool.
 */
export class TransactionRollbackError extends PoolscopeError {
  readonly rollbackError: unknown;

  constructor(cause: unknown, rollbackError: unknown) {
    super(
      'POOLSCOPE_ERR_TRANSACTION_ROLLBACK_FAILED',
      `The transaction callback failed and the ROLLBACK that followed failed too (${messageOf(rollbackError)}); ` +
        'the connection was destroyed instead of being returned to the pool. The callback error is in `cause`.',
      { cause },
    );
    this.name = 'TransactionRollbackError';
    this.rollbackError = rollbackError;
  }
}

/** The codes an ops HTTP route answers with (in the JSON body `{ error, message }`), besides a pool's. */
export type HttpRouteErrorCode =
  | 'POOLSCOPE_ERR_HTTP_FORBIDDEN'
  | 'POOLSCOPE_ERR_HTTP_NOT_FOUND'
  | 'POOLSCOPE_ERR_HTTP_METHOD_NOT_ALLOWED'
  | 'POOLSCOPE_ERR_HTTP_BAD_REQUEST'
  | 'POOLSCOPE_ERR_HTTP_METRICS_DISABLED'
  | 'POOLSCOPE_ERR_HTTP_INTERNAL'
  | 'POOLSCOPE_ERR_POOL_NOT_TRACKED';

/**
 * An ops route refused a request. Never thrown into your code: the ops handler turns it into the answer
 * `status` with the JSON body `{ error: code, message }`.
 */
export class HttpRouteError extends PoolscopeError {
  declare readonly code: HttpRouteErrorCode;
  readonly status: number;

  constructor(status: number, code: HttpRouteErrorCode, message: string) {
    super(code, message);
    this.name = 'HttpRouteError';
    this.status = status;
  }
}

/** `startOpsServer()` could not listen (port in use, address not available, no permission). The system error is `cause`. */
export class HttpListenError extends PoolscopeError {
  readonly host: string;
  readonly port: number;

  constructor(host: string, port: number, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    super(
      'POOLSCOPE_ERR_HTTP_LISTEN_FAILED',
      `The ops server could not listen on ${host}:${port}${typeof code === 'string' ? ` (${code})` : ''}: ${messageOf(cause)}. ` +
        'Pick a free port (0 lets the system choose one) or a host address this machine has.',
      { cause },
    );
    this.name = 'HttpListenError';
    this.host = host;
    this.port = port;
  }
}

/**
 * A pool configuration value (from the environment or given in code) is not usable. `variable` names it (e.g.
 * `DATABASE_POOL_MAX`), `value` is what was given (as read, a string for environment variables).
 */
export class PoolConfigError extends PoolscopeError {
  readonly variable: string;
  readonly value: unknown;

  constructor(variable: string, value: unknown, problem: string, fix: string) {
    super('POOLSCOPE_ERR_CONFIG_INVALID', `${variable}=${describeValue(value)} ${problem}. ${fix}`);
    this.name = 'PoolConfigError';
    this.variable = variable;
    this.value = value;
  }
}

/** The codes `TenantPools` throws or rejects with. */
export type TenantErrorCode =
  | 'POOLSCOPE_ERR_TENANT_INVALID_ID'
  | 'POOLSCOPE_ERR_TENANT_LIMIT_REACHED'
  | 'POOLSCOPE_ERR_TENANT_BUDGET_EXHAUSTED'
  | 'POOLSCOPE_ERR_TENANT_CONNECT_FAILED'
  | 'POOLSCOPE_ERR_TENANT_DATABASE_FAILED'
  | 'POOLSCOPE_ERR_TENANT_POOLS_CLOSED';

/**
 * A tenant pool operation failed: a bad tenant id, a limit that cannot be met, a tenant database that cannot be
 * reached, created or dropped, or a call after `close()`. `tenantId` names the tenant (undefined for calls about
 * no tenant); a failure underneath (PostgreSQL, pg) is `cause`.
 */
export class TenantPoolError extends PoolscopeError {
  declare readonly code: TenantErrorCode;
  readonly tenantId: string | undefined;

  constructor(code: TenantErrorCode, tenantId: string | undefined, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TenantPoolError';
    this.tenantId = tenantId;
  }
}

/**
 * `assertNoLeakedConnections()` found connections still out after its grace period. `leases` lists the checkouts
 * poolscope still sees (pool, owner, file:line); `sessions` the server sessions still open for the given scope.
 */
export class LeakedConnectionsError extends PoolscopeError {
  readonly leases: readonly unknown[];
  readonly sessions: readonly unknown[];

  constructor(message: string, leases: readonly unknown[], sessions: readonly unknown[]) {
    super('POOLSCOPE_ERR_TESTING_LEAKED_CONNECTIONS', message);
    this.name = 'LeakedConnectionsError';
    this.leases = leases;
    this.sessions = sessions;
  }
}

/**
 * Handed to pg-pool's `release(error)` so that it destroys the connection instead of keeping it (released inside a
 * transaction with `onDirtyRelease: 'destroy'`, a failed ROLLBACK, a client still out at cleanup). Never thrown
 * into your code; pg-pool passes it to `pool.on('release', (error, client) => ...)` listeners. A failure behind it
 * (the ROLLBACK's error) is `cause`.
 */
export class ConnectionDestroyedError extends PoolscopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('POOLSCOPE_ERR_POOL_CONNECTION_DESTROYED', message, options);
    this.name = 'ConnectionDestroyedError';
  }
}

/**
 * A readiness ping (`SELECT 1` on a connection borrowed from the pool) found no answer in time, or the pool gave
 * no connection. A driver error is passed through unchanged; a failure that is not an Error is `cause`.
 */
export class PoolPingError extends PoolscopeError {
  constructor(code: 'POOLSCOPE_ERR_POOL_PING_TIMEOUT' | 'POOLSCOPE_ERR_POOL_PING_FAILED', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PoolPingError';
  }
}

/**
 * The `pg` package (node-postgres, an optional peer dependency) could not be loaded, or has no `Client`/`Pool`
 * class. `feature` names what needed it (e.g. `ActivityInspector`); the import failure is `cause`.
 */
export class PgUnavailableError extends PoolscopeError {
  readonly feature: string;

  constructor(feature: string, message: string, options?: { cause?: unknown }) {
    super('POOLSCOPE_ERR_PG_UNAVAILABLE', message, options);
    this.name = 'PgUnavailableError';
    this.feature = feature;
  }
}

/** The codes of reading the server's own view (`ActivityInspector`, `checkServerCapacity()`). */
export type ServerViewErrorCode =
  | 'POOLSCOPE_ERR_SERVER_CONNECT_FAILED'
  | 'POOLSCOPE_ERR_SERVER_CONNECTION_LOST'
  | 'POOLSCOPE_ERR_SERVER_QUERY_FAILED'
  | 'POOLSCOPE_ERR_SERVER_UNEXPECTED_ANSWER'
  | 'POOLSCOPE_ERR_SERVER_VERSION_UNSUPPORTED';

/**
 * Reading the server's view over poolscope's own connection failed: connecting, setting up the session, the
 * query, or the answer. `source` names the API (`ActivityInspector`, `checkServerCapacity`); the driver's error is
 * `cause`.
 */
export class ServerViewError extends PoolscopeError {
  declare readonly code: ServerViewErrorCode;
  readonly source: string;

  constructor(code: ServerViewErrorCode, source: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ServerViewError';
    this.source = source;
  }
}

/**
 * A name cannot be used as a PostgreSQL identifier (empty, not a string, a NUL character, longer than 63 bytes, or
 * outside the characters a scratch database allows). `identifier` is what was given.
 */
export class IdentifierError extends PoolscopeError {
  readonly identifier: unknown;

  constructor(identifier: unknown, message: string) {
    super('POOLSCOPE_ERR_SQL_INVALID_IDENTIFIER', message);
    this.name = 'IdentifierError';
    this.identifier = identifier;
  }
}

/** The codes of the embedded PostgreSQL (the CLI demo and the tests start one when no server answers). */
export type EmbeddedServerErrorCode =
  | 'POOLSCOPE_ERR_EMBEDDED_UNAVAILABLE'
  | 'POOLSCOPE_ERR_EMBEDDED_START_FAILED'
  | 'POOLSCOPE_ERR_EMBEDDED_TIMEOUT';

/** The embedded PostgreSQL could not be loaded, started or stopped in time. The failure underneath is `cause`. */
export class EmbeddedServerError extends PoolscopeError {
  declare readonly code: EmbeddedServerErrorCode;

  constructor(code: EmbeddedServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'EmbeddedServerError';
  }
}

/**
 * poolscope broke one of its own invariants (a route without an implementation, an unknown event type inside, a
 * percentile out of range). Never expected: please report it with the message.
 */
export class InternalError extends PoolscopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('POOLSCOPE_ERR_INTERNAL_INVARIANT', message, options);
    this.name = 'InternalError';
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
