import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_WORKER_POOL_THRESHOLDS,
  resolveWorkerPoolThresholds,
  workerPoolLevel,
  workerPoolUtilizationPercent,
} from '../../src/core/worker-pool-level.js';
import { OptionsError } from '../../src/errors.js';

describe('workerPoolLevel (seed 002: > 90% CRITICAL, > 80% HIGH, 60-80% GOOD, < 60% LOW)', () => {
  test('the defaults are seed 002 bounds', () => {
    assert.deepEqual({ ...DEFAULT_WORKER_POOL_THRESHOLDS }, { goodPercent: 60, highPercent: 80, criticalPercent: 90 });
  });

  test('each bound belongs to the level below it: 80% is GOOD, 90% is HIGH; 60% is GOOD', () => {
    const cases: [used: number, capacity: number, level: string][] = [
      [0, 100, 'LOW'],
      [59, 100, 'LOW'],
      [60, 100, 'GOOD'],
      [80, 100, 'GOOD'],
      [81, 100, 'HIGH'],
      [90, 100, 'HIGH'],
      [91, 100, 'CRITICAL'],
      [100, 100, 'CRITICAL'],
    ];
    for (const [used, capacity, level] of cases) assert.equal(workerPoolLevel(used, capacity), level, `${used}/${capacity}`);
  });

  test('judged on the exact ratio, not the rounded percent (thread pools have capacities like 64)', () => {
    // 52/64 = 81.25%: HIGH; 51/64 = 79.69% (rounds to 79.7): GOOD; 58/64 = 90.625%: CRITICAL; 57/64 = 89.06%: HIGH.
    assert.equal(workerPoolLevel(52, 64), 'HIGH');
    assert.equal(workerPoolLevel(51, 64), 'GOOD');
    assert.equal(workerPoolLevel(58, 64), 'CRITICAL');
    assert.equal(workerPoolLevel(57, 64), 'HIGH');
    // 10 of 16 threads = 62.5%: GOOD (seed 002's "Avg Load/Worker: 10/16").
    assert.equal(workerPoolLevel(10, 16), 'GOOD');
    // 0.1 + 0.2 style surprises: 3 of 5 is exactly 60%.
    assert.equal(workerPoolLevel(3, 5), 'GOOD');
    assert.equal(workerPoolLevel(4, 5), 'GOOD');
  });

  test('a process pool of one worker: idle LOW, busy CRITICAL', () => {
    assert.equal(workerPoolLevel(0, 1), 'LOW');
    assert.equal(workerPoolLevel(1, 1), 'CRITICAL');
  });

  test('no capacity, or nothing running, is LOW (never NaN)', () => {
    assert.equal(workerPoolLevel(0, 0), 'LOW');
    assert.equal(workerPoolLevel(3, 0), 'LOW');
    assert.equal(workerPoolLevel(Number.NaN, 10), 'LOW');
  });

  test('custom thresholds move the bounds', () => {
    const thresholds = resolveWorkerPoolThresholds({ goodPercent: 50, highPercent: 70, criticalPercent: 85 });
    assert.equal(workerPoolLevel(49, 100, thresholds), 'LOW');
    assert.equal(workerPoolLevel(50, 100, thresholds), 'GOOD');
    assert.equal(workerPoolLevel(71, 100, thresholds), 'HIGH');
    assert.equal(workerPoolLevel(86, 100, thresholds), 'CRITICAL');
  });
});

describe('workerPoolUtilizationPercent', () => {
  test('one decimal; 0 without capacity', () => {
    assert.equal(workerPoolUtilizationPercent(10, 16), 62.5);
    assert.equal(workerPoolUtilizationPercent(1, 3), 33.3);
    assert.equal(workerPoolUtilizationPercent(2, 3), 66.7);
    assert.equal(workerPoolUtilizationPercent(64, 64), 100);
    assert.equal(workerPoolUtilizationPercent(0, 64), 0);
    assert.equal(workerPoolUtilizationPercent(5, 0), 0);
  });
});

describe('resolveWorkerPoolThresholds', () => {
  test('fills in the defaults', () => {
    assert.deepEqual({ ...resolveWorkerPoolThresholds(undefined) }, { goodPercent: 60, highPercent: 80, criticalPercent: 90 });
    assert.deepEqual({ ...resolveWorkerPoolThresholds({ criticalPercent: 95 }) }, { goodPercent: 60, highPercent: 80, criticalPercent: 95 });
  });

  test('refuses values out of range or out of order, naming the option', () => {
    const invalid: [unknown, string][] = [
      [{ highPercent: 101 }, 'thresholds.highPercent'],
      [{ goodPercent: -1 }, 'thresholds.goodPercent'],
      [{ criticalPercent: Number.NaN }, 'thresholds.criticalPercent'],
      [{ highPercent: '80' }, 'thresholds.highPercent'],
      [{ goodPercent: 85 }, 'thresholds.highPercent'],
      [{ highPercent: 95 }, 'thresholds.criticalPercent'],
      ['80', 'thresholds'],
    ];
    for (const [given, option] of invalid) {
      assert.throws(
        () => resolveWorkerPoolThresholds(given as never),
        (error: unknown) => error instanceof OptionsError && error.option === option && error.code === 'POOLSCOPE_ERR_OPTIONS_INVALID',
        JSON.stringify(given),
      );
    }
  });
});
