// The MySQL server view (src/server/mysql-activity.ts, mysql-connection-join.ts) on a real MariaDB: the processlist
// and InnoDB's open transactions joined to leases by connection id; program_name where performance_schema is ON
// (a private MariaDB started with it, when this machine has the server binaries), "not available" with the reason
// where it is OFF.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mysqlPromise from 'mysql2/promise';
import { trackMysql2Pool } from '../../src/adapters/mysql2/index.js';
import { readMysqlActivity } from '../../src/server/mysql-activity.js';
import { connectionIdJoin } from '../../src/server/mysql-connection-join.js';
import { PoolscopeError } from '../../src/index.js';
import {
  killSession,
  mysqlSkipReason,
  mysqlTestUrl,
  MysqlResources,
  privateMariadbSkipReason,
  startPrivateMariadb,
  type PrivateMariadb,
} from '../support/mysql-test-kit.js';
import { eventually } from '../support/wait-for.js';

const skip = await mysqlSkipReason();
const res = new MysqlResources();
afterEach(() => res.closeAll());

describe('server view on the shared server', { skip }, () => {
  test('a running statement and an open transaction, joined to their leases by connection id', async () => {
    const pool = res.promisePool({ connectionLimit: 3 });
    const table = await res.table('server_view');
    const admin = await res.admin();
    const inspector = res.inspector();
    trackMysql2Pool(inspector, pool, { name: 'main' });
    const sleeper = await inspector.runAs('GET /report', () => pool.getConnection());
    const writer = await pool.getConnection();
    const idle = await pool.getConnection();
    idle.release();
    await writer.query('START TRANSACTION');
    await writer.query(`INSERT INTO ${table} VALUES (1, 'x')`);
    const running = sleeper.query('SELECT SLEEP(1) AS slept');
    await eventually(async () => {
      const report = await readMysqlActivity(admin);
      return report.sessions.some((s) => s.connectionId === sleeper.threadId && s.command === 'Query');
    }, 'the server to list the running statement');

    const report = await readMysqlActivity(admin);
    const joined = connectionIdJoin(inspector.snapshotAll(), report);
    const [main] = joined.pools;
    assert.ok(main);
    const bySession = new Map(main.leases.map((lease) => [lease.connectionId, lease]));
    const sleeping = bySession.get(sleeper.threadId);
    assert.equal(sleeping?.match, 'found');
    assert.equal(sleeping?.lease.owner?.label, 'GET /report');
    assert.equal(sleeping?.server?.query, 'SELECT SLEEP(1) AS slept');
    assert.equal(sleeping?.lease.query?.text, 'SELECT SLEEP(1) AS slept');
    const writing = bySession.get(writer.threadId);
    assert.equal(writing?.match, 'found');
    assert.equal(writing?.server?.command, 'Sleep');
    assert.equal(writing?.lease.transaction.status, 'in-transaction');
    assert.equal(report.transactions.available, true, report.transactions.reason ?? '');
    assert.equal(writing?.server?.transaction?.rowsModified, 1, 'InnoDB sees the open transaction');
    assert.equal(sleeping?.server?.transaction, null);
    // The idle pool connection is in the pool's scope (its database and user) and held by no lease; the reading
    // session never is.
    assert.ok(main.unheldSessions.some((s) => s.connectionId === idle.threadId), JSON.stringify(main.unheldSessions));
    assert.ok(!main.unheldSessions.some((s) => s.self));
    assert.ok(report.sessions.some((s) => s.self));
    assert.deepEqual(main.scope, { programName: null, database: 'test', user: 'root' });
    assert.ok(report.serverVersion.length > 0);
    assert.match(report.takenAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const performanceSchema = await admin.query('SELECT @@performance_schema AS on_');
    const on = Number((performanceSchema[0] as { on_: unknown }[])[0]?.on_) === 1;
    assert.equal(report.programNames.available, on);
    if (!on) assert.match(report.programNames.reason ?? '', /performance_schema is OFF/);
    await running;
    await writer.query('ROLLBACK');
    sleeper.release();
    writer.release();
  });

  test('a killed session is not in the report; a callback connection works as the source too; failures are coded', async () => {
    const pool = res.pool({ connectionLimit: 1 });
    const admin = await res.admin();
    const inspector = res.inspector();
    trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await pool.promise().getConnection();
    await killSession(admin, conn.threadId);
    await eventually(() => inspector.snapshot('main').holders[0]?.connectionError !== null, 'the kill to be seen');
    const report = await readMysqlActivity(pool, { maxQueryTextLength: 10 }); // the callback pool itself, via promise()
    const joined = connectionIdJoin(inspector.snapshot('main'), report);
    assert.equal(joined.pools[0]?.leases[0]?.match, 'not-in-report');
    conn.release();

    const closed = await mysqlPromise.createConnection({ uri: mysqlTestUrl() });
    await closed.end();
    await assert.rejects(readMysqlActivity(closed), (e: unknown) => e instanceof PoolscopeError && e.code === 'POOLSCOPE_ERR_SERVER_QUERY_FAILED');
    await assert.rejects(readMysqlActivity(closed, { maxQueryTextLength: 0 }), (e: unknown) => e instanceof PoolscopeError && e.code === 'POOLSCOPE_ERR_OPTIONS_INVALID');
  });
});

const privateSkip = skip ?? privateMariadbSkipReason();

describe('program_name, on a private MariaDB with performance_schema ON', { skip: privateSkip }, () => {
  let server: PrivateMariadb | undefined;
  before(async () => {
    server = await startPrivateMariadb();
  });
  after(() => server?.stop());

  test('each session shows the program_name poolscope set; the pool scope uses it', async () => {
    const url = server?.url ?? '';
    const pool = mysqlPromise.createPool({ uri: url, connectionLimit: 2 });
    const other = mysqlPromise.createPool({ uri: url, connectionLimit: 1, connectAttributes: { program_name: 'someone-else' } });
    const admin = await mysqlPromise.createConnection({ uri: url });
    const inspector = res.inspector({ appName: 'shop' });
    try {
      trackMysql2Pool(inspector, pool, { name: 'main' });
      const held = await pool.getConnection();
      const idle = await pool.getConnection();
      idle.release();
      const foreign = await other.getConnection();
      const report = await readMysqlActivity(admin);
      assert.equal(report.programNames.available, true, report.programNames.reason ?? '');
      const expected = `shop/${inspector.instanceId}/main`;
      const joined = connectionIdJoin(inspector.snapshot('main'), report);
      const [main] = joined.pools;
      assert.equal(main?.scope.programName, expected);
      assert.equal(main?.leases[0]?.server?.programName, expected);
      assert.deepEqual(main?.unheldSessions.map((s) => s.connectionId), [idle.threadId], 'only the idle connection of this pool');
      assert.equal(report.sessions.find((s) => s.connectionId === foreign.threadId)?.programName, 'someone-else');
      held.release();
      foreign.release();
    } finally {
      await admin.end();
      await pool.end();
      await other.end();
    }
  });
});
