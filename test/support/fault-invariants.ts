/**
 * The one invariant checker every fault scenario uses (issue 17). Begun before the fault, finished after it:
 * - no uncaught exception and no unhandled rejection anywhere in the process while it runs (listeners installed for
 *   its duration; `uncaughtExceptionMonitor`, so the runner's own handling is unchanged);
 * - counts and counters never negative, and never more releases than acquires (sampled every few milliseconds);
 * - every error that reaches a caller is the driver's own (the kit's `isDriverError`, per pool kind) or a coded
 *   PoolscopeError (src/errors.ts: an instance whose code is in ERROR_CODES); the same for what reaches the
 *   inspector's onError;
 * - at rest (callers done): the tracker's counts equal the driver's own (total, idle, used, waiting), no lease held,
 *   no waiter, every acquire released (`atRest`);
 * - recovery: a unit of work succeeds within a bound once the fault is healed (`healed`, polled with `eventually`).
 * Violations are collected and `finish()` fails the test with all of them, so one run shows everything it found.
 * Bounds are guards against hangs, never timing assertions.
 */
import assert from 'node:assert/strict';
import { ERROR_CODES, PoolscopeError } from '../../src/errors.js';
import type { PoolView } from '../../src/core/pool-view.js';
import { eventually } from './wait-for.js';

/** What the driver itself says about a pool: its own counters. `used` = checked out (by anyone, pings included). */
export interface DriverCounts {
  readonly total: number;
  readonly idle: number;
  readonly used: number;
  readonly waiting: number;
}

/** One tracked pool: poolscope's view of it and the driver's own counts. */
export interface WatchedPool {
  readonly name: string;
  readonly view: PoolView;
  counts(): DriverCounts;
}

/** True for an error the pool kind's driver produces itself (see each kit's definition). */
export type DriverErrorTest = (error: unknown) => boolean;

/** How a call ended. */
export type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export interface FaultInvariantsOptions {
  /** Names the scenario in failure messages (`<kind>: <scenario>`). */
  readonly label: string;
  readonly isDriverError: DriverErrorTest;
  /** The pools to watch (read each time: a tenant pool may open during the scenario). */
  readonly pools: () => readonly WatchedPool[];
}

/** What a finished run saw (for the report table). */
export interface FaultRunReport {
  readonly label: string;
  /** Errors callers got, by class/code (`DatabaseError 57P01`, `Error ECONNRESET`, `PoolscopeError POOLSCOPE_ERR_...`). */
  readonly callerErrors: Readonly<Record<string, number>>;
  readonly internalErrors: number;
  readonly samples: number;
}

/** How often counts and counters are sampled while a scenario runs. */
const SAMPLE_MILLIS = 10;
/** Violations kept (the first ones are what matters). */
const MAX_VIOLATIONS = 20;

/** A coded PoolscopeError: an instance of the base class whose code is in the catalogue. */
export function isCodedPoolscopeError(error: unknown): boolean {
  return error instanceof PoolscopeError && (ERROR_CODES as readonly string[]).includes(error.code);
}

/** A Node.js system error (ECONNRESET, ECONNREFUSED, EPIPE, ETIMEDOUT...): an Error with an `E...` code and a syscall or errno. */
export function isNodeNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, syscall, errno } = error as NodeJS.ErrnoException;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && (typeof syscall === 'string' || typeof errno === 'number');
}

/** `Class code: message`, short, for messages and the report. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error ${typeof error}: ${String(error)}`;
  const code = (error as { code?: unknown }).code;
  return `${error.constructor.name}${typeof code === 'string' || typeof code === 'number' ? ` ${code}` : ''}: ${error.message.split('\n')[0]}`;
}

function errorKey(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error ${typeof error}`;
  const code = (error as { code?: unknown }).code;
  return `${error.constructor.name}${typeof code === 'string' || typeof code === 'number' ? ` ${code}` : ''}`;
}

/** Runs `call` and says how it ended (never rejects). */
export async function settle<T>(call: () => Promise<T> | T): Promise<Settled<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Resolves with `promise`'s outcome, or with a timeout outcome after `millis` (the promise is left to settle alone). */
export function bounded<T>(promise: Promise<T>, millis: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`${what} did not settle within ${millis} ms`)), millis);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A call that did not settle within its bound: a hang, never the driver's error. */
export class HangError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HangError';
  }
}

