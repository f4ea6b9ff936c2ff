/**
 * TenantPools lifecycle on a real PostgreSQL: create, reuse, per-tenant and full cleanup (checked against
 * pg_stat_activity), idempotent cleanup, isolation between instances, stats and inspector tracking, events.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { isTenantError, TenantTestKit } from '../support/tenant-test-kit.js';
import { eventually } from '../support/pg-test-kit.js';
import { Inspector } from '../../src/core/inspector.js';
import type { TenantPoolEvent } from '../../src/tenants/tenant-pool-events.js';
import { TENANT_EVENT_CHANNELS } from '../../src/tenants/tenant-pool-events.js';

// ---- harness (each tenant-pools file has its own prefix, so the files can run in parallel) ----------------------

const kit = new TenantTestKit('tenant_lifecycle', 'lc', { perTenantMax: 2, connectionBudget: 12, maxTenantPools: 6 });
const PREFIX = kit.prefix;
const tenantPools = kit.tenantPools.bind(kit);
const tenantSessions = kit.tenantSessions.bind(kit);
const tenantDatabases = kit.tenantDatabases.bind(kit);
const inspectors: Inspector[] = [];


function inspector(): Inspector {
  const created = new Inspector({ historyIntervalMillis: 0, alerts: false });
  inspectors.push(created);
  return created;
}





before(async () => {
  await kit.setup();
});

after(async () => {
  await kit.teardown();
  for (const created of inspectors.splice(0)) created.close();
});

// ---- tests ----------------------------------------------------------------------------------------------------

describe('TenantPools lifecycle', () => {
  test('creates a tenant database and a pool connected to it', async () => {
    const tenants = tenantPools();
    const opened: TenantPoolEvent[] = [];
    tenants.on('tenant-opened', (event) => opened.push(event));
    const first = await tenants.ensureDatabase('create_a');
    assert.deepEqual(first, { tenantId: 'create_a', database: `${PREFIX}create_a`, changed: true });
    const again = await tenants.ensureDatabase('create_a');
    assert.equal(again.changed, false);

    const pool = await tenants.get('create_a');
    const { rows } = await pool.query<{ db: string }>('SELECT current_database() AS db');
    assert.equal(rows[0]?.db, `${PREFIX}create_a`);
    assert.equal(pool.options.max, 2);
    assert.deepEqual(
      opened.map((event) => event.type === 'tenant-opened' && [event.tenantId, event.poolName, event.database, event.max]),
      [['create_a', 'tenant:create_a', `${PREFIX}create_a`, 2]],
    );
    await tenants.close();
  });

  test('reuses the same pool for the same tenant, also under concurrent first calls', async () => {
    const tenants = tenantPools();
    await tenants.ensureDatabase('reuse_a');
    const pools = await Promise.all(Array.from({ length: 10 }, () => tenants.get('reuse_a')));
    assert.ok(pools.every((pool) => pool === pools[0]));
    assert.equal(await tenants.get('reuse_a'), pools[0]);
    assert.equal(tenants.stats().counters.opened, 1);
    assert.deepEqual(tenants.openTenants(), ['reuse_a']);
    await tenants.close();
  });

  test('closeTenant ends the pool, its sessions and its tracking; the next get opens a new pool', async () => {
    const tenants = tenantPools();
    await tenants.ensureDatabase('cleanup_a');
    const closedEvents: TenantPoolEvent[] = [];
    tenants.on('tenant-closed', (event) => closedEvents.push(event));
    const pool = await tenants.get('cleanup_a');
    await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 2')]);
    assert.ok(tenants.inspector.pool('tenant:cleanup_a') !== undefined);

    await tenants.closeTenant('cleanup_a');
    assert.equal(pool.ended, true);
    assert.equal(pool.totalCount, 0);
    assert.equal(tenants.inspector.pool('tenant:cleanup_a'), undefined);
    assert.deepEqual(tenants.openTenants(), []);
    assert.equal(tenants.stats().budgetUsed, 0);
    assert.deepEqual(
      closedEvents.map((event) => event.type === 'tenant-closed' && [event.tenantId, event.reason]),
      [['cleanup_a', 'close-tenant']],
    );
    await eventually(async () => (await tenantSessions()) === 0, 'no sessions left for the closed tenant');

    const reopened = await tenants.get('cleanup_a');
    assert.notEqual(reopened, pool);
    assert.equal((await reopened.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n, 1);
    await tenants.close();
  });

  test('close() ends every pool: no sessions left on the tenant databases, later calls reject', async () => {
    const tenants = tenantPools();
    const ids = ['full_a', 'full_b', 'full_c'];
    for (const id of ids) await tenants.ensureDatabase(id);
    await Promise.all(ids.map((id) => tenants.query(id, 'SELECT pg_sleep(0.01)')));
    await tenants.withClient('full_a', async (client) => {
      await client.query('SELECT 1');
    });
    assert.ok((await tenantSessions()) >= 3);
    const pools = await Promise.all(ids.map((id) => tenants.get(id)));

    await tenants.close();
    assert.equal(tenants.closed, true);
    for (const pool of pools) assert.equal(pool.ended, true);
    assert.equal(tenants.system.ended, true);
    assert.equal(tenants.stats().openPools, 0);
    assert.equal(tenants.stats().budgetUsed, 0);
    await eventually(async () => (await tenantSessions()) === 0, 'no sessions left on the tenant databases');

    await assert.rejects(tenants.get('full_a'), isTenantError('POOLSCOPE_ERR_TENANT_POOLS_CLOSED'));
    await assert.rejects(tenants.query('full_a', 'SELECT 1'), isTenantError('POOLSCOPE_ERR_TENANT_POOLS_CLOSED'));
    await assert.rejects(tenants.ensureDatabase('full_d'), isTenantError('POOLSCOPE_ERR_TENANT_POOLS_CLOSED'));
    await assert.rejects(tenants.dropDatabase('full_a'), isTenantError('POOLSCOPE_ERR_TENANT_POOLS_CLOSED'));
  });

  test('cleanup is idempotent: closeTenant twice, of an unknown tenant, close() twice and concurrently', async () => {
    const tenants = tenantPools();
    await tenants.ensureDatabase('idem_a');
    await tenants.get('idem_a');
    await Promise.all([tenants.closeTenant('idem_a'), tenants.closeTenant('idem_a')]);
    await tenants.closeTenant('idem_a');
    await tenants.closeTenant('never_opened');
    const closing = [tenants.close(), tenants.close()];
    assert.equal(closing[0], closing[1]);
    await Promise.all(closing);
    await tenants.close();
    await tenants.closeTenant('idem_a');
    assert.equal(tenants.stats().counters.closed, 1);
  });

  test('two TenantPools instances are isolated: separate pools, closing one leaves the other working', async () => {
    const one = tenantPools({ inspector: inspector() });
    const two = tenantPools({ inspector: inspector() });
    await one.ensureDatabase('iso_shared');
    const poolOne = await one.get('iso_shared');
    const poolTwo = await two.get('iso_shared');
    assert.notEqual(poolOne, poolTwo);
    await one.close();
    assert.equal(poolOne.ended, true);
    assert.equal(poolTwo.ended, false);
    assert.equal((await two.query<{ n: number }>('iso_shared', 'SELECT 41 + 1 AS n')).rows[0]?.n, 42);
    assert.deepEqual(two.openTenants(), ['iso_shared']);
    await two.close();
  });

  test('two instances can share one inspector with different pool names', async () => {
    const shared = inspector();
    const one = tenantPools({ inspector: shared });
    const two = tenantPools({ inspector: shared, poolNamePrefix: 'other:', systemPoolName: 'other-system' });
    await one.ensureDatabase('share_a');
    await one.get('share_a');
    await two.get('share_a');
    assert.deepEqual(shared.poolNames().sort(), ['other-system', 'other:share_a', 'system', 'tenant:share_a']);
    await one.close();
    assert.deepEqual(shared.poolNames().sort(), ['other-system', 'other:share_a']);
    await two.close();
    assert.deepEqual(shared.poolNames(), []);
    assert.equal(shared.closed, false, 'an inspector given in the options is not closed by TenantPools');
  });

  test('stats and the inspector track every tenant pool', async () => {
    const shared = inspector();
    const tenants = tenantPools({ inspector: shared });
    await tenants.ensureDatabase('stats_a');
    await tenants.ensureDatabase('stats_b');
    await tenants.query('stats_a', 'SELECT 1');
    await tenants.query('stats_a', 'SELECT 2');
    await tenants.query('stats_b', 'SELECT 1');
    assert.deepEqual(shared.poolNames().sort(), ['system', 'tenant:stats_a', 'tenant:stats_b']);
    const trackerStats = shared.stats('tenant:stats_a');
    assert.ok(trackerStats.counters.acquires >= 3, 'the verification connect and both queries are checkouts');
    assert.equal(trackerStats.max, 2);

    let inside: ReturnType<typeof tenants.stats> | undefined;
    await tenants.withClient('stats_b', async (client) => {
      await client.query('SELECT 1');
      inside = tenants.stats();
    });
    assert.ok(inside !== undefined);
    assert.equal(inside.openPools, 2);
    assert.equal(inside.usedConnections, 1);
    assert.equal(inside.budgetUsed, 4);
    assert.equal(inside.budgetLeft, 8);
    assert.equal(inside.connectionBudget, 12);
    const b = inside.tenants.find((tenant) => tenant.tenantId === 'stats_b');
    assert.ok(b !== undefined);
    assert.equal(b.used, 1);
    assert.equal(b.max, 2);
    assert.equal(b.state, 'open');
    assert.equal(b.database, `${PREFIX}stats_b`);
    assert.equal(b.poolName, 'tenant:stats_b');
    assert.ok(!Number.isNaN(Date.parse(b.lastUsedAt)));

    const after = tenants.stats();
    assert.equal(after.usedConnections, 0);
    assert.deepEqual(after.tenants.map((tenant) => tenant.tenantId), ['stats_a', 'stats_b']);
    assert.ok(after.totalConnections >= 2 && after.totalConnections <= 4);
    assert.equal(after.system.poolName, 'system');
    assert.ok(after.system.total >= 1, 'the system pool ran CREATE DATABASE');
    assert.equal(after.counters.opened, 2);
    await tenants.close();
    assert.deepEqual(shared.poolNames(), []);
  });

  test('events go to on() listeners and diagnostics channels; a throwing listener is contained', async () => {
    const errors: unknown[] = [];
    const tenants = tenantPools({ onError: (error) => errors.push(error) });
    const seen: string[] = [];
    const fromChannel: unknown[] = [];
    const onChannel = (message: unknown): void => {
      if ((message as { tenantId?: string }).tenantId === 'events_a') fromChannel.push(message);
    };
    diagnosticsChannel.subscribe(TENANT_EVENT_CHANNELS['tenant-opened'], onChannel);
    try {
      tenants.on('tenant-opened', () => {
        throw new Error('listener bug');
      });
      const off = tenants.on('tenant-database-created', (event) => seen.push(`${event.type}:${event.tenantId}`));
      tenants.on('tenant-closed', (event) => seen.push(`${event.type}:${event.tenantId}:${event.reason}`));
      await tenants.ensureDatabase('events_a');
      off();
      await tenants.ensureDatabase('events_b');
      const pool = await tenants.get('events_a');
      assert.equal((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n, 1);
      await tenants.dropDatabase('events_a');
      await tenants.dropDatabase('events_b');
    } finally {
      diagnosticsChannel.unsubscribe(TENANT_EVENT_CHANNELS['tenant-opened'], onChannel);
    }
    assert.deepEqual(seen, ['tenant-database-created:events_a', 'tenant-closed:events_a:dropped']);
    assert.equal(fromChannel.length, 1);
    assert.equal(errors.length, 1);
    assert.match(String((errors[0] as Error).message), /listener bug/);
    assert.throws(() => tenants.on('nope' as 'tenant-opened', () => undefined), /Invalid option type/);
    await tenants.close();
  });

  test('dropDatabase closes the pool first and removes the database', async () => {
    const tenants = tenantPools();
    await tenants.ensureDatabase('drop_a');
    const pool = await tenants.get('drop_a');
    await pool.query('SELECT 1');
    const result = await tenants.dropDatabase('drop_a');
    assert.deepEqual(result, { tenantId: 'drop_a', database: `${PREFIX}drop_a`, changed: true });
    assert.equal(pool.ended, true);
    assert.ok(!(await tenantDatabases()).includes(`${PREFIX}drop_a`));
    assert.equal((await tenants.dropDatabase('drop_a')).changed, false);
    await tenants.close();
  });
});
