import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IsoFormatter } from '../../src/core/monotonic-clock.js';

test('IsoFormatter writes what Date#toISOString writes, across seconds, fractions and years', () => {
  const formatter = new IsoFormatter();
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const values = [0, 0.4, 999.999, 1000, 1_764_000_000_000, 1_764_000_000_999.7, 253_402_300_799_999, 253_402_300_800_000, 1e15];
  let t = 1_764_000_000_000;
  for (let i = 0; i < 5000; i++) {
    t += random() * 400; // mostly the same second, sometimes the next
    values.push(t);
  }
  for (let i = 0; i < 500; i++) values.push(random() * 4e12);
  for (const value of values) assert.equal(formatter.format(value), new Date(value).toISOString(), `at ${value}`);
});
