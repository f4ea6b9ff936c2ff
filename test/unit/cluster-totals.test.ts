// Cluster totals (src/cluster/cluster-totals.ts): the arithmetic over nodes' snapshots and the server's limits.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterTotals } from '../../src/cluster/cluster-totals.js';
import type { InspectorSnapshot, PoolSnapshot } from '../../src/core/pool-snapshot.js';
import type { ServerLimits } from '../../src/postgres/server-limits.js';
import { serverLimitsOf } from '../../src/postgres/server-limits.js';
import { ServerViewError } from '../../src/errors.js';

function pool(poolName: string, used: number, idle: number, max: number, pending = 0): PoolSnapshot {
  return { poolName, stats: { used, idle, total: used + idle, pending, max } } as unknown as PoolSnapshot;
}
function snapshot(...pools: PoolSnapshot[]): InspectorSnapshot {
  return { takenAt: '2026-11-29T00:00:00.000Z', pools, multiPoolOwners: [] };
}
const LIMITS: ServerLimits = { serverVersionNumber: 160000, maxConnections: 100, superuserReservedConnections: 3, reservedConnections: 2, usedConnections: 40 };

describe('clusterTotals', () => {
  test('per pool name across nodes, per node and in all', () => {
    const totals = clusterTotals(
      [
        { node: 'api-1', snapshot: snapshot(pool('main', 3, 2, 10), pool('reports', 1, 0, 2, 4)) },
        { node: 'api-2', snapshot: snapshot(pool('main', 5, 0, 10)) },
        { node: 'worker', snapshot: snapshot() },
      ],
      LIMITS,
    );
    assert.deepEqual(
      totals.pools.map((p) => [p.poolName, p.nodes.map((n) => n.node), p.all]),
      [
        ['main', ['api-1', 'api-2'], { used: 8, idle: 2, total: 10, pending: 0, max: 20 }],
        ['reports', ['api-1'], { used: 1, idle: 0, total: 1, pending: 4, max: 2 }],
      ],
    );
    assert.deepEqual(totals.nodes, [
      { node: 'api-1', pools: 2, used: 4, idle: 2, total: 6, pending: 4, max: 12 },
      { node: 'api-2', pools: 1, used: 5, idle: 0, total: 5, pending: 0, max: 10 },
      { node: 'worker', pools: 0, used: 0, idle: 0, total: 0, pending: 0, max: 0 },
    ]);
    assert.deepEqual(totals.all, { used: 9, idle: 2, total: 11, pending: 4, max: 22 });
    // headroom 100 - 5 - 40 = 55; the pools may open (10-5) + (2-1) + (10-5) = 11 more.
    assert.deepEqual({ ...totals.server, summary: undefined }, {
      maxConnections: 100,
      reservedConnections: 5,
      usedConnections: 40,
      headroom: 55,
      poolsCanStillOpen: 11,
      fits: true,
      summary: undefined,
    });
    assert.match(totals.server?.summary ?? '', /may open 11 connections more and the server has 55 connections of headroom/);
  });

  test('does not fit: the summary says what fails and what to do', () => {
    const totals = clusterTotals([{ node: 'api-1', snapshot: snapshot(pool('main', 0, 0, 80)) }], { ...LIMITS, usedConnections: 90 });
    assert.equal(totals.server?.headroom, 5);
    assert.equal(totals.server?.poolsCanStillOpen, 80);
    assert.equal(totals.server?.fits, false);
    assert.match(totals.server?.summary ?? '', /too many clients already/);
    assert.match(totals.server?.summary ?? '', /PgBouncer/);
  });

  test('no answers and unknown limits: zeros and a null server', () => {
    const totals = clusterTotals([], null);
    assert.deepEqual(totals, { pools: [], nodes: [], all: { used: 0, idle: 0, total: 0, pending: 0, max: 0 }, server: null });
  });
});

describe('serverLimitsOf', () => {
  test('reads the row; reserved_connections and used_connections may be absent', () => {
    assert.deepEqual(serverLimitsOf({ server_version_num: 150004, max_connections: '100', superuser_reserved_connections: 3, reserved_connections: null }, 'test'), {
      serverVersionNumber: 150004,
      maxConnections: 100,
      superuserReservedConnections: 3,
      reservedConnections: 0,
      usedConnections: 0,
    });
  });
  test('a column that is not a whole number is a coded error naming it', () => {
    assert.throws(
      () => serverLimitsOf({ server_version_num: 150004, max_connections: 'lots', superuser_reserved_connections: 3 }, 'ClusterNode.snapshot'),
      (error: unknown) => error instanceof ServerViewError && error.code === 'POOLSCOPE_ERR_SERVER_UNEXPECTED_ANSWER' && /ClusterNode.snapshot got no integer max_connections/.test(error.message),
    );
  });
});
