// The status flags the mysql2 adapter reads from the packet that ends a command (MySQL client/server protocol:
// OK_Packet, EOF_Packet, ERR_Packet), and the MySQL rules for the status after a failed statement.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  flagsAfterError,
  isErrorPacket,
  serverStatusOfPacket,
  transactionStatusOfFlags,
  UNKNOWN_SERVER_STATUS,
} from '../../src/adapters/mysql2/mysql2-server-status.js';

/** A packet payload after a 4-byte header, as mysql2's parser hands it (offset at the payload). */
function payload(...bytes: number[]): { buffer: Uint8Array; offset: number; end: number } {
  const buffer = Uint8Array.from([0, 0, 0, 0, ...bytes]);
  return { buffer, offset: 4, end: buffer.length };
}

describe('serverStatusOfPacket', () => {
  test('EOF packet: 0xfe, warnings, status', () => {
    const p = payload(0xfe, 0x00, 0x00, 0x03, 0x00);
    assert.equal(serverStatusOfPacket(p.buffer, p.offset, p.end), 3);
  });

  test('OK packet: header, length-encoded affected rows and insert id, status', () => {
    const small = payload(0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00);
    assert.equal(serverStatusOfPacket(small.buffer, small.offset, small.end), 2);
    // affected rows 0xfc-encoded (2 bytes), insert id 0xfd-encoded (3 bytes), status IN_TRANS | AUTOCOMMIT
    const wide = payload(0x00, 0xfc, 0x10, 0x27, 0xfd, 0x01, 0x02, 0x03, 0x03, 0x00, 0x00, 0x00);
    assert.equal(serverStatusOfPacket(wide.buffer, wide.offset, wide.end), 3);
    // CLIENT_DEPRECATE_EOF: the result set ends with an OK packet headed 0xfe (long enough not to be an EOF)
    const deprecateEof = payload(0xfe, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    assert.equal(serverStatusOfPacket(deprecateEof.buffer, deprecateEof.offset, deprecateEof.end), 1);
  });

  test('ERR packets, other packets and truncated ones give no status', () => {
    const err = payload(0xff, 0x7a, 0x04, 0x23);
    assert.equal(serverStatusOfPacket(err.buffer, err.offset, err.end), UNKNOWN_SERVER_STATUS);
    assert.equal(isErrorPacket(err.buffer, err.offset, err.end), true);
    const row = payload(0x01, 0x31);
    assert.equal(serverStatusOfPacket(row.buffer, row.offset, row.end), UNKNOWN_SERVER_STATUS);
    const truncated = payload(0x00, 0x00);
    assert.equal(serverStatusOfPacket(truncated.buffer, truncated.offset, truncated.end), UNKNOWN_SERVER_STATUS);
    assert.equal(serverStatusOfPacket(row.buffer, row.end, row.end), UNKNOWN_SERVER_STATUS);
  });
});

describe('transaction status', () => {
  test('SERVER_STATUS_IN_TRANS is the open transaction; no flags yet is unknown', () => {
    assert.equal(transactionStatusOfFlags(0x0003), 'in-transaction');
    assert.equal(transactionStatusOfFlags(0x2001), 'in-transaction');
    assert.equal(transactionStatusOfFlags(0x0002), 'idle');
    assert.equal(transactionStatusOfFlags(UNKNOWN_SERVER_STATUS), 'unknown');
  });

  test('after a failed statement: unchanged, except a deadlock, which rolled the transaction back', () => {
    assert.equal(flagsAfterError(0x0003, { errno: 1062 }), 0x0003);
    assert.equal(flagsAfterError(0x0003, { errno: 1213 }), 0x0002);
    assert.equal(flagsAfterError(0x0003, undefined), 0x0003);
    assert.equal(flagsAfterError(UNKNOWN_SERVER_STATUS, { errno: 1213 }), UNKNOWN_SERVER_STATUS);
  });
});
