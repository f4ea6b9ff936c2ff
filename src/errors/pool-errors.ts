import { PoolscopeError, describeValue, messageOf } from './poolscope-error.js';

/** Errors of tracking and using pools: names, options, the inspector, transactions, connections, pings. */

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
