import type { PoolTracker } from '../../core/pool-tracker.js';

/**
 * The release of something the pool never lent: not lent now, and no lease of this pool ever held it (a resource of
 * another pool, or an object that merely looks like one). The pool itself refuses it (tarn's `release` returns
 * false, generic-pool's rejects with "Resource not currently part of this pool"); poolscope leaves that as it is.
 *
 * The core's release reports (`double-release`, `foreign-release`) each describe a lease, and here there is none.
 * Reporting it needs a tracker method without one, asked of core as `PoolTracker.releaseUnknown(hideAbove)` (an
 * `unknown-release` event and a counter; see docs/reference/adapter-generic-pool.md). The adapters call it through
 * this function, which does nothing on a tracker without it.
 */
export function reportUnknownRelease(tracker: PoolTracker, hideAbove: (...args: never[]) => unknown): void {
  const report = (tracker as unknown as { releaseUnknown?: (hideAbove: (...args: never[]) => unknown) => void }).releaseUnknown;
  if (typeof report === 'function') report.call(tracker, hideAbove);
}
