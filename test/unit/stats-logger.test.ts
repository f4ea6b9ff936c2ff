import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import type { PoolTracker } from '../../src/core/pool-tracker.js';
import { StatsLogger, type PoolscopeLogger } from '../../src/exporters/stats-logger.js';
import { OptionsError } from '../../src/errors.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';
import { recordingLogger, type LoggedLine } from '../support/recording-logger.js';

function setup(t: TestContext) {
  const errors: unknown[] = [];
  const inspector = new Inspector({ clock: new FakeClock(), historyIntervalMillis: 0, alerts: false, onError: (e) => errors.push(e) });
  t.after(() => inspector.close());
  const lines: LoggedLine[] = [];
  return { inspector, errors, lines, logger: recordingLogger(lines) };
}

function hold(tracker: PoolTracker, count: number): void {
  for (let i = 0; i < count; i++) tracker.checkoutSucceeded(tracker.checkoutStarted(hold), {}, null, false, 'idle');
}

describe('StatsLogger', () => {
  test("one info line per pool in seed 001's form", (t) => {
    const { inspector, lines, logger } = setup(t);
    const main = inspector.registerPool(new FakePoolAdapter({ max: 30, total: 30, idle: 23 }), { name: 'main' });
    hold(main, 7);
    inspector.registerPool(new FakePoolAdapter({ max: 12, total: 0 }), { name: 'jobs' });
    const statsLogger = new StatsLogger(inspector, { logger, intervalMillis: 0 });
    t.after(() => statsLogger.close());
    statsLogger.logNow();
    assert.deepEqual(
      lines.map((line) => [line.level, line.message]),
      [
        ['info', "Pool 'main': 23% utilized (7/30 active, 23 idle, 0 waiting)"],
        ['info', "Pool 'jobs': 0% utilized (0/12 active, 0 idle, 0 waiting)"],
      ],
    );
    assert.deepEqual(lines[0]?.fields, {
      poolName: 'main',
      totalCount: 30,
      idleCount: 23,
      activeCount: 7,
      waitingCount: 0,
      maxCount: 30,
      utilizationPercent: 23,
      level: 'normal',
      timestamp: lines[0]?.fields.timestamp,
    });
  });

  test('escalates to warn above the warning level and when anything waits; expectFull stays info when full', (t) => {
    const { inspector, lines, logger } = setup(t);
    const high = inspector.registerPool(new FakePoolAdapter({ max: 10, total: 10, idle: 1 }), { name: 'high' });
    hold(high, 9);
    const waiting = new FakePoolAdapter({ max: 2, total: 2, waiting: 5 });
    hold(inspector.registerPool(waiting, { name: 'exhausted' }), 2);
    hold(inspector.registerPool(new FakePoolAdapter({ max: 3, total: 3 }), { name: 'listen', expectFull: true }), 3);
    const low = inspector.registerPool(new FakePoolAdapter({ max: 10, total: 1 }), { name: 'waits', warningPercent: 70 });
    hold(low, 1);
    const statsLogger = new StatsLogger(inspector, { logger, intervalMillis: 0 });
    statsLogger.logNow();
    waiting.set({ waiting: 0 });
    assert.deepEqual(
      lines.map((line) => [line.level, line.message]),
      [
        ['warn', "Pool 'high': 90% utilized (9/10 active, 1 idle, 0 waiting): critical utilization"],
        ['warn', "Pool 'exhausted': 100% utilized (2/2 active, 0 idle, 5 waiting): critical utilization; 5 caller(s) waiting for a connection"],
        ['info', "Pool 'listen': 100% utilized (3/3 active, 0 idle, 0 waiting)"],
        ['info', "Pool 'waits': 10% utilized (1/10 active, 0 idle, 0 waiting)"],
      ],
    );
  });

  test('the warning level line names the pool threshold', (t) => {
    const { inspector, lines, logger } = setup(t);
    hold(inspector.registerPool(new FakePoolAdapter({ max: 10, total: 8 }), { name: 'main', warningPercent: 70, criticalPercent: 95 }), 8);
    new StatsLogger(inspector, { logger, intervalMillis: 0 }).logNow();
    assert.deepEqual(lines.map((line) => [line.level, line.message]), [
      ['warn', "Pool 'main': 80% utilized (8/10 active, 0 idle, 0 waiting): above the 70% warning level"],
    ]);
  });

  test('pools option limits the lines; unknown names are skipped; a throwing logger goes to onError', (t) => {
    const { inspector, lines, logger, errors } = setup(t);
    inspector.registerPool(new FakePoolAdapter(), { name: 'a' });
    inspector.registerPool(new FakePoolAdapter(), { name: 'b' });
    new StatsLogger(inspector, { logger, intervalMillis: 0, pools: ['b', 'nope'] }).logNow();
    assert.deepEqual(lines.map((line) => line.fields.poolName), ['b']);
    const throwing: PoolscopeLogger = {
      info: () => {
        throw new Error('logger down');
      },
      warn: () => undefined,
    };
    assert.doesNotThrow(() => new StatsLogger(inspector, { logger: throwing, intervalMillis: 0 }).logNow());
    assert.equal(errors.length, 2);
  });

  test('logs on its interval with an unref timer, stops on close()', (t) => {
    const { inspector, lines, logger } = setup(t);
    inspector.registerPool(new FakePoolAdapter(), { name: 'a' });
    t.mock.timers.enable({ apis: ['setInterval'] });
    const statsLogger = new StatsLogger(inspector, { logger, intervalMillis: 5 });
    t.after(() => statsLogger.close());
    t.mock.timers.tick(4);
    assert.equal(lines.length, 0, 'nothing before the first interval');
    t.mock.timers.tick(1);
    assert.equal(lines.length, 1);
    t.mock.timers.tick(5);
    assert.equal(lines.length, 2);
    statsLogger.close();
    statsLogger.close();
    t.mock.timers.tick(50);
    assert.equal(lines.length, 2, 'no line after close()');
  });

  test('bad options are refused with the option named', (t) => {
    const { inspector } = setup(t);
    const cases: [Record<string, unknown>, string][] = [
      [{ logger: console.log }, 'logger'],
      [{ logger: { info: () => undefined } }, 'logger'],
      [{ intervalMillis: -1 }, 'intervalMillis'],
      [{ pools: 'main' }, 'pools'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => new StatsLogger(inspector, options as never),
        (error: unknown) => error instanceof OptionsError && error.option === option,
        option,
      );
    }
  });
});
