import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_CRITICAL_PERCENT,
  DEFAULT_WARNING_PERCENT,
  healthLevel,
  utilizationPercent,
  validateThresholds,
  type HealthThresholds,
} from '../../src/core/pool-health.js';
import { OptionsError, PoolscopeError } from '../../src/errors.js';

const defaults: HealthThresholds = {
  warningPercent: DEFAULT_WARNING_PERCENT,
  criticalPercent: DEFAULT_CRITICAL_PERCENT,
  expectFull: false,
};
const expectFull: HealthThresholds = { ...defaults, expectFull: true };

describe('healthLevel with the default thresholds (80 / 90)', () => {
  test('the defaults are 80 and 90', () => {
    assert.equal(DEFAULT_WARNING_PERCENT, 80);
    assert.equal(DEFAULT_CRITICAL_PERCENT, 90);
  });

  const cases: [used: number, level: string][] = [
    [0, 'normal'],
    [79, 'normal'],
    [80, 'warning'],
    [89, 'warning'],
    [90, 'critical'],
    [100, 'critical'],
  ];
  for (const [used, level] of cases) {
    test(`${used} of 100 in use, nobody waiting -> ${level}`, () => {
      assert.equal(healthLevel(used, 100, 0, defaults), level);
    });
  }

  test('the boundaries use the exact ratio, not a rounded one', () => {
    assert.equal(healthLevel(799, 1000, 0, defaults), 'normal'); // 79.9%
    assert.equal(healthLevel(899, 1000, 0, defaults), 'warning'); // 89.9%
    assert.equal(healthLevel(4, 5, 0, defaults), 'warning'); // 80% exactly
    assert.equal(healthLevel(9, 10, 0, defaults), 'critical'); // 90% exactly
  });

  test('any waiter forces at least warning', () => {
    assert.equal(healthLevel(0, 10, 1, defaults), 'warning');
    assert.equal(healthLevel(5, 10, 3, defaults), 'warning');
    assert.equal(healthLevel(10, 10, 1, defaults), 'critical', 'waiters never lower a critical level');
  });

  test('max 0 is normal without waiters and warning with them', () => {
    assert.equal(healthLevel(0, 0, 0, defaults), 'normal');
    assert.equal(healthLevel(0, 0, 2, defaults), 'warning');
  });

  test('custom thresholds are honoured', () => {
    const t: HealthThresholds = { warningPercent: 50, criticalPercent: 75, expectFull: false };
    assert.equal(healthLevel(4, 10, 0, t), 'normal');
    assert.equal(healthLevel(5, 10, 0, t), 'warning');
    assert.equal(healthLevel(7, 10, 0, t), 'warning');
    assert.equal(healthLevel(8, 10, 0, t), 'critical');
  });
});

describe('healthLevel for pools that are full by design (expectFull)', () => {
  test('full with nobody waiting is normal', () => {
    assert.equal(healthLevel(10, 10, 0, expectFull), 'normal');
    assert.equal(healthLevel(0, 10, 0, expectFull), 'normal');
  });

  test('waiters make it a warning, never critical', () => {
    assert.equal(healthLevel(10, 10, 1, expectFull), 'warning');
    assert.equal(healthLevel(10, 10, 50, expectFull), 'warning');
  });
});

describe('utilizationPercent', () => {
  test('is used / max as a whole percent, rounded to nearest', () => {
    assert.equal(utilizationPercent(0, 10), 0);
    assert.equal(utilizationPercent(5, 10), 50);
    assert.equal(utilizationPercent(10, 10), 100);
    assert.equal(utilizationPercent(1, 3), 33);
    assert.equal(utilizationPercent(2, 3), 67);
    assert.equal(utilizationPercent(1, 8), 13); // 12.5 rounds up
    assert.equal(utilizationPercent(1, 1000), 0); // 0.1
    assert.equal(Number.isInteger(utilizationPercent(7, 9)), true);
  });

  test('is 0 when max is 0 (or negative)', () => {
    assert.equal(utilizationPercent(0, 0), 0);
    assert.equal(utilizationPercent(3, 0), 0);
    assert.equal(utilizationPercent(3, -1), 0);
  });
});

describe('validateThresholds', () => {
  test('accepts valid pairs, including equal ones and 100', () => {
    validateThresholds('', 80, 90);
    validateThresholds('', 90, 90);
    validateThresholds('', 0.5, 100);
  });

  function assertRejects(fn: () => void, option: string, value: unknown): void {
    assert.throws(fn, (error: unknown) => {
      assert.ok(error instanceof OptionsError, `expected OptionsError, got ${String(error)}`);
      assert.ok(error instanceof PoolscopeError);
      assert.equal(error.code, 'POOLSCOPE_ERR_OPTIONS_INVALID');
      assert.equal(error.option, option);
      assert.ok(Object.is(error.value, value), `value ${String(error.value)}`);
      assert.match(error.message, new RegExp(option.replace('.', '\\.')));
      return true;
    });
  }

  for (const bad of [0, -1, 101, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`warningPercent ${bad} is rejected naming warningPercent`, () => {
      assertRejects(() => validateThresholds('', bad, 90), 'warningPercent', bad);
    });
    test(`criticalPercent ${bad} is rejected naming criticalPercent`, () => {
      assertRejects(() => validateThresholds('', 50, bad), 'criticalPercent', bad);
    });
  }

  test('criticalPercent below warningPercent is rejected naming criticalPercent and the warning value', () => {
    assertRejects(() => validateThresholds('', 95, 90), 'criticalPercent', 90);
    assert.throws(() => validateThresholds('', 95, 90), /warningPercent \(95\)/);
  });

  test('the prefix is part of the option name', () => {
    assertRejects(() => validateThresholds('defaults.', 0, 90), 'defaults.warningPercent', 0);
    assertRejects(() => validateThresholds('pools.main.', 50, 40), 'pools.main.criticalPercent', 40);
  });

  test('the message says what was given and what is expected', () => {
    assert.throws(() => validateThresholds('', 120, 130), /got 120; expected a number in \(0, 100\]/);
  });
});
