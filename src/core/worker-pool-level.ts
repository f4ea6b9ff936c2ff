import { OptionsError } from '../errors.js';

/**
 * Seed 002's saturation check for worker pools: utilization = tasks running / capacity (workers x tasks per worker),
 * and four levels:
 * - `CRITICAL`: above 90%;
 * - `HIGH`: above 80% (up to 90%);
 * - `GOOD`: 60% to 80%;
 * - `LOW`: below 60%.
 * The bounds are per pool (WorkerPoolTrackingOptions: goodPercent, highPercent, criticalPercent).
 */
export const WORKER_POOL_LEVELS = ['LOW', 'GOOD', 'HIGH', 'CRITICAL'] as const;
export type WorkerPoolLevel = (typeof WORKER_POOL_LEVELS)[number];

export interface WorkerPoolThresholds {
  /** Utilization percent from which the pool is GOOD (below: LOW). Default 60. */
  readonly goodPercent: number;
  /** Utilization percent above which the pool is HIGH. Default 80. */
  readonly highPercent: number;
  /** Utilization percent above which the pool is CRITICAL. Default 90. */
  readonly criticalPercent: number;
}

export const DEFAULT_WORKER_POOL_THRESHOLDS: WorkerPoolThresholds = Object.freeze({
  goodPercent: 60,
  highPercent: 80,
  criticalPercent: 90,
});

/** Utilization in percent with one decimal (`used / capacity`); 0 for a pool without capacity. */
export function workerPoolUtilizationPercent(used: number, capacity: number): number {
  if (!(capacity > 0) || !(used > 0)) return 0;
  return Math.round((used / capacity) * 1000) / 10;
}

/**
 * The level of a pool running `used` tasks of `capacity`. Judged on the exact ratio, not the rounded percent:
 * 81 of 100 is HIGH, 80 of 100 is GOOD, 90 of 100 is HIGH, 91 of 100 is CRITICAL.
 */
export function workerPoolLevel(used: number, capacity: number, thresholds: WorkerPoolThresholds = DEFAULT_WORKER_POOL_THRESHOLDS): WorkerPoolLevel {
  if (!(capacity > 0) || !(used > 0)) return 'LOW';
  // Compare used * 100 with percent * capacity: integers stay exact (no 0.1 + 0.2 surprises at the bounds).
  const scaled = used * 100;
  if (scaled > thresholds.criticalPercent * capacity) return 'CRITICAL';
  if (scaled > thresholds.highPercent * capacity) return 'HIGH';
  if (scaled >= thresholds.goodPercent * capacity) return 'GOOD';
  return 'LOW';
}

/** Validates partial thresholds, fills in the defaults; throws OptionsError naming the bad one. */
export function resolveWorkerPoolThresholds(given: Partial<WorkerPoolThresholds> | undefined): WorkerPoolThresholds {
  if (given === undefined) return DEFAULT_WORKER_POOL_THRESHOLDS;
  if (given === null || typeof given !== 'object') {
    throw new OptionsError('thresholds', given, 'an object { goodPercent?, highPercent?, criticalPercent? }');
  }
  const resolved: WorkerPoolThresholds = {
    goodPercent: percent('thresholds.goodPercent', given.goodPercent, DEFAULT_WORKER_POOL_THRESHOLDS.goodPercent),
    highPercent: percent('thresholds.highPercent', given.highPercent, DEFAULT_WORKER_POOL_THRESHOLDS.highPercent),
    criticalPercent: percent('thresholds.criticalPercent', given.criticalPercent, DEFAULT_WORKER_POOL_THRESHOLDS.criticalPercent),
  };
  if (resolved.highPercent < resolved.goodPercent) {
    throw new OptionsError('thresholds.highPercent', resolved.highPercent, `a number >= goodPercent (${resolved.goodPercent})`);
  }
  if (resolved.criticalPercent < resolved.highPercent) {
    throw new OptionsError('thresholds.criticalPercent', resolved.criticalPercent, `a number >= highPercent (${resolved.highPercent})`);
  }
  return Object.freeze(resolved);
}

function percent(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    throw new OptionsError(option, value, 'a number in [0, 100]');
  }
  return value;
}