export class FaultInvariants {
  readonly label: string;
  readonly #isDriverError: DriverErrorTest;
  readonly #pools: () => readonly WatchedPool[];
  readonly #violations: string[] = [];
  readonly #callerErrors = new Map<string, number>();
  #internalErrors = 0;
  #samples = 0;
  readonly #sampler: NodeJS.Timeout;
  readonly #onUncaught: (error: unknown) => void;
  readonly #onUnhandled: (reason: unknown) => void;
  #finished = false;

  private constructor(options: FaultInvariantsOptions) {
    this.label = options.label;
    this.#isDriverError = options.isDriverError;
    this.#pools = options.pools;
    this.#onUncaught = (error) => this.#violation(`uncaught exception: ${describeError(error)}\n${(error as Error)?.stack ?? ''}`);
    this.#onUnhandled = (reason) => this.#violation(`unhandled rejection: ${describeError(reason)}\n${(reason as Error)?.stack ?? ''}`);
    process.on('uncaughtExceptionMonitor', this.#onUncaught);
    process.on('unhandledRejection', this.#onUnhandled);
    this.#sampler = setInterval(() => this.sample(), SAMPLE_MILLIS);
    this.#sampler.unref();
  }

  /** Starts watching: process listeners on, counters sampled. Call `finish()` in a finally. */
  static begin(options: FaultInvariantsOptions): FaultInvariants {
    return new FaultInvariants(options);
  }

  /** An error a caller got: fine when it is the driver's own or a coded PoolscopeError, else a violation. */
  callerError(error: unknown, where: string): void {
    const key = errorKey(error);
    this.#callerErrors.set(key, (this.#callerErrors.get(key) ?? 0) + 1);
    if (!this.#acceptable(error)) this.#violation(`${where}: the caller got an error that is neither ${this.label.split(':')[0]}'s own nor a coded PoolscopeError: ${describeError(error)}\n${(error as Error)?.stack ?? ''}`);
  }

  /** What reached the inspector's (or TenantPools') onError: poolscope's own failures, which must be coded too. */
  internalError(error: unknown): void {
    this.#internalErrors += 1;
    if (!this.#acceptable(error)) this.#violation(`onError got an error that is neither the driver's own nor a coded PoolscopeError: ${describeError(error)}`);
  }

  /** Runs one call of a caller: its error (if any) is judged; never rejects. */
  async attempt<T>(where: string, call: () => Promise<T> | T): Promise<Settled<T>> {
    const outcome = await settle(call);
    if (!outcome.ok) this.callerError(outcome.error, where);
    return outcome;
  }

  /** Reads every pool now: nothing negative, never more releases than acquires. Also runs on a timer. */
  sample(): void {
    if (this.#finished) return;
    this.#samples += 1;
    for (const pool of this.#safePools()) {
      let stats;
      try {
        stats = pool.view.stats();
      } catch (error) {
        this.#violation(`${pool.name}: stats() threw ${describeError(error)}`);
        continue;
      }
      const figures: Record<string, number> = { total: stats.total, idle: stats.idle, used: stats.used, pending: stats.pending, ...stats.counters };
      for (const [name, value] of Object.entries(figures)) {
        if (!(value >= 0)) this.#violation(`${pool.name}: ${name} is ${value}`);
      }
      if (stats.counters.releases > stats.counters.acquires) {
        this.#violation(`${pool.name}: ${stats.counters.releases} releases for ${stats.counters.acquires} acquires`);
      }
    }
  }

  /**
   * Waits (bounded) until every pool is at rest and its counts agree with the driver's: then asserts it, naming the
   * pool and both sides when they do not.
   */
  async atRest(boundMillis = 15_000): Promise<void> {
    const disagreement = (): string | undefined => {
      for (const pool of this.#safePools()) {
        const problem = restProblem(pool);
        if (problem !== undefined) return problem;
      }
      return undefined;
    };
    try {
      await eventually(() => disagreement() === undefined, () => `every pool at rest, counts agreeing: ${disagreement() ?? 'now they do'}`, boundMillis);
    } catch (error) {
      this.#violation(`${this.label}: not at rest: ${(error as Error).message}`);
    }
  }

  /**
   * Recovery: polls `unit` until it succeeds, within `boundMillis` in all (each attempt bounded too); errors
   * meanwhile are judged like any caller's. A unit that never succeeds is a violation.
   */
  async healed(what: string, unit: () => Promise<unknown>, boundMillis = 20_000): Promise<void> {
    const attemptBound = Math.min(10_000, boundMillis);
    let last = 'no attempt';
    try {
      await eventually(
        async () => {
          const outcome = await settle(() => bounded(unit(), attemptBound, `${what} (one attempt)`));
          if (outcome.ok) return true;
          last = describeError(outcome.error);
          if (outcome.error instanceof HangError) return false;
          this.callerError(outcome.error, `${what} (while healing)`);
          return false;
        },
        () => `${what} to succeed after the fault healed (last: ${last})`,
        boundMillis,
      );
    } catch (error) {
      this.#violation(`${this.label}: no recovery: ${(error as Error).message}`);
    }
  }

  /** Records a violation found by the scenario itself (a call that hung, a probe that rejected). */
  fail(message: string): void {
    this.#violation(message);
  }

  /** Stops watching and fails the test with every violation seen. Idempotent; returns what was seen. */
  finish(): FaultRunReport {
    if (!this.#finished) {
      this.sample();
      this.#finished = true;
      clearInterval(this.#sampler);
      process.off('uncaughtExceptionMonitor', this.#onUncaught);
      process.off('unhandledRejection', this.#onUnhandled);
    }
    const report: FaultRunReport = {
      label: this.label,
      callerErrors: Object.fromEntries(this.#callerErrors),
      internalErrors: this.#internalErrors,
      samples: this.#samples,
    };
    assert.deepEqual(this.#violations, [], `${this.label}: invariants broken:\n- ${this.#violations.join('\n- ')}`);
    return report;
  }

  /** Stops watching without asserting (the test failed before the end; its own error is what matters). */
  abandon(): void {
    if (this.#finished) return;
    this.#finished = true;
    clearInterval(this.#sampler);
    process.off('uncaughtExceptionMonitor', this.#onUncaught);
    process.off('unhandledRejection', this.#onUnhandled);
  }

  #acceptable(error: unknown): boolean {
    return isCodedPoolscopeError(error) || this.#isDriverError(error);
  }

  #safePools(): readonly WatchedPool[] {
    try {
      return this.#pools();
    } catch (error) {
      this.#violation(`listing the pools threw ${describeError(error)}`);
      return [];
    }
  }

  #violation(message: string): void {
    if (this.#violations.length < MAX_VIOLATIONS && !this.#violations.includes(message)) this.#violations.push(message);
  }
}

/** Why `pool` is not at rest with agreeing counts, or undefined when it is. */
export function restProblem(pool: WatchedPool): string | undefined {
  if (pool.view.closed) return undefined;
  const stats = pool.view.stats();
  const snapshot = pool.view.snapshot();
  const driver = pool.counts();
  const ours = { total: stats.total, idle: stats.idle, used: stats.used, waiting: stats.pending };
  const theirs = { total: driver.total, idle: driver.idle, used: driver.used, waiting: driver.waiting };
  if (JSON.stringify(ours) !== JSON.stringify(theirs)) return `${pool.name}: tracker ${JSON.stringify(ours)} vs driver ${JSON.stringify(theirs)}`;
  if (stats.used !== 0 || snapshot.holders.length !== 0) {
    return `${pool.name}: ${snapshot.holders.length} lease(s) still held (${snapshot.holders.map((h) => `${h.state} at ${h.location ?? '?'}`).join(', ')})`;
  }
  if (stats.pending !== 0 || snapshot.waiters.length !== 0) return `${pool.name}: ${snapshot.waiters.length} waiter(s) left`;
  if (stats.counters.acquires !== stats.counters.releases) {
    return `${pool.name}: ${stats.counters.acquires} acquires but ${stats.counters.releases} releases at rest`;
  }
  return undefined;
}
