import type { Lease, TransactionStatus } from './lease.js';
import { isoAt } from './monotonic-clock.js';
import type { Owner } from './owner-context.js';
import { ownerSnapshot } from './owner-context.js';
import {
  dirtyReleaseMessage,
  doubleReleaseMessage,
  foreignReleaseMessage,
  inheritedTransactionMessage,
  leakReturnedMessage,
  ownerEndedMessage,
  releaseInFlightMessage,
  staleReleaseMessage,
  unknownReleaseMessage,
} from './misuse-reports.js';
import type { PoolState } from './pool-state.js';
import { captureStack, formatStack, MAX_CAPTURED_FRAMES } from './stack-capture.js';

/**
 * The misuse detections that run at release and after: foreign, dirty, in-flight, double and stale releases, a
 * transaction inherited from a dirty release, a leak returned, an owner that ended holding. PoolTracker decides on
 * its hot path whether a release is clean; everything here runs only when it is not (rare), so it may allocate,
 * capture the release site and format messages.
 */

/** What `release` decided (for a dirty release, per `onDirtyRelease`). */
export interface ReleaseVerdict {
  /** Destroy the connection instead of returning it. */
  readonly destroy: boolean;
  /** Send ROLLBACK before the connection goes back to the pool (destroy it if that fails). */
  readonly rollback: boolean;
}

export const CLEAN_RELEASE: ReleaseVerdict = Object.freeze({ destroy: false, rollback: false });

/** A release the hot path found not clean: what it was, as PoolTracker#releaseStarted worked it out. */
export interface UncleanRelease {
  readonly now: number;
  readonly status: TransactionStatus;
  readonly destroying: boolean;
  /** The owner running the release when it is foreign (someone else's lease), else undefined. */
  readonly foreignOwner: Owner | undefined;
  /** Returned inside a transaction it opened itself. */
  readonly dirty: boolean;
}

/** Reports a release that is not clean and decides what happens to the connection. */
export function reportUncleanRelease(
  state: PoolState,
  lease: Lease,
  release: UncleanRelease,
  hideAbove: (...args: never[]) => unknown,
): ReleaseVerdict {
  const { now, status, destroying, foreignOwner, dirty } = release;
  // The release site is captured only when something is wrong, never on a clean release.
  const where =
    foreignOwner !== undefined || dirty || lease.inFlight > 0
      ? (formatStack(captureStack(MAX_CAPTURED_FRAMES, hideAbove), state.frameRules).location ?? null)
      : null;
  let destroy = false;
  let rollback = false;
  if (foreignOwner !== undefined) {
    state.counters.foreignReleases += 1;
    state.bus.emit({
      type: 'foreign-release',
      poolName: state.name,
      lease: state.view(lease, now),
      releasedBy: ownerSnapshot(foreignOwner, (t) => isoAt(state.clock, t)),
      releaseLocation: where,
      message: foreignReleaseMessage(state.name, lease, foreignOwner, where),
    });
  }
  if (lease.inFlight > 0) {
    state.counters.releasesInFlight += 1;
    state.bus.emit({
      type: 'release-in-flight',
      poolName: state.name,
      lease: state.view(lease, now),
      releaseLocation: where,
      message: releaseInFlightMessage(state.name, lease, where),
    });
  }
  if (dirty) {
    state.counters.dirtyReleases += 1;
    const action = state.options.onDirtyRelease;
    destroy = action === 'destroy';
    rollback = action === 'rollback';
    lease.dirtyReleaseLocation = where;
    if (action === 'report' && lease.connection !== undefined) state.dirtyBy.set(lease.connection, lease);
    const view = state.view(lease, now);
    state.bus.emit({
      type: 'dirty-release',
      poolName: state.name,
      lease: view,
      releaseLocation: where,
      destroyed: destroy,
      action,
      message: dirtyReleaseMessage(state.name, lease, view, status, where, action),
    });
  }
  if (lease.leakReported) {
    state.bus.emit({
      type: 'leak-returned',
      poolName: state.name,
      lease: state.view(lease, now),
      message: leakReturnedMessage(state.name, lease, now),
    });
  }
  if (state.bus.wants('lease-released')) {
    state.bus.emit({ type: 'lease-released', poolName: state.name, lease: state.view(lease, now), destroyed: destroying || destroy });
  }
  return destroy || rollback ? { destroy, rollback } : CLEAN_RELEASE;
}

