import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SATURATION_COOLDOWN_MILLIS,
  DEFAULT_SATURATION_PERCENT,
  RingBuffer,
  SaturationWatch,
} from '../../src/core/saturation-watch.js';

describe('SaturationWatch', () => {
  test('defaults: 80% and a 10 s cooldown', () => {
    assert.equal(DEFAULT_SATURATION_PERCENT, 80);
    assert.equal(DEFAULT_SATURATION_COOLDOWN_MILLIS, 10_000);
  });

  test('triggers at the percent, not below it', () => {
    const watch = new SaturationWatch(80, 10_000, false);
    assert.equal(watch.isSaturated(7, 10, 0), false);
    assert.equal(watch.isSaturated(79, 100, 0), false);
    assert.equal(watch.isSaturated(8, 10, 0), true);
    assert.equal(watch.shouldTrigger(0, 7, 10, 0), false);
    assert.equal(watch.shouldTrigger(0, 8, 10, 0), true);
  });

  test('any pending caller saturates, whatever the utilization', () => {
    const watch = new SaturationWatch(80, 10_000, false);
    assert.equal(watch.isSaturated(0, 10, 1), true);
    assert.equal(watch.shouldTrigger(0, 1, 10, 1), true);
  });

  test('max 0 saturates only with pending callers', () => {
    const watch = new SaturationWatch(80, 0, false);
    assert.equal(watch.isSaturated(0, 0, 0), false);
    assert.equal(watch.isSaturated(0, 0, 1), true);
  });

  test('expectFull pools trigger only when callers are pending', () => {
    const watch = new SaturationWatch(80, 10_000, true);
    assert.equal(watch.isSaturated(10, 10, 0), false);
    assert.equal(watch.shouldTrigger(0, 10, 10, 0), false);
    assert.equal(watch.shouldTrigger(1, 10, 10, 2), true);
  });

  test('respects the cooldown after a trigger', () => {
    const watch = new SaturationWatch(80, 10_000, false);
    assert.equal(watch.shouldTrigger(1000, 9, 10, 0), true);
    assert.equal(watch.shouldTrigger(1001, 9, 10, 0), false);
    assert.equal(watch.shouldTrigger(10_999, 10, 10, 5), false);
    assert.equal(watch.shouldTrigger(11_000, 9, 10, 0), true, 'the cooldown ends exactly cooldownMillis later');
    assert.equal(watch.shouldTrigger(11_001, 9, 10, 0), false);
  });

  test('a non-saturated check does not start the cooldown', () => {
    const watch = new SaturationWatch(80, 10_000, false);
    assert.equal(watch.shouldTrigger(0, 1, 10, 0), false);
    assert.equal(watch.shouldTrigger(1, 9, 10, 0), true);
  });

  test('cooldown 0 triggers on every saturated check', () => {
    const watch = new SaturationWatch(50, 0, false);
    assert.equal(watch.shouldTrigger(5, 5, 10, 0), true);
    assert.equal(watch.shouldTrigger(5, 5, 10, 0), true);
  });

  test('isSaturated ignores the cooldown', () => {
    const watch = new SaturationWatch(80, 10_000, false);
    assert.equal(watch.shouldTrigger(0, 9, 10, 0), true);
    assert.equal(watch.isSaturated(9, 10, 0), true);
  });
});

describe('RingBuffer', () => {
  test('keeps everything, in order, until full', () => {
    const ring = new RingBuffer<number>(3);
    assert.deepEqual(ring.toArray(), []);
    assert.equal(ring.size, 0);
    ring.push(1);
    ring.push(2);
    assert.deepEqual(ring.toArray(), [1, 2]);
    assert.equal(ring.size, 2);
  });

  test('keeps the newest N, oldest first', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 7; i++) ring.push(i);
    assert.deepEqual(ring.toArray(), [5, 6, 7]);
    assert.equal(ring.size, 3);
    ring.push(8);
    assert.deepEqual(ring.toArray(), [6, 7, 8]);
  });

  test('clear() empties it and it fills again from scratch', () => {
    const ring = new RingBuffer<string>(2);
    ring.push('a');
    ring.push('b');
    ring.push('c');
    ring.clear();
    assert.equal(ring.size, 0);
    assert.deepEqual(ring.toArray(), []);
    ring.push('d');
    assert.deepEqual(ring.toArray(), ['d']);
    ring.push('e');
    ring.push('f');
    assert.deepEqual(ring.toArray(), ['e', 'f']);
  });

  test('a capacity below 1 keeps one item', () => {
    const ring = new RingBuffer<number>(0);
    ring.push(1);
    ring.push(2);
    assert.deepEqual(ring.toArray(), [2]);
  });

  test('toArray returns a copy', () => {
    const ring = new RingBuffer<number>(2);
    ring.push(1);
    ring.toArray().push(99);
    assert.deepEqual(ring.toArray(), [1]);
  });
});
