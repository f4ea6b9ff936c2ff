import { OptionsError } from '../errors.js';
import type { Clock } from './monotonic-clock.js';
import type { Lease } from './lease.js';
import type { Owner, OwnerOptions } from './owner-context.js';
import { OwnerContext } from './owner-context.js';

/**
 * The inspector's owners: runs code as an owner (`runAs`), ends owners, and reports the leases an ended owner still
 * holds after each pool's grace period (`owner-ended-holding`, through the pool's tracker).
 */

/** What owner scopes need from the inspector. */
export interface OwnerScopesContext {
  readonly clock: Clock;
  /** Reports `lease` of the ended `owner`, if its pool is still tracked and the lease still held. */
  readonly reportEnded: (lease: Lease, owner: Owner) => void;
  /** The grace period of a lease's pool: how long an ended owner may still hold it before it is reported. */
  readonly graceMillis: (lease: Lease) => number;
  readonly onError: (error: unknown) => void;
}

export class OwnerScopes {
  readonly context: OwnerContext;
  readonly #ctx: OwnerScopesContext;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(ctx: OwnerScopesContext) {
    this.#ctx = ctx;
    this.context = new OwnerContext(ctx.clock, (owner) => this.#ended(owner));
  }

  /**
   * Runs `fn` as `owner`: every checkout inside (on any tracked pool, through any await) is attributed to it. When
   * `fn` returns (or its promise settles), the owner ends, and leases it still holds after the grace period are
   * reported as `owner-ended-holding`. A promise is returned as it is; any other thenable (a query builder that
   * runs when awaited) is awaited once, and the promise of that run is returned, so its query runs once.
   */
  runAs<T>(owner: string | OwnerOptions, fn: () => T): T {
    const options = typeof owner === 'string' ? { label: owner } : owner;
    if (options === null || typeof options !== 'object' || typeof options.label !== 'string' || options.label === '') {
      throw new OptionsError('owner', owner, "a non-empty label, or { label, kind }, e.g. runAs('job send-mail', fn)");
    }
    const owners = this.context;
    const scope = owners.start(options);
    let result: T;
    try {
      result = owners.enter(scope, fn);
    } catch (error) {
      owners.end(scope);
      throw error;
    }
    if (result instanceof Promise) {
      const end = () => owners.end(scope);
      result.then(end, end);
    } else if (isPromiseLike(result)) {
      // A thenable that is not a promise may run its work on each then() (Knex builders, Drizzle and Prisma
      // queries): call it once, as the owner (its work starts inside then()), and hand the caller the promise of
      // that one run.
      const end = () => owners.end(scope);
      const thenable = result;
      return owners.enter(scope, () =>
        thenable.then(
          (value) => {
            end();
            return value;
          },
          (error: unknown) => {
            end();
            throw error;
          },
        ),
      ) as T;
    } else {
      owners.end(scope);
    }
    return result;
  }

  /** A checkout completed for an owner that had already ended (it asked before ending): check it after the grace. */
  checkoutAfterOwnerEnded(lease: Lease): void {
    this.#checkAfterGrace([lease], lease.owner);
  }

  /** Stops the pending grace timers and owner propagation. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.context.disable();
  }

  #ended(owner: Owner): void {
    const held = owner.held;
    if (held === undefined || held.length === 0 || this.#closed) return;
    // Trackers push only their Lease records into owner.held.
    this.#checkAfterGrace([...held] as Lease[], owner);
  }

  /** Reports `leases` of the ended `owner` still held after the grace period. */
  #checkAfterGrace(leases: readonly Lease[], owner: Owner | undefined): void {
    if (owner === undefined || this.#closed) return;
    let grace = 0;
    for (const lease of leases) grace = Math.max(grace, this.#ctx.graceMillis(lease));
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      for (const lease of leases) {
        try {
          if (lease.state === 'held') this.#ctx.reportEnded(lease, owner);
        } catch (error) {
          this.#ctx.onError(error);
        }
      }
    }, grace);
    timer.unref();
    this.#timers.add(timer);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
