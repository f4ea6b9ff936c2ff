import type { PoolTracker } from '../../core/pool-tracker.js';

/**
 * The release of something the pool never lent: not lent now, and no lease of this pool ever held it (a resource of
 * another pool, or an object that merely looks like one). The pool itself refuses it (tarn's `release` returns
 * false, generic-pool's rejects with "Resource not currently part of this pool"); poolscope leaves that as it is and
 * reports it: an `unknown-release` event, counted with foreign releases.
 */
export function reportUnknownRelease(tracker: PoolTracker, hideAbove: (...args: never[]) => unknown): void {
  tracker.releaseUnknown(hideAbove);
}
