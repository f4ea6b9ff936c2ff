// The server capacity check against a real PostgreSQL: the limits it reads match what the server reports (read
// independently here, through SHOW and pg_settings), the warning appears exactly when max x instances exceeds
// what ordinary roles may open, its own session is closed afterwards, and a config from loadPoolConfig() is one
// pg.Pool accepts as is.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { checkServerCapacity, SERVER_CAPACITY_APPLICATION_NAME } from '../../src/config/server-capacity-check.js';
import { loadPoolConfig } from '../../src/config/pool-config.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TestResources } from '../support/pg-test-kit.js';
import { closedPort } from '../support/loopback-server.js';

let db: TestDatabase;
const res = new TestResources();

/** The server's limits, read without the code under test. */
interface ServerLimits {
  versionNumber: number;
  maxConnections: number;
  superuserReserved: number;
  reserved: number;
  available: number;
}
let limits: ServerLimits;

before(async () => {
  db = await createTestDatabase('pool-config');
  const client = await res.client(db.url);
  const show = async (name: string): Promise<number> => Number((await client.query(`SHOW ${name}`)).rows[0][name]);
  const versionNumber = await show('server_version_num');
  const maxConnections = await show('max_connections');
  const superuserReserved = await show('superuser_reserved_connections');
  // reserved_connections exists from PostgreSQL 16 on; pg_settings simply has no row for it before.
  const { rows } = await client.query("SELECT setting FROM pg_settings WHERE name = 'reserved_connections'");
  const reserved = rows.length === 0 ? 0 : Number(rows[0].setting);
  limits = { versionNumber, maxConnections, superuserReserved, reserved, available: maxConnections - superuserReserved - reserved };
  await res.closeAll();
  assert.ok(limits.available >= 4, `the test server allows too few connections (${JSON.stringify(limits)})`);
});
afterEach(() => res.closeAll());
after(() => db?.drop());

/** A per-instance max that just fits `instances` processes, and one that just does not. */
function plans(instances: number): { fits: number; exceeds: number } {
  const fits = Math.floor(limits.available / instances);
  return { fits, exceeds: fits + 1 };
}

describe('checkServerCapacity with a pool', () => {
  test('reads the same limits as SHOW / pg_settings, reserved_connections on 16+ only', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const report = await checkServerCapacity({ client: pool, max: 1 });
    assert.equal(report.serverVersionNumber, limits.versionNumber);
    assert.equal(report.maxConnections, limits.maxConnections);
    assert.equal(report.superuserReservedConnections, limits.superuserReserved);
    assert.equal(report.reservedConnections, limits.reserved);
    if (limits.versionNumber < 160000) assert.equal(report.reservedConnections, 0);
    assert.equal(report.availableConnections, limits.available);
  });

  test('no warning when max x instances fits what the server allows', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const { fits } = plans(3);
    const report = await checkServerCapacity({ client: pool, max: fits, expectedInstances: 3 });
    assert.equal(report.plannedConnections, fits * 3);
    assert.ok(report.plannedConnections <= limits.available);
    assert.equal(report.exceeded, false);
    assert.deepEqual(report.warnings, []);
  });

  test('a warning when max x instances exceeds it, naming the numbers', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const { fits, exceeds } = plans(3);
    const report = await checkServerCapacity({ client: pool, max: exceeds, expectedInstances: 3 });
    assert.equal(report.exceeded, true);
    assert.equal(report.warnings.length, 1);
    const [warning] = report.warnings;
    assert.equal(warning?.code, 'POOLSCOPE_WARN_CONFIG_SERVER_CAPACITY');
    assert.equal(warning?.value, exceeds);
    assert.ok(warning?.message.startsWith(`max ${exceeds} x 3 instances = ${exceeds * 3} connections`), warning?.message);
    assert.match(warning?.message ?? '', new RegExp(`ordinary roles open ${limits.available} \\(max_connections ${limits.maxConnections}`));
    assert.match(warning?.message ?? '', new RegExp(`lower max to ${fits} or less per instance`));
  });

  test('one instance: max equal to what is available fits, one more warns', async () => {
    const pool = res.pool(db.url, { max: 1 });
    assert.equal((await checkServerCapacity({ client: pool, max: limits.available })).exceeded, false);
    assert.equal((await checkServerCapacity({ client: pool, max: limits.available + 1 })).exceeded, true);
  });
});

describe('checkServerCapacity with a connection string', () => {
  async function ownSessions(): Promise<number> {
    const client = await res.client(db.url);
    const { rows } = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
      SERVER_CAPACITY_APPLICATION_NAME,
    ]);
    return Number(rows[0].n);
  }

  test('with pg passed in: same answer, and its own session is closed afterwards', async () => {
    const { exceeds } = plans(2);
    const report = await checkServerCapacity({ connectionString: db.url, pg, max: exceeds, expectedInstances: 2 });
    assert.equal(report.maxConnections, limits.maxConnections);
    assert.equal(report.exceeded, true);
    assert.equal(await ownSessions(), 0);
  });

  test("pg.Client passed in, or nothing (it loads the 'pg' package itself): same answer", async () => {
    const { fits } = plans(2);
    const report = await checkServerCapacity({ connectionString: db.url, pg: pg.Client, max: fits, expectedInstances: 2 });
    assert.equal(report.exceeded, false);
    const loaded = await checkServerCapacity({ connectionString: db.url, max: fits, expectedInstances: 2 });
    assert.deepEqual(loaded, report);
    assert.equal(await ownSessions(), 0);
  });

  test('a server that is not there: rejects naming the connect, with the driver error as cause', async () => {
    const port = await closedPort();
    const url = `postgres://app:s3cret@127.0.0.1:${port}/app`;
    await assert.rejects(checkServerCapacity({ connectionString: url, pg, max: 10, connectionTimeoutMillis: 2000 }), (error: Error) => {
      assert.match(error.message, /^checkServerCapacity could not connect to PostgreSQL: /);
      assert.ok(error.cause instanceof Error);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });
});

describe('loadPoolConfig on a real pg.Pool', () => {
  test('the config is one pg.Pool takes as is, and the pool works', async () => {
    const config = loadPoolConfig({ env: { NODE_ENV: 'test', DATABASE_URL: db.url, DATABASE_POOL_MAX: '3' } });
    const pool = new pg.Pool(config);
    try {
      const { rows } = await pool.query('SELECT 1 AS one');
      assert.equal(rows[0].one, 1);
      assert.equal(pool.options.max, 3);
      assert.equal(pool.options.min, 1);
      assert.equal(pool.options.idleTimeoutMillis, 5000);
      assert.equal(pool.options.connectionTimeoutMillis, 3000);
      const report = await checkServerCapacity({ client: pool, max: config.max });
      assert.equal(report.exceeded, false);
    } finally {
      await pool.end();
    }
  });
});
