import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { pidJoin, sessionScope } from '../../src/server/pid-join.js';
import { buildReport, type ServerActivityReport, type ServerSessionSnapshot } from '../../src/server/activity-inspector.js';
import type { InspectorSnapshot, PoolConfigSnapshot, PoolSnapshot } from '../../src/core/pool-snapshot.js';
import type { PoolStats } from '../../src/core/pool-stats.js';
import type { LeaseSnapshot } from '../../src/core/lease.js';

function lease(over: Partial<LeaseSnapshot>): LeaseSnapshot {
  return {
    id: 1, poolName: 'main', state: 'held', owner: null, requestedAt: '', acquiredAt: '', waitMillis: 0, heldMillis: 10,
    location: 'src/app.ts:10:5', locationStatus: 'found', stack: [], backendPid: 100, query: null, queriesRun: 1, queriesInFlight: 0,
    transaction: { status: 'idle', depth: 0 }, leakSuspected: false, connectionError: null, ...over,
  };
}

function pool(poolName: string, config: PoolConfigSnapshot, holders: LeaseSnapshot[]): PoolSnapshot {
  return {
    id: 1, poolName, takenAt: '2026-01-01T00:00:00.000Z', reason: 'manual', stats: {} as PoolStats, config, holders, waiters: [],
  };
}

function session(over: Partial<ServerSessionSnapshot>): ServerSessionSnapshot {
  return {
    pid: 100, applicationName: 'api', user: 'app', database: 'shop', clientAddress: '127.0.0.1', state: 'idle', query: 'SELECT 1', queryTags: null,
    backendStart: null, transactionStart: null, queryStart: null, stateChange: null, transactionAgeMillis: null,
    stateAgeMillis: 5, queryAgeMillis: 5, waitEventType: null, waitEvent: null, blockedBy: [], lockWaitMillis: null, ...over,
  };
}

function report(sessions: ServerSessionSnapshot[]): ServerActivityReport {
  return {
    takenAt: '2026-01-01T00:00:00.100Z', version: '15.4', versionNumber: 150004, maxConnections: 100, reservedConnections: 3,
    usedConnections: sessions.length + 1, headroom: 96 - sessions.length, hiddenBackends: 0, inspectorPid: 1,
    filters: { applicationName: null, database: null, user: null }, groups: [], idleInTransaction: [], waitingOnLocks: [],
    oldestTransaction: null, sessions,
  };
}

const API: PoolConfigSnapshot = { application_name: 'api', database: 'shop', user: 'app', max: 10 };

describe('pidJoin', () => {
  test('each held lease gets the server session with its pid; a lease without pid or not in the report says so', () => {
    const snapshot = pool('main', API, [
      lease({ id: 1, backendPid: 100, transaction: { status: 'in-transaction', depth: 1 } }),
      lease({ id: 2, backendPid: null }),
      lease({ id: 3, backendPid: 300 }),
    ]);
    const server = report([
      session({ pid: 100, state: 'idle in transaction', transactionAgeMillis: 1200 }),
      session({ pid: 200, applicationName: 'worker' }),
    ]);
    const joined = pidJoin(snapshot, server);
    assert.equal(joined.appTakenAt, snapshot.takenAt);
    assert.equal(joined.serverTakenAt, server.takenAt);
    const [one, two, three] = joined.pools[0]?.leases ?? [];
    assert.equal(one?.match, 'found');
    assert.equal(one?.server?.state, 'idle in transaction');
    assert.equal(one?.server?.transactionAgeMillis, 1200);
    assert.equal(one?.lease.transaction.status, 'in-transaction');
    assert.equal(two?.match, 'no-pid');
    assert.equal(two?.server, null);
    assert.equal(three?.match, 'not-in-report');
    assert.equal(three?.backendPid, 300);
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(joined)));
  });

  test('blockers are named by the lease holding them (any pool) and by their server session', () => {
    const snapshot: InspectorSnapshot = {
      takenAt: '2026-01-01T00:00:00.000Z',
      multiPoolOwners: [],
      pools: [
        pool('main', API, [lease({ id: 1, backendPid: 100 })]),
        pool('jobs', { ...API, application_name: 'jobs' }, [
          lease({ id: 7, poolName: 'jobs', backendPid: 700, location: 'src/jobs.ts:3:1', owner: { id: 1, label: 'job x', kind: 'job', startedAt: '', ended: false } }),
        ]),
      ],
    };
    const server = report([
      session({ pid: 100, state: 'active', waitEventType: 'Lock', waitEvent: 'transactionid', blockedBy: [700, 999], lockWaitMillis: 40 }),
      session({ pid: 700, applicationName: 'jobs', state: 'idle in transaction' }),
    ]);
    const view = pidJoin(snapshot, server).pools[0]?.leases[0];
    assert.deepEqual(
      view?.blockedBy.map((b) => ({ pid: b.pid, heldBy: b.heldBy, state: b.session?.state ?? null })),
      [
        { pid: 700, heldBy: { poolName: 'jobs', leaseId: 7, location: 'src/jobs.ts:3:1', owner: 'job x' }, state: 'idle in transaction' },
        { pid: 999, heldBy: null, state: null },
      ],
    );
  });

  test('unheld sessions: in the pool scope and held by no lease of any pool', () => {
    const snapshot: InspectorSnapshot = {
      takenAt: '2026-01-01T00:00:00.000Z',
      multiPoolOwners: [],
      pools: [
        pool('main', API, [lease({ id: 1, backendPid: 100 })]),
        // Same settings, another pool: its lease's session is held, not "unheld" for main.
        pool('main-2', API, [lease({ id: 2, poolName: 'main-2', backendPid: 101 })]),
      ],
    };
    const server = report([
      session({ pid: 100 }),
      session({ pid: 101 }),
      session({ pid: 102 }), // idle in a pool, or opened outside poolscope
      session({ pid: 103, applicationName: 'psql' }),
      session({ pid: 104, database: 'other' }),
      session({ pid: 105, user: 'admin' }),
    ]);
    const joined = pidJoin(snapshot, server);
    assert.deepEqual(joined.pools[0]?.unheldSessions.map((s) => s.pid), [102]);
    assert.deepEqual(joined.pools[1]?.unheldSessions.map((s) => s.pid), [102]);
    // A scope override: null lifts a field, a string replaces it.
    const wide = pidJoin(snapshot, server, { scope: { applicationName: null }, poolScopes: { 'main-2': { user: 'admin' } } });
    assert.deepEqual(wide.pools[0]?.unheldSessions.map((s) => s.pid), [102, 103]);
    assert.deepEqual(wide.pools[0]?.scope, { applicationName: null, database: 'shop', user: 'app' });
    assert.deepEqual(wide.pools[1]?.unheldSessions.map((s) => s.pid), [105]);
  });

  test('a pool whose scope is unknown lists no unheld sessions (rather than every session of the server)', () => {
    const joined = pidJoin(pool('main', { max: 5 }, []), report([session({ pid: 1 }), session({ pid: 2 })]));
    assert.deepEqual(joined.pools[0]?.scope, { applicationName: null, database: null, user: null });
    assert.deepEqual(joined.pools[0]?.unheldSessions, []);
  });
});

