import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { EvictionCandidate, EvictionRequest } from '../../src/tenants/eviction-policy.js';
import { isBusy, planEviction } from '../../src/tenants/eviction-policy.js';

function pool(tenantId: string, lastUsedAt: number, inUse = 0, pending = 0, max = 2): EvictionCandidate {
  return { tenantId, lastUsedAt, inUse, pending, max };
}

function request(overrides: Partial<EvictionRequest>): EvictionRequest {
  return {
    openPools: 0,
    maxPools: 10,
    reservedConnections: 0,
    closingConnections: 0,
    connectionBudget: 100,
    needConnections: 2,
    ...overrides,
  };
}

describe('planEviction', () => {
  test('evicts nothing when the new pool fits', () => {
    assert.deepEqual(planEviction([pool('a', 1)], request({ openPools: 1, reservedConnections: 2 })), {
      ok: true,
      evict: [],
      reason: null,
    });
  });

  test('at the pool limit, evicts the least recently used idle pool', () => {
    const candidates = [pool('b', 20), pool('a', 10), pool('c', 30)];
    const plan = planEviction(candidates, request({ openPools: 3, maxPools: 3, reservedConnections: 6 }));
    assert.deepEqual(plan, { ok: true, evict: ['a'], reason: 'pool-limit' });
  });

  test('never evicts a pool with a lease out or a caller waiting', () => {
    const candidates = [pool('a', 10, 1), pool('b', 20, 0, 1), pool('c', 30)];
    const plan = planEviction(candidates, request({ openPools: 3, maxPools: 3, reservedConnections: 6 }));
    assert.deepEqual(plan, { ok: true, evict: ['c'], reason: 'pool-limit' });
  });

  test('fails with pool-limit when every pool is busy', () => {
    const candidates = [pool('a', 10, 1), pool('b', 20, 2)];
    assert.deepEqual(planEviction(candidates, request({ openPools: 2, maxPools: 2, reservedConnections: 4 })), {
      ok: false,
      failure: 'pool-limit',
    });
  });

  test('over budget, evicts as many LRU idle pools as the budget needs', () => {
    const candidates = [pool('a', 10, 0, 0, 2), pool('b', 20, 0, 0, 2), pool('c', 30, 0, 0, 2)];
    const plan = planEviction(candidates, request({ openPools: 3, reservedConnections: 6, connectionBudget: 6, needConnections: 4 }));
    assert.deepEqual(plan, { ok: true, evict: ['a', 'b'], reason: 'connection-budget' });
  });

  test('fails with connection-budget when busy pools hold the budget', () => {
    const candidates = [pool('a', 10, 1), pool('b', 20, 1)];
    assert.deepEqual(planEviction(candidates, request({ openPools: 2, reservedConnections: 4, connectionBudget: 4 })), {
      ok: false,
      failure: 'connection-budget',
    });
  });

  test('counts closing pools as freed (the caller waits for them)', () => {
    const plan = planEviction([], request({ openPools: 0, reservedConnections: 4, closingConnections: 4, connectionBudget: 4 }));
    assert.deepEqual(plan, { ok: true, evict: [], reason: null });
  });

  test('a pool larger than the whole budget never fits', () => {
    assert.deepEqual(planEviction([], request({ needConnections: 5, connectionBudget: 4 })), { ok: false, failure: 'connection-budget' });
  });

  test('does not evict when eviction cannot make room anyway', () => {
    // one idle pool, but the busy ones alone exceed the budget
    const candidates = [pool('idle', 1, 0, 0, 2), pool('busy', 2, 3, 0, 6)];
    const plan = planEviction(candidates, request({ openPools: 2, reservedConnections: 8, connectionBudget: 8, needConnections: 4 }));
    assert.deepEqual(plan, { ok: false, failure: 'connection-budget' });
  });

  test('ties on last use are broken by tenant id, for a stable order', () => {
    const plan = planEviction([pool('b', 5), pool('a', 5)], request({ openPools: 2, maxPools: 2, reservedConnections: 4 }));
    assert.deepEqual(plan, { ok: true, evict: ['a'], reason: 'pool-limit' });
  });

  test('isBusy', () => {
    assert.equal(isBusy(pool('a', 1)), false);
    assert.equal(isBusy(pool('a', 1, 1)), true);
    assert.equal(isBusy(pool('a', 1, 0, 1)), true);
  });
});
