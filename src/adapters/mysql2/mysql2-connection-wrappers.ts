import { messageOf } from '../../errors.js';
import type { Mysql2Command, Mysql2ConnectionInternal, Mysql2Packet } from './mysql2-types.js';
import { serverStatusOfPacket, UNKNOWN_SERVER_STATUS } from './mysql2-server-status.js';
import { endCheckout } from './mysql2-release.js';
import { WRAPPED_KEYS, type ConnectionRecord, type Mysql2Host, type WrappedKey } from './mysql2-connection-record.js';
import { commandEvent, finishAll, followStatement } from './mysql2-statements.js';

export type { ConnectionRecord, Mysql2Host } from './mysql2-connection-record.js';

/**
 * The per-connection wrappers of the mysql2 adapter, own properties of each PoolConnection, set once:
 * - `query` and `execute` follow each statement of a lease (mysql2-statements.ts);
 * - `handlePacket` notes the packet being handled, so the OK / EOF packet that ends a command gives the server's
 *   status flags (open transaction or not; see mysql2-server-status.ts);
 * - `emit` sees the connection's 'error' and 'end' (a session killed or lost) without adding a listener, so an
 *   'error' nobody listens to behaves as before;
 * - `destroy` and a graceful `end` end the lease that holds the connection.
 */

/** Wraps connections of one pool and undoes it at detach. */
export class Mysql2ConnectionWrappers {
  readonly #host: Mysql2Host;
  readonly #records = new Map<Mysql2ConnectionInternal, ConnectionRecord>();
  /** Each record also rides on its connection under this key (one symbol per adapter, not global). */
  readonly #key = Symbol('poolscope.mysql2.connection');

  constructor(host: Mysql2Host) {
    this.#host = host;
  }

