import type { PoolTracker } from '../../core/pool-tracker.js';
import type { Lease } from '../../core/lease.js';
import type { Owner } from '../../core/owner-context.js';
import type { Mysql2Command, Mysql2ConnectionInternal, Mysql2Packet } from './mysql2-types.js';

/**
 * The records the mysql2 adapter keeps per connection, checkout and statement (shared by the connection wrappers,
 * the releases and the statements: mysql2-connection-wrappers.ts, mysql2-release.ts, mysql2-statements.ts).
 */

/** What the wrappers read from their adapter (one mutable object the adapter owns). */
export interface Mysql2Host {
  tracker: PoolTracker | undefined;
  detached: boolean;
  /** > 0 while poolscope itself returns a connection (its own release, a ping): the pool's releaseConnection passes it. */
  quietReleases: number;
  /** Hands an error of poolscope's own bookkeeping to the inspector's onError. */
  report(error: unknown): void;
}

/** One wrapped connection's record. */
export interface ConnectionRecord {
  readonly connection: Mysql2ConnectionInternal;
  /** The lease holding the connection now. */
  lease: Lease | undefined;
  /** The current or last checkout (its release function is the connection's `release` until the next one). */
  checkout: Checkout | undefined;
  /** The owner in whose async context mysql2 runs this connection's socket callbacks (current when it connected). */
  driverOwner: Owner | undefined;
  /** Server status flags from the last OK / EOF packet; -1 unknown. */
  status: number;
  /** The connection ended or failed (its session is gone). */
  dead: boolean;
  /** Opened by the pool and not handed to anyone yet (its first checkout is `created`). */
  fresh: boolean;
  /** The packet being handled right now, and where its payload started (undefined outside handlePacket). */
  packet: Mysql2Packet | undefined;
  packetOffset: number;
  /** Statements in flight, oldest first (mysql2 runs a connection's commands in order). */
  readonly inflight: StatementEntry[];
  /** mysql2's own functions, and whether they were own properties before poolscope's. */
  readonly original: Readonly<Pick<Mysql2ConnectionInternal, WrappedKey | 'release'>>;
  readonly hadOwn: Readonly<Record<WrappedKey | 'release', boolean>>;
  readonly wrappers: Readonly<Pick<Mysql2ConnectionInternal, WrappedKey>>;
  /** The emit of the commands (EventEmitter's), and poolscope's stand-in while one runs. */
  commandEmit: Mysql2Command['emit'] | undefined;
  readonly followEmit: Mysql2Command['emit'];
}

export const WRAPPED_KEYS = ['query', 'execute', 'emit', 'handlePacket', 'destroy', 'end'] as const;
export type WrappedKey = (typeof WRAPPED_KEYS)[number];

/** One checkout of a connection. */
export interface Checkout {
  readonly lease: Lease;
  released: boolean;
  /** Ended by destroy() or a graceful end(): a release() after it is mysql2's no-op, not a double release. */
  destroyed: boolean;
  /** The function installed as the connection's `release` for this checkout. */
  readonly release: () => unknown;
  /** A checkout of mysql2's own one-shot `pool.query()` / `pool.execute()`, which mysql2 releases itself. */
  readonly oneShot: boolean;
}

/** One statement in flight on a connection. */
export interface StatementEntry {
  readonly lease: Lease;
  readonly started: number;
  command: Mysql2Command | undefined;
  done: boolean;
}
