// What a cluster node remembers of the membership (src/cluster/cluster-membership.ts): departures of nodes seen
// earlier, reported departures absorbed, transient requesters ignored, and the bounds.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterMembership, MAX_REMEMBERED } from '../../src/cluster/cluster-membership.js';

function membership(forgetAfterMillis = 60_000): { memory: ClusterMembership; advance: (millis: number) => void } {
  let now = 1_000_000;
  return { memory: new ClusterMembership(forgetAfterMillis, () => now), advance: (millis) => void (now += millis) };
}

describe('ClusterMembership', () => {
  test('a node seen earlier and gone now has departed, noticed at the observation; back again, it has not', () => {
    const { memory, advance } = membership();
    memory.observe(['api-1', 'api-2', 'api-3']);
    assert.deepEqual(memory.departures(), []);
    advance(500);
    memory.observe(['api-1', 'api-3']);
    assert.deepEqual(memory.departures(), [{ node: 'api-2', leftAt: 1_000_500 }]);
    advance(500);
    memory.observe(['api-1', 'api-2', 'api-3']);
    assert.deepEqual(memory.departures(), []);
  });

  test('the CLI (cli-<pid>) is a transient requester: its leaving is no departure, nor is one reported', () => {
    const { memory } = membership();
    memory.observe(['api-1', 'cli-4242']);
    memory.observe(['api-1']);
    memory.absorb([{ node: 'cli-77', leftAt: 999_000 }], ['api-1']);
    assert.deepEqual(memory.departures(), []);
  });

  test("others' reports are absorbed: members now and stale or malformed entries skipped, the earliest time kept", () => {
    const { memory } = membership(60_000);
    memory.absorb(
      [
        { node: 'api-7', leftAt: 990_000 },
        { node: 'api-7', leftAt: 980_000 },
        { node: 'api-1', leftAt: 990_000 },
        { node: 'old', leftAt: 900_000 },
        { node: 'bad name', leftAt: 990_000 },
      ],
      ['api-1'],
    );
    assert.deepEqual(memory.departures(), [{ node: 'api-7', leftAt: 980_000 }]);
  });

  test('departures are forgotten after the configured time; the memory is bounded', () => {
    const { memory, advance } = membership(10_000);
    memory.observe(['a', 'b']);
    memory.observe(['a']);
    advance(9_999);
    assert.equal(memory.departures().length, 1);
    advance(1);
    assert.deepEqual(memory.departures(), []);

    const many = Array.from({ length: MAX_REMEMBERED + 50 }, (_, i) => `n-${i}`);
    memory.observe(many);
    memory.observe([]);
    assert.equal(memory.departures().length, MAX_REMEMBERED);
  });
});