/**
 * A checkout received a connection inside a transaction. When a tracked lease left it open, this lease inherits
 * it (its own release is not a new dirty release) and the lease that left it open is reported, once.
 */
export function reportInheritedTransaction(state: PoolState, lease: Lease, connection: object, now: number): void {
  const origin = state.dirtyBy.get(connection);
  if (origin === undefined) return;
  lease.inheritedFrom = origin;
  if (origin.inheritanceReported) return;
  origin.inheritanceReported = true;
  const view = state.view(lease, now);
  const left = state.view(origin, now);
  state.bus.emit({
    type: 'inherited-transaction',
    poolName: state.name,
    lease: view,
    leftOpenBy: left,
    releaseLocation: origin.dirtyReleaseLocation,
    openedBy: origin.transactionOpenedBy ?? null,
    message: inheritedTransactionMessage(state.name, lease, origin, left),
  });
}

/**
 * A release function was called again for a lease already released. When `heldNow` (the lease holding its
 * connection now) is another lease it is a foreign release (the stale call would have released someone else's
 * checkout), else a double one.
 */
export function reportRepeatedRelease(
  state: PoolState,
  lease: Lease,
  heldNow: Lease | undefined,
  hideAbove: (...args: never[]) => unknown,
): void {
  const now = state.clock.now();
  const where = formatStack(captureStack(MAX_CAPTURED_FRAMES, hideAbove), state.frameRules).location ?? null;
  const view = state.view(lease, now);
  if (heldNow !== undefined && heldNow !== lease) {
    const current = state.ctx.owners.current();
    state.counters.foreignReleases += 1;
    state.bus.emit({
      type: 'foreign-release',
      poolName: state.name,
      lease: view,
      releasedBy: current === undefined ? null : ownerSnapshot(current, (t) => isoAt(state.clock, t)),
      releaseLocation: where,
      message: staleReleaseMessage(state.name, lease, heldNow, where),
    });
    return;
  }
  state.counters.doubleReleases += 1;
  state.bus.emit({
    type: 'double-release',
    poolName: state.name,
    lease: view,
    releaseLocation: where,
    message: doubleReleaseMessage(state.name, lease, view, where),
  });
}

/** A resource the pool never lent was released (no lease): counted with foreign releases, reported. */
export function reportUnknownRelease(state: PoolState, hideAbove: (...args: never[]) => unknown): void {
  state.counters.foreignReleases += 1;
  if (!state.bus.wants('unknown-release')) return;
  const where = formatStack(captureStack(MAX_CAPTURED_FRAMES, hideAbove), state.frameRules).location ?? null;
  const current = state.ctx.owners.current();
  state.bus.emit({
    type: 'unknown-release',
    poolName: state.name,
    releasedBy: current === undefined ? null : ownerSnapshot(current, (t) => isoAt(state.clock, t)),
    releaseLocation: where,
    message: unknownReleaseMessage(state.name, where),
  });
}

/** Reports a lease whose owner ended while holding it (the inspector calls it after the grace period). */
export function reportOwnerEnded(state: PoolState, lease: Lease, owner: Owner): void {
  if (lease.state !== 'held') return;
  const now = state.clock.now();
  state.counters.ownerEndedHolding += 1;
  const view = state.view(lease, now);
  state.bus.emit({
    type: 'owner-ended-holding',
    poolName: state.name,
    owner: ownerSnapshot(owner, (t) => isoAt(state.clock, t)),
    lease: view,
    message: ownerEndedMessage(state.name, lease, owner, view, now),
  });
}
