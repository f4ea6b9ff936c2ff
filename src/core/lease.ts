import type { Owner, OwnerSnapshot } from './owner-context.js';
import { ownerSnapshot } from './owner-context.js';
import type { FormattedStack, LocationStatus, StackHolder } from './stack-capture.js';
import { formatStack } from './stack-capture.js';
import type { Clock } from './monotonic-clock.js';
import { isoAt } from './monotonic-clock.js';
import { ALL_CAPABILITIES, type AdapterCapabilities } from './adapter-capabilities.js';

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
  /** The statement that opened the current transaction (depth 0 -> 1), capped like queryText. */
  transactionOpenedBy: string | undefined = undefined;
  /** Released inside a transaction: where `release()` was called (set only then). */
  dirtyReleaseLocation: string | null = null;
  /**
   * The lease that left this connection inside a transaction, while this lease has not yet left it (it inherited
   * the transaction and has not committed or rolled it back).
   */
  inheritedFrom: Lease | undefined = undefined;
  /** An `inherited-transaction` was reported for this (dirty) lease already. */
  inheritanceReported = false;
  /** The stack as formatted the first time it was read (formatting is the costly part of a snapshot). */
  formatted: FormattedStack | undefined = undefined;
  /** The tracker's list (waiting or held) this lease is in (identity only), and its neighbours there (see LeaseList). */
  list: object | undefined = undefined;
  prevInList: Lease | undefined = undefined;
  nextInList: Lease | undefined = undefined;

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
  /** The user's file:line:col that asked for the connection, when a stack was captured and holds one. */
  readonly location: string | null;
  /**
   * `found`; `no-user-frame` (captured, but no frame of your code was on the stack: a query builder ran the query
   * from a microtask; the owner names who it was); `not-captured` (sampled out or capture off).
   */
  readonly locationStatus: LocationStatus;
  /** The acquisition stack, pool and poolscope frames removed; empty when none was captured. */
  readonly stack: readonly string[];
  readonly backendPid: number | null;
  /** The statement running (or last run) on the connection; null when none, or when the adapter cannot see queries. */
  readonly query: { readonly text: string; readonly runningMillis: number | null } | null;
  /** Statements run on this checkout; null when the pool's adapter cannot see queries (`stats.capabilities.queries`). */
  readonly queriesRun: number | null;
  /** Statements not completed yet; null when the adapter cannot see queries. */
  readonly queriesInFlight: number | null;
  /**
   * The server's transaction status and savepoint depth; `{ status: 'not-available', depth: null }` when the pool's
   * adapter cannot see transactions (`stats.capabilities.transactions`, e.g. generic-pool).
   */
  readonly transaction: { readonly status: TransactionStatus | 'not-available'; readonly depth: number | null };
  readonly leakSuspected: boolean;
  readonly connectionError: string | null;
}

/** A lease's transaction when the adapter cannot see transactions. */
const TRANSACTION_NOT_AVAILABLE = Object.freeze({ status: 'not-available' as const, depth: null });

/**
 * Builds the JSON view of a lease at monotonic time `now` (its stack formatted now, unless given formatted).
 * `toIso` turns monotonic milliseconds into ISO-8601 (default: through `clock`; trackers pass a cached formatter).
 */
export function leaseSnapshot(
  lease: Lease,
  now: number,
  clock: Clock,
  formatted: FormattedStack = formatStack(lease.stack),
  toIso: (monotonicMillis: number) => string = (t) => isoAt(clock, t),
  capabilities: AdapterCapabilities = ALL_CAPABILITIES,
): LeaseSnapshot {
  const held = lease.state !== 'waiting';
  const end = lease.state === 'released' ? lease.releasedAt : now;
  return {
    id: lease.id,
    poolName: lease.poolName,
    state: lease.state,
    owner: lease.owner === undefined ? null : ownerSnapshot(lease.owner, toIso),
    requestedAt: toIso(lease.waitStart),
    acquiredAt: held ? toIso(lease.acquiredAt) : null,
    waitMillis: roundMillis((held ? lease.acquiredAt : now) - lease.waitStart),
    heldMillis: held ? roundMillis(end - lease.acquiredAt) : 0,
    location: formatted.location ?? null,
    locationStatus: formatted.locationStatus,
    stack: formatted.frames,
    backendPid: lease.backendPid,
    query:
      lease.queryText === undefined
        ? null
        : { text: lease.queryText, runningMillis: lease.queryStart > 0 ? roundMillis(now - lease.queryStart) : null },
    queriesRun: capabilities.queries ? lease.queriesRun : null,
    queriesInFlight: capabilities.queries ? lease.inFlight : null,
    transaction: capabilities.transactions ? { status: lease.transactionStatus, depth: lease.transactionDepth } : TRANSACTION_NOT_AVAILABLE,
    leakSuspected: lease.leakReported,
    connectionError: lease.connectionError ?? null,
  };
}

/** Milliseconds rounded to 0.001. */
export function roundMillis(millis: number): number {
  return Math.round(millis * 1000) / 1000;
}

/**
 * Where a lease was acquired, for a sentence: `at src/orders.ts:42:17`, or why no line can be named. Where the stack
 * holds no frame of the user's code, the owner is what names the code (`by request "GET /orders"`).
 */
export function describeAcquireSite(view: LeaseSnapshot): string {
  if (view.location !== null) return `at ${view.location}`;
  if (view.locationStatus === 'no-user-frame') {
    return (
      'with no frame of your code on the stack (a query builder or ORM ran the query from a microtask' +
      (view.owner === null ? '; run the work inside an owner, e.g. inspector.runAs(), to name it)' : `; it ran for ${view.owner.kind} "${view.owner.label}")`)
    );
  }
  return 'at an uncaptured place';
}
