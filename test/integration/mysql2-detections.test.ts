// Detections 1-6 of the pg suite, run on the mysql2 adapter and a real MariaDB / MySQL, asserted on what a user
// sees (the event, its message, the file:line it names), and the failure cases: server gone, a session killed while
// held (idle, mid-statement, in a transaction), a full pool's queue limit (mysql2's stand-in for an acquire timeout).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mysql from 'mysql2';
import { trackMysql2Pool, acquireTimeoutReportOf } from '../../src/adapters/mysql2/index.js';
import { driverCounts, killSession, mysqlSkipReason, MysqlResources } from '../support/mysql-test-kit.js';
import { collect, isAt, nextEvent, siteOf } from '../support/pg-test-kit.js';
import { eventually } from '../support/wait-for.js';

const skip = await mysqlSkipReason();
const res = new MysqlResources();
const here = import.meta.url;
afterEach(() => res.closeAll());

function getConnection(pool: mysql.Pool): Promise<mysql.PoolConnection> {
  return new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))));
}

describe('1. leak over threshold', { skip }, () => {
  test('fires once for a held lease with the acquisition file:line and its last statement, then reports the return', async () => {
    const pool = res.promisePool({ connectionLimit: 3 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main', leakThresholdMillis: 300 });
    const leaks = collect(inspector, 'leak-suspected');
    await pool.query('SELECT 1');
    const leaked = await pool.getConnection(); // @leak-site
    await leaked.query('SELECT 42 AS answer');
    const leak = await nextEvent(inspector, 'leak-suspected');
    assert.ok(isAt(leak.lease.location, siteOf(here, '@leak-site')), `location was ${leak.lease.location}`);
    assert.match(leak.message, /Connection leak suspected on pool "main": lease #\d+ held for/);
    assert.match(leak.message, /SELECT 42 AS answer/);
    for (let sweep = 0; sweep < 3; sweep++) view.sweepLeaks();
    assert.equal(leaks.length, 1);
    const returned = nextEvent(inspector, 'leak-returned');
    leaked.release();
    assert.equal((await returned).lease.id, leak.lease.id);
  });
});

describe('2. owner ended while holding', { skip }, () => {
  test('missing finally: the request ends on the error path with the connection still out', async () => {
    const pool = res.promisePool({ connectionLimit: 2 });
    const inspector = res.inspector();
    trackMysql2Pool(inspector, pool, { name: 'main', ownerEndGraceMillis: 50 });
    const reported = nextEvent(inspector, 'owner-ended-holding');
    const outcome = await inspector.runAs({ label: 'GET /orders', kind: 'request' }, async () => {
      const conn = await pool.getConnection(); // @missing-finally
      try {
        await conn.query('SELECT * FROM poolscope_no_such_table');
        conn.release();
        return 'ok';
      } catch (error) {
        return String(error);
      }
    });
    assert.match(outcome, /doesn't exist/);
    const event = await reported;
    assert.equal(event.owner.label, 'GET /orders');
    assert.ok(isAt(event.lease.location, siteOf(here, '@missing-finally')), `location was ${event.lease.location}`);
  });
});

describe('3. released with a statement in flight', { skip }, () => {
  test('the not-awaited pattern is reported at the release line; awaited statements and one-shots are not', async () => {
    const pool = res.promisePool({ connectionLimit: 1 });
    const inspector = res.inspector();
    trackMysql2Pool(inspector, pool, { name: 'main' });
    const events = collect(inspector, 'release-in-flight');
    const conn = await pool.getConnection();
    const notAwaited = conn.query('SELECT SLEEP(0.2)');
    conn.release(); // @in-flight-release
    await notAwaited;
    assert.equal(events.length, 1);
    assert.ok(isAt(events[0]?.releaseLocation, siteOf(here, '@in-flight-release')), `release at ${events[0]?.releaseLocation}`);
    assert.match(events[0]?.message ?? '', /SLEEP\(0\.2\)/);

    const awaited = await pool.getConnection();
    await awaited.query('SELECT SLEEP(0.01)');
    awaited.release();
    await pool.query('SELECT 1');
    await pool.query('SELECT * FROM poolscope_no_such_table').catch(() => undefined);
    await new Promise((resolve) => pool.pool.query('SELECT 2', resolve));
    assert.equal(events.length, 1);
  });
});

describe('4. dirty release', { skip }, () => {
  test('released inside a transaction: both locations; the next borrower inherits it, named', async () => {
    const pool = res.promisePool({ connectionLimit: 1 });
    const table = await res.table('dirty');
    const inspector = res.inspector();
    trackMysql2Pool(inspector, pool, { name: 'main' });
    const dirty = collect(inspector, 'dirty-release');
    const inherited = collect(inspector, 'inherited-transaction');
    const conn = await pool.getConnection(); // @dirty-acquire
    await conn.query('START TRANSACTION');
    await conn.query(`INSERT INTO ${table} VALUES (1, 'x')`);
    conn.release(); // @dirty-release
    assert.equal(dirty.length, 1);
    const event = dirty[0];
    assert.equal(event?.lease.transaction.status, 'in-transaction');
    assert.equal(event?.destroyed, false);
    assert.ok(isAt(event?.releaseLocation, siteOf(here, '@dirty-release')));
    assert.ok(isAt(event?.lease.location, siteOf(here, '@dirty-acquire')));
    const next = await pool.getConnection();
    assert.equal(inherited.length, 1, 'mysql2 returned it inside the transaction');
    assert.match(inherited[0]?.message ?? '', /opened by "START TRANSACTION"/);
    assert.ok(inherited[0]?.message.includes(siteOf(here, '@dirty-release')), inherited[0]?.message);
    await next.query('ROLLBACK');
    next.release();
    assert.equal(dirty.length, 1, 'a clean release after ROLLBACK is not dirty');
  });

  test("onDirtyRelease 'rollback' keeps the connection and loses the work; 'destroy' closes it", async () => {
    const table = await res.table('dirty_policy');
    const inspector = res.inspector();
    const rollbackPool = res.promisePool({ connectionLimit: 1 });
    trackMysql2Pool(inspector, rollbackPool, { name: 'rollback', onDirtyRelease: 'rollback' });
    const first = await rollbackPool.getConnection();
    await first.query('START TRANSACTION');
    await first.query(`INSERT INTO ${table} VALUES (1, 'lost')`);
    first.release();
    const again = await rollbackPool.getConnection();
    assert.equal(again.threadId, first.threadId, 'the same session, rolled back');
    assert.equal(inspector.snapshot('rollback').holders[0]?.transaction.status, 'idle');
    const [rows] = await again.query(`SELECT COUNT(*) AS n FROM ${table}`);
    assert.deepEqual(rows, [{ n: 0 }]);
    again.release();

    const destroyPool = res.pool({ connectionLimit: 1 });
    const view = trackMysql2Pool(inspector, destroyPool, { name: 'destroy', onDirtyRelease: 'destroy' });
    const held = await getConnection(destroyPool);
    await held.promise().query('START TRANSACTION');
    await held.promise().query(`INSERT INTO ${table} VALUES (2, 'lost')`);
    // A direct pool.releaseConnection(conn) is followed like conn.release().
    destroyPool.releaseConnection(held);
    const fresh = await getConnection(destroyPool);
    assert.notEqual(fresh.threadId, held.threadId, 'a new session');
    fresh.release();
    assert.equal(view.stats().counters.dirtyReleases, 1);
    assert.equal(view.stats().counters.removes, 1);
  });
});

describe('5. double and foreign release', { skip }, () => {
  test('a second release(): mysql2 ignores it silently; poolscope names both lines', async () => {
    const pool = res.promisePool({ connectionLimit: 1 });
    const inspector = res.inspector();
    trackMysql2Pool(inspector, pool, { name: 'main' });
    const events = collect(inspector, 'double-release');
    const conn = await pool.getConnection(); // @double-acquire
    conn.release();
    assert.equal(conn.release(), undefined); // @double-second
    assert.equal(events.length, 1);
    assert.ok(isAt(events[0]?.releaseLocation, siteOf(here, '@double-second')), `release at ${events[0]?.releaseLocation}`);
    assert.ok(isAt(events[0]?.lease.location, siteOf(here, '@double-acquire')));
    assert.deepEqual(driverCounts(pool.pool), { total: 1, idle: 1, waiting: 0 }, 'mysql2 kept one free connection');
  });

  test("a stale release after the connection went to someone else releases their checkout: reported as foreign", async () => {
    const pool = res.promisePool({ connectionLimit: 1 });
    const inspector = res.inspector();
    trackMysql2Pool(inspector, pool, { name: 'main' });
    const foreign = collect(inspector, 'foreign-release');
    // Opened outside both jobs: a release running as the owner that opened a connection is taken for mysql2's own
    // (pool.query releases from the socket's context), never as foreign; see docs/reference/adapter-mysql2.md.
    (await pool.getConnection()).release();
    await inspector.runAs('job A', async () => {
      const conn = await pool.getConnection();
      conn.release();
      const second = await inspector.runAs('job B', () => pool.getConnection());
      assert.equal(second.threadId, conn.threadId, 'connectionLimit 1: the same connection is handed on');
      conn.release(); // job A's stale reference: mysql2 releases job B's checkout
    });
    assert.equal(foreign.length, 1);
    assert.match(foreign[0]?.message ?? '', /held by task "job B" was released from task "job A"/);
    assert.equal(driverCounts(pool.pool).idle, 1, 'mysql2 did take it back from job B');
  });

  test('a release from another owner scope is a foreign release (the release still happens)', async () => {
    const pool = res.pool({ connectionLimit: 1 });
    const inspector = res.inspector();
    trackMysql2Pool(inspector, pool, { name: 'main' });
    const foreign = collect(inspector, 'foreign-release');
    const conn = await inspector.runAs('request A', () => getConnection(pool));
    inspector.runAs('request B', () => conn.release());
    assert.equal(foreign.length, 1);
    assert.equal(foreign[0]?.releasedBy?.label, 'request B');
    assert.equal(inspector.stats('main').used, 0);
  });
});

describe('6. a full pool: queueLimit and waitForConnections (mysql2 has no acquire timeout)', { skip }, () => {
  test("mysql2's 'Queue limit reached.' keeps its start and says why: stats and the longest holders with file:line", async () => {
    const pool = res.promisePool({ connectionLimit: 2, queueLimit: 1 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const timeouts = collect(inspector, 'acquire-timeout');
    const a = await inspector.runAs('GET /slow-report', () => pool.getConnection()); // @holder-a
    const b = await pool.getConnection(); // @holder-b
    const slow = a.query('SELECT SLEEP(0.5)');
    const queued = pool.getConnection();
    await eventually(() => view.stats().pending === 1, 'one caller to queue');
    const error = await pool.getConnection().then(
      () => assert.fail('expected the queue limit'),
      (e: unknown) => e as Error,
    );
    assert.ok(error.message.startsWith('Queue limit reached.\n[poolscope] pool "main": 2/2 connections in use'), error.message);
    assert.match(error.message, /task "GET \/slow-report"/);
    assert.match(error.message, /running "SELECT SLEEP\(0\.5\)"/);
    assert.ok(error.message.includes(siteOf(here, '@holder-a')), error.message);
    assert.ok(error.message.includes(siteOf(here, '@holder-b')), error.message);
    assert.ok(error.stack?.startsWith(`Error: ${error.message}\n    at `), 'the stack carries the message once');
    assert.equal(acquireTimeoutReportOf(error)?.holders.length, 2);
    assert.equal(timeouts.length, 1);

    // The callback form and a one-shot pool.query get the same explanation.
    const callbackError = await new Promise<Error>((resolve) => pool.pool.getConnection((err) => resolve(err as Error)));
    assert.ok(callbackError.message.startsWith('Queue limit reached.\n[poolscope]'));
    const queryError = await pool.query('SELECT 1').then(() => assert.fail('expected the queue limit'), (e: unknown) => e as Error);
    assert.ok(queryError.message.startsWith('Queue limit reached.\n[poolscope]'));
    assert.equal(view.stats().counters.timeouts, 3);
    assert.equal(view.stats().counters.errors, 0);
    await slow;
    a.release();
    b.release();
    (await queued).release();
    assert.equal(view.stats().used, 0);
  });

  test("waitForConnections: false: 'No connections available.' is explained the same way", async () => {
    const pool = res.pool({ connectionLimit: 1, waitForConnections: false });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const held = await pool.promise().getConnection(); // @no-wait-holder
    const error = await getConnection(pool).then(() => assert.fail('expected a rejection'), (e: unknown) => e as Error);
    assert.ok(error.message.startsWith('No connections available.\n[poolscope] pool "main": 1/1'), error.message);
    assert.ok(error.message.includes(siteOf(here, '@no-wait-holder')));
    assert.equal(view.stats().counters.timeouts, 1);
    held.release();
  });
});

describe('failure cases', { skip }, () => {
  test('server gone: the connect error reaches the caller unchanged, counted as an error, nobody left waiting', async () => {
    const port = await closedPort();
    const pool = res.pool({ host: '127.0.0.1', port, connectionLimit: 2 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const reported = nextEvent(inspector, 'connection-error');
    const error = await getConnection(pool).then(() => assert.fail('expected ECONNREFUSED'), (e: unknown) => e as Error & { code?: string });
    assert.equal(error.code, 'ECONNREFUSED');
    assert.ok(!error.message.includes('[poolscope]'));
    assert.match((await reported).message, /ECONNREFUSED/);
    const stats = view.stats();
    assert.equal(stats.counters.errors, 1);
    assert.equal(stats.counters.timeouts, 0);
    assert.equal(stats.pending, 0);
    assert.deepEqual(view.snapshot().waiters, []);
    assert.equal(stats.total, driverCounts(pool).total);
  });

  test('a held connection killed on the server: connection error on its lease; the release is clean; counts heal', async () => {
    const pool = res.promisePool({ connectionLimit: 2 });
    const admin = await res.admin();
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await pool.getConnection();
    await conn.query('START TRANSACTION');
    await conn.query('SELECT 1');
    const reported = nextEvent(inspector, 'connection-error');
    await killSession(admin, conn.threadId);
    const event = await reported;
    assert.equal(event.leaseId, view.snapshot().holders[0]?.id);
    assert.match(event.message, /Connection lost/);
    assert.match(view.snapshot().holders[0]?.connectionError ?? '', /Connection lost/);
    const dirty = collect(inspector, 'dirty-release');
    const doubles = collect(inspector, 'double-release');
    conn.release();
    assert.equal(dirty.length, 0, 'its transaction died with the session');
    assert.equal(doubles.length, 0);
    const stats = view.stats();
    assert.equal(stats.used, 0);
    assert.deepEqual({ total: stats.total, idle: stats.idle, waiting: stats.pending }, driverCounts(pool.pool));
    assert.equal(stats.counters.removes, 1);
    const [rows] = await pool.query('SELECT 1 AS ok');
    assert.deepEqual(rows, [{ ok: 1 }]);
  });

  test('killed mid-statement: the statement fails, nothing stays in flight, the error is reported once', async () => {
    const pool = res.pool({ connectionLimit: 1 });
    const admin = await res.admin();
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const errors = collect(inspector, 'connection-error');
    const conn = await getConnection(pool);
    const running = conn.promise().query('SELECT SLEEP(5)');
    await eventually(() => view.snapshot().holders[0]?.queriesInFlight === 1, 'the statement to run');
    await killSession(admin, conn.threadId);
    await assert.rejects(running, /Connection lost|closed|killed/i);
    assert.equal(view.snapshot().holders[0]?.queriesInFlight, 0);
    assert.equal(errors.length, 1);
    assert.equal(view.stats().counters.queryErrors, 1);
    conn.release();
    assert.equal(view.stats().used, 0);
    assert.equal(view.stats().total, driverCounts(pool).total);
  });

  test('destroy() inside a transaction ends the lease (never dirty); a release after it is no double release', async () => {
    const pool = res.promisePool({ connectionLimit: 1 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await pool.getConnection();
    await conn.query('START TRANSACTION');
    conn.destroy();
    conn.release();
    const counters = view.stats().counters;
    assert.equal(counters.releases, 1);
    assert.equal(counters.dirtyReleases, 0);
    assert.equal(counters.doubleReleases, 0);
    assert.equal(counters.removes, 1);
    const fresh = await pool.getConnection();
    assert.notEqual(fresh.threadId, conn.threadId);
    fresh.release();
    assert.deepEqual({ total: view.stats().total, idle: view.stats().idle }, { total: 1, idle: 1 });
  });

  test('end() with gracefulEnd leaves the pool: the lease ends as destroyed; without it, end() is a release', async () => {
    const pool = res.pool({ connectionLimit: 1, gracefulEnd: true });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await getConnection(pool);
    const released = nextEvent(inspector, 'lease-released');
    conn.end();
    assert.equal((await released).destroyed, true);
    assert.equal(view.stats().used, 0);
    await eventually(() => view.stats().counters.removes === 1, 'the connection to leave the pool');
    assert.equal(view.stats().total, driverCounts(pool).total);
  });
});

/** A local port nothing listens on (opened, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
