import { formatMillis } from './format-millis.js';
import type { Lease, LeaseSnapshot, TransactionStatus } from './lease.js';
import { describeAcquireSite } from './lease.js';
import type { Owner } from './owner-context.js';
import type { PoolStats } from './pool-stats.js';
import type { DirtyReleasePolicy } from './pool-tracker-options.js';

/**
 * The text of each detection, apart from the bookkeeping that decides it (pool-tracker.ts): what happened, where
 * (the user's file:line), and how to fix it. Pure functions of what the tracker knows.
 */

/** `request "GET /orders"`, or `no owner`. */
export function describeOwner(owner: Owner | undefined): string {
  if (owner === undefined) return 'no owner';
  return `${owner.kind} "${owner.label}"`;
}

/** ` at src/x.ts:1:2`, or nothing when the place is unknown. */
function at(where: string | null, word = 'at'): string {
  return where === null ? '' : ` ${word} ${where}`;
}

export function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 3)}...` : text;
}

export function foreignReleaseMessage(pool: string, lease: Lease, releasedBy: Owner, where: string | null): string {
  return (
    `Foreign release on pool "${pool}": lease #${lease.id} held by ${describeOwner(lease.owner)} was released from ` +
    `${describeOwner(releasedBy)}${at(where)}. Release a connection in the scope that acquired it.`
  );
}

export function staleReleaseMessage(pool: string, lease: Lease, current: Lease, where: string | null): string {
  return (
    `Foreign release on pool "${pool}": release() of lease #${lease.id}${at(where)} came after its connection was handed ` +
    `to lease #${current.id} (${describeOwner(current.owner)}). Depending on the driver it is refused (pg) or releases ` +
    'the other checkout (mysql2); drop references to a connection once it is released.'
  );
}

export function unknownReleaseMessage(pool: string, where: string | null): string {
  return (
    `Release of a resource pool "${pool}" never lent${at(where)}: the pool refuses it (nothing of this pool was ` +
    'released). Give each resource back to the pool it came from, once.'
  );
}

export function doubleReleaseMessage(pool: string, lease: Lease, view: LeaseSnapshot, where: string | null): string {
  return (
    `Double release on pool "${pool}": lease #${lease.id} (acquired ${describeAcquireSite(view)}) was released ` +
    `again${at(where)}. Release each checkout exactly once, in a finally block.`
  );
}

export function releaseInFlightMessage(pool: string, lease: Lease, where: string | null): string {
  return (
    `Released with ${lease.inFlight} quer${lease.inFlight === 1 ? 'y' : 'ies'} in flight on pool "${pool}": lease #${lease.id}` +
    `${at(where, 'released at')} while ${JSON.stringify(lease.queryText ?? '')} had not completed. ` +
    'A query was not awaited before release(); await it (or return its promise) first.'
  );
}

export function dirtyReleaseMessage(
  pool: string,
  lease: Lease,
  view: LeaseSnapshot,
  status: TransactionStatus,
  where: string | null,
  action: DirtyReleasePolicy,
): string {
  const opened = lease.transactionOpenedBy;
  return (
    `Dirty release on pool "${pool}": lease #${lease.id}${lease.owner === undefined ? '' : ` of ${describeOwner(lease.owner)}`} ` +
    `was released inside a transaction (status ${status}, depth ${lease.transactionDepth})${at(where)}; ` +
    `acquired ${describeAcquireSite(view)}` +
    `${opened === undefined ? '' : `; the transaction was opened by ${JSON.stringify(truncate(opened, 80))}`}. ` +
    (action === 'destroy'
      ? 'The connection was destroyed. '
      : action === 'rollback'
        ? 'ROLLBACK was sent before it went back to the pool. '
        : 'The next borrower inherits the open transaction. ') +
    'COMMIT or ROLLBACK before release(), or use withTransaction().'
  );
}

