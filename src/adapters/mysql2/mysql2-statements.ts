import type { PoolTracker } from '../../core/pool-tracker.js';
import type { Mysql2Command, Mysql2ConnectionInternal } from './mysql2-types.js';
import type { ConnectionRecord, Mysql2Host, StatementEntry } from './mysql2-connection-record.js';

export type { StatementEntry } from './mysql2-connection-record.js';
import {
  flagsAfterError,
  isErrorPacket,
  serverStatusOfPacket,
  transactionStatusOfFlags,
} from './mysql2-server-status.js';

/**
 * The statements of a lease: `connection.query` / `execute` (also reached from pool.query / pool.execute and the
 * promise API) record the text, never the values (mysql2 inlines them into `sql` only later), and follow each
 * statement to its end through two signals, whichever comes first:
 * - the caller's callback (mysql2 calls it before the command's 'end' on an error, and alone when the session is
 *   lost), run as the owner that sent the statement (mysql2 runs it in the socket's async context);
 * - the command's own `emit` ('end' and 'error', before any listener hears them: pool.query releases on 'end'),
 *   an own property of the command that passes everything through; 'end' comes while mysql2 handles the packet that
 *   ended the command, whose OK / EOF status flags give the transaction status.
 * A session that ends (the connection's 'error' / 'end') ends its statements in flight, failed.
 */


type Callback = (...args: unknown[]) => unknown;

/** The `query` / `execute` wrapper's work: `original` is mysql2's own function. */
export function followStatement(
  host: Mysql2Host,
  record: ConnectionRecord,
  original: Mysql2ConnectionInternal['query'],
  thisArg: unknown,
  sql: unknown,
  values: unknown,
  callback: unknown,
): unknown {
  const tracker = host.tracker;
  const lease = host.detached ? undefined : record.lease;
  if (lease === undefined || tracker === undefined) return original.call(thisArg, sql, values, callback);
  let text: string | undefined;
  let command: Mysql2Command | undefined;
  if (typeof sql === 'string') text = sql;
  else if (sql !== null && typeof sql === 'object') {
    // Options ({ sql, ... }) or a Query command (pool.query passes one): its `sql` is still the text without values.
    const given = (sql as { sql?: unknown }).sql;
    if (typeof given === 'string') text = given;
    if (typeof (sql as Partial<Mysql2Command>).emit === 'function') command = sql as Mysql2Command;
  }
  let entry: StatementEntry;
  try {
    entry = { lease, started: tracker.now(), command: undefined, done: false };
    tracker.queryStarted(lease, text, entry.started, true);
    record.inflight.push(entry);
    // mysql2's rule (createQuery, execute): a function in `values` is the callback, else `callback`.
    if (typeof values === 'function') values = followCallback(host, tracker, record, entry, values as Callback);
    else if (typeof callback === 'function') callback = followCallback(host, tracker, record, entry, callback as Callback);
    else if (command !== undefined && typeof command.onResult === 'function') {
      command.onResult = followCallback(host, tracker, record, entry, command.onResult);
    }
  } catch (error) {
    host.report(error);
    return original.call(thisArg, sql, values, callback);
  }
  let result: unknown;
  try {
    result = original.call(thisArg, sql, values, callback);
  } catch (error) {
    finish(host, tracker, record, entry, false, error);
    throw error;
  }
  if (!entry.done) followCommand(record, entry, result);
  return result;
}

/** A followed command emitted 'end' or 'error' (called by the command's emit, before anyone else hears it). */
export function commandEvent(host: Mysql2Host, record: ConnectionRecord, command: Mysql2Command, event: 'end' | 'error', arg: unknown): void {
  const tracker = host.tracker;
  const entry = record.inflight.find((e) => e.command === command);
  if (tracker === undefined || entry === undefined) return;
  try {
    if (event === 'error') {
      finish(host, tracker, record, entry, false, arg);
      return;
    }
    // 'end' is emitted while mysql2 handles the packet that ended the command.
    const packet = record.packet;
    let ok = true;
    if (packet !== undefined) {
      ok = !isErrorPacket(packet.buffer, record.packetOffset, packet.end);
      const flags = serverStatusOfPacket(packet.buffer, record.packetOffset, packet.end);
      if (flags >= 0) record.status = flags;
    }
    finish(host, tracker, record, entry, ok, undefined);
  } catch (error) {
    host.report(error);
  }
}

/** Every statement still in flight on `record`'s connection ends, failed (the session is gone). */
export function finishAll(host: Mysql2Host, record: ConnectionRecord): void {
  const tracker = host.tracker;
  if (tracker === undefined) return;
  for (const entry of record.inflight.slice()) finish(host, tracker, record, entry, false, undefined);
}

/** The caller's callback, run after the statement is recorded as finished and as the owner that sent it. */
function followCallback(host: Mysql2Host, tracker: PoolTracker, record: ConnectionRecord, entry: StatementEntry, user: Callback): Callback {
  const owner = tracker.currentOwner();
  return function poolscopeStatementDone(this: unknown, err?: unknown): unknown {
    if (!entry.done) finish(host, tracker, record, entry, !err, err);
    // eslint-disable-next-line prefer-rest-params -- mysql2's exact arguments
    if (tracker.currentOwner() === owner) return Reflect.apply(user, this, arguments);
    // eslint-disable-next-line prefer-rest-params -- see above
    return tracker.runAsOwner(owner, Reflect.apply, user, this, arguments);
  };
}

/** Follows the command mysql2 returned through its own emit (an own property of the command). */
function followCommand(record: ConnectionRecord, entry: StatementEntry, result: unknown): void {
  if (result === null || typeof result !== 'object') return;
  const command = result as Mysql2Command;
  if (typeof command.emit !== 'function' || Object.hasOwn(command, 'emit')) return;
  record.commandEmit ??= command.emit;
  if (command.emit !== record.commandEmit) return; // another emit than the commands' usual: followed by callback only
  entry.command = command;
  command.emit = record.followEmit;
}

function finish(host: Mysql2Host, tracker: PoolTracker, record: ConnectionRecord, entry: StatementEntry, ok: boolean, error: unknown): void {
  if (entry.done) return;
  entry.done = true;
  const index = record.inflight.indexOf(entry);
  if (index !== -1) record.inflight.splice(index, 1);
  // The command keeps poolscope's emit (it passes everything through from now on): deleting the property would
  // turn the object into a slow dictionary for the rest of mysql2's work on it.
  if (host.detached) return;
  try {
    if (!ok) record.status = flagsAfterError(record.status, error);
    // Exact: the flags come from the reply that ended the statement (MySQL keeps a transaction open after an error).
    tracker.queryFinished(entry.lease, entry.started, ok, transactionStatusOfFlags(record.status), true);
  } catch (reportError) {
    host.report(reportError);
  }
}
