/**
 * TenantPools limits on a real PostgreSQL: LRU eviction, busy pools never evicted, the global connection budget
 * never exceeded (checked in the app and in pg_stat_activity), idle pools closed by the sweep, per-tenant max,
 * acquire timeouts, and no connection leaks on errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { isTenantError, TenantTestKit } from '../support/tenant-test-kit.js';
import { eventually } from '../support/pg-test-kit.js';
import { TenantCapacityWatch } from '../support/tenant-capacity-watch.js';
import { TenantPoolError } from '../../src/errors.js';
import { TenantPools } from '../../src/tenants/tenant-pools.js';
import type { TenantPoolEvent } from '../../src/tenants/tenant-pool-events.js';

// ---- harness (each tenant-pools file has its own prefix, so the files can run in parallel) ----------------------

const kit = new TenantTestKit('tenant_limits', 'lm', { perTenantMax: 2, connectionBudget: 20, maxTenantPools: 10, connectionTimeoutMillis: 10_000 });
const PREFIX = kit.prefix;
const tenantPools = kit.tenantPools.bind(kit);
const tenantSessions = kit.tenantSessions.bind(kit);
const sessionsOf = kit.sessionsOf.bind(kit);
/** Gates of leases held by tests, opened in after() so a failed assertion cannot leave close() waiting on them. */
const heldGates: (() => void)[] = [];






before(async () => {
  await kit.setup();
});

after(async () => {
  for (const release of heldGates.splice(0)) release();
  await kit.teardown();
});

// ---- tests ----------------------------------------------------------------------------------------------------

/** A lease held until `release()` is called: `withClient` whose callback waits. */
function holdLease(tenants: TenantPools<pg.Pool>, tenantId: string): { held: Promise<void>; done: Promise<void>; release: () => void } {
  let release!: () => void;
  let signalHeld!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  heldGates.push(release);
  const held = new Promise<void>((resolve) => {
    signalHeld = resolve;
  });
  const done = tenants.withClient(tenantId, async (client) => {
    await client.query('SELECT 1');
    signalHeld();
    await gate;
  });
  return { held, done, release };
}

const ALL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