describe('sessionScope', () => {
  test('from the masked connection string (which wins in pg) or the config fields', () => {
    assert.deepEqual(
      sessionScope({ connectionString: 'postgres://app%40corp:***@db:5432/shop?application_name=api&sslmode=require', database: 'ignored' }),
      { applicationName: 'api', database: 'shop', user: 'app@corp' },
    );
    assert.deepEqual(sessionScope({ connectionString: 'postgres://db/', user: 'u', application_name: 'a' }), {
      applicationName: 'a',
      database: null,
      user: 'u',
    });
    assert.deepEqual(sessionScope({ connectionString: '***' }), { applicationName: null, database: null, user: null });
  });
});

describe('buildReport', () => {
  const row = {
    taken_at: '2026-01-01T12:00:00.123456+02:00',
    version: '16.2',
    version_number: 160002,
    max_connections: 100,
    superuser_reserved_connections: 3,
    reserved_connections: 2,
    used_connections: 6,
    hidden_backends: 0,
    own_pid: 1,
    sessions: [
      { pid: 10, application_name: 'api', usename: 'app', datname: 'shop', state: 'idle in transaction', query: 'SELECT 1', xact_start: '2026-01-01T11:59:00+02:00', transaction_age_ms: 60000, state_age_ms: 50000, blocked_by: [] },
      { pid: 11, application_name: 'api', usename: 'app', datname: 'shop', state: 'active', query: 'UPDATE t', xact_start: '2026-01-01T11:59:30+02:00', transaction_age_ms: 30000, wait_event_type: 'Lock', wait_event: 'transactionid', blocked_by: [10], lock_wait_ms: 29000 },
      { pid: 12, application_name: 'api', usename: 'app', datname: 'shop', state: 'idle', query: 'SELECT 2', blocked_by: [] },
      { pid: 13, application_name: 'api', usename: 'app', datname: 'shop', state: 'idle', query: 'SELECT 3', blocked_by: [] },
      { pid: 14, application_name: '', usename: 'app', datname: 'shop', state: 'idle in transaction (aborted)', query: 'SELECT 1/0', xact_start: '2026-01-01T11:59:50+02:00', transaction_age_ms: 10000, blocked_by: [] },
    ],
  };
  const filters = { applicationName: null, database: 'shop', user: null };

  test('numbers, derived lists and ISO times', () => {
    const r = buildReport(row, filters);
    assert.equal(r.takenAt, '2026-01-01T10:00:00.123Z');
    assert.equal(r.reservedConnections, 5);
    assert.equal(r.headroom, 100 - 5 - 6);
    assert.deepEqual(r.idleInTransaction.map((e) => [e.pid, e.state]), [[10, 'idle in transaction'], [14, 'idle in transaction (aborted)']]);
    assert.deepEqual(r.waitingOnLocks.map((w) => [w.pid, w.blockedBy, w.waitingMillis]), [[11, [10], 29000]]);
    assert.deepEqual(r.oldestTransaction && [r.oldestTransaction.pid, r.oldestTransaction.transactionAgeMillis], [10, 60000]);
    assert.deepEqual(r.groups[0], { applicationName: 'api', user: 'app', database: 'shop', state: 'idle', count: 2 });
    assert.equal(r.groups.length, 4);
    assert.equal(r.sessions[0]?.transactionStart, '2026-01-01T09:59:00.000Z');
    assert.equal(r.sessions[2]?.transactionAgeMillis, null);
  });

  test('an answer without the expected fields is refused', () => {
    assert.throws(() => buildReport(undefined, filters), /no row/);
    assert.throws(() => buildReport({ ...row, max_connections: null }, filters), /max_connections/);
    assert.throws(() => buildReport({ ...row, sessions: 5 }, filters), /sessions/);
  });
});
