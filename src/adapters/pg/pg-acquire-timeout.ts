import type { Lease } from '../../core/lease.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import { enrichTimeoutError } from '../../core/acquire-timeout-report.js';

/** pg's acquire-timeout error, recognised (the explaining is the core's: acquire-timeout-report.ts). */

/** pg-pool's acquire-timeout message (its start stays the same after poolscope appends its explanation). */
export const PG_ACQUIRE_TIMEOUT_MESSAGE = 'timeout exceeded when trying to connect';

export { acquireTimeoutReportOf, enrichTimeoutError } from '../../core/acquire-timeout-report.js';

/**
 * A `connect()` that failed: pg's acquire timeout is counted, reported and its explanation appended to the error;
 * any other failure is a connection error. Never throws (failures to `report`).
 */
export function recordPgCheckoutFailure(tracker: PoolTracker, lease: Lease, err: Error, report: (error: unknown) => void): void {
  try {
    const message = typeof err.message === 'string' ? err.message : String(err);
    const explained = tracker.checkoutFailed(lease, message.startsWith(PG_ACQUIRE_TIMEOUT_MESSAGE), message);
    if (explained !== undefined) enrichTimeoutError(err, explained);
  } catch (error) {
    report(error);
  }
}
