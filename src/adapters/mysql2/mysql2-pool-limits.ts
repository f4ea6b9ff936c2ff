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
