import type { Lease, TransactionStatus } from './lease.js';

/**
 * Follows transaction nesting from the SQL a lease runs: BEGIN / START TRANSACTION open depth 1, SAVEPOINT adds
 * one, RELEASE [SAVEPOINT] and ROLLBACK TO [SAVEPOINT] unwind to the named savepoint, COMMIT / END / ROLLBACK /
 * ABORT close. The server's own status (when the driver exposes it) corrects the depth after each query.
 */

/** Lower-cased first letters of the statements that can change the depth (b s r c e a); others skip the regex. */
const FIRST_LETTERS = [0x62, 0x73, 0x72, 0x63, 0x65, 0x61];

const STATEMENT =
  /^\s*(?:(begin|start\s+transaction)|(savepoint)\s+("(?:[^"]|"")+"|[\w$]+)|(release)(?:\s+savepoint)?\s+("(?:[^"]|"")+"|[\w$]+)|(rollback|abort)(?:\s+(?:work|transaction))?\s+to(?:\s+savepoint)?\s+("(?:[^"]|"")+"|[\w$]+)|(commit|end|rollback|abort))(?![\w$])/i;

/** Applies a statement about to run to the lease's depth (called when the query is submitted). */
export function applyStatementToDepth(lease: Lease, text: string): void {
  const first = text.charCodeAt(0);
  // Leading white space (<= 0x20) goes to the regex; any other first character must be one of the letters.
  if (first > 0x20) {
    const lower = first | 0x20;
    if (!FIRST_LETTERS.includes(lower)) return;
    // SELECT and SET start with s too: only SAvepoint and STart can matter.
    if (lower === 0x73) {
      const second = text.charCodeAt(1) | 0x20;
      if (second !== 0x61 && second !== 0x74) return;
    }
  }
  const match = STATEMENT.exec(text);
  if (match === null) return;
  if (match[1] !== undefined) {
    // BEGIN inside a transaction is only a warning in PostgreSQL: depth and savepoints stay.
    if (lease.transactionDepth === 0) {
      lease.transactionDepth = 1;
      lease.savepoints = undefined;
    }
  } else if (match[2] !== undefined) {
    if (lease.transactionDepth === 0) return;
    (lease.savepoints ??= []).push(normaliseName(match[3] ?? ''));
    lease.transactionDepth = 1 + lease.savepoints.length;
  } else if (match[4] !== undefined) {
    unwindTo(lease, normaliseName(match[5] ?? ''), false);
  } else if (match[7] !== undefined) {
    unwindTo(lease, normaliseName(match[7] ?? ''), true);
  } else if (match[8] !== undefined) {
    lease.transactionDepth = 0;
    lease.savepoints = undefined;
    lease.lastStatementClosed = true;
  }
}

/**
 * The transaction status after a failed query. Drivers report a failure before the server's ReadyForQuery message
 * that carries the new status, so the status read at that moment can be stale. PostgreSQL's rules decide it:
 * a failed COMMIT / END / ROLLBACK / ABORT leaves no transaction; any other failure inside a transaction block
 * aborts it (`failed`); a failure outside one leaves the session idle.
 */
export function statusAfterFailedQuery(lease: Lease, reported: TransactionStatus): TransactionStatus {
  if (lease.lastStatementClosed) return 'idle';
  if (reported === 'in-transaction' || reported === 'failed' || lease.transactionDepth > 0) return 'failed';
  return reported;
}

/** Corrects the depth from the server's transaction status after a query completed. */
export function applyStatusToDepth(lease: Lease, status: TransactionStatus): void {
  lease.transactionStatus = status;
  if (status === 'idle') {
    lease.transactionDepth = 0;
    lease.savepoints = undefined;
  } else if ((status === 'in-transaction' || status === 'failed') && lease.transactionDepth === 0) {
    lease.transactionDepth = 1;
  }
}

function unwindTo(lease: Lease, name: string, keepIt: boolean): void {
  const savepoints = lease.savepoints;
  if (savepoints === undefined) return;
  const index = savepoints.lastIndexOf(name);
  if (index === -1) return;
  savepoints.length = keepIt ? index + 1 : index;
  lease.transactionDepth = 1 + savepoints.length;
}

function normaliseName(name: string): string {
  if (name.startsWith('"')) return name.slice(1, -1).replaceAll('""', '"');
  return name.toLowerCase();
}
