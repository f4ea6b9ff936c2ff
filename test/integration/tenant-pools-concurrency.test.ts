/**
 * TenantPools under concurrency on a real PostgreSQL: many tenants created at once, many users of one tenant,
 * concurrent first gets (one pool), concurrent reads and writes across tenants, create/destroy cycles.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TenantTestKit } from '../support/tenant-test-kit.js';
import { eventually } from '../support/pg-test-kit.js';
import { TenantCapacityWatch } from '../support/tenant-capacity-watch.js';

// ---- harness (each tenant-pools file has its own prefix, so the files can run in parallel) ----------------------

const kit = new TenantTestKit('tenant_concurrency', 'cc', { perTenantMax: 2, connectionBudget: 20, maxTenantPools: 10, connectionTimeoutMillis: 20_000 });
const PREFIX = kit.prefix;
const tenantPools = kit.tenantPools.bind(kit);
const tenantSessions = kit.tenantSessions.bind(kit);
const sessionsOf = kit.sessionsOf.bind(kit);
const tenantDatabases = kit.tenantDatabases.bind(kit);






before(async () => {
  await kit.setup();
});

after(async () => {
  await kit.teardown();
});

// ---- tests ----------------------------------------------------------------------------------------------------

describe('TenantPools under concurrency', () => {
  test('50 tenants created concurrently (ensureDatabase + get + query), within the budget', async () => {
    const tenants = tenantPools({ perTenantMax: 1, maxTenantPools: 30, connectionBudget: 30, systemPoolMax: 3 });
    const ids = Array.from({ length: 50 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    const counter = { refusals: 0 };
    const watch = new TenantCapacityWatch(tenants);
    let maxBudgetUsed = 0;
    let maxConnections = 0;
    const sampler = setInterval(() => {
      const stats = tenants.stats();
      maxBudgetUsed = Math.max(maxBudgetUsed, stats.budgetUsed);
      maxConnections = Math.max(maxConnections, stats.totalConnections);
    }, 2);
    let results: string[];
    try {
      results = await Promise.all(
        ids.map(async (id) => {
          const created = await tenants.ensureDatabase(id);
          assert.equal(created.changed, true);
          const { rows } = await watch.retryWhileBusy(() => tenants.query<{ db: string }>(id, 'SELECT current_database() AS db'), counter);
          return rows[0]?.db ?? '';
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    assert.deepEqual(results, ids.map((id) => `${PREFIX}${id}`));
    assert.equal((await tenantDatabases()).length, 50);
    const stats = tenants.stats();
    assert.ok(stats.openPools <= 30);
    assert.ok(maxBudgetUsed <= 30, `budget used peaked at ${maxBudgetUsed}`);
    assert.ok(maxConnections <= 30, `connections peaked at ${maxConnections}`);
    assert.equal(stats.counters.opened - stats.counters.closed, stats.openPools);
    assert.ok(stats.counters.evictions >= 20, 'at least 20 pools were evicted to open all 50 with a limit of 30');
    assert.equal(stats.counters.limitRejections + stats.counters.budgetRejections, counter.refusals);
    await tenants.close();
    await eventually(async () => (await tenantSessions()) === 0, 'no tenant sessions after close()');
    await kit.dropTenantDatabases();
  });

  test('200 concurrent users of one tenant all succeed and never exceed the pool max', async () => {
    const tenants = tenantPools({ perTenantMax: 3 });
    await tenants.ensureDatabase('hot');
    const database = `${PREFIX}hot`;
    let serverPeak = 0;
    let poolPeak = 0;
    let sampling = true;
    const serverSampler = (async () => {
      while (sampling) {
        serverPeak = Math.max(serverPeak, await sessionsOf(database)); // back to back: each sample is a round trip
      }
    })();
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const { rows } = await tenants.query<{ n: number }>('hot', 'SELECT $1::int AS n, pg_sleep(0.002)', [i]);
        poolPeak = Math.max(poolPeak, (await tenants.get('hot')).totalCount);
        return rows[0]?.n;
      }),
    );
    sampling = false;
    await serverSampler;
    assert.deepEqual(results, Array.from({ length: 200 }, (_, i) => i));
    assert.ok(poolPeak <= 3, `pool peaked at ${poolPeak} connections`);
    assert.ok(serverPeak <= 3, `server saw ${serverPeak} sessions`);
    const tracker = tenants.inspector.stats('tenant:hot');
    assert.ok(tracker.counters.acquires >= 201);
    assert.equal(tracker.used, 0);
    assert.equal(tenants.stats().counters.opened, 1);
    await tenants.close();
  });

  test('concurrent first get of one tenant creates exactly one pool', async () => {
    const tenants = tenantPools();
    await tenants.ensureDatabase('single');
    let opened = 0;
    tenants.on('tenant-opened', () => {
      opened += 1;
    });
    const pools = await Promise.all(Array.from({ length: 25 }, () => tenants.get('single')));
    assert.equal(new Set(pools).size, 1);
    assert.equal(opened, 1);
    assert.equal(tenants.stats().counters.opened, 1);
    assert.deepEqual(
      tenants.inspector.poolNames().filter((name) => name.startsWith('tenant:')),
      ['tenant:single'],
    );
    await tenants.close();
  });

  test('concurrent reads and writes across tenants stay in their own databases', async () => {
    const tenants = tenantPools({ perTenantMax: 2, maxTenantPools: 5, connectionBudget: 10 });
    const ids = ['rw_a', 'rw_b', 'rw_c', 'rw_d', 'rw_e'];
    await Promise.all(ids.map((id) => tenants.ensureDatabase(id)));
    await Promise.all(ids.map((id) => tenants.query(id, 'CREATE TABLE items (tenant text NOT NULL, n int NOT NULL)')));
    await Promise.all(
      ids.flatMap((id, index) =>
        Array.from({ length: 10 * (index + 1) }, (_, n) =>
          n % 3 === 0
            ? tenants.withClient(id, async (client) => {
                await client.query('BEGIN');
                await client.query('INSERT INTO items VALUES ($1, $2)', [id, n]);
                await client.query('SELECT count(*) FROM items');
                await client.query('COMMIT');
              })
            : tenants.query(id, 'INSERT INTO items VALUES ($1, $2)', [id, n]),
        ),
      ),
    );
    for (const [index, id] of ids.entries()) {
      const { rows } = await tenants.query<{ n: string; tenants: string[] }>(
        id,
        'SELECT count(*) AS n, array_agg(DISTINCT tenant) AS tenants FROM items',
      );
      assert.equal(Number(rows[0]?.n), 10 * (index + 1));
      assert.deepEqual(rows[0]?.tenants, [id]);
    }
    await tenants.close();
  });

  test('concurrent cleanup of different tenants while others keep working', async () => {
    const tenants = tenantPools();
    const ids = ['cl_a', 'cl_b', 'cl_c', 'cl_d'];
    await Promise.all(ids.map((id) => tenants.ensureDatabase(id)));
    await Promise.all(ids.map((id) => tenants.query(id, 'SELECT 1')));
    const work = Promise.all(Array.from({ length: 20 }, () => tenants.query('cl_d', 'SELECT pg_sleep(0.005)')));
    await Promise.all([tenants.closeTenant('cl_a'), tenants.closeTenant('cl_b'), tenants.closeTenant('cl_c'), tenants.closeTenant('cl_a')]);
    await work;
    assert.deepEqual(tenants.openTenants(), ['cl_d']);
    for (const id of ['cl_a', 'cl_b', 'cl_c']) assert.equal(await sessionsOf(`${PREFIX}${id}`), 0);
    await tenants.close();
  });

  test('rapid create/destroy cycles leave no pools, sessions or databases behind', async () => {
    const tenants = tenantPools({ perTenantMax: 1 });
    const ids = ['cy_a', 'cy_b', 'cy_c'];
    for (let cycle = 0; cycle < 4; cycle += 1) {
      await Promise.all(
        ids.map(async (id) => {
          await tenants.ensureDatabase(id);
          const { rows } = await tenants.query<{ c: number }>(id, 'SELECT $1::int AS c', [cycle]);
          assert.equal(rows[0]?.c, cycle);
          const dropped = await tenants.dropDatabase(id);
          assert.equal(dropped.changed, true);
        }),
      );
    }
    const stats = tenants.stats();
    assert.equal(stats.openPools + stats.openingPools + stats.closingPools, 0);
    assert.equal(stats.budgetUsed, 0);
    assert.equal(stats.counters.opened, 12);
    assert.equal(stats.counters.closed, 12);
    assert.deepEqual(tenants.inspector.poolNames(), ['system']);
    const left = (await tenantDatabases()).filter((name) => ids.some((id) => name === `${PREFIX}${id}`));
    assert.deepEqual(left, []);
    for (const id of ids) assert.equal(await sessionsOf(`${PREFIX}${id}`), 0);
    await tenants.close();
  });
});