describe('TenantPools limits', () => {
  before(async () => {
    const setup = tenantPools({ systemPoolMax: 2 });
    await Promise.all(ALL.map((id) => setup.ensureDatabase(id)));
    await setup.close();
  });

  test('at maxTenantPools, the least recently used idle pool is evicted (with an event)', async () => {
    const tenants = tenantPools({ maxTenantPools: 2, perTenantMax: 1 });
    const events: TenantPoolEvent[] = [];
    tenants.on('tenant-evicted', (event) => events.push(event));
    tenants.on('tenant-closed', (event) => events.push(event));
    const poolA = await tenants.get('a');
    const poolB = await tenants.get('b');
    await tenants.query('a', 'SELECT 1'); // a is now more recently used than b
    await tenants.get('c');
    assert.deepEqual(tenants.openTenants().sort(), ['a', 'c']);
    assert.equal(poolB.ended, true);
    assert.equal(poolA.ended, false);
    assert.deepEqual(
      events.map((event) =>
        event.type === 'tenant-evicted' ? [event.type, event.tenantId, event.reason, event.forTenantId] : [event.type, event.tenantId],
      ),
      [
        ['tenant-evicted', 'b', 'pool-limit', 'c'],
        ['tenant-closed', 'b'],
      ],
    );
    assert.equal(tenants.stats().counters.evictions, 1);
    assert.equal(await sessionsOf(`${PREFIX}b`), 0, 'the evicted pool was ended before the new one opened');
    await tenants.close();
  });

  test('a pool evicted for the budget has ended (connections gone) before the new pool opens', async () => {
    // A pool whose end() is slow makes the order observable: the new pool must wait for it.
    class SlowEndPool extends pg.Pool {
      override async end(): Promise<void> {
        // Kept sleep: what is tested is that nothing opens meanwhile, and "b did not open yet" has no event to wait for.
        await new Promise((resolve) => setTimeout(resolve, 300));
        return super.end();
      }
    }
    const tenants = tenantPools({ Pool: SlowEndPool, maxTenantPools: 10, perTenantMax: 2, connectionBudget: 2 });
    const order: string[] = [];
    tenants.on('tenant-opened', (event) => order.push(`opened ${event.tenantId}`));
    tenants.on('tenant-evicted', (event) => order.push(`evicted ${event.tenantId} ${event.reason}`));
    tenants.on('tenant-closed', (event) => order.push(`closed ${event.tenantId}`));
    const poolA = await tenants.get('a');
    await poolA.query('SELECT 1');
    await tenants.query('b', 'SELECT 1');
    assert.deepEqual(order, ['opened a', 'evicted a connection-budget', 'closed a', 'opened b']);
    assert.equal(poolA.totalCount, 0);
    assert.equal(tenants.stats().budgetUsed, 2);
    await tenants.close();
  });

  test('busy pools are never evicted: LIMIT_REACHED while every pool has a lease out', async () => {
    const tenants = tenantPools({ maxTenantPools: 2, perTenantMax: 1 });
    const a = holdLease(tenants, 'a');
    const b = holdLease(tenants, 'b');
    await Promise.all([a.held, b.held]);
    await assert.rejects(tenants.get('c'), (error: unknown) => {
      isTenantError('POOLSCOPE_ERR_TENANT_LIMIT_REACHED')(error);
      assert.match((error as Error).message, /2 of maxTenantPools 2/);
      assert.equal((error as TenantPoolError).tenantId, 'c');
      return true;
    });
    assert.deepEqual(tenants.openTenants().sort(), ['a', 'b']);
    assert.equal(tenants.stats().counters.limitRejections, 1);
    b.release();
    await b.done;
    const c = await tenants.get('c');
    assert.equal((await c.query<{ n: number }>('SELECT 3 AS n')).rows[0]?.n, 3);
    assert.deepEqual(tenants.openTenants().sort(), ['a', 'c'], 'b (idle now) made room, a (busy) stayed');
    a.release();
    await a.done;
    await tenants.close();
  });

  test('busy pools holding the budget: BUDGET_EXHAUSTED', async () => {
    const tenants = tenantPools({ maxTenantPools: 10, perTenantMax: 2, connectionBudget: 4 });
    const a = holdLease(tenants, 'a');
    const b = holdLease(tenants, 'b');
    await Promise.all([a.held, b.held]);
    await assert.rejects(tenants.query('c', 'SELECT 1'), (error: unknown) => {
      isTenantError('POOLSCOPE_ERR_TENANT_BUDGET_EXHAUSTED')(error);
      assert.match((error as Error).message, /4 of connectionBudget 4/);
      return true;
    });
    a.release();
    await a.done;
    await tenants.query('c', 'SELECT 1');
    const stats = tenants.stats();
    assert.deepEqual(tenants.openTenants().sort(), ['b', 'c']);
    assert.equal(stats.budgetUsed, 4);
    assert.equal(stats.counters.budgetRejections, 1);
    assert.equal(stats.counters.evictions, 1);
    b.release();
    await b.done;
    await tenants.close();
  });

  test('the global budget is never exceeded, in the app or on the server, under a concurrent run', async () => {
    const budget = 6;
    const tenants = tenantPools({ maxTenantPools: 8, perTenantMax: 2, connectionBudget: budget });
    let appPeak = 0;
    let reservedPeak = 0;
    let serverPeak = 0;
    let running = true;
    const appSampler = setInterval(() => {
      const stats = tenants.stats();
      appPeak = Math.max(appPeak, stats.totalConnections);
      reservedPeak = Math.max(reservedPeak, stats.budgetUsed);
    }, 1);
    const serverSampler = (async () => {
      while (running) {
        serverPeak = Math.max(serverPeak, await tenantSessions()); // back to back: each sample is a round trip
      }
    })();
    const counter = { refusals: 0 };
    let served = 0;
    const watch = new TenantCapacityWatch(tenants);
    try {
      await Promise.all(
        Array.from({ length: 12 }, async (_, worker) => {
          for (let i = 0; i < 25; i += 1) {
            const id = ALL[(worker * 7 + i * 3) % ALL.length] as string;
            // A refused query is retried once capacity frees, so every one is served: all eight tenants get a pool.
            await watch.retryWhileBusy(() => tenants.query(id, 'SELECT pg_sleep(0.002)'), counter);
            served += 1;
          }
        }),
      );
    } finally {
      running = false;
      clearInterval(appSampler);
      await serverSampler;
    }
    const stats = tenants.stats();
    assert.equal(served, 300);
    assert.ok(stats.counters.evictions > 0, 'eight tenants through a budget of three pools needs evictions');
    assert.ok(reservedPeak <= budget, `reserved peaked at ${reservedPeak}`);
    assert.ok(appPeak <= budget, `tenant pools held ${appPeak} connections`);
    assert.ok(serverPeak <= budget, `the server saw ${serverPeak} tenant sessions`);
    await tenants.close();
  });

  test('idle tenant pools are closed after idleTenantTimeoutMillis; a pool with a lease out is kept', async () => {
    const tenants = tenantPools({ idleTenantTimeoutMillis: 150, perTenantMax: 1 });
    const evicted: TenantPoolEvent[] = [];
    const closed: TenantPoolEvent[] = [];
    tenants.on('tenant-evicted', (event) => evicted.push(event));
    tenants.on('tenant-closed', (event) => closed.push(event));
    const busy = holdLease(tenants, 'a');
    await busy.held;
    await tenants.query('b', 'SELECT 1');
    await eventually(() => !tenants.openTenants().includes('b'), 'the idle pool of b is closed');
    await eventually(() => closed.length === 1, 'the closed event of b');
    assert.deepEqual(tenants.openTenants(), ['a'], 'a has a lease out, so it stays open');
    assert.deepEqual(
      evicted.map((event) => event.type === 'tenant-evicted' && [event.tenantId, event.reason, event.forTenantId]),
      [['b', 'idle-timeout', null]],
    );
    assert.deepEqual(closed.map((event) => event.type === 'tenant-closed' && [event.tenantId, event.reason]), [['b', 'idle-timeout']]);
    assert.equal(tenants.stats().counters.idleClosed, 1);
    await eventually(async () => (await sessionsOf(`${PREFIX}b`)) === 0, 'no sessions left for b');
    busy.release();
    await busy.done;
    await eventually(() => tenants.openTenants().length === 0, 'a is closed once idle');
    // A closed tenant reopens on demand.
    assert.equal((await tenants.query<{ n: number }>('b', 'SELECT 2 AS n')).rows[0]?.n, 2);
    await tenants.close();
  });

  test('each tenant pool respects perTenantMax', async () => {
    const tenants = tenantPools({ perTenantMax: 2 });
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        await tenants.withClient('d', async (client) => {
          peak = Math.max(peak, await sessionsOf(`${PREFIX}d`));
          await client.query('SELECT pg_sleep(0.005)');
        });
      }),
    );
    assert.ok(peak <= 2, `the server saw ${peak} sessions`);
    assert.equal((await tenants.get('d')).options.max, 2);
    assert.ok(tenants.inspector.stats('tenant:d').total <= 2);
    await tenants.close();
  });

  test("a caller waiting past connectionTimeoutMillis gets pg's timeout error; the pool stays usable", async () => {
    const tenants = tenantPools({ perTenantMax: 1, connectionTimeoutMillis: 200 });
    const lease = holdLease(tenants, 'e');
    await lease.held;
    await assert.rejects(tenants.query('e', 'SELECT 1'), /timeout exceeded when trying to connect/);
    lease.release();
    await lease.done;
    assert.equal((await tenants.query<{ n: number }>('e', 'SELECT 5 AS n')).rows[0]?.n, 5);
    assert.equal(tenants.stats().counters.broken, 0);
    await tenants.close();
  });

  test('no connection leaks on errors', async () => {
    const tenants = tenantPools({ perTenantMax: 2, connectionBudget: 6 });
    await assert.rejects(tenants.query('f', 'SELEC nonsense'), { code: '42601' });
    await assert.rejects(tenants.query('f', 'SELECT 1 / 0'), { code: '22012' });
    await assert.rejects(
      tenants.withClient('f', async (client) => {
        await client.query('BEGIN');
        await client.query('SELECT 1');
        throw new Error('application failure inside a transaction');
      }),
      /application failure/,
    );
    await assert.rejects(
      tenants.withClient('g', async (client) => client.query('SELECT * FROM no_such_table')),
      { code: '42P01' },
    );
    await assert.rejects(tenants.get('missing'), isTenantError('POOLSCOPE_ERR_TENANT_CONNECT_FAILED'));
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => tenants.query('f', i % 2 === 0 ? 'SELECT 1' : 'SELECT boom').catch(() => undefined)),
    );
    const stats = tenants.stats();
    assert.equal(stats.usedConnections, 0);
    assert.equal(stats.pendingRequests, 0);
    assert.deepEqual(tenants.openTenants().sort(), ['f', 'g']);
    assert.equal(stats.budgetUsed, 4, 'the failed pool of "missing" gave its share back');
    assert.equal(tenants.inspector.stats('tenant:f').used, 0);
    assert.equal(tenants.inspector.pool('tenant:missing'), undefined);
    for (const tenant of stats.tenants) assert.ok(tenant.total <= 2);
    await tenants.close();
    await eventually(async () => (await tenantSessions()) === 0, 'no tenant sessions after close()');
  });
});
