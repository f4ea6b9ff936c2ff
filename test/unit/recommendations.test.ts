import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatRecommendation,
  recommend,
  type PoolRecommendationInput,
  type Recommendation,
} from '../../src/core/recommendations.js';
import type { PoolHistoryPoint } from '../../src/core/pool-history.js';
import type { LeaseSnapshot } from '../../src/core/lease.js';
import { poolStatsFixture } from '../support/pool-stats-fixture.js';

const stats = poolStatsFixture;

function point(over: Partial<PoolHistoryPoint>): PoolHistoryPoint {
  const used = over.used ?? 0;
  const max = over.max ?? 10;
  return {
    timestamp: '2026-01-01T00:00:00.000Z', total: used, idle: 0, used, pending: 0, max,
    utilizationPercent: Math.round((used / max) * 100), acquires: 0, timeouts: 0,
    waitP50Millis: null, waitP95Millis: null, waitP99Millis: null, holdP50Millis: null, holdP95Millis: null, holdP99Millis: null,
    ...over,
  };
}

function holder(over: Partial<LeaseSnapshot>): LeaseSnapshot {
  return {
    id: 1, poolName: 'main', state: 'held', owner: null, requestedAt: '', acquiredAt: '', waitMillis: 0, heldMillis: 10,
    location: 'src/app.ts:10:5', locationStatus: 'found', stack: [], backendPid: 1, query: null, queriesRun: 1, queriesInFlight: 0,
    transaction: { status: 'idle', depth: 0 }, leakSuspected: false, connectionError: null, ...over,
  };
}

function only(found: Recommendation[], id: Recommendation['id']): Recommendation {
  const matching = found.filter((r) => r.id === id);
  assert.equal(matching.length, 1, `expected one ${id}, got ${found.map((r) => r.id).join(', ') || 'none'}`);
  return matching[0] as Recommendation;
}

const quiet: PoolRecommendationInput = {
  stats: stats({ used: 2, total: 5, idle: 3 }),
  history: Array.from({ length: 10 }, () => point({ used: 2, total: 5, idle: 3 })),
  holders: [holder({ heldMillis: 5 })],
};

