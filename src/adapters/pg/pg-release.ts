import { ConnectionDestroyedError } from '../../errors.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import type { Lease } from '../../core/lease.js';
import type { PgClientInternal } from './pg-types.js';
import type { ClientWrappers, PgClientWrapperHost } from './pg-client-wrappers.js';
import { transactionStatusOf } from './pg-client-state.js';

/**
 * Each checkout's `client.release` is wrapped (one closure per checkout, like pg-pool's own), so stale, double and
 * foreign releases still reach pg-pool and fail exactly as they would without poolscope. A dirty release is
 * reported and, per `onDirtyRelease`, the connection is destroyed or rolled back before pg-pool gets it.
 */

/** The release function handed to the caller for `lease` (pg-pool's own `original` runs inside it). */
export function wrapRelease(
  host: PgClientWrapperHost,
  tracker: PoolTracker,
  lease: Lease,
  client: PgClientInternal,
  record: ClientWrappers,
  original: (err?: unknown) => void,
): (err?: unknown) => void {
  let released = false;
  const release = (err?: unknown): void => {
    if (host.detached) return original(err);
    if (released) {
      try {
        tracker.releaseRepeated(lease, release);
      } catch (error) {
        host.report(error);
      }
      return original(err); // pg-pool throws its own double-release error, as without poolscope
    }
    released = true;
    if (record.lease === lease) record.lease = undefined;
    let passed = err;
    try {
      const verdict = tracker.releaseStarted(lease, transactionStatusOf(client), Boolean(err), release, record.driverOwner);
      if (verdict.destroy && !err) {
        passed = new ConnectionDestroyedError('poolscope: connection destroyed because it was released inside a transaction');
      } else if (verdict.rollback && !err) {
        rollbackThenRelease(host, client, original);
        return undefined;
      }
    } catch (error) {
      host.report(error);
    }
    return original(passed);
  };
  return release;
}

/**
 * `onDirtyRelease: 'rollback'`: ROLLBACK on the released connection (untracked: the lease is over), then pg-pool's
 * release; a connection whose ROLLBACK fails is destroyed. pg-pool counts it as checked out until then.
 */
export function rollbackThenRelease(host: PgClientWrapperHost, client: PgClientInternal, release: (err?: unknown) => void): void {
  const settle = (error: unknown): void => {
    try {
      release(error ? new ConnectionDestroyedError('poolscope: connection destroyed because ROLLBACK after a dirty release failed', { cause: error }) : undefined);
    } catch (releaseError) {
      host.report(releaseError);
    }
  };
  try {
    client.query('ROLLBACK', (error: unknown) => settle(error));
  } catch (error) {
    settle(error);
  }
}
