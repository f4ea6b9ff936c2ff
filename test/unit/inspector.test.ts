import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector, type InspectorOptions } from '../../src/core/inspector.js';
import type { PoolTracker } from '../../src/core/pool-tracker.js';
import type { Lease } from '../../src/core/lease.js';
import type { PoolTrackingOptions } from '../../src/core/pool-tracker-options.js';
import {
  InspectorClosedError,
  OptionsError,
  PoolNameError,
  PoolscopeError,
  PoolTrackingError,
  type PoolscopeErrorCode,
} from '../../src/errors.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';

function newInspector(t: TestContext, options: InspectorOptions = {}): { inspector: Inspector; clock: FakeClock; errors: unknown[] } {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const inspector = new Inspector({ clock, historyIntervalMillis: 0, onError: (error) => errors.push(error), ...options });
  t.after(() => inspector.close());
  return { inspector, clock, errors };
}

function connect(tracker: PoolTracker): Lease {
  return tracker.checkoutStarted(connect);
}

function checkout(tracker: PoolTracker): Lease {
  const lease = connect(tracker);
  tracker.checkoutSucceeded(lease, {}, null, false, 'idle');
  return lease;
}

function release(tracker: PoolTracker, lease: Lease): void {
  tracker.releaseStarted(lease, 'idle', false, release);
}

/** Asserts `fn` throws a PoolscopeError of `type` with `code`, and returns it for more checks. */
function assertThrowsCoded<E extends PoolscopeError>(fn: () => unknown, type: new (...args: never[]) => E, code: PoolscopeErrorCode): E {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  assert.ok(caught instanceof PoolscopeError);
  assert.ok(caught instanceof Error);
  assert.equal(caught.code, code);
  return caught;
}

function assertOptionsError(fn: () => unknown, option: string): OptionsError {
  const error = assertThrowsCoded(fn, OptionsError, 'POOLSCOPE_ERR_OPTIONS_INVALID');
  assert.equal(error.option, option);
  assert.ok(error.message.includes(option), `message names ${option}: ${error.message}`);
  return error;
}

