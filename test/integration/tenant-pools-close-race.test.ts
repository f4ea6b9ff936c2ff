/**
 * Regression (found by the soak, bench/soak.ts): closing a tenant (`closeTenant`, and so `close()`) while a caller is
 * queued on its pool. pg-pool's `end()` never serves its queue: a caller queued before it (here: a query started in
 * the same tick, whose hand-over pg-pool schedules for the next tick) waited out connectionTimeoutMillis and failed
 * with "timeout exceeded when trying to connect". Callers already queued are now served before the pool ends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TenantTestKit } from '../support/tenant-test-kit.js';

const kit = new TenantTestKit('tenant_close_race', 'cr', { perTenantMax: 2, connectionTimeoutMillis: 3000 });

before(async () => {
  await kit.setup();
});

after(async () => {
  await kit.teardown();
});

test('closeTenant while a query is queued on the pool: the query is served, then the pool ends', async () => {
  const tenants = kit.tenantPools();
  await tenants.ensureDatabase('race_a');
  await tenants.query('race_a', 'SELECT 1'); // open, one idle connection
  const queued = tenants.query<{ n: number }>('race_a', 'SELECT 42 AS n'); // queued; handed over on the next tick
  const closing = tenants.closeTenant('race_a'); // ends the pool in this same tick
  const [result] = await Promise.all([queued, closing]);
  assert.equal(result.rows[0]?.n, 42);
  assert.deepEqual(tenants.openTenants(), []);
  // The tenant opens again on next use.
  assert.equal((await tenants.query<{ n: number }>('race_a', 'SELECT 7 AS n')).rows[0]?.n, 7);
});

test('closeTenant while several callers wait for a full pool: each is served before the pool ends', async () => {
  const tenants = kit.tenantPools();
  await tenants.ensureDatabase('race_b');
  const slow = [tenants.query('race_b', 'SELECT pg_sleep(0.2)'), tenants.query('race_b', 'SELECT pg_sleep(0.2)')]; // both connections busy
  await new Promise((resolve) => setTimeout(resolve, 50));
  const waiting = [1, 2, 3].map((n) => tenants.withClient('race_b', (client) => client.query(`SELECT ${n} AS n`)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  await Promise.all([...slow, ...waiting, tenants.closeTenant('race_b')]);
  assert.deepEqual(
    (await Promise.all(waiting)).map((result) => (result as { rows: { n: number }[] }).rows[0]?.n),
    [1, 2, 3],
  );
});
