import type { Lease, LeaseSnapshot } from './lease.js';
import { roundMillis } from './lease.js';
import { acquireTimeoutMessage, describeTimeout } from './misuse-reports.js';
import type { PoolState } from './pool-state.js';
import type { PoolStats } from './pool-stats.js';
import { formatStack } from './stack-capture.js';

/** Why a pool's callers time out, attached to the driver's timeout error (`enrichTimeoutError`). */
export interface AcquireTimeoutReport {
  readonly poolName: string;
  readonly waitMillis: number;
  readonly stats: PoolStats;
  /** Longest holders, longest first (at most 5). */
  readonly holders: readonly LeaseSnapshot[];
  /** The explanation appended to the driver's message. */
  readonly text: string;
}

/** Holders shown in a timeout's explanation. */
const HOLDERS_SHOWN = 5;

/**
 * A caller gave up waiting for a connection (`lease`, at `now`): counts it, emits `acquire-timeout` and returns the
 * explanation the adapter appends to the driver's error (who holds the connections, since when, where).
 */
export function reportAcquireTimeout(state: PoolState, lease: Lease, now: number): AcquireTimeoutReport {
  state.counters.timeouts += 1;
  const waitMillis = roundMillis(now - lease.waitStart);
  const stats = state.stats();
  const holders = state
    .holdersLongestFirst()
    .slice(0, HOLDERS_SHOWN)
    .map((held) => state.view(held, now));
  const waiterLocation = formatStack(lease.stack, state.frameRules).location ?? null;
  const text = describeTimeout(stats, holders, waitMillis, waiterLocation);
  if (state.bus.wants('acquire-timeout')) {
    state.bus.emit({
      type: 'acquire-timeout',
      poolName: state.name,
      waitMillis,
      waiterLocation,
      stats,
      holders,
      message: acquireTimeoutMessage(state.name, waitMillis, waiterLocation, text),
    });
  }
  return { poolName: state.name, waitMillis, stats, holders, text };
}

/** The explanation poolscope attached to a driver's acquire-timeout error, if any. */
export function acquireTimeoutReportOf(error: unknown): AcquireTimeoutReport | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const report = (error as { poolscope?: unknown }).poolscope;
  return report !== undefined && typeof report === 'object' ? (report as AcquireTimeoutReport) : undefined;
}

/** Appends poolscope's explanation to the driver's timeout error and attaches the report as `error.poolscope`. */
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
