import type { AdapterCapabilities } from '../../core/adapter-capabilities.js';

/**
 * Structural types for mysql2 (3.x). poolscope never imports `mysql2` at runtime: any object of this shape can be
 * tracked, and `mysql2` stays an optional peer dependency. The internal views name the fields of mysql2's own
 * classes (lib/base/pool.js, lib/pool_connection.js, lib/base/connection.js) that the adapter reads or wraps.
 */

/** A callback pool (`mysql.createPool(config)` from `mysql2`). */
export interface Mysql2PoolLike {
  readonly config: object;
  getConnection(...args: never[]): unknown;
  query(...args: never[]): unknown;
  /** EventEmitter's `on` and `removeListener` (poolscope listens to `connection` only). */
  on(...args: never[]): unknown;
  removeListener(...args: never[]): unknown;
}

/** A promise pool (`createPool(config)` from `mysql2/promise`, or `pool.promise()`): its `.pool` is the callback pool. */
export interface Mysql2PromisePoolLike {
  readonly pool: Mysql2PoolLike;
  getConnection(): Promise<unknown>;
}

/** What `trackMysql2Pool` accepts. */
export type Mysql2AnyPoolLike = Mysql2PoolLike | Mysql2PromisePoolLike;

// ---- internal views (what the adapter reads and wraps) ---------------------------------------------------------

/** mysql2's getConnection callback. */
export type Mysql2ConnectCallback = (err: Error | null | undefined, connection?: Mysql2ConnectionInternal) => void;

/** mysql2's RingQueue (lib/ring_queue.js): the pool's connection lists and waiters. */
export interface Mysql2Queue<T> {
  readonly length: number;
  get(index: number): T | undefined;
}

/** A packet as mysql2's PacketParser hands it to `handlePacket` (lib/packets/packet.js). */
export interface Mysql2Packet {
  readonly buffer: Uint8Array;
  /** Where the packet's payload starts (the parser's reads advance it). */
  offset: number;
  /** End of the payload in `buffer`. */
  readonly end: number;
}

/** A command (lib/commands/command.js): Query, Execute, Ping, ... (an EventEmitter). */
export interface Mysql2Command {
  sql?: unknown;
  onResult?: ((...args: unknown[]) => unknown) | undefined;
  emit: (event: string | symbol, ...args: unknown[]) => boolean;
}

export interface Mysql2ConnectionAttributes {
  [name: string]: unknown;
}

/** The per-connection settings (lib/connection_config.js); the pool's `connectionConfig` is one of these. */
export interface Mysql2ConnectionConfig {
  host?: unknown;
  port?: unknown;
  socketPath?: unknown;
  database?: unknown;
  user?: unknown;
  ssl?: unknown;
  gracefulEnd?: unknown;
  /** Sent at the handshake (`program_name` names the connection's program on the server). */
  connectAttributes?: Mysql2ConnectionAttributes;
}

/** A pooled connection (PoolConnection, lib/pool_connection.js). */
export interface Mysql2ConnectionInternal {
  /** The server's connection id (CONNECTION_ID(), processlist ID); null before the handshake. */
  readonly threadId: number | null;
  readonly config: Mysql2ConnectionConfig;
  /** The pool, until the connection is removed from it. */
  readonly _pool: unknown;
  /** Set once the connection is being closed by this side (destroy, end, QUIT). */
  readonly _closing?: boolean;
  /** The command the connection is running now. */
  readonly _command: Mysql2Command | null | undefined;
  readonly authorized?: boolean;
  query: (sql: unknown, values?: unknown, callback?: unknown) => unknown;
  execute: (sql: unknown, values?: unknown, callback?: unknown) => unknown;
  release: () => unknown;
  destroy: () => unknown;
  end: (...args: unknown[]) => unknown;
  emit: (event: string | symbol, ...args: unknown[]) => boolean;
  handlePacket: (packet?: Mysql2Packet) => unknown;
}

/** The pool's settings (lib/pool_config.js). */
export interface Mysql2PoolConfig {
  readonly connectionLimit?: unknown;
  readonly queueLimit?: unknown;
  readonly waitForConnections?: unknown;
  readonly maxIdle?: unknown;
  readonly idleTimeout?: unknown;
  readonly resetOnRelease?: unknown;
  readonly connectionConfig: Mysql2ConnectionConfig;
}

/** A callback pool (Pool, lib/pool.js and lib/base/pool.js). */
export interface Mysql2PoolInternal {
  getConnection: (callback?: Mysql2ConnectCallback) => unknown;
  /** One-shot statements: each calls `this.getConnection` synchronously and releases on the command's 'end'. */
  query: (...args: never[]) => unknown;
  execute: (...args: never[]) => unknown;
  releaseConnection: (connection: Mysql2ConnectionInternal) => unknown;
  _removeConnection: (connection: Mysql2ConnectionInternal) => unknown;
  readonly config: Mysql2PoolConfig;
  readonly _allConnections: Mysql2Queue<Mysql2ConnectionInternal>;
  readonly _freeConnections: Mysql2Queue<Mysql2ConnectionInternal>;
  readonly _connectionQueue: Mysql2Queue<unknown>;
  readonly _closed: boolean;
  on(event: 'connection', listener: (connection: Mysql2ConnectionInternal) => void): unknown;
  removeListener(event: 'connection', listener: (connection: Mysql2ConnectionInternal) => void): unknown;
}

/** Marks poolscope's getConnection wrapper so a pool is not tracked twice (a registered symbol: no module state). */
export const WRAPPED = Symbol.for('poolscope.mysql2.wrapped');

/** What the mysql2 adapter observes: all of it (statements, transaction status from the protocol, connection ids). */
export const MYSQL2_CAPABILITIES: AdapterCapabilities = Object.freeze({ queries: true, transactions: true, sessionIds: true });
