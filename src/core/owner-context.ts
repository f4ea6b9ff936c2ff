import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from './monotonic-clock.js';

/**
 * Owners: who holds a connection (an HTTP request, a job). An owner is an AsyncLocalStorage scope; every checkout
 * made inside it is attributed to it, whatever pool it comes from. When the scope ends (the callback settles, the
 * response finishes), leases it still holds are reported.
 */

/** What the user says about an owner. */
export interface OwnerOptions {
  /** Shown in snapshots and reports, e.g. `GET /orders/:id` or `job send-emails#42`. */
  readonly label: string;
  /** Free-form kind; `request` and `job` are conventional. Default `task`. */
  readonly kind?: string;
}

/** A point-in-time view of an owner. */
export interface OwnerSnapshot {
  readonly id: number;
  readonly label: string;
  readonly kind: string;
  readonly startedAt: string;
  readonly ended: boolean;
}

/**
 * What an owner keeps of each lease it holds (a Lease; structural here so that owner-context.ts and lease.ts do not
 * import each other).
 */
export interface OwnerLease {
  readonly poolName: string;
  readonly state: string;
}

/** A live owner scope. Internal bookkeeping is mutable; read it through `OwnerSnapshot`. */
export class Owner {
  readonly id: number;
  readonly label: string;
  readonly kind: string;
  readonly parent: Owner | undefined;
  readonly startedAt: number;
  endedAt: number | undefined = undefined;
  /**
   * Leases held right now, across all pools (created on first checkout). An array, not a Set: an owner holds one
   * or two leases, and a push and a swap-remove cost less than hashing on every checkout.
   */
  held: OwnerLease[] | undefined = undefined;

  constructor(id: number, options: OwnerOptions, parent: Owner | undefined, startedAt: number) {
    this.id = id;
    this.label = options.label;
    this.kind = options.kind ?? 'task';
    this.parent = parent;
    this.startedAt = startedAt;
  }

  /** True when `other` is this owner or one of its ancestors (a child scope acting for its parent). */
  isSelfOrDescendantOf(other: Owner): boolean {
    if (other === this) return true;
    for (let owner = this.parent; owner !== undefined; owner = owner.parent) {
      if (owner === other) return true;
    }
    return false;
  }
}

/** Creates, runs and ends owner scopes for one inspector. */
export class OwnerContext {
  readonly #storage = new AsyncLocalStorage<Owner | undefined>();
  readonly #clock: Clock;
  readonly #onEnd: (owner: Owner) => void;
  #nextId = 1;

  constructor(clock: Clock, onEnd: (owner: Owner) => void) {
    this.#clock = clock;
    this.#onEnd = onEnd;
  }

  /** The owner of the current async context, if any. */
  current(): Owner | undefined {
    return this.#storage.getStore();
  }

  /** Starts an owner as a child of the current one (it ends when `end` is called). */
  start(options: OwnerOptions): Owner {
    return new Owner(this.#nextId++, options, this.#storage.getStore(), this.#clock.now());
  }

  /** Runs `fn` with `owner` as the current owner. */
  enter<T>(owner: Owner, fn: () => T): T {
    return this.#storage.run(owner, fn);
  }

  /**
   * Calls `fn(...args)` with `owner` (or none) as the current owner, when it is not already: for callbacks a driver
   * runs in another async context (pg runs query callbacks in the context of the socket's creator). Only this
   * inspector's owner changes; every other AsyncLocalStorage keeps what the driver gives it.
   */
  runWith<A extends unknown[], R>(owner: Owner | undefined, fn: (...args: A) => R, ...args: A): R {
    if (this.#storage.getStore() === owner) return fn(...args);
    // run(undefined), not exit(): in Node 20 exit() disables and re-enables the storage's hooks on every call.
    return this.#storage.run(owner, fn, ...args);
  }

  /** Marks the owner ended and lets the inspector check what it still holds. Idempotent. */
  end(owner: Owner): void {
    if (owner.endedAt !== undefined) return;
    owner.endedAt = this.#clock.now();
    this.#onEnd(owner);
  }

  /** Stops propagating owners. */
  disable(): void {
    this.#storage.disable();
  }
}

/** The JSON view of an owner. */
export function ownerSnapshot(owner: Owner, toIso: (monotonicMillis: number) => string): OwnerSnapshot {
  return {
    id: owner.id,
    label: owner.label,
    kind: owner.kind,
    startedAt: toIso(owner.startedAt),
    ended: owner.endedAt !== undefined,
  };
}
