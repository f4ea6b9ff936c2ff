import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Lease } from '../../src/core/lease.js';
import { DEFAULT_LEAK_THRESHOLD_MILLIS, findNewLeaks, leakSweepIntervalMillis } from '../../src/core/leak-detector.js';
import { FakeClock } from '../support/fake-clock.js';

let nextId = 1;

/** A lease checked out at the clock's current time. */
function heldLease(clock: FakeClock): Lease {
  const lease = new Lease(nextId++, 'p', undefined, undefined, clock.now());
  lease.state = 'held';
  lease.acquiredAt = clock.now();
  return lease;
}

describe('findNewLeaks', () => {
  test('the default threshold is 30 s', () => {
    assert.equal(DEFAULT_LEAK_THRESHOLD_MILLIS, 30_000);
  });

  test('nothing below the threshold', () => {
    const clock = new FakeClock();
    const lease = heldLease(clock);
    clock.advance(999);
    assert.deepEqual(findNewLeaks([lease], clock.now(), 1000), []);
  });

  test('a lease is reported at exactly the threshold and after it', () => {
    const clock = new FakeClock();
    const lease = heldLease(clock);
    clock.advance(1000);
    assert.deepEqual(findNewLeaks([lease], clock.now(), 1000), [lease]);
    clock.advance(5000);
    assert.deepEqual(findNewLeaks([lease], clock.now(), 1000), [lease], 'findNewLeaks itself does not mark leases');
  });

  test('several leaks are returned oldest first, whatever the input order', () => {
    const clock = new FakeClock();
    const oldest = heldLease(clock);
    clock.advance(100);
    const middle = heldLease(clock);
    clock.advance(100);
    const newest = heldLease(clock);
    clock.advance(100);
    const tooYoung = heldLease(clock);
    clock.advance(1000); // newest held 1100, tooYoung held 1000 -> both over a 1000 threshold
    assert.deepEqual(findNewLeaks([newest, tooYoung, oldest, middle], clock.now(), 1000), [oldest, middle, newest, tooYoung]);
    assert.deepEqual(findNewLeaks([newest, tooYoung, oldest, middle], clock.now(), 1050), [oldest, middle, newest]);
  });

  test('leases already reported are skipped', () => {
    const clock = new FakeClock();
    const reported = heldLease(clock);
    const fresh = heldLease(clock);
    reported.leakReported = true;
    clock.advance(2000);
    assert.deepEqual(findNewLeaks([reported, fresh], clock.now(), 1000), [fresh]);
  });

  test('waiting and released leases are skipped', () => {
    const clock = new FakeClock();
    const waiting = new Lease(nextId++, 'p', undefined, undefined, clock.now()); // acquiredAt 0, state waiting
    const released = heldLease(clock);
    released.state = 'released';
    released.releasedAt = clock.now();
    const held = heldLease(clock);
    clock.advance(5000);
    assert.deepEqual(findNewLeaks([waiting, released, held], clock.now(), 1000), [held]);
  });

  test('threshold 0 (or below) disables detection', () => {
    const clock = new FakeClock();
    const lease = heldLease(clock);
    clock.advance(1_000_000);
    assert.deepEqual(findNewLeaks([lease], clock.now(), 0), []);
    assert.deepEqual(findNewLeaks([lease], clock.now(), -1), []);
  });

  test('accepts any iterable (e.g. a Map of held leases)', () => {
    const clock = new FakeClock();
    const lease = heldLease(clock);
    const map = new Map<object, Lease>([[{}, lease]]);
    clock.advance(1000);
    assert.deepEqual(findNewLeaks(map.values(), clock.now(), 1000), [lease]);
  });
});

describe('leakSweepIntervalMillis', () => {
  test('is a quarter of the threshold between the bounds', () => {
    assert.equal(leakSweepIntervalMillis(1000), 250);
    assert.equal(leakSweepIntervalMillis(2000), 500);
    assert.equal(leakSweepIntervalMillis(401), 100);
  });

  test('never below 25 ms', () => {
    assert.equal(leakSweepIntervalMillis(100), 25);
    assert.equal(leakSweepIntervalMillis(40), 25);
    assert.equal(leakSweepIntervalMillis(1), 25);
  });

  test('never above 1 s', () => {
    assert.equal(leakSweepIntervalMillis(4000), 1000);
    assert.equal(leakSweepIntervalMillis(DEFAULT_LEAK_THRESHOLD_MILLIS), 1000);
    assert.equal(leakSweepIntervalMillis(86_400_000), 1000);
  });
});
