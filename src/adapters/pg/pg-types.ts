/**
 * Structural types for node-postgres (pg 8.x, pg-pool 3.x). poolscope never imports `pg` at runtime: any object of
 * this shape can be tracked, and `pg` stays an optional peer dependency.
 */

/** What `trackPgPool` accepts: a `pg.Pool` (or anything shaped like one). */
export interface PgPoolLike {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options: object;
  connect(...args: never[]): unknown;
  /** EventEmitter's `on` and `removeListener` (poolscope listens to `connect` and `remove` only). */
  on(...args: never[]): unknown;
  removeListener(...args: never[]): unknown;
}

/** What the transaction helpers need of a checked-out client. */
export interface PgQueryable {
  query(text: string): Promise<unknown>;
}

/** A checked-out client (`pg.PoolClient`): queryable and releasable. */
export interface PgPoolClientLike extends PgQueryable {
  release(err?: Error | boolean): void;
}

/** A pool as the transaction helpers use it: `connect()` resolves to a releasable client. */
export interface PgConnectable {
  connect(): Promise<unknown>;
}

type ClientFromPromise<P> = P extends { connect(): Promise<infer C> } ? C : never;
type ClientFromCallback<P> = P extends { connect(callback: (err: never, client: infer C, done: never) => void): void }
  ? NonNullable<C>
  : never;

/**
 * The client type a pool's `connect()` gives (`pg.PoolClient` for a `pg.Pool`). pg declares `connect` twice
 * (promise and callback forms) and TypeScript infers from the last overload only, so the callback form's client is
 * used when the promise form says nothing.
 */
export type PgClientOf<P> = unknown extends ClientFromPromise<P> ? ClientFromCallback<P> : ClientFromPromise<P>;

// ---- internal views (what the adapter reads and wraps) ---------------------------------------------------------

/** pg's connect callback. */
export type PgConnectCallback = (
  err: Error | undefined | null,
  client?: PgClientInternal,
  done?: (release?: unknown) => void,
) => void;

export interface PgClientInternal {
  query: (config: unknown, values?: unknown, callback?: unknown) => unknown;
  release: (err?: unknown) => void;
  emit: (event: string | symbol, ...args: unknown[]) => boolean;
  processID?: number | null;
  getTransactionStatus?: () => string | null;
  /** The Promise class pg's Client makes its query promises with (`options.Promise`, default the global). */
  _Promise?: PromiseConstructor;
}

export interface PgPoolOptionsView {
  max?: number;
  min?: number;
  idleTimeoutMillis?: number;
  connectionTimeoutMillis?: number;
  maxUses?: number;
  maxLifetimeSeconds?: number;
  allowExitOnIdle?: boolean;
  application_name?: string;
  fallback_application_name?: string;
  host?: string;
  port?: number | string;
  database?: string;
  user?: string;
  ssl?: unknown;
  connectionString?: string;
}

export interface PgPoolInternal {
  connect: (callback?: PgConnectCallback) => unknown;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  /** pg-pool hands this object to `new Client(options)` for every new connection (so a change reaches new ones). */
  readonly options: PgPoolOptionsView;
  readonly Promise?: PromiseConstructor;
  on(event: 'connect' | 'remove', listener: (client: PgClientInternal) => void): unknown;
  removeListener(event: 'connect' | 'remove', listener: (client: PgClientInternal) => void): unknown;
}