describe('pool names', () => {
  test('a duplicate name is refused with POOLSCOPE_ERR_POOL_DUPLICATE_NAME and the name in the message', (t) => {
    const { inspector } = newInspector(t);
    inspector.registerPool(new FakePoolAdapter(), { name: 'orders' });
    const second = new FakePoolAdapter();
    const error = assertThrowsCoded(
      () => inspector.registerPool(second, { name: 'orders' }),
      PoolNameError,
      'POOLSCOPE_ERR_POOL_DUPLICATE_NAME',
    );
    assert.equal(error.poolName, 'orders');
    assert.match(error.message, /"orders"/);
    assert.deepEqual(inspector.poolNames(), ['orders']);
    assert.equal(second.detachCalls, 0);
  });

  test('a name can be reused after untrack()', (t) => {
    const { inspector } = newInspector(t);
    inspector.registerPool(new FakePoolAdapter(), { name: 'main' });
    inspector.untrack('main');
    const tracker = inspector.registerPool(new FakePoolAdapter(), { name: 'main' });
    assert.equal(inspector.pool('main'), tracker.view);
  });

  for (const name of ['', 'has space', 'x'.repeat(101), 'ünï', 'semi;colon', 'a/b']) {
    test(`invalid name ${JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}...(${name.length})` : name)} is refused`, (t) => {
      const { inspector } = newInspector(t);
      const error = assertThrowsCoded(
        () => inspector.registerPool(new FakePoolAdapter(), { name }),
        PoolNameError,
        'POOLSCOPE_ERR_POOL_INVALID_NAME',
      );
      assert.equal(error.poolName, name);
      assert.deepEqual(inspector.poolNames(), []);
    });
  }

  test('a missing or non-string name is refused', (t) => {
    const { inspector } = newInspector(t);
    for (const name of [undefined, 42, null]) {
      assertThrowsCoded(
        () => inspector.registerPool(new FakePoolAdapter(), { name } as unknown as PoolTrackingOptions),
        PoolNameError,
        'POOLSCOPE_ERR_POOL_INVALID_NAME',
      );
    }
  });

  test('valid names: 100 characters, tenant:42, a.b-c_d', (t) => {
    const { inspector } = newInspector(t);
    for (const name of ['x'.repeat(100), 'tenant:42', 'a.b-c_d']) inspector.registerPool(new FakePoolAdapter(), { name });
    assert.equal(inspector.poolNames().length, 3);
  });
});

describe('pool options', () => {
  const bad: [option: string, value: unknown, reported?: string][] = [
    ['leakThresholdMillis', -1],
    ['leakThresholdMillis', Number.NaN],
    ['leakThresholdMillis', '1000'],
    ['stackCapture', 'sometimes'],
    ['stackCaptureBudgetPerSecond', 0],
    ['stackFrameLimit', 1.5],
    ['stackFrameLimit', 0],
    ['warningPercent', 0],
    ['warningPercent', 95, 'criticalPercent'], // above the default critical 90: the pair is inconsistent
    ['criticalPercent', 101],
    ['saturationPercent', 0],
    ['saturationPercent', 120],
    ['saturationCooldownMillis', -1],
    ['expectFull', 'yes'],
    ['destroyDirtyReleases', 1],
    ['ownerEndGraceMillis', -5],
    ['maxQueryTextLength', 0],
    ['hiddenFrames', ['pg-helpers']],
    ['hiddenFrames', /x/],
  ];
  for (const [option, value, reported = option] of bad) {
    const shown = value instanceof RegExp ? String(value) : JSON.stringify(value) ?? String(value);
    test(`${option}: ${shown} is refused naming ${reported}`, (t) => {
      const { inspector } = newInspector(t);
      const adapter = new FakePoolAdapter();
      assertOptionsError(() => inspector.registerPool(adapter, { name: 'p', [option]: value } as PoolTrackingOptions), reported);
      assert.deepEqual(inspector.poolNames(), [], 'nothing was registered');
    });
  }

  test('warningPercent 95 with criticalPercent 90 names criticalPercent and says how to fix it', (t) => {
    const { inspector } = newInspector(t);
    const error = assertOptionsError(
      () => inspector.registerPool(new FakePoolAdapter(), { name: 'p', warningPercent: 95, criticalPercent: 90 }),
      'criticalPercent',
    );
    assert.equal(error.value, 90);
    assert.match(error.message, /got 90; expected a number >= warningPercent \(95\)/);
  });

  test("stackCapture 'sometimes' lists the allowed modes", (t) => {
    const { inspector } = newInspector(t);
    const error = assertOptionsError(
      () => inspector.registerPool(new FakePoolAdapter(), { name: 'p', stackCapture: 'sometimes' as never }),
      'stackCapture',
    );
    assert.match(error.message, /got "sometimes"; expected one of 'adaptive', 'always', 'off'/);
  });

  test('options that are not an object are refused', (t) => {
    const { inspector } = newInspector(t);
    assertOptionsError(() => inspector.registerPool(new FakePoolAdapter(), null as unknown as PoolTrackingOptions), 'options');
  });

  test('defaults apply to every pool and a pool can override them', (t) => {
    const { inspector } = newInspector(t, { defaults: { leakThresholdMillis: 5000, warningPercent: 60 } });
    const a = inspector.registerPool(new FakePoolAdapter(), { name: 'a' });
    const b = inspector.registerPool(new FakePoolAdapter(), { name: 'b', leakThresholdMillis: 0, warningPercent: undefined });
    assert.equal(a.options.leakThresholdMillis, 5000);
    assert.equal(a.options.warningPercent, 60);
    assert.equal(b.options.leakThresholdMillis, 0);
    assert.equal(b.options.warningPercent, 60, 'an explicit undefined does not erase a default');
  });

  test('expectFull pools default to no leak threshold', (t) => {
    const { inspector } = newInspector(t);
    assert.equal(inspector.registerPool(new FakePoolAdapter(), { name: 'listen', expectFull: true }).options.leakThresholdMillis, 0);
    assert.equal(inspector.registerPool(new FakePoolAdapter(), { name: 'main' }).options.leakThresholdMillis, 30_000);
  });
});

describe('inspector options', () => {
  const bad: [InspectorOptions, string][] = [
    [{ historyIntervalMillis: -1 }, 'historyIntervalMillis'],
    [{ historyRetentionMillis: Number.POSITIVE_INFINITY }, 'historyRetentionMillis'],
    [{ snapshotBufferSize: 0 }, 'snapshotBufferSize'],
    [{ snapshotBufferSize: 2.5 }, 'snapshotBufferSize'],
    [{ onError: 'log' as never }, 'onError'],
    [{ defaults: { leakThresholdMillis: -1 } }, 'leakThresholdMillis'],
    [{ defaults: { stackCapture: 'sometimes' as never } }, 'stackCapture'],
  ];
  for (const [options, option] of bad) {
    test(`new Inspector(${JSON.stringify(options)}) is refused naming ${option}`, () => {
      assertOptionsError(() => new Inspector(options), option);
    });
  }

  test('new Inspector(null) is refused', () => {
    assertOptionsError(() => new Inspector(null as unknown as InspectorOptions), 'options');
  });

  test('on() with a non-function listener is refused', (t) => {
    const { inspector } = newInspector(t);
    assertOptionsError(() => inspector.on('lease-acquired', 'nope' as never), 'listener');
  });

  test('runAs() with an empty label is refused', (t) => {
    const { inspector } = newInspector(t);
    assertOptionsError(() => inspector.runAs('', () => 1), 'owner');
    assertOptionsError(() => inspector.runAs({ label: 42 } as never, () => 1), 'owner');
  });
});

describe('unknown pools and a closed inspector', () => {
  test('untrack of an unknown pool -> POOLSCOPE_ERR_POOL_NOT_TRACKED naming the tracked ones', (t) => {
    const { inspector } = newInspector(t);
    inspector.registerPool(new FakePoolAdapter(), { name: 'main' });
    const error = assertThrowsCoded(() => inspector.untrack('nope'), PoolTrackingError, 'POOLSCOPE_ERR_POOL_NOT_TRACKED');
    assert.equal(error.poolName, 'nope');
    assert.match(error.message, /"nope"/);
    assert.match(error.message, /Tracked pools: main\./);
  });

  test('stats, snapshot and history of an unknown pool are refused the same way', (t) => {
    const { inspector } = newInspector(t);
    assertThrowsCoded(() => inspector.stats('x'), PoolTrackingError, 'POOLSCOPE_ERR_POOL_NOT_TRACKED');
    assertThrowsCoded(() => inspector.snapshot('x'), PoolTrackingError, 'POOLSCOPE_ERR_POOL_NOT_TRACKED');
    assertThrowsCoded(() => inspector.history('x'), PoolTrackingError, 'POOLSCOPE_ERR_POOL_NOT_TRACKED');
    assert.equal(inspector.pool('x'), undefined);
  });

  test('registerPool after close -> POOLSCOPE_ERR_INSPECTOR_CLOSED', (t) => {
    const { inspector } = newInspector(t);
    inspector.close();
    assert.equal(inspector.closed, true);
    const adapter = new FakePoolAdapter();
    const error = assertThrowsCoded(() => inspector.registerPool(adapter, { name: 'p' }), InspectorClosedError, 'POOLSCOPE_ERR_INSPECTOR_CLOSED');
    assert.match(error.message, /registerPool\(\)/);
    assert.equal(adapter.detachCalls, 0);
    inspector.close(); // idempotent
  });

  test('close() closes every tracker and forgets the pools', (t) => {
    const { inspector } = newInspector(t);
    const a = new FakePoolAdapter();
    const b = new FakePoolAdapter();
    inspector.registerPool(a, { name: 'a' });
    inspector.registerPool(b, { name: 'b' });
    inspector.close();
    assert.deepEqual([a.detachCalls, b.detachCalls], [1, 1]);
    assert.deepEqual(inspector.poolNames(), []);
  });
});

describe('history', () => {
  test('sampleHistory() records a point with the pool counters and the acquires since the previous one', (t) => {
    // A long interval: the inspector's own timer never fires during the test; retention keeps 3 samples.
    const { inspector, clock } = newInspector(t, { historyIntervalMillis: 600_000, historyRetentionMillis: 1_800_000 });
    const adapter = new FakePoolAdapter({ total: 4, idle: 2, waiting: 0, max: 8 });
    const tracker = inspector.registerPool(adapter, { name: 'p' });
    checkout(tracker);
    checkout(tracker);
    tracker.sampleHistory();
    clock.advance(1000);
    checkout(tracker);
    adapter.set({ waiting: 1 });
    tracker.checkoutFailed(connect(tracker), true, 'timeout');
    tracker.sampleHistory();
    clock.advance(1000);
    tracker.sampleHistory();

    const points = inspector.history('p');
    assert.equal(points.length, 3);
    assert.deepEqual(points[0], {
      timestamp: new Date(clock.toWallMillis(clock.now() - 2000)).toISOString(),
      total: 4,
      idle: 2,
      used: 2,
      pending: 0,
      max: 8,
      utilizationPercent: 25,
      acquires: 2,
      timeouts: 0,
      // Both checkouts were handed over at once (no wait); nothing was released yet.
      waitP50Millis: 0,
      waitP95Millis: 0,
      waitP99Millis: 0,
      holdP50Millis: null,
      holdP95Millis: null,
      holdP99Millis: null,
    });
    assert.deepEqual(
      points.map((p) => [p.acquires, p.timeouts, p.used, p.pending, p.utilizationPercent]),
      [
        [2, 0, 2, 0, 25],
        [1, 1, 3, 1, 38],
        [0, 0, 3, 1, 38],
      ],
    );
    assert.deepEqual(JSON.parse(JSON.stringify(points)), points);
  });

  test('each sample has the wait and hold percentiles of its own interval, null when the interval had none', (t) => {
    const { inspector, clock } = newInspector(t, { historyIntervalMillis: 600_000, historyRetentionMillis: 1_800_000 });
    const tracker = inspector.registerPool(new FakePoolAdapter({ max: 200 }), { name: 'p' });
    const timedCheckout = (waitMillis: number): Lease => {
      const lease = connect(tracker);
      clock.advance(waitMillis);
      tracker.checkoutSucceeded(lease, {}, null, false, 'idle');
      return lease;
    };
    // Interval 1: 100 waits of 10 ms, held 50 ms each. Interval 2: 99 waits of 1 ms and one of 1000 ms, nothing released.
    const first = Array.from({ length: 100 }, () => timedCheckout(10));
    clock.advance(50);
    for (const lease of first) release(tracker, lease);
    tracker.sampleHistory();
    for (let i = 0; i < 99; i++) timedCheckout(1);
    timedCheckout(1000);
    tracker.sampleHistory();
    clock.advance(1000);
    tracker.sampleHistory();

    const [one, two, three] = inspector.history('p');
    const near = (actual: number | null | undefined, expected: number, label: string) => {
      assert.ok(typeof actual === 'number' && Math.abs(actual - expected) <= expected * 0.1, `${label}: ${actual} is not within 10% of ${expected}`);
    };
    near(one?.waitP50Millis, 10, 'interval 1 wait p50');
    near(one?.waitP99Millis, 10, 'interval 1 wait p99');
    // The holds ran from each checkout to the release: 50 ms for the last one, up to 1040 ms for the first.
    assert.ok((one?.holdP50Millis ?? 0) > 50, `interval 1 hold p50 ${one?.holdP50Millis}`);
    near(two?.waitP50Millis, 1, 'interval 2 wait p50 (the first interval is not counted again)');
    near(two?.waitP99Millis, 1, 'interval 2 wait p99 (99 of 100 waited 1 ms)');
    assert.equal(two?.holdP95Millis, null, 'nothing was released in interval 2');
    assert.equal(three?.waitP95Millis, null, 'nothing happened in interval 3');
  });

  test('history keeps only the retention window, and sinceMillis limits it', (t) => {
    const { inspector, clock } = newInspector(t, { historyIntervalMillis: 600_000, historyRetentionMillis: 1_800_000 });
    const tracker = inspector.registerPool(new FakePoolAdapter(), { name: 'p' });
    for (let i = 0; i < 5; i++) {
      checkout(tracker);
      tracker.sampleHistory();
      clock.advance(1000);
    }
    const points = inspector.history('p');
    assert.equal(points.length, 3, 'retention / interval = 3 samples');
    assert.deepEqual(
      points.map((p) => p.used),
      [3, 4, 5],
    );
    // Now = last sample + 1000: the last 1500 ms hold one sample, the last 2500 ms two.
    assert.equal(inspector.history('p', { sinceMillis: 1500 }).length, 1);
    assert.equal(inspector.history('p', { sinceMillis: 2500 }).length, 2);
  });
});

describe('snapshotAll()', () => {
  test('multiPoolOwners lists an owner holding leases on two pools', (t) => {
    const { inspector } = newInspector(t);
    const a = inspector.registerPool(new FakePoolAdapter(), { name: 'a' });
    const b = inspector.registerPool(new FakePoolAdapter(), { name: 'b' });
    const [onA1, onA2, onB] = inspector.runAs({ label: 'GET /transfer', kind: 'request' }, () => [checkout(a), checkout(a), checkout(b)]);
    inspector.runAs('job only-a', () => checkout(a));
    checkout(b); // no owner
    const snap = inspector.snapshotAll();
    assert.equal(snap.pools.length, 2);
    assert.deepEqual(
      snap.pools.map((p) => [p.poolName, p.holders.length]),
      [
        ['a', 3],
        ['b', 2],
      ],
    );
    assert.equal(snap.multiPoolOwners.length, 1);
    const entry = snap.multiPoolOwners[0];
    assert.equal(entry?.owner.label, 'GET /transfer');
    assert.equal(entry?.owner.kind, 'request');
    assert.deepEqual(entry?.leases, { a: [onA1?.id, onA2?.id], b: [onB?.id] });
    assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap);
  });

  test('no multi-pool owners when each owner stays on one pool', (t) => {
    const { inspector } = newInspector(t);
    const a = inspector.registerPool(new FakePoolAdapter(), { name: 'a' });
    const b = inspector.registerPool(new FakePoolAdapter(), { name: 'b' });
    inspector.runAs('x', () => checkout(a));
    inspector.runAs('y', () => checkout(b));
    assert.deepEqual(inspector.snapshotAll().multiPoolOwners, []);
  });
});

describe('runAs()', () => {
  test('sync: returns the value, sets the current owner inside, ends the owner on return', (t) => {
    const { inspector } = newInspector(t);
    const tracker = inspector.registerPool(new FakePoolAdapter(), { name: 'p' });
    assert.equal(inspector.currentOwner(), undefined);
    const result = inspector.runAs({ label: 'job sync', kind: 'job' }, () => {
      assert.equal(inspector.currentOwner()?.label, 'job sync');
      assert.equal(inspector.currentOwner()?.ended, false);
      checkout(tracker);
      return 42;
    });
    assert.equal(result, 42);
    assert.equal(inspector.currentOwner(), undefined);
    assert.equal(tracker.snapshot().holders[0]?.owner?.ended, true);
  });

  test('a thenable that is not a promise (a query builder) is awaited once: its work runs once', async (t) => {
    const { inspector } = newInspector(t);
    let runs = 0;
    // Like a Knex builder or a Drizzle query: each then() runs the query again.
    const builder = {
      then<R>(onFulfilled: (value: string) => R, onRejected?: (error: unknown) => R): Promise<R> {
        runs += 1;
        return Promise.resolve(`row ${runs}`).then(onFulfilled, onRejected);
      },
    };
    const result = await inspector.runAs('job lazy', () => builder);
    assert.equal(result, 'row 1');
    assert.equal(runs, 1, 'the query ran once, not once for runAs and once for the caller');
    const failing = { then: (_: unknown, onRejected: (error: unknown) => unknown) => Promise.reject(new Error('boom')).then(undefined, onRejected) };
    await assert.rejects(Promise.resolve(inspector.runAs('job failing', () => failing as PromiseLike<never>)), /boom/);
  });

  test('nested: the inner owner is current inside it', (t) => {
    const { inspector } = newInspector(t);
    inspector.runAs('outer', () => {
      inspector.runAs('inner', () => assert.equal(inspector.currentOwner()?.label, 'inner'));
      assert.equal(inspector.currentOwner()?.label, 'outer');
    });
  });

  test('async: the owner lasts through awaits and ends when the promise settles', async (t) => {
    const { inspector } = newInspector(t);
    const tracker = inspector.registerPool(new FakePoolAdapter(), { name: 'p' });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const promise = inspector.runAs('job async', async () => {
      await Promise.resolve();
      checkout(tracker);
      await gate;
      assert.equal(inspector.currentOwner()?.label, 'job async', 'still the owner after an await');
      return 'done';
    });
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(tracker.snapshot().holders[0]?.owner?.ended, false, 'not ended while the promise is pending');
    open();
    assert.equal(await promise, 'done');
    assert.equal(tracker.snapshot().holders[0]?.owner?.ended, true);
  });

  test('a throwing function: the same error propagates and the owner ends', (t) => {
    const { inspector } = newInspector(t);
    const tracker = inspector.registerPool(new FakePoolAdapter(), { name: 'p' });
    const boom = new TypeError('boom');
    assert.throws(
      () =>
        inspector.runAs('job throws', () => {
          checkout(tracker);
          throw boom;
        }),
      (error: unknown) => error === boom,
    );
    assert.equal(tracker.snapshot().holders[0]?.owner?.ended, true);
    assert.equal(inspector.currentOwner(), undefined);
  });

  test('a rejecting async function: the same error rejects and the owner ends', async (t) => {
    const { inspector } = newInspector(t);
    const tracker = inspector.registerPool(new FakePoolAdapter(), { name: 'p' });
    const boom = new RangeError('async boom');
    await assert.rejects(
      inspector.runAs('job rejects', async () => {
        checkout(tracker);
        await Promise.resolve();
        throw boom;
      }),
      (error: unknown) => error === boom,
    );
    assert.equal(tracker.snapshot().holders[0]?.owner?.ended, true);
  });

  test('an owner that ends holding a lease is reported after the grace period; a released one is not', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { inspector } = newInspector(t, { defaults: { ownerEndGraceMillis: 50 } });
    const tracker = inspector.registerPool(new FakePoolAdapter(), { name: 'p' });
    const reported: string[] = [];
    inspector.on('owner-ended-holding', (event) => {
      reported.push(`${event.owner.label}#${event.lease.id}`);
    });
    const kept = inspector.runAs('job forgets', () => checkout(tracker));
    inspector.runAs('job releases', () => {
      release(tracker, checkout(tracker));
    });
    const late = inspector.runAs('job releases late', () => checkout(tracker));
    release(tracker, late); // within the grace period
    t.mock.timers.tick(49);
    assert.deepEqual(reported, [], 'nothing during the grace period');
    t.mock.timers.tick(1);
    assert.deepEqual(reported, [`job forgets#${kept.id}`]);
    assert.equal(tracker.stats().counters.ownerEndedHolding, 1);
  });
});

test('on() refuses an unknown event type with a coded error naming it', () => {
  const inspector = new Inspector({ historyIntervalMillis: 0 });
  try {
    assert.throws(
      () => inspector.on('leak-suspectd' as never, () => undefined),
      (error: unknown) =>
        (error as { code?: string }).code === 'POOLSCOPE_ERR_OPTIONS_INVALID' && /leak-suspectd/.test((error as Error).message),
    );
  } finally {
    inspector.close();
  }
});
