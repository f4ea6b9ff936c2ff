import type { Owner, OwnerSnapshot } from './owner-context.js';
import { ownerSnapshot } from './owner-context.js';
import type { StackHolder } from './stack-capture.js';
import { formatStack } from './stack-capture.js';
import type { Clock } from './monotonic-clock.js';
import { isoAt } from './monotonic-clock.js';

/** Transaction status of a leased connection, as the server last reported it (pg's `I`, `T`, `E`). */
export const TRANSACTION_STATUSES = ['idle', 'in-transaction', 'failed', 'unknown'] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

/** Where a checkout is in its life. */
export const LEASE_STATES = ['waiting', 'held', 'released'] as const;
export type LeaseState = (typeof LEASE_STATES)[number];

/**
 * One checkout, from the `connect()` call (waiting) through the checkout (held) to the release. One object per
 * checkout, fields fixed at construction so V8 keeps one shape; everything costly (stack text, ISO dates) is
 * computed only by `leaseSnapshot`.
 */
export class Lease {
  readonly id: number;
  readonly poolName: string;
  readonly owner: Owner | undefined;
  readonly stack: StackHolder | undefined;
  /** Monotonic ms when `connect()` was called. */
  readonly waitStart: number;
  state: LeaseState = 'waiting';
  /** Monotonic ms of the checkout (0 while waiting). */
  acquiredAt = 0;
  /** Monotonic ms of the release (0 until then). */
  releasedAt = 0;
  /** The driver's connection object (identity only). */
  connection: object | undefined = undefined;
  backendPid: number | null = null;
  /** Text of the running or last query, capped; never parameter values. */
  queryText: string | undefined = undefined;
  /** Monotonic ms the current query started; 0 when none runs. */
  queryStart = 0;
  queriesRun = 0;
  inFlight = 0;
  transactionStatus: TransactionStatus = 'idle';
  /** 0 outside a transaction, 1 in one, +1 per open savepoint. */
  transactionDepth = 0;
  /** Savepoint names, innermost last (created on first SAVEPOINT). */
  savepoints: string[] | undefined = undefined;
  leakReported = false;
  /** The last query failed (its status was predicted, not read; see statusAfterFailedQuery). */
  lastQueryFailed = false;
  /** The last statement sent was COMMIT / END / ROLLBACK / ABORT. */
  lastStatementClosed = false;
  /** An error the connection emitted while checked out. */
  connectionError: string | undefined = undefined;

  constructor(id: number, poolName: string, owner: Owner | undefined, stack: StackHolder | undefined, waitStart: number) {
    this.id = id;
    this.poolName = poolName;
    this.owner = owner;
    this.stack = stack;
    this.waitStart = waitStart;
  }
}

/** A point-in-time, JSON-serialisable view of a lease (a holder or a waiter). */
export interface LeaseSnapshot {
  readonly id: number;
  readonly poolName: string;
  readonly state: LeaseState;
  readonly owner: OwnerSnapshot | null;
  /** When `connect()` was called (ISO-8601). */
  readonly requestedAt: string;
  /** When the connection was handed over (ISO-8601); null while waiting. */
  readonly acquiredAt: string | null;
  /** Time spent waiting for the connection (so far, for a waiter). */
  readonly waitMillis: number;
  /** Time held so far (or in all, once released); 0 for a waiter. */
  readonly heldMillis: number;
  /** The user's file:line:col that asked for the connection, when a stack was captured. */
  readonly location: string | null;
  /** The acquisition stack, pool and poolscope frames removed; empty when none was captured. */
  readonly stack: readonly string[];
  readonly backendPid: number | null;
  readonly query: { readonly text: string; readonly runningMillis: number | null } | null;
  readonly queriesRun: number;
  readonly queriesInFlight: number;
  readonly transaction: { readonly status: TransactionStatus; readonly depth: number };
  readonly leakSuspected: boolean;
  readonly connectionError: string | null;
}

/** Builds the JSON view of a lease at monotonic time `now`. */
export function leaseSnapshot(lease: Lease, now: number, clock: Clock, hiddenFrames?: readonly RegExp[]): LeaseSnapshot {
  const formatted = formatStack(lease.stack, hiddenFrames);
  const held = lease.state !== 'waiting';
  const end = lease.state === 'released' ? lease.releasedAt : now;
  return {
    id: lease.id,
    poolName: lease.poolName,
    state: lease.state,
    owner: lease.owner === undefined ? null : ownerSnapshot(lease.owner, (t) => isoAt(clock, t)),
    requestedAt: isoAt(clock, lease.waitStart),
    acquiredAt: held ? isoAt(clock, lease.acquiredAt) : null,
    waitMillis: roundMillis((held ? lease.acquiredAt : now) - lease.waitStart),
    heldMillis: held ? roundMillis(end - lease.acquiredAt) : 0,
    location: formatted.location ?? null,
    stack: formatted.frames,
    backendPid: lease.backendPid,
    query:
      lease.queryText === undefined
        ? null
        : { text: lease.queryText, runningMillis: lease.queryStart > 0 ? roundMillis(now - lease.queryStart) : null },
    queriesRun: lease.queriesRun,
    queriesInFlight: lease.inFlight,
    transaction: { status: lease.transactionStatus, depth: lease.transactionDepth },
    leakSuspected: lease.leakReported,
    connectionError: lease.connectionError ?? null,
  };
}

/** Milliseconds rounded to 0.001. */
export function roundMillis(millis: number): number {
  return Math.round(millis * 1000) / 1000;
}
