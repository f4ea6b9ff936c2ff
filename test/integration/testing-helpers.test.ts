// poolscope/testing on a real PostgreSQL: TestPools / createTestPool (unique application_name per pool, tracked,
// cleanup that survives a leaked client) and assertNoLeakedConnections (leases with this file's file:line, server
// sessions still open in the scope, the grace period, the checker's own session never counted, option errors).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { assertNoLeakedConnections, createTestPool, LeakedConnectionsError, TestPools } from '../../src/testing/index.js';
import type { LeaseSnapshot } from '../../src/core/lease.js';
import type { ServerSessionSnapshot } from '../../src/server/activity-inspector.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { isAt, siteOf, TestResources } from '../support/pg-test-kit.js';

let db: TestDatabase;
const res = new TestResources();
const here = import.meta.url;
const created: { cleanup(): Promise<void> }[] = [];

before(async () => {
  db = await createTestDatabase('testing_helpers');
});
afterEach(async () => {
  for (const pools of created.splice(0)) await pools.cleanup();
  await res.closeAll();
});
after(() => db?.drop());

function testPools(label: string, closeGraceMillis = 200): TestPools {
  const pools = new TestPools({ connectionString: db.url, label, config: { max: 3 }, closeGraceMillis });
  created.push(pools);
  return pools;
}

/** A raw pg.Client, connected, closed in afterEach. */
async function rawClient(applicationName: string): Promise<pg.Client> {
  const url = new URL(db.url);
  url.searchParams.set('application_name', applicationName);
  return res.client(url.toString());
}

async function pidOf(client: { query(text: string): Promise<{ rows: unknown[] }> }): Promise<number> {
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  return Number((rows[0] as { pid: unknown }).pid);
}

