// application_name per tracked pool on a real PostgreSQL: pg_stat_activity shows the generated
// `<app>/<instance>/<pool>` for a tracked pool's connections (and pidJoin scopes the pool by it); a name the user
// set is kept; connections opened before tracking keep their old name; `applicationName: false` leaves it alone.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trackPgPool } from '../../src/index.js';
import { ActivityInspector } from '../../src/server/activity-inspector.js';
import { pidJoin } from '../../src/server/pid-join.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TestResources } from '../support/pg-test-kit.js';

let db: TestDatabase;
const res = new TestResources();
const activities: ActivityInspector[] = [];

before(async () => {
  db = await createTestDatabase('application_name');
});
afterEach(async () => {
  for (const activity of activities.splice(0)) await activity.close();
  await res.closeAll();
});
after(() => db?.drop());

/** application_name of each of the given backends, as pg_stat_activity shows it. */
async function namesOf(pids: readonly number[]): Promise<string[]> {
  const check = await res.client(db.url);
  const { rows } = await check.query<{ pid: number; application_name: string }>(
    'SELECT pid, application_name FROM pg_stat_activity WHERE pid = ANY($1::int[])',
    [pids],
  );
  return pids.map((pid) => rows.find((row) => row.pid === pid)?.application_name ?? `<pid ${pid} not found>`);
}

async function pidOf(client: { query(text: string): Promise<{ rows: unknown[] }> }): Promise<number> {
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  return Number((rows[0] as { pid: unknown }).pid);
}

describe('a tracked pool without an application_name', () => {
  test('its connections show <app>/<instance>/<pool> in pg_stat_activity; pidJoin scopes the pool by it', async () => {
    const instanceId = `it-${process.pid}`;
    const inspector = res.inspector({ appName: 'ps-appname-test', instanceId });
    const pool = res.pool(db.url, { max: 3 });
    const replica = res.pool(db.url, { max: 1 });
    trackPgPool(inspector, pool, { name: 'orders' });
    trackPgPool(inspector, replica, { name: 'orders-replica' });
    const expected = `ps-appname-test/${instanceId}/orders`;

    const held = await pool.connect();
    const spare = await pool.connect();
    const other = await replica.connect();
    const [heldPid, sparePid, otherPid] = [await pidOf(held), await pidOf(spare), await pidOf(other)];
    spare.release();
    try {
      assert.deepEqual(await namesOf([heldPid, sparePid, otherPid]), [
        expected,
        expected,
        `ps-appname-test/${instanceId}/orders-replica`,
      ]);
      assert.equal((await held.query('SHOW application_name')).rows[0].application_name, expected);

      const activity = new ActivityInspector({ connectionString: db.url });
      activities.push(activity);
      const report = await activity.activity({ database: db.name });
      const joined = pidJoin(inspector.snapshotAll(), report);
      const orders = joined.pools.find((p) => p.poolName === 'orders');
      assert.ok(orders);
      assert.equal(orders.scope.applicationName, expected);
      assert.deepEqual(orders.leases.map((l) => [l.backendPid, l.match]), [[heldPid, 'found']]);
      assert.deepEqual(orders.unheldSessions.map((s) => s.pid), [sparePid], 'the idle pooled connection, and not the replica\'s');
    } finally {
      held.release();
      other.release();
    }
  });

  test('connections opened before tracking keep their name; new ones get the generated one', async () => {
    const pool = res.pool(db.url, { max: 2 });
    const before = await pool.connect();
    const beforePid = await pidOf(before);
    const inspector = res.inspector({ appName: 'ps-late', instanceId: 'i1' });
    trackPgPool(inspector, pool, { name: 'late' });
    const after = await pool.connect(); // the first is still held: a new connection
    const afterPid = await pidOf(after);
    try {
      assert.deepEqual(await namesOf([beforePid, afterPid]), ['', 'ps-late/i1/late']);
    } finally {
      before.release();
      after.release();
    }
  });

  test('applicationName: a string names the connections; false leaves them unnamed', async () => {
    const inspector = res.inspector();
    const named = res.pool(db.url, { max: 1 });
    const unnamed = res.pool(db.url, { max: 1 });
    trackPgPool(inspector, named, { name: 'named', applicationName: 'ps-explicit' });
    trackPgPool(inspector, unnamed, { name: 'unnamed', applicationName: false });
    const [a, b] = [await named.connect(), await unnamed.connect()];
    try {
      assert.deepEqual(await namesOf([await pidOf(a), await pidOf(b)]), ['ps-explicit', '']);
    } finally {
      a.release();
      b.release();
    }
  });
});

describe('a pool whose config names its connections', () => {
  test('application_name in the options or the connection string is kept', async () => {
    const inspector = res.inspector({ appName: 'ps-should-not-appear' });
    const byOption = res.pool(db.url, { max: 1, application_name: 'ps-user-option' });
    const url = new URL(db.url);
    url.searchParams.set('application_name', 'ps-user-url');
    const byUrl = res.pool(url.toString(), { max: 1 });
    trackPgPool(inspector, byOption, { name: 'option' });
    trackPgPool(inspector, byUrl, { name: 'url', applicationName: 'ps-explicit-loses' });
    const [a, b] = [await byOption.connect(), await byUrl.connect()];
    try {
      assert.deepEqual(await namesOf([await pidOf(a), await pidOf(b)]), ['ps-user-option', 'ps-user-url']);
      assert.equal(inspector.snapshot('option').config.application_name, 'ps-user-option');
    } finally {
      a.release();
      b.release();
    }
  });
});
