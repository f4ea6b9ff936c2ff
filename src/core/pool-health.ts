import { OptionsError } from '../errors.js';

/**
 * Health levels of a pool from its utilization (used / max) and its queue. Thresholds are per pool.
 * - `normal`: below the warning threshold and nobody waiting.
 * - `warning`: utilization at or above `warningPercent`, or any caller waiting.
 * - `critical`: utilization at or above `criticalPercent`.
 * A pool declared `expectFull` (e.g. LISTEN connections held by design) is judged on its queue only: full is normal,
 * waiting callers are a warning.
 */
export const HEALTH_LEVELS = ['normal', 'warning', 'critical'] as const;
export type HealthLevel = (typeof HEALTH_LEVELS)[number];
// This is poolscope's one health vocabulary. The other words for it are explicit maps of these levels, kept for
// their readers: the HTTP routes' `status` (`POOL_HEALTH_STATUS_OF_LEVEL` in src/http/pool-health-route.ts) and the
// CLI's markers (`MARKER_OF_LEVEL` in src/cli/inspect-report.ts).

/** The worst of several levels, in the order of HEALTH_LEVELS (`normal` for none). */
export function worstHealthLevel(levels: Iterable<HealthLevel>): HealthLevel {
  let worst = 0;
  for (const level of levels) worst = Math.max(worst, HEALTH_LEVELS.indexOf(level));
  return HEALTH_LEVELS[worst] ?? 'normal';
}

export interface HealthThresholds {
  /** Utilization percent at which a pool is `warning`. Default 80. */
  readonly warningPercent: number;
  /** Utilization percent at which a pool is `critical`. Default 90. */
  readonly criticalPercent: number;
  /** True for pools that are full by design. */
  readonly expectFull: boolean;
}

export const DEFAULT_WARNING_PERCENT = 80;
export const DEFAULT_CRITICAL_PERCENT = 90;

/** Utilization as a whole percent (used / max), 0 when max is 0. */
export function utilizationPercent(used: number, max: number): number {
  if (max <= 0) return 0;
  return Math.round((used / max) * 100);
}

/** The level of a pool with `used` of `max` connections out and `pending` callers queued. */
export function healthLevel(used: number, max: number, pending: number, thresholds: HealthThresholds): HealthLevel {
  if (thresholds.expectFull) return pending > 0 ? 'warning' : 'normal';
  const percent = max <= 0 ? 0 : (used / max) * 100;
  if (percent >= thresholds.criticalPercent) return 'critical';
  if (percent >= thresholds.warningPercent || pending > 0) return 'warning';
  return 'normal';
}

/** Checks a pair of thresholds; throws OptionsError naming the bad one. */
export function validateThresholds(prefix: string, warningPercent: number, criticalPercent: number): void {
  if (!Number.isFinite(warningPercent) || warningPercent <= 0 || warningPercent > 100) {
    throw new OptionsError(`${prefix}warningPercent`, warningPercent, 'a number in (0, 100]');
  }
  if (!Number.isFinite(criticalPercent) || criticalPercent <= 0 || criticalPercent > 100) {
    throw new OptionsError(`${prefix}criticalPercent`, criticalPercent, 'a number in (0, 100]');
  }
  if (criticalPercent < warningPercent) {
    throw new OptionsError(
      `${prefix}criticalPercent`,
      criticalPercent,
      `a number >= warningPercent (${warningPercent}); lower warningPercent or raise criticalPercent`,
    );
  }
}
