import { PoolscopeError, describeValue, messageOf } from './poolscope-error.js';

/** Errors of the surfaces around the pools: ops HTTP, pool config, tenants, the server view, identifiers, the embedded server. */

/** The codes an ops HTTP route answers with (in the JSON body `{ error, message }`), besides a pool's. */
export type HttpRouteErrorCode =
  | 'POOLSCOPE_ERR_HTTP_FORBIDDEN'
  | 'POOLSCOPE_ERR_HTTP_NOT_FOUND'
  | 'POOLSCOPE_ERR_HTTP_METHOD_NOT_ALLOWED'
  | 'POOLSCOPE_ERR_HTTP_BAD_REQUEST'
  | 'POOLSCOPE_ERR_HTTP_METRICS_DISABLED'
  | 'POOLSCOPE_ERR_HTTP_SERVER_VIEW_DISABLED'
  | 'POOLSCOPE_ERR_HTTP_CLUSTER_DISABLED'
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

/** The codes of the cluster messages and of a cluster node (docs/reference/cluster.md). */
export type ClusterErrorCode =
  | 'POOLSCOPE_ERR_CLUSTER_INVALID_NAME'
  | 'POOLSCOPE_ERR_CLUSTER_INVALID_SECRET'
  | 'POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE'
  | 'POOLSCOPE_ERR_CLUSTER_MESSAGE_TOO_LARGE'
  | 'POOLSCOPE_ERR_CLUSTER_NODE_NAME_TAKEN'
  | 'POOLSCOPE_ERR_CLUSTER_JOIN_FAILED'
  | 'POOLSCOPE_ERR_CLUSTER_NOT_JOINED'
  | 'POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST'
  | 'POOLSCOPE_ERR_CLUSTER_SEND_FAILED';

/**
 * A cluster message could not be built or sent: a bad cluster or node name, an unusable shared secret (never echoed
 * in the message), a message that fails its own validation, or one larger than the receivers accept. Thrown on the
 * sending side only; what a node receives is rejected with a reason, never thrown. A `ClusterNode` also rejects with
 * it (name taken, join failed, not joined) and reports its lost LISTEN connection with it; a failure underneath is
 * `cause`.
 */
export class ClusterError extends PoolscopeError {
  declare readonly code: ClusterErrorCode;

  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ClusterError';
  }
}
