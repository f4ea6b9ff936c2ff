import type { AcquireTimeoutReport } from '../../core/pool-tracker.js';

/** pg's acquire-timeout error, recognised and explained: poolscope's report appended and attached. */

/** pg-pool's acquire-timeout message (its start stays the same after poolscope appends its explanation). */
export const PG_ACQUIRE_TIMEOUT_MESSAGE = 'timeout exceeded when trying to connect';

/** The explanation poolscope attached to pg's acquire-timeout error, if any. */
export function acquireTimeoutReportOf(error: unknown): AcquireTimeoutReport | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const report = (error as { poolscope?: unknown }).poolscope;
  return report !== undefined && typeof report === 'object' ? (report as AcquireTimeoutReport) : undefined;
}

/** Appends poolscope's explanation to pg's timeout error and attaches the report as `error.poolscope`. */
export function enrichTimeoutError(error: Error, report: AcquireTimeoutReport): void {
  const before = error.message;
  // V8 formats `stack` lazily: read it first so it holds the original header, then swap that header.
  const stack = error.stack;
  error.message = `${before}${report.text}`;
  Object.defineProperty(error, 'poolscope', { value: report, enumerable: false, configurable: true, writable: true });
  const header = `${error.name}: ${before}`;
  if (typeof stack === 'string' && stack.startsWith(header)) {
    error.stack = `${error.name}: ${error.message}${stack.slice(header.length)}`;
  }
}