export function inheritedTransactionMessage(pool: string, lease: Lease, origin: Lease, left: LeaseSnapshot): string {
  const opened = origin.transactionOpenedBy;
  return (
    `Inherited transaction on pool "${pool}": lease #${lease.id}${lease.owner === undefined ? '' : ` (${describeOwner(lease.owner)})`} ` +
    `received a connection still inside the transaction that lease #${origin.id} of ${describeOwner(origin.owner)} left open: ` +
    `acquired ${describeAcquireSite(left)}, released${at(origin.dirtyReleaseLocation)} with status ${origin.transactionStatus}` +
    `${opened === undefined ? '' : `, opened by ${JSON.stringify(truncate(opened, 80))}`}. ` +
    `Fix lease #${origin.id}; later holders only inherit it (set onDirtyRelease: 'rollback' to clean such connections).`
  );
}

export function leakReturnedMessage(pool: string, lease: Lease, now: number): string {
  return `Previously reported leak on pool "${pool}" returned: lease #${lease.id} after ${formatMillis(now - lease.acquiredAt)}.`;
}

/** `where` is the acquire site as describeAcquireSite gives it, with any note on the capture policy. */
export function leakSuspectedMessage(pool: string, lease: Lease, now: number, thresholdMillis: number, where: string): string {
  return (
    `Connection leak suspected on pool "${pool}": lease #${lease.id} held for ${formatMillis(now - lease.acquiredAt)} ` +
    `(threshold ${formatMillis(thresholdMillis)})${lease.owner === undefined ? '' : ` by ${describeOwner(lease.owner)}`}, acquired ${where}.` +
    (lease.queryText === undefined ? '' : ` Last query: ${JSON.stringify(lease.queryText)}.`)
  );
}

export function ownerEndedMessage(pool: string, lease: Lease, owner: Owner, view: LeaseSnapshot, now: number): string {
  return (
    `${describeOwner(owner)} ended while still holding lease #${lease.id} of pool "${pool}" (held ${formatMillis(now - lease.acquiredAt)}, ` +
    `acquired ${describeAcquireSite(view)}). A release() is missing on some path: put it in a finally block ` +
    'or use withClient()/withTransaction().'
  );
}

export function acquireTimeoutMessage(pool: string, waitMillis: number, waiterLocation: string | null, explanation: string): string {
  return `Acquire timeout on pool "${pool}" after ${formatMillis(waitMillis)}${at(waiterLocation)}.${explanation}`;
}

/** The explanation appended to the driver's acquire-timeout message: the pool's state and its longest holders. */
export function describeTimeout(stats: PoolStats, holders: readonly LeaseSnapshot[], waitMillis: number, waiterLocation: string | null): string {
  const lines = [
    '',
    `[poolscope] pool "${stats.poolName}": ${stats.used}/${stats.max} connections in use, ${stats.idle} idle, ${stats.pending} waiting ` +
      `(utilization ${stats.utilizationPercent}%, level ${stats.level}); this caller waited ${formatMillis(waitMillis)}${at(waiterLocation)}.`,
  ];
  if (holders.length === 0) {
    lines.push('  No connection is checked out: the server may be slow to accept connections, or max is 0.');
  } else {
    lines.push('  Longest holders:');
    for (const h of holders) {
      const owner = h.owner === null ? 'no owner' : `${h.owner.kind} "${h.owner.label}"`;
      const verb = h.queriesInFlight !== null && h.queriesInFlight > 0 ? 'running' : 'last query';
      const query = h.queriesRun === null ? '' : h.query === null ? ' (no query run)' : ` ${verb} ${JSON.stringify(truncate(h.query.text, 80))}`;
      const depth = h.transaction.depth;
      const tx = depth !== null && depth > 0 ? ` in transaction (depth ${depth})` : '';
      lines.push(`    #${h.id} held ${formatMillis(h.heldMillis)} by ${owner} ${describeAcquireSite(h)}${tx}${query}`);
    }
    lines.push('  Fix the holders (a missing release, a slow query) before raising max.');
  }
  return lines.join('\n');
}
