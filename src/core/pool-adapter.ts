import type { PoolConfigSnapshot } from './pool-snapshot.js';
import { ALL_CAPABILITIES, type AdapterCapabilities } from './adapter-capabilities.js';

export { ALL_CAPABILITIES, type AdapterCapabilities } from './adapter-capabilities.js';

/**
 * What the core needs from any pool driver. An adapter (src/adapters/<driver>/) implements it and feeds the
 * tracker from its wrappers. It lives in core, not adapters/, so that imports keep flowing one way
 * (adapters -> core).
 */
export interface PoolAdapter {
  /** The driver's name, e.g. `pg`, `mysql2`, `tarn`, `generic-pool`. */
  readonly driver: string;
  /**
   * What this adapter can observe beyond checkouts and releases (docs/reference/adapters.md). Surfaces say "not
   * available" for what is false instead of showing a zero. Absent: every capability (what the pg adapter has).
   */
  readonly capabilities?: AdapterCapabilities;
  /** Connections open, idle, and callers queued, read from the pool's public counters. */
  totalCount(): number;
  idleCount(): number;
  waitingCount(): number;
  /** The pool's maximum and minimum size. */
  max(): number;
  min(): number;
  /** An allowlist of the pool's settings; never the password. */
  config(): PoolConfigSnapshot;
  /**
   * Checks that the pool's database answers (readiness): borrows a connection without recording a lease, runs a
   * trivial statement, returns it. Rejects when the database does not answer within `timeoutMillis`. Optional: an
   * adapter that cannot ping leaves it out and readiness relies on the pool's counters alone.
   */
  ping?(timeoutMillis: number): Promise<void>;
  /** Removes every wrapper the adapter installed. Idempotent. */
  detach(): void;
}

/** The capabilities of `adapter` (absent: all). */
export function capabilitiesOf(adapter: PoolAdapter): AdapterCapabilities {
  return adapter.capabilities ?? ALL_CAPABILITIES;
}
