import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lease } from '../../src/core/lease.js';
import { LeaseList } from '../../src/core/lease-list.js';

const lease = (id: number) => new Lease(id, 'p', undefined, undefined, id);
const ids = (list: LeaseList) => list.toArray().map((l) => l.id);

test('LeaseList keeps insertion order through removals at the head, middle and tail', () => {
  const list = new LeaseList();
  const leases = [1, 2, 3, 4, 5].map(lease);
  for (const l of leases) list.add(l);
  assert.deepEqual(ids(list), [1, 2, 3, 4, 5]);
  assert.equal(list.remove(leases[2] as Lease), true);
  assert.equal(list.remove(leases[0] as Lease), true);
  assert.equal(list.remove(leases[4] as Lease), true);
  assert.deepEqual(ids(list), [2, 4]);
  assert.equal(list.size, 2);
  assert.equal(list.remove(leases[0] as Lease), false, 'a lease not in the list is left alone');
  list.add(leases[0] as Lease);
  assert.deepEqual(ids(list), [2, 4, 1]);
  assert.equal(list.find((l) => l.id === 4)?.id, 4);
  assert.equal(list.find((l) => l.id === 9), undefined);
});

test('a lease is in one list at a time; iteration survives removing the current lease', () => {
  const waiting = new LeaseList();
  const held = new LeaseList();
  const a = lease(1);
  const b = lease(2);
  waiting.add(a);
  waiting.add(b);
  held.add(a); // still listed in waiting: refused, nothing corrupted
  assert.equal(held.size, 0);
  waiting.remove(a);
  held.add(a);
  assert.deepEqual([ids(waiting), ids(held)], [[2], [1]]);
  for (const l of waiting) waiting.remove(l);
  assert.equal(waiting.size, 0);
  assert.deepEqual([...held].map((l) => l.id), [1]);
});
