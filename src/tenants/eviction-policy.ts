/**
 * Which tenant pools to close so a new one fits: least recently used first, never a busy pool. Pure (no I/O, no
 * clock), so the choice is unit-tested on its own.
 */

/** An open tenant pool as the policy sees it. */
export interface EvictionCandidate {
  readonly tenantId: string;
  /** When the pool was last handed out or seen in use (any monotonic unit; only the order matters). */
  readonly lastUsedAt: number;
  /** Connections checked out (or being opened) now. */
  readonly inUse: number;
  /** Callers queued for a connection. */
  readonly pending: number;
  /** Connections the pool may open (its share of the budget). */
  readonly max: number;
}

/** The state the new pool must fit into. */
export interface EvictionRequest {
  /** Pools open or opening (closing ones excluded). */
  readonly openPools: number;
  readonly maxPools: number;
  /** The `max` of every pool open, opening or still closing: connections that may exist now. */
  readonly reservedConnections: number;
  /** The part of `reservedConnections` held by pools already closing (freed once they have ended). */
  readonly closingConnections: number;
  readonly connectionBudget: number;
  /** The new pool's `max`. */
  readonly needConnections: number;
}

/** Why a new pool cannot be opened. */
export const EVICTION_FAILURES = ['pool-limit', 'connection-budget'] as const;
export type EvictionFailure = (typeof EVICTION_FAILURES)[number];

/** Evict these (in order), wait for every closing pool to end, then open. Or: it cannot fit. */
export type EvictionPlan =
  | { readonly ok: true; readonly evict: readonly string[]; readonly reason: EvictionFailure | null }
  | { readonly ok: false; readonly failure: EvictionFailure };

/** A pool with a lease out or a caller queued is busy: evicting it would break work in progress. */
export function isBusy(candidate: EvictionCandidate): boolean {
  return candidate.inUse > 0 || candidate.pending > 0;
}

/**
 * Plans room for one more pool of `needConnections`. Idle candidates are taken least recently used first (ties by
 * tenant id, for a stable order) until both the pool count and the budget fit, counting closing pools as freed.
 * `reason` says which limit made evictions necessary (`null` when none were). When even evicting every idle
 * pool is not enough, the failure names the limit that still does not fit (the pool limit first).
 */
export function planEviction(candidates: readonly EvictionCandidate[], request: EvictionRequest): EvictionPlan {
  const { maxPools, connectionBudget, needConnections } = request;
  if (needConnections > connectionBudget) return { ok: false, failure: 'connection-budget' };
  let pools = request.openPools;
  let connections = request.reservedConnections - request.closingConnections;
  const poolsFit = (): boolean => pools + 1 <= maxPools;
  const budgetFits = (): boolean => connections + needConnections <= connectionBudget;
  if (poolsFit() && budgetFits()) return { ok: true, evict: [], reason: null };
  const reason: EvictionFailure = poolsFit() ? 'connection-budget' : 'pool-limit';
  const idle = candidates
    .filter((candidate) => !isBusy(candidate))
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
  const evict: string[] = [];
  for (const candidate of idle) {
    if (poolsFit() && budgetFits()) break;
    evict.push(candidate.tenantId);
    pools -= 1;
    connections -= candidate.max;
  }
  if (!poolsFit()) return { ok: false, failure: 'pool-limit' };
  if (!budgetFits()) return { ok: false, failure: 'connection-budget' };
  return { ok: true, evict, reason };
}
