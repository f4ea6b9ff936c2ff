import type { Lease } from '../../core/lease.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import { enrichTimeoutError } from '../../core/acquire-timeout-report.js';
import { messageOf } from '../../errors.js';

/**
 * What mysql2 (3.x) does instead of an acquire timeout. Its pool has none (no `acquireTimeout` option: a caller
 * queued for a connection waits until one is released, however long); a getConnection fails at once, without
 * waiting, when the pool is full and
 * - `queueLimit` callers are already queued: an Error with the message 'Queue limit reached.' (lib/base/pool.js), or
 * - `waitForConnections` is false: an Error with the message 'No connections available.'.
 * poolscope treats both as the pool's acquire timeout: counted in `timeouts`, an `acquire-timeout` event, and the
 * error's message gets the explanation appended (who holds the connections, since when, where), as pg's timeout.
 */

/** mysql2's error when `queueLimit` callers are already waiting. */
export const MYSQL2_QUEUE_LIMIT_MESSAGE = 'Queue limit reached.';
/** mysql2's error when the pool is full and `waitForConnections` is false. */
export const MYSQL2_NO_CONNECTIONS_MESSAGE = 'No connections available.';

/** True for mysql2's "pool full" rejections (the message as mysql2 made it, before poolscope appends to it). */
export function isPoolLimitMessage(message: string): boolean {
  return message.startsWith(MYSQL2_QUEUE_LIMIT_MESSAGE) || message.startsWith(MYSQL2_NO_CONNECTIONS_MESSAGE);
}

/**
 * A getConnection that failed: a "pool full" rejection is the pool's acquire timeout (counted, reported, and its
 * explanation appended to the error); any other failure a connection error. Never throws (failures to `report`).
 */
export function recordCheckoutFailure(tracker: PoolTracker, lease: Lease, err: unknown, report: (error: unknown) => void): void {
  try {
    const message = messageOf(err);
    const explained = tracker.checkoutFailed(lease, isPoolLimitMessage(message), message);
    if (explained !== undefined && err instanceof Error) enrichTimeoutError(err, explained);
  } catch (error) {
    report(error);
  }
}
