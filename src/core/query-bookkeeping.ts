import type { Lease, TransactionStatus } from './lease.js';
import { roundMillis } from './lease.js';
import type { PoolState } from './pool-state.js';
import { applyStatementToDepth, applyStatusToDepth, statusAfterFailedQuery } from './transaction-depth.js';

/**
 * What a lease records of its queries: the running query's text (capped, never its values) and start, how many are
 * in flight, and the transaction depth the statements and the server's status imply. Hot path: no allocation
 * besides the text slice.
 */

/** A query was sent on `lease`'s connection; `followed` when its completion will be reported. */
export function recordQueryStarted(lease: Lease, text: string | undefined, now: number, followed: boolean, maxTextLength: number): void {
  if (followed) lease.inFlight += 1;
  lease.queriesRun += 1;
  lease.queryStart = now;
  lease.lastStatementClosed = false;
  if (text !== undefined) {
    const shown = text.length > maxTextLength ? text.slice(0, maxTextLength) : text;
    lease.queryText = shown;
    const before = lease.transactionDepth;
    applyStatementToDepth(lease, text);
    if (before === 0 && lease.transactionDepth > 0) lease.transactionOpenedBy = shown;
  }
}

/**
 * A query on `lease` finished; `status` is the server's transaction status after it. Unless `exact`, the status after
 * a failed query is predicted with PostgreSQL's rule (a failure inside a transaction leaves it failed: the driver's
 * status can lag); `exact` when the driver read it from the very reply that ended the query (mysql2's status flags).
 */
export function recordQueryFinished(state: PoolState, lease: Lease, startedAt: number, ok: boolean, status: TransactionStatus, exact = false): void {
  if (lease.inFlight > 0) lease.inFlight -= 1;
  if (lease.inFlight === 0) lease.queryStart = 0;
  state.counters.queries += 1;
  if (!ok) state.counters.queryErrors += 1;
  lease.lastQueryFailed = !ok;
  const settled = ok || exact ? status : statusAfterFailedQuery(lease, status);
  if (settled !== 'unknown') {
    applyStatusToDepth(lease, settled);
    // It closed the transaction it inherited: what it does from now on is its own.
    if (settled === 'idle') lease.inheritedFrom = undefined;
  }
  if (state.queryTopic.wanted) {
    state.bus.emit({
      type: 'query-executed',
      poolName: state.name,
      leaseId: lease.id,
      text: lease.queryText ?? '',
      durationMillis: roundMillis(state.clock.now() - startedAt),
      ok,
    });
  }
}
