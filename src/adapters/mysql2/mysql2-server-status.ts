import type { TransactionStatus } from '../../core/lease.js';

/**
 * The transaction status of a MySQL / MariaDB connection, from the protocol. The server sends its status flags in
 * the OK packet that ends a statement without rows and in the EOF packet that ends a result set
 * (SERVER_STATUS_IN_TRANS = 1: a transaction is open); an ERR packet carries none. mysql2 reads those flags but
 * keeps none of them on the connection (3.x: only an OK result's `serverStatus` reaches the caller), so the adapter
 * reads them from the packet that ends each command (see Mysql2ConnectionWrappers).
 */

/** The flag of an open transaction (include/mysql_com.h SERVER_STATUS_IN_TRANS). */
export const SERVER_STATUS_IN_TRANS = 1;
/** No OK or EOF packet seen yet on this connection. */
export const UNKNOWN_SERVER_STATUS = -1;
/** ER_LOCK_DEADLOCK: InnoDB rolled the whole transaction back. */
export const ER_LOCK_DEADLOCK = 1213;

/**
 * The status flags in the packet that ended a command, whose payload is `buffer[offset, end)`; -1 when it is an ERR
 * packet or not an OK / EOF packet. EOF: 0xfe, warnings (2), status (2). OK (also 0xfe-headed when the client asked
 * for CLIENT_DEPRECATE_EOF): header, affected rows and insert id (length-encoded), status (2).
 */
export function serverStatusOfPacket(buffer: Uint8Array, offset: number, end: number): number {
  if (offset >= end) return UNKNOWN_SERVER_STATUS;
  const header = buffer[offset];
  const length = end - offset;
  if (header === 0xfe && length < 9) return length >= 5 ? uint16At(buffer, offset + 3) : UNKNOWN_SERVER_STATUS;
  if (header !== 0x00 && header !== 0xfe) return UNKNOWN_SERVER_STATUS;
  const afterRows = skipLengthEncoded(buffer, offset + 1, end);
  const afterInsertId = skipLengthEncoded(buffer, afterRows, end);
  return afterInsertId + 2 <= end ? uint16At(buffer, afterInsertId) : UNKNOWN_SERVER_STATUS;
}

/** True when the packet at `offset` is an ERR packet (a failed command). */
export function isErrorPacket(buffer: Uint8Array, offset: number, end: number): boolean {
  return offset < end && buffer[offset] === 0xff;
}

/** poolscope's transaction status for the server's status flags (-1: unknown). */
export function transactionStatusOfFlags(flags: number): TransactionStatus {
  if (flags < 0) return 'unknown';
  return (flags & SERVER_STATUS_IN_TRANS) !== 0 ? 'in-transaction' : 'idle';
}

/**
 * The status flags after a statement failed with `error`. An ERR packet carries no flags and most errors leave an
 * open transaction open (MySQL, unlike PostgreSQL, has no aborted-transaction state); a deadlock (1213) rolls it
 * back. Other implicit rollbacks (innodb_rollback_on_timeout) show at the next OK or EOF packet.
 */
export function flagsAfterError(flags: number, error: unknown): number {
  if (flags < 0) return flags;
  const errno = error !== null && typeof error === 'object' ? (error as { errno?: unknown }).errno : undefined;
  return errno === ER_LOCK_DEADLOCK ? flags & ~SERVER_STATUS_IN_TRANS : flags;
}

function uint16At(buffer: Uint8Array, at: number): number {
  return (buffer[at] ?? 0) | ((buffer[at + 1] ?? 0) << 8);
}

/** The position after the length-encoded integer at `at` (past `end` when it is not one). */
function skipLengthEncoded(buffer: Uint8Array, at: number, end: number): number {
  if (at >= end) return end + 1;
  const first = buffer[at] ?? 0xff;
  if (first < 0xfb) return at + 1;
  if (first === 0xfc) return at + 3;
  if (first === 0xfd) return at + 4;
  if (first === 0xfe) return at + 9;
  return end + 1; // 0xfb (NULL) or 0xff: not an integer here
}
