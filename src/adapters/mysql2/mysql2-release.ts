import type { Lease } from '../../core/lease.js';
import type { Checkout, ConnectionRecord, Mysql2Host } from './mysql2-connection-record.js';

export type { Checkout } from './mysql2-connection-record.js';
import type { Mysql2ConnectionInternal } from './mysql2-types.js';
import { transactionStatusOfFlags } from './mysql2-server-status.js';

/**
 * The end of a checkout. mysql2's `release()` is a prototype method shared by every checkout of a connection, so
 * each checkout installs its own `release` (an own property of the connection, like pg-pool's per-checkout
 * closure) and leaves it there until the next checkout replaces it: a second `conn.release()` still reaches it
 * (mysql2 ignores the call silently; poolscope reports it). `pool.releaseConnection(conn)` is followed by the
 * adapter (mysql2-pool-adapter.ts) through the same decision; `destroy()` and a graceful `end()` end the lease too.
 */


/** What to do with a released connection: what the app asked, or per `onDirtyRelease`. */
export type ReleaseAction = 'release' | 'destroy' | 'rollback';

/** Starts `lease`'s checkout of `record`'s connection: installs its `release` and returns it. */
export function startCheckout(host: Mysql2Host, record: ConnectionRecord, lease: Lease, oneShot = false): Checkout {
  const connection = record.connection;
  const original = record.original.release;
  const release = function poolscopeRelease(this: unknown): unknown {
    const action = decideRelease(host, record, checkout, poolscopeRelease);
    if (action === 'destroy') return record.original.destroy.call(connection);
    if (action === 'rollback') {
      rollbackThenRelease(host, record, () => releaseQuietly(host, original, connection));
      return undefined;
    }
    host.quietReleases += 1;
    try {
      // eslint-disable-next-line prefer-rest-params -- mysql2's exact arguments
      return Reflect.apply(original, this, arguments);
    } finally {
      host.quietReleases -= 1;
    }
  };
  const checkout: Checkout = { lease, released: false, destroyed: false, release, oneShot };
  record.checkout = checkout;
  record.lease = lease;
  connection.release = release;
  return checkout;
}

/**
 * Records the release of `checkout` (`hideAbove`: the function the app called) and says what to do with the
 * connection. Never throws: a failure of poolscope's own goes to the host and the connection is released as asked.
 */
export function decideRelease(
  host: Mysql2Host,
  record: ConnectionRecord,
  checkout: Checkout,
  hideAbove: (...args: never[]) => unknown,
): ReleaseAction {
  const tracker = host.tracker;
  if (host.detached || tracker === undefined) return 'release';
  try {
    if (checkout.released) {
      if (!checkout.destroyed) tracker.releaseRepeated(checkout.lease, hideAbove);
      return 'release'; // as without poolscope: mysql2 ignores it (or, through releaseConnection, obeys it)
    }
    checkout.released = true;
    if (record.lease === checkout.lease) record.lease = undefined;
    // A session that ended (KILL, server gone) has no transaction left: the release is a destroy.
    const status = transactionStatusOfFlags(record.status);
    const verdict = tracker.releaseStarted(checkout.lease, status, record.dead, hideAbove, record.driverOwner);
    if (record.dead) return 'release';
    if (verdict.destroy) return 'destroy';
    if (verdict.rollback) return 'rollback';
  } catch (error) {
    host.report(error);
  }
  return 'release';
}

/** destroy() or a graceful end() of a held connection: its lease ends (destroyed, so never dirty). */
export function endCheckout(host: Mysql2Host, record: ConnectionRecord, hideAbove: (...args: never[]) => unknown): void {
  const tracker = host.tracker;
  const checkout = record.checkout;
  if (host.detached || tracker === undefined || checkout === undefined || checkout.released) return;
  try {
    checkout.released = true;
    checkout.destroyed = true;
    if (record.lease === checkout.lease) record.lease = undefined;
    tracker.releaseStarted(checkout.lease, transactionStatusOfFlags(record.status), true, hideAbove, record.driverOwner);
  } catch (error) {
    host.report(error);
  }
}

/**
 * An app's `pool.releaseConnection(connection)` of a held connection (mysql2's own release calls it too, but those
 * calls never get here): records it like `conn.release()`, then `release` (mysql2's releaseConnection) or what
 * `onDirtyRelease` asks instead.
 */
export function releaseThroughPool(
  host: Mysql2Host,
  record: ConnectionRecord,
  checkout: Checkout,
  hideAbove: (...args: never[]) => unknown,
  release: () => unknown,
): unknown {
  const action = decideRelease(host, record, checkout, hideAbove);
  if (action === 'destroy') return record.original.destroy.call(record.connection);
  if (action === 'rollback') {
    rollbackThenRelease(host, record, () => void release());
    return undefined;
  }
  return release();
}

/**
 * Gives back a connection poolscope borrowed itself (a ping): mysql2's own release (or its destroy when `failed`),
 * never the app's checkout wrapper still installed on it, and unseen by the pool's releaseConnection wrapper.
 */
export function giveBackQuietly(host: Mysql2Host, record: ConnectionRecord | undefined, connection: Mysql2ConnectionInternal, failed: boolean): void {
  if (record !== undefined) record.fresh = false; // opened for the ping: no app checkout was created by it
  if (failed) {
    (record?.original.destroy ?? connection.destroy).call(connection);
    return;
  }
  releaseQuietly(host, record?.original.release ?? connection.release, connection);
}

/** Returns a connection through mysql2's own release, which the pool's releaseConnection wrapper lets through. */
export function releaseQuietly(host: Mysql2Host, release: () => unknown, connection: object): void {
  host.quietReleases += 1;
  try {
    release.call(connection);
  } catch (error) {
    host.report(error);
  } finally {
    host.quietReleases -= 1;
  }
}

/**
 * `onDirtyRelease: 'rollback'`: ROLLBACK on the released connection (untracked: the lease is over), then `release`;
 * a connection whose ROLLBACK fails is destroyed. The pool counts it as checked out until then.
 */
export function rollbackThenRelease(host: Mysql2Host, record: ConnectionRecord, release: () => void): void {
  const connection = record.connection;
  const settle = (error: unknown): void => {
    try {
      if (error) record.original.destroy.call(connection);
      else release();
    } catch (settleError) {
      host.report(settleError);
    }
  };
  try {
    connection.query('ROLLBACK', (error: unknown) => settle(error));
  } catch (error) {
    settle(error ?? true);
  }
}