async function leakError(check: Promise<void>): Promise<LeakedConnectionsError> {
  const error = await check.then(
    () => assert.fail('assertNoLeakedConnections resolved; a leak was expected'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof LeakedConnectionsError, String(error));
  assert.equal(error.code, 'POOLSCOPE_ERR_TESTING_LEAKED_CONNECTIONS');
  return error;
}

describe('TestPools', () => {
  test('each pool gets a unique application_name on the server, is tracked, and cleanup() closes it', async () => {
    const pools = testPools('names');
    const other = testPools('names');
    const main = await pools.create({ name: 'main' });
    const replica = await pools.create({ name: 'replica' });
    const elsewhere = await other.create({ name: 'main' });
    assert.equal(new Set([main.applicationName, replica.applicationName, elsewhere.applicationName]).size, 3);
    assert.match(main.applicationName, /^names\/[0-9a-f]{8}\/main$/);
    assert.deepEqual(pools.applicationNames, [main.applicationName, replica.applicationName]);

    const client = await main.pool.connect();
    try {
      assert.equal((await client.query('SHOW application_name')).rows[0].application_name, main.applicationName);
      assert.equal(pools.inspector.stats('main').used, 1);
      assert.ok(pools.connectionPids().has(await pidOf(client)));
    } finally {
      client.release();
    }
    await pools.cleanup();
    assert.equal(pools.closed, true);
    assert.equal(main.pool.ending, true);
    assert.equal(pools.inspector.closed, true, 'its own inspector is closed');
    await assert.rejects(pools.create(), { code: 'POOLSCOPE_ERR_INSPECTOR_CLOSED' });
  });

  test('cleanup() is idempotent and closes a pool whose client was leaked', async () => {
    const { pool, cleanup, testPools: pools } = await createTestPool({ connectionString: db.url, label: 'cleanup', closeGraceMillis: 50 });
    created.push(pools);
    await pool.connect(); // never released
    const first = cleanup();
    assert.equal(cleanup(), first);
    await first;
    assert.equal(pool.totalCount, 0);
    await pools.cleanup();
  });

  test('a shared inspector is left open; the pools are untracked', async () => {
    const inspector = res.inspector();
    const pools = new TestPools({ connectionString: db.url, inspector });
    created.push(pools);
    await pools.create({ name: 'shared' });
    assert.deepEqual(inspector.poolNames(), ['shared']);
    await pools.cleanup();
    assert.equal(inspector.closed, false);
    assert.deepEqual(inspector.poolNames(), []);
  });
});

describe('assertNoLeakedConnections', () => {
  test('passes when every client is released (the pools\' idle connections are not leaks)', async () => {
    const pools = testPools('clean');
    const { pool } = await pools.create({ name: 'main' });
    const [a, b] = [await pool.connect(), await pool.connect()];
    await a.query('SELECT 1');
    a.release();
    b.release();
    await pool.query('SELECT 2');
    assert.equal(pool.idleCount, 2);
    await assertNoLeakedConnections({ pools });
  });

  test('fails listing the leaked lease with this file\'s file:line, one line per lease', async () => {
    const pools = testPools('leak');
    const { pool } = await pools.create({ name: 'main' });
    const ok = await pool.connect();
    ok.release();
    const leaked = await pool.connect(); // @leaked-here
    const leakedPid = await pidOf(leaked);
    await leaked.query("SELECT 'leaked query' AS q");

    const error = await leakError(assertNoLeakedConnections({ pools, graceMillis: 100 }));
    const site = siteOf(here, '@leaked-here');
    const leases = error.leases as LeaseSnapshot[];
    assert.equal(leases.length, 1);
    assert.ok(isAt(leases[0]?.location, site), `location ${leases[0]?.location}, expected ${site}`);
    assert.equal(leases[0]?.poolName, 'main');
    assert.deepEqual(error.sessions, [], 'its session is the lease, not listed twice');

    const lines = error.message.split('\n');
    assert.match(lines[0] ?? '', /^poolscope: 1 connection still checked out after 100 ms:$/);
    const leaseLine = lines.find((line) => line.includes('lease #'));
    assert.ok(leaseLine, error.message);
    assert.ok(leaseLine.includes(`checked out at ${site}:`), leaseLine);
    assert.ok(leaseLine.includes('pool "main"'), leaseLine);
    assert.ok(leaseLine.includes(`backend pid ${leakedPid}`), leaseLine);
    assert.match(leaseLine, /held \d+ ms/);
    assert.match(leaseLine, /query "SELECT 'leaked query' AS q"/);
    leaked.release();
  });

  test('fails listing a server session: a raw pg.Client with the pool\'s application_name stays connected', async () => {
    const pools = testPools('session');
    const { pool, applicationName } = await pools.create({ name: 'main' });
    await pool.query('SELECT 1');
    const raw = await rawClient(applicationName);
    await raw.query("SELECT 'raw client' AS r");
    const rawPid = await pidOf(raw);

    const error = await leakError(assertNoLeakedConnections({ pools, graceMillis: 100 }));
    assert.deepEqual(error.leases, []);
    const sessions = error.sessions as ServerSessionSnapshot[];
    assert.deepEqual(sessions.map((s) => s.pid), [rawPid]);
    assert.equal(sessions[0]?.applicationName, applicationName);
    const line = error.message.split('\n').find((l) => l.includes(`session pid ${rawPid}`));
    assert.ok(line, error.message);
    assert.ok(line.includes(`application_name "${applicationName}"`), line);
    assert.ok(line.includes(`database ${db.name}`), line);
    assert.ok(line.includes('last query "SELECT pg_backend_pid() AS pid"'), line);

    // Scoped by hand, without the test pools: their idle connection is then a session in the scope like any other.
    const poolPids = [...pools.connectionPids()];
    assert.equal(poolPids.length, 1);
    const byName = await leakError(assertNoLeakedConnections({ connectionString: db.url, applicationName, graceMillis: 0 }));
    const byNamePids = (byName.sessions as ServerSessionSnapshot[]).map((s) => s.pid).sort((x, y) => x - y);
    assert.deepEqual(byNamePids, [...poolPids, rawPid].sort((x, y) => x - y));
    await raw.end();
    await assertNoLeakedConnections({ pools, graceMillis: 10_000 });
  });

  test('passes when a leaked client is released within the grace period', async () => {
    const pools = testPools('late-release');
    const { pool } = await pools.create({ name: 'main' });
    const late = await pool.connect();
    const raw = await rawClient(pools.applicationNameOf('main'));
    // Both are let go once the check has looked at the server and seen them, so it has to wait and look again.
    const server = new pg.Client({ connectionString: db.url });
    let seen = false;
    const watched = {
      connect: () => server.connect(),
      end: () => server.end(),
      query: async (text: string, values?: unknown[]) => {
        const result = await server.query(text, values);
        if (!seen && /pg_stat_activity/.test(text)) {
          seen = true;
          late.release();
          void raw.end();
        }
        return result;
      },
    };
    // The bound is generous: the check ends as soon as both are gone (no timing assertion).
    await assertNoLeakedConnections({ pools, client: watched, graceMillis: 15_000 });
    assert.ok(seen, 'the check looked at the server while the connections were still out');
    assert.equal(pool.idleCount, 1);
  });

  test('its own session never counts, even when the scope covers it', async () => {
    const check = await res.client(db.url);
    const user = String((await check.query('SELECT current_user AS u')).rows[0].u);
    await check.end();
    // Scope: every session of this user on this database, which includes the checker's own.
    await assertNoLeakedConnections({ connectionString: db.url, database: db.name, user, graceMillis: 10_000 });
    // A client given to it, with the very application_name it checks for.
    const client = new pg.Client({ connectionString: db.url, application_name: 'ps-checker' });
    await assertNoLeakedConnections({ client, applicationName: 'ps-checker', graceMillis: 0 });
    await assert.rejects(client.query('SELECT 1'), 'the client given was ended after the check');
  });

  test('an inspector of your own: its held leases count (poolNames narrows them)', async () => {
    const inspector = res.inspector();
    const pools = new TestPools({ connectionString: db.url, inspector, closeGraceMillis: 50 });
    created.push(pools);
    const { pool } = await pools.create({ name: 'a' });
    await pools.create({ name: 'b' });
    const held = await pool.connect();
    const error = await leakError(assertNoLeakedConnections({ inspector, graceMillis: 0 }));
    assert.deepEqual((error.leases as LeaseSnapshot[]).map((l) => l.poolName), ['a']);
    await assertNoLeakedConnections({ inspector, poolNames: ['b'], graceMillis: 0 });
    held.release();
    await assertNoLeakedConnections({ inspector, graceMillis: 0 });
  });

  test('options: at least one check, a scope for a connection, a connection for a scope', async () => {
    const invalid = { code: 'POOLSCOPE_ERR_OPTIONS_INVALID' };
    await assert.rejects(assertNoLeakedConnections({}), invalid);
    await assert.rejects(assertNoLeakedConnections({ connectionString: db.url }), { ...invalid, option: 'applicationName' });
    await assert.rejects(assertNoLeakedConnections({ applicationName: 'x' }), { ...invalid, option: 'connectionString' });
    await assert.rejects(assertNoLeakedConnections({ inspector: res.inspector(), graceMillis: -1 }), { ...invalid, option: 'graceMillis' });
    await assert.rejects(
      assertNoLeakedConnections({ connectionString: db.url, client: new pg.Client(), applicationName: 'x' }),
      invalid,
    );
    await assert.rejects(assertNoLeakedConnections({ pools: {} as TestPools }), { ...invalid, option: 'pools' });
  });
});