describe('recommend', () => {
  test('a healthy pool gets no recommendation', () => {
    assert.deepEqual(recommend({ pools: [quiet] }), []);
  });

  test('raise-max: utilization stays high and callers wait; a concrete new max', () => {
    const history = [
      ...Array.from({ length: 6 }, () => point({ used: 10, total: 10 })),
      ...Array.from({ length: 2 }, () => point({ used: 10, total: 10, pending: 3 })),
      ...Array.from({ length: 2 }, () => point({ used: 4, total: 10, idle: 6 })),
    ];
    const r = only(recommend({ pools: [{ stats: stats({ used: 9, total: 10 }), history }] }), 'raise-max');
    assert.equal(r.severity, 'warning');
    assert.deepEqual(r.change, { option: 'max', from: 10, to: 15 });
    assert.match(r.evidence[0] ?? '', /8 of 10 samples \(80%\)/);
    assert.match(r.evidence[1] ?? '', /callers waited in 2 of 10 samples/);
    // High but nobody ever waited: no advice to grow.
    const noWait = history.map((p) => ({ ...p, pending: 0 }));
    assert.equal(recommend({ pools: [{ stats: stats({ used: 9 }), history: noWait }] }).length, 0);
    // Timeouts make it critical.
    const timedOut = only(recommend({ pools: [{ stats: stats({ used: 10, counters: { timeouts: 4 } }), history }] }), 'raise-max');
    assert.equal(timedOut.severity, 'critical');
  });

  test('raise-max is not given for an expectFull pool', () => {
    const history = Array.from({ length: 5 }, () => point({ used: 10, total: 10, pending: 1 }));
    assert.equal(recommend({ pools: [{ stats: stats({ used: 10, pending: 1, expectFull: true }), history }] }).filter((r) => r.id === 'raise-max').length, 0);
  });

  test('investigate-long-holders names the file:line holding most long checkouts, and the running query', () => {
    const holders = [
      holder({ id: 1, heldMillis: 5000, location: 'src/report.ts:42:9', query: { text: 'SELECT pg_sleep(5)', runningMillis: 4990 } }),
      holder({ id: 2, heldMillis: 3000, location: 'src/report.ts:42:9', query: { text: 'SELECT pg_sleep(5)', runningMillis: 2990 } }),
      holder({ id: 3, heldMillis: 9000, location: 'src/leaky.ts:7:3', query: { text: 'SELECT 1', runningMillis: null } }),
      holder({ id: 4, heldMillis: 20, location: 'src/fast.ts:1:1' }),
    ];
    const r = only(recommend({ pools: [{ stats: stats({ used: 4 }), holders }] }), 'investigate-long-holders');
    assert.match(r.title, /^3 connection\(s\) of pool 'main' held longer than 1000 ms, most from src\/report\.ts:42:9$/);
    assert.match(r.evidence[0] ?? '', /2 connection\(s\) held up to 5\.0 s, acquired at src\/report\.ts:42:9 \(running "SELECT pg_sleep\(5\)" for 5\.0 s\)/);
    assert.match(r.evidence[1] ?? '', /src\/leaky\.ts:7:3 \(no query running\)/);
    assert.match(r.fixes[1] ?? '', /1 of them run no query/);
    assert.equal(r.severity, 'warning');
  });

  test('fix-misuse lists each kind of misuse with its fix; leaks make it critical', () => {
    const r = only(recommend({ pools: [{ stats: stats({ counters: { leaksSuspected: 2, doubleReleases: 1 } }) }] }), 'fix-misuse');
    assert.equal(r.severity, 'critical');
    assert.match(r.title, /2 suspected leak\(s\), 1 double release\(s\)/);
    assert.equal(r.fixes.length, 2);
    const mild = only(recommend({ pools: [{ stats: stats({ counters: { releasesInFlight: 1 } }) }] }), 'fix-misuse');
    assert.equal(mild.severity, 'warning');
  });

  test('lower-min when idle connections dominate and use never reaches min', () => {
    const history = Array.from({ length: 20 }, (_, i) => point({ total: 10, idle: i % 2 === 0 ? 9 : 8, used: i % 2 === 0 ? 1 : 2 }));
    const r = only(recommend({ pools: [{ stats: stats({ min: 10, total: 10, idle: 9, used: 1 }), history }] }), 'lower-min');
    assert.deepEqual(r.change, { option: 'min', from: 10, to: 2 });
    assert.equal(r.severity, 'info');
    // Use reaching min: keep it.
    const busy = history.map((p) => ({ ...p, used: 10, idle: 0 }));
    assert.equal(recommend({ pools: [{ stats: stats({ min: 10 }), history: busy }] }).filter((x) => x.id === 'lower-min').length, 0);
  });

  test('server-connection-budget across instances', () => {
    const pools = [{ stats: stats({ poolName: 'main', max: 30 }) }, { stats: stats({ poolName: 'listen', max: 12 }) }];
    assert.equal(recommend({ pools, server: { maxConnections: 100, reservedConnections: 3, instances: 1 } }).length, 0);
    const warn = only(recommend({ pools, server: { maxConnections: 100, reservedConnections: 3, instances: 2 } }), 'server-connection-budget');
    assert.equal(warn.severity, 'warning');
    assert.equal(warn.poolName, null);
    assert.match(warn.evidence[0] ?? '', /main=30, listen=12 \(sum 42\) x 2 instance\(s\) = 84/);
    assert.match(warn.evidence[1] ?? '', /max_connections 100 minus 3 reserved = 97/);
    const over = only(recommend({ pools, server: { maxConnections: 100, reservedConnections: 3, instances: 3 } }), 'server-connection-budget');
    assert.equal(over.severity, 'critical');
    assert.match(over.title, /can open 126 connections but the server allows 97/);
  });

  test('split-pool when LISTEN connections take most of a pool while short work waits', () => {
    const holders = [
      ...Array.from({ length: 6 }, (_, i) => holder({ id: i, heldMillis: 60_000, location: 'src/outbox.ts:12:5', query: { text: 'LISTEN outbox', runningMillis: null } })),
      holder({ id: 9, heldMillis: 30, location: 'src/api.ts:3:3' }),
    ];
    const input = { stats: stats({ used: 7, max: 8, pending: 2 }), holders };
    const r = only(recommend({ pools: [input] }), 'split-pool');
    assert.match(r.title, /6 of pool 'main''s 8 connections are parked/);
    assert.match(r.evidence[2] ?? '', /src\/outbox\.ts:12:5/);
    assert.match(r.fixes[0] ?? '', /expectFull: true/);
    // Nobody waiting: no split advice.
    assert.equal(recommend({ pools: [{ ...input, stats: stats({ used: 7, max: 8 }) }] }).filter((x) => x.id === 'split-pool').length, 0);
  });

  test('ordered critical first; formatted with numbered fixes', () => {
    const found = recommend({
      pools: [
        { stats: stats({ poolName: 'a', counters: { releasesInFlight: 1 } }) },
        { stats: stats({ poolName: 'b', counters: { leaksSuspected: 1 } }) },
      ],
    });
    assert.deepEqual(found.map((r) => [r.poolName, r.severity]), [['b', 'critical'], ['a', 'warning']]);
    const text = formatRecommendation(found[0] as Recommendation);
    assert.match(text, /^\[CRITICAL\] Pool 'b' is misused: 1 suspected leak\(s\)\n {2}- 1 suspected leak\(s\) since tracking began/);
    assert.match(text, /\n {2}You can address this by:\n {4}1\. Release every checkout in a finally block/);
  });
});