  recordOf(connection: Mysql2ConnectionInternal): ConnectionRecord | undefined {
    return (connection as unknown as Record<symbol, ConnectionRecord | undefined>)[this.#key];
  }

  /** Wraps `connection` once (later calls return the same record); `status`: its flags when known (a new one: 0). */
  wrap(connection: Mysql2ConnectionInternal, status = UNKNOWN_SERVER_STATUS): ConnectionRecord {
    const existing = this.recordOf(connection);
    if (existing !== undefined) return existing;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrappers below are `function`s (they keep mysql2's `this`)
    const self = this;
    const original = {
      query: connection.query,
      execute: connection.execute,
      emit: connection.emit,
      handlePacket: connection.handlePacket,
      destroy: connection.destroy,
      end: connection.end,
      release: connection.release,
    };
    const hadOwn = {
      query: Object.hasOwn(connection, 'query'),
      execute: Object.hasOwn(connection, 'execute'),
      emit: Object.hasOwn(connection, 'emit'),
      handlePacket: Object.hasOwn(connection, 'handlePacket'),
      destroy: Object.hasOwn(connection, 'destroy'),
      end: Object.hasOwn(connection, 'end'),
      release: Object.hasOwn(connection, 'release'),
    };
    const wrappers = {
      query: function poolscopeQuery(this: unknown, sql: unknown, values?: unknown, callback?: unknown): unknown {
        return followStatement(self.#host, record, original.query, this, sql, values, callback);
      },
      execute: function poolscopeExecute(this: unknown, sql: unknown, values?: unknown, callback?: unknown): unknown {
        return followStatement(self.#host, record, original.execute, this, sql, values, callback);
      },
      emit: function poolscopeEmit(this: unknown, event: string | symbol, arg?: unknown): boolean {
        if (event === 'error' || event === 'end') self.#connectionEvent(record, event, arg);
        if (arguments.length === 1) return original.emit.call(this, event);
        // eslint-disable-next-line prefer-rest-params -- mysql2's exact arguments
        return Reflect.apply(original.emit, this, arguments) as boolean;
      },
      handlePacket: function poolscopeHandlePacket(this: Mysql2ConnectionInternal, packet?: Mysql2Packet): unknown {
        return self.#packet(record, original.handlePacket, this, packet);
      },
      destroy: function poolscopeDestroy(this: unknown): unknown {
        endCheckout(self.#host, record, poolscopeDestroy);
        // eslint-disable-next-line prefer-rest-params -- mysql2's exact arguments
        return Reflect.apply(original.destroy, this, arguments);
      },
      end: function poolscopeEnd(this: unknown): unknown {
        // mysql2 turns end() into release() unless gracefulEnd (then it leaves the pool and closes).
        if (connection.config.gracefulEnd) endCheckout(self.#host, record, poolscopeEnd);
        // eslint-disable-next-line prefer-rest-params -- mysql2's exact arguments
        return Reflect.apply(original.end, this, arguments);
      },
    };
    const record: ConnectionRecord = {
      connection,
      lease: undefined,
      checkout: undefined,
      driverOwner: undefined,
      status,
      dead: false,
      fresh: false,
      packet: undefined,
      packetOffset: 0,
      inflight: [],
      original,
      hadOwn,
      wrappers,
      commandEmit: undefined,
      followEmit: function poolscopeCommandEmit(this: Mysql2Command, event: string | symbol, arg?: unknown): boolean {
        if (event === 'end' || event === 'error') commandEvent(self.#host, record, this, event, arg);
        const emit = record.commandEmit ?? this.emit;
        if (arguments.length === 1) return emit.call(this, event);
        // eslint-disable-next-line prefer-rest-params -- mysql2's exact arguments
        return Reflect.apply(emit, this, arguments) as boolean;
      },
    };
    this.#records.set(connection, record);
    Object.defineProperty(connection, this.#key, { value: record, configurable: true, writable: true, enumerable: false });
    for (const key of WRAPPED_KEYS) (connection as unknown as Record<WrappedKey, unknown>)[key] = wrappers[key];
    return record;
  }

  /** The pool removed `connection`: forget it (its wrappers stay, and pass everything through once detached). */
  forget(connection: Mysql2ConnectionInternal): void {
    this.#records.delete(connection);
  }

  /** Puts back every wrapped connection's own functions (those someone else replaced since are left alone). */
  unwrapAll(): void {
    for (const [connection, record] of this.#records) {
      delete (connection as unknown as Record<symbol, unknown>)[this.#key];
      const target = connection as unknown as Record<string, unknown>;
      for (const key of WRAPPED_KEYS) {
        if (target[key] === record.wrappers[key]) restore(target, key, record.hadOwn[key], record.original[key]);
      }
      if (record.checkout !== undefined && target.release === record.checkout.release) {
        restore(target, 'release', record.hadOwn.release, record.original.release);
      }
    }
    this.#records.clear();
  }

  #packet(record: ConnectionRecord, original: Mysql2ConnectionInternal['handlePacket'], connection: Mysql2ConnectionInternal, packet?: Mysql2Packet): unknown {
    if (packet === undefined || packet === null || this.#host.detached) return original.call(connection, packet);
    const before = connection._command;
    const offset = packet.offset;
    const outer = record.packet;
    const outerOffset = record.packetOffset;
    record.packet = packet;
    record.packetOffset = offset;
    try {
      return original.call(connection, packet);
    } finally {
      record.packet = outer;
      record.packetOffset = outerOffset;
      // The packet ended a command (any command: ping, reset, change user too): its OK / EOF holds the status.
      if (before !== null && before !== undefined && connection._command !== before) {
        const flags = serverStatusOfPacket(packet.buffer, offset, packet.end);
        if (flags >= 0) record.status = flags;
      }
    }
  }

  #connectionEvent(record: ConnectionRecord, event: 'error' | 'end', arg: unknown): void {
    const host = this.#host;
    const tracker = host.tracker;
    if (host.detached || tracker === undefined) return;
    try {
      if (!record.dead) {
        record.dead = true;
        // 'end' after our own destroy / QUIT is a normal close; otherwise the server ended the session (KILL, restart).
        if (event === 'error' || record.connection._closing !== true) {
          const message = event === 'error' ? messageOf(arg) : 'Connection lost: The server closed the connection.';
          tracker.connectionFailed(record.lease, message);
        }
      }
      finishAll(host, record);
    } catch (error) {
      host.report(error);
    }
  }
}

function restore(target: Record<string, unknown>, key: string, hadOwn: boolean, original: unknown): void {
  if (hadOwn) target[key] = original;
  else delete target[key];
}
