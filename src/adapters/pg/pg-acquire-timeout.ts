/** pg's acquire-timeout error, recognised (the explaining is the core's: acquire-timeout-report.ts). */

/** pg-pool's acquire-timeout message (its start stays the same after poolscope appends its explanation). */
export const PG_ACQUIRE_TIMEOUT_MESSAGE = 'timeout exceeded when trying to connect';

export { acquireTimeoutReportOf, enrichTimeoutError } from '../../core/acquire-timeout-report.js';
