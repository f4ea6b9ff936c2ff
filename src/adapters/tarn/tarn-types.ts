/**
 * Structural types for tarn 3.x (and Knex 3.x, whose `knex.client.pool` is a tarn Pool). poolscope never imports
 * tarn or knex: any object of these shapes can be tracked, and both stay optional peer dependencies.
 */

/** tarn's pending acquire: `acquire()` returns it, its `promise` settles with the resource. */
export interface TarnPendingAcquire<R> {
  readonly promise: Promise<R>;
}

/**
 * What `trackTarnPool` accepts: a tarn `Pool` (or a `KnexPool`, its subclass), by its public methods only (tarn
 * declares its settings `protected`).
 */
export interface TarnPoolLike<R = unknown> {
  acquire(): TarnPendingAcquire<R>;
  release(resource: R): boolean;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
  /** tarn's own `on` / `removeListener` (an emitter inside the pool; poolscope listens only). */
  on(event: 'acquireRequest', listener: (eventId: number) => void): void;
  removeListener(event: string | symbol, listener: (...args: unknown[]) => void): void;
}

/** What `trackKnex` accepts: a Knex instance (`knex(config)`), tracked through `knex.client.pool`. */
export interface KnexLike {
  readonly client: unknown;
}

// ---- internal views (what the adapter reads) ---------------------------------------------------------------------

/** tarn's record of a resource in its `used` and `free` lists. */
export interface TarnResourceRecord {
  readonly resource: unknown;
}

/** A tarn Pool as the adapter reads it: its public methods, and the settings tarn keeps as plain fields. */
export interface TarnPoolInternal {
  acquire(): TarnPendingAcquire<unknown>;
  release(resource: unknown): boolean;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
  on(event: string, listener: (...args: never[]) => void): void;
  removeListener(event: string, listener: (...args: never[]) => void): void;
  readonly min?: number;
  readonly max?: number;
  readonly acquireTimeoutMillis?: number;
  readonly createTimeoutMillis?: number;
  readonly destroyTimeoutMillis?: number;
  readonly idleTimeoutMillis?: number;
  readonly reapIntervalMillis?: number;
  readonly createRetryIntervalMillis?: number;
  readonly propagateCreateError?: boolean;
  /** Resources lent out (and those being validated for a caller): tarn's own list, read to tell its refusals. */
  readonly used?: readonly TarnResourceRecord[];
}

/** What poolscope reads and wraps (own properties) of a Knex client (`knex.client`). */
export interface KnexClientInternal {
  pool?: unknown;
  /** The driver package Knex loads for this dialect: `pg` for the PostgreSQL dialects that use node-postgres. */
  readonly driverName?: string;
  readonly dialect?: string;
  /** Knex's resolved connection settings (host, database, user, ...); read through an allowlist only. */
  readonly connectionSettings?: unknown;
  /** Set on a transaction's client (a transaction borrows one connection; it has no pool). */
  readonly transacting?: boolean;
  acquireConnection: (...args: unknown[]) => Promise<unknown>;
  queryBuilder: (...args: unknown[]) => unknown;
  schemaBuilder?: (...args: unknown[]) => unknown;
  raw: (...args: unknown[]) => unknown;
  runner: (builder: unknown, ...rest: unknown[]) => KnexRunnerInternal;
  transaction: (...args: unknown[]) => unknown;
}

/** Knex's Runner: `run()` (and `stream()`) check a connection out, in their synchronous part, when they need one. */
export interface KnexRunnerInternal {
  run: (...args: unknown[]) => unknown;
  stream?: (...args: unknown[]) => unknown;
}

/** Knex's Transaction: its `acquireConnection` (looked up on the instance) checks the transaction's connection out. */
export interface KnexTransactionInternal {
  acquireConnection: (...args: unknown[]) => unknown;
}
