// The mysql2 adapter on a real MariaDB / MySQL (test/support/mysql-test-kit.ts; skipped with the reason when the
// server is not reachable): leases from the callback and promise APIs at the caller's line, statement text without
// values, the transaction status read from the protocol, counts, config, program_name, ping, errors and untrack.
// The adapter contract suite runs on it too. Detections and failure cases: mysql2-detections.test.ts.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { PoolscopeError } from '../../src/index.js';
import { trackMysql2Pool } from '../../src/adapters/mysql2/index.js';
import { Mysql2PoolAdapter } from '../../src/adapters/mysql2/mysql2-pool-adapter.js';
import { adapterContractSuite, outcomeOf } from '../support/adapter-contract.js';
import { driverCounts, mysqlSkipReason, mysqlTestUrl, MysqlResources } from '../support/mysql-test-kit.js';
import { collect, isAt, siteOf } from '../support/pg-test-kit.js';
import { eventually } from '../support/wait-for.js';

const skip = await mysqlSkipReason();
const res = new MysqlResources();
const here = import.meta.url;
afterEach(() => res.closeAll());

type Conn = mysql.PoolConnection;

/** getConnection in callback form, as a promise (the callback runs where mysql2 calls it). */
function getConnection(pool: mysql.Pool): Promise<Conn> {
  return new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))));
}

describe('leases', { skip }, () => {
  test("callback getConnection: a lease at the caller's line, with its owner and connection id", async () => {
    const pool = res.pool({ connectionLimit: 2 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main', stackCapture: 'always' });
    const conn = await inspector.runAs({ label: 'GET /orders', kind: 'request' }, () => {
      return new Promise<Conn>((resolve, reject) => {
        pool.getConnection((err, c) => (err ? reject(err) : resolve(c))); // @cb-acquire
      });
    });
    const [holder] = view.snapshot().holders;
    assert.ok(holder);
    assert.ok(isAt(holder.location, siteOf(here, '@cb-acquire')), `location ${holder.location}`);
    assert.equal(holder.owner?.label, 'GET /orders');
    assert.equal(holder.backendPid, conn.threadId);
    assert.equal(view.driver, 'mysql2');
    conn.release();
    assert.deepEqual(view.snapshot().holders, []);
    assert.equal(view.stats().counters.releases, 1);
  });

  test("promise getConnection: the lease is at the caller's line, not in mysql2/promise", async () => {
    const pool = res.promisePool({ connectionLimit: 2 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main', stackCapture: 'always' });
    const conn = await pool.getConnection(); // @promise-acquire
    const holder = view.snapshot().holders[0];
    assert.ok(isAt(holder?.location, siteOf(here, '@promise-acquire')), `location ${holder?.location}`);
    assert.equal(holder?.backendPid, conn.threadId);
    conn.release();
    assert.equal(view.stats().used, 0);
  });

  test("pool.query / pool.execute one-shots are leases at the caller's line while they run", async () => {
    const pool = res.promisePool({ connectionLimit: 2 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main', stackCapture: 'always' });
    const running = pool.query('SELECT SLEEP(0.5) AS slept'); // @pool-query
    await eventually(() => view.snapshot().holders[0]?.query?.text === 'SELECT SLEEP(0.5) AS slept', 'the one-shot to be running');
    assert.ok(isAt(view.snapshot().holders[0]?.location, siteOf(here, '@pool-query')));
    const [rows] = await running;
    assert.deepEqual(rows, [{ slept: 0 }]);
    assert.equal(view.stats().used, 0);

    const callbackPool = pool.pool;
    const done = new Promise<unknown>((resolve, reject) => {
      callbackPool.execute('SELECT SLEEP(?) AS slept', [0.5], (err, result) => (err ? reject(err) : resolve(result))); // @pool-execute
    });
    await eventually(() => view.snapshot().holders.length === 1, 'the execute one-shot to hold a connection');
    assert.ok(isAt(view.snapshot().holders[0]?.location, siteOf(here, '@pool-execute')));
    await done;
    const stats = view.stats();
    assert.equal(stats.used, 0);
    assert.equal(stats.counters.acquires, 2);
    assert.equal(stats.counters.releases, 2);
    assert.equal(stats.counters.releasesInFlight, 0, 'the pool releases after the statement ended');
    assert.equal(stats.counters.queries, 2);
  });

  test('a queued caller gets its connection as its own owner, and its callback runs in its scope', async () => {
    const pool = res.pool({ connectionLimit: 1 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const first = await inspector.runAs('job A', () => getConnection(pool));
    const ownerInCallback = inspector.runAs('job B', () => {
      return new Promise<string | undefined>((resolve) => {
        pool.getConnection((_err, conn) => {
          resolve(inspector.currentOwner()?.label);
          conn.release();
        });
      });
    });
    await eventually(() => view.stats().pending === 1, 'job B to queue');
    first.release(); // outside any owner: mysql2 hands the connection to job B in this (ownerless) context
    assert.equal(await ownerInCallback, 'job B', 'poolscope runs the callback as the owner that asked');
    assert.equal(view.stats().counters.foreignReleases, 0);
  });
});

describe('statements', { skip }, () => {
  test('the running statement is shown with its text and never its values', async () => {
    const pool = res.promisePool({ connectionLimit: 1 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await pool.getConnection();
    const running = conn.query('SELECT SLEEP(?) AS slept, ? AS secret', [1, 'hunter2']);
    await eventually(() => view.snapshot().holders[0]?.queriesInFlight === 1, 'the statement to be in flight');
    const snapshot = view.snapshot();
    assert.deepEqual(snapshot.holders[0]?.query?.text, 'SELECT SLEEP(?) AS slept, ? AS secret');
    assert.ok(!JSON.stringify(snapshot).includes('hunter2'), 'no value anywhere in the snapshot');
    const [rows] = await running;
    assert.deepEqual(rows, [{ slept: 0, secret: 'hunter2' }]);
    await conn.execute('SELECT ? AS also_secret', ['swordfish']);
    const after = view.snapshot().holders[0];
    assert.equal(after?.query?.text, 'SELECT ? AS also_secret');
    assert.equal(after?.queriesRun, 2);
    assert.equal(after?.queriesInFlight, 0);
    conn.release();
  });

  test('callback, promise, event and failed statements are all counted, each once', async () => {
    const pool = res.pool({ connectionLimit: 1 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await getConnection(pool);
    await new Promise((resolve) => conn.query('SELECT 1', resolve));
    await conn.promise().query('SELECT 2');
    await new Promise((resolve) => conn.query('SELECT 3').on('end', resolve));
    const failed = await conn.promise().query('SELECT * FROM poolscope_no_such_table').catch((e: Error) => e);
    assert.match(String(failed), /doesn't exist/);
    await new Promise((resolve) => conn.query('SELECT * FROM poolscope_no_such_table').on('error', () => undefined).on('end', resolve));
    const stats = view.stats();
    assert.equal(stats.counters.queries, 5);
    assert.equal(stats.counters.queryErrors, 2);
    assert.equal(view.snapshot().holders[0]?.queriesInFlight, 0);
    conn.release();
  });
});

describe('transaction status, from the server status flags', { skip }, () => {
  test('START TRANSACTION, savepoints, a failed statement (still open in MySQL), COMMIT', async () => {
    const pool = res.promisePool({ connectionLimit: 1 });
    const table = await res.table('tx');
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await pool.getConnection();
    const tx = () => view.snapshot().holders[0]?.transaction;
    assert.deepEqual(tx(), { status: 'idle', depth: 0 });
    await conn.query('START TRANSACTION');
    assert.deepEqual(tx(), { status: 'in-transaction', depth: 1 });
    await conn.query(`INSERT INTO ${table} VALUES (1, 'a')`);
    await conn.query('SAVEPOINT sp1');
    assert.deepEqual(tx(), { status: 'in-transaction', depth: 2 });
    await conn.query(`INSERT INTO ${table} VALUES (1, 'duplicate')`).catch(() => undefined);
    assert.deepEqual(tx(), { status: 'in-transaction', depth: 2 }, 'a failed statement leaves a MySQL transaction open');
    await conn.query('RELEASE SAVEPOINT sp1');
    assert.deepEqual(tx(), { status: 'in-transaction', depth: 1 });
    await conn.query('COMMIT');
    assert.deepEqual(tx(), { status: 'idle', depth: 0 });
    conn.release();
    assert.equal(view.stats().counters.dirtyReleases, 0);
  });

  test('autocommit off: the transaction a plain SELECT opens is seen from the flags alone; beginTransaction too', async () => {
    const pool = res.pool({ connectionLimit: 1 });
    const table = await res.table('autocommit');
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await getConnection(pool);
    const status = () => view.snapshot().holders[0]?.transaction.status;
    await conn.promise().query('SET autocommit = 0');
    assert.equal(status(), 'idle');
    await conn.promise().query(`SELECT * FROM ${table}`);
    assert.equal(status(), 'in-transaction', 'the EOF packet after the rows says so; no BEGIN was sent');
    await conn.promise().query('ROLLBACK');
    await conn.promise().query('SET autocommit = 1');
    assert.equal(status(), 'idle');
    await new Promise((resolve) => conn.beginTransaction(resolve));
    assert.equal(status(), 'in-transaction');
    await new Promise((resolve) => conn.rollback(resolve));
    assert.equal(status(), 'idle');
    conn.release();
  });
  test('a deadlock victim is out of its transaction (MySQL rolled it back); the survivor is still in its own', async () => {
    const pool = res.promisePool({ connectionLimit: 2 });
    const table = await res.table('deadlock');
    const admin = await res.admin();
    await admin.query(`INSERT INTO ${table} VALUES (1, 'one'), (2, 'two')`);
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const a = await pool.getConnection();
    const b = await pool.getConnection();
    await a.query('START TRANSACTION');
    await a.query(`UPDATE ${table} SET note = 'a' WHERE id = 1`);
    await b.query('START TRANSACTION');
    await b.query(`UPDATE ${table} SET note = 'b' WHERE id = 2`);
    const aWaits = a.query(`UPDATE ${table} SET note = 'a' WHERE id = 2`);
    await eventually(async () => {
      const [rows] = await admin.query('SELECT trx_state AS state FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [a.threadId]);
      return (rows as { state: string }[])[0]?.state === 'LOCK WAIT';
    }, 'a to wait for b');
    const outcomes = await Promise.allSettled([aWaits, b.query(`UPDATE ${table} SET note = 'b' WHERE id = 1`)]);
    const victimIndex = outcomes.findIndex((o) => o.status === 'rejected');
    assert.notEqual(victimIndex, -1, 'InnoDB chose a victim');
    assert.equal((outcomes[victimIndex] as PromiseRejectedResult).reason.errno, 1213);
    const victim = victimIndex === 0 ? a : b;
    const survivor = victimIndex === 0 ? b : a;
    const status = (conn: mysqlPromise.PoolConnection) => view.snapshot().holders.find((h) => h.backendPid === conn.threadId)?.transaction;
    assert.deepEqual(status(victim), { status: 'idle', depth: 0 });
    assert.deepEqual(status(survivor), { status: 'in-transaction', depth: 1 });
    await survivor.query('ROLLBACK');
    victim.release();
    survivor.release();
    assert.equal(view.stats().counters.dirtyReleases, 0);
  });

  test('resetOnRelease: a release inside a transaction is still dirty, but mysql2 resets it and nobody inherits it', async () => {
    const pool = res.promisePool({ connectionLimit: 1, resetOnRelease: true });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const inherited = collect(inspector, 'inherited-transaction');
    const conn = await pool.getConnection();
    await conn.query('START TRANSACTION');
    conn.release();
    assert.equal(view.stats().counters.dirtyReleases, 1);
    const next = await pool.getConnection();
    assert.equal(next.threadId, conn.threadId);
    assert.deepEqual(view.snapshot().holders[0]?.transaction, { status: 'idle', depth: 0 }, 'the reset ended it');
    assert.equal(inherited.length, 0);
    next.release();
  });
});

describe('counts, config, program_name, ping', { skip }, () => {
  test("the counts equal mysql2's own at rest and under load; max is connectionLimit", async () => {
    const pool = res.promisePool({ connectionLimit: 3 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    await Promise.all(Array.from({ length: 12 }, (_, i) => pool.query('SELECT ? AS i', [i])));
    const held = await Promise.all([pool.getConnection(), pool.getConnection(), pool.getConnection()]);
    const queued = pool.getConnection();
    await eventually(() => view.stats().pending === 1, 'a caller to queue');
    const driver = driverCounts(pool.pool);
    assert.deepEqual({ total: view.stats().total, idle: view.stats().idle, waiting: view.stats().pending }, driver);
    assert.equal(view.stats().used, 3);
    for (const conn of held) conn.release();
    (await queued).release();
    const stats = view.stats();
    assert.deepEqual({ total: stats.total, idle: stats.idle, waiting: stats.pending }, driverCounts(pool.pool));
    assert.equal(stats.used, 0);
    assert.equal(stats.max, 3);
    assert.equal(stats.min, 0);
    assert.equal(stats.counters.creates, 3);
  });

  test('config is an allowlist (never the password); program_name is set unless the pool sets one', async () => {
    const secret = res.pool({ connectionLimit: 4, queueLimit: 7, password: 'not-the-password' });
    const inspector = res.inspector({ appName: 'shop' });
    const config = trackMysql2Pool(inspector, secret, { name: 'orders' }).snapshot().config as Record<string, unknown>;
    assert.ok(!JSON.stringify(config).includes('not-the-password'));
    assert.equal(config.connectionLimit, 4);
    assert.equal(config.queueLimit, 7);
    assert.equal(config.waitForConnections, true);
    assert.equal(config.user, 'root');
    assert.equal(config.program_name, `shop/${inspector.instanceId}/orders`);

    const pool = res.pool({ connectAttributes: { team: 'billing' } });
    trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await getConnection(pool);
    const attributes = conn.config.connectAttributes ?? {};
    assert.equal(attributes.program_name, `shop/${inspector.instanceId}/main`, 'the handshake of a new connection sends it');
    assert.equal(attributes.team, 'billing', "the pool's own attributes stay");
    assert.equal(attributes._client_name, 'Node-MySQL-2');
    conn.release();

    const own = res.pool({ connectAttributes: { program_name: 'their-own' } });
    assert.equal((trackMysql2Pool(inspector, own, { name: 'own' }).snapshot().config as Record<string, unknown>).program_name, 'their-own');
    const off = res.pool();
    assert.equal((trackMysql2Pool(inspector, off, { name: 'off', applicationName: false }).snapshot().config as Record<string, unknown>).program_name, undefined);
    const named = res.pool();
    assert.equal((trackMysql2Pool(inspector, named, { name: 'named', applicationName: 'billing-api' }).snapshot().config as Record<string, unknown>).program_name, 'billing-api');
  });

  test('ping answers without a lease; with a full pool (no queue limit) it times out, coded, and gives back late', async () => {
    const pool = res.pool({ connectionLimit: 1 });
    const inspector = res.inspector();
    const view = trackMysql2Pool(inspector, pool, { name: 'main' });
    const report = await view.probe(2000);
    assert.equal(report.reachable, true, JSON.stringify(report));
    assert.equal((await view.probe(2000)).reachable, true);
    assert.equal(view.stats().counters.acquires, 0);
    assert.equal(view.stats().counters.doubleReleases, 0);
    const conn = await getConnection(pool);
    conn.release();
    assert.equal((await view.probe(2000)).reachable, true, 'a connection with a past checkout is pinged quietly too');
    assert.equal(view.stats().counters.doubleReleases, 0);

    const untracked = res.pool({ connectionLimit: 1 });
    const adapter = new Mysql2PoolAdapter(untracked as never);
    const held = await getConnection(untracked);
    await assert.rejects(adapter.ping(200), (error: unknown) => error instanceof PoolscopeError && error.code === 'POOLSCOPE_ERR_POOL_PING_TIMEOUT');
    held.release();
    await eventually(() => driverCounts(untracked).idle === 1, "the ping's late connection to be given back");
  });
});

describe('setup errors and untrack', { skip }, () => {
  test('not a pool, or tracked twice (a promise pool and its .pool are one pool): coded errors', () => {
    const inspector = res.inspector();
    const connection = mysql.createConnection({ uri: mysqlTestUrl() });
    connection.on('error', () => undefined);
    try {
      assert.throws(
        () => trackMysql2Pool(inspector, connection as never, { name: 'c' }),
        (e: unknown) => e instanceof PoolscopeError && e.code === 'POOLSCOPE_ERR_POOL_UNSUPPORTED' && /createConnection\) is not a pool/.test(e.message),
      );
    } finally {
      connection.destroy();
    }
    const pool = res.promisePool();
    trackMysql2Pool(inspector, pool, { name: 'a' });
    assert.throws(
      () => trackMysql2Pool(inspector, pool.pool, { name: 'b' }),
      (e: unknown) => e instanceof PoolscopeError && e.code === 'POOLSCOPE_ERR_POOL_ALREADY_TRACKED',
    );
  });

  test("untrack puts back every own property and the pool's attributes; the pool works as before", async () => {
    const pool = res.pool({ connectionLimit: 2 });
    const attributes = (pool as unknown as { config: { connectionConfig: { connectAttributes: object } } }).config.connectionConfig;
    const before = attributes.connectAttributes;
    const inspector = res.inspector();
    trackMysql2Pool(inspector, pool, { name: 'main' });
    const conn = await getConnection(pool);
    await conn.promise().query('SELECT 1');
    conn.release();
    const connectionListeners = pool.listenerCount('connection');
    inspector.untrack('main');
    for (const key of ['getConnection', 'releaseConnection', '_removeConnection']) assert.ok(!Object.hasOwn(pool, key), `pool.${key}`);
    for (const key of ['query', 'execute', 'emit', 'handlePacket', 'destroy', 'end', 'release']) assert.ok(!Object.hasOwn(conn, key), `conn.${key}`);
    assert.equal(attributes.connectAttributes, before);
    assert.equal(pool.listenerCount('connection'), connectionListeners - 1);
    const again = await getConnection(pool);
    assert.equal(again, conn);
    const [rows] = await again.promise().query('SELECT 2 AS two');
    assert.deepEqual(rows, [{ two: 2 }]);
    again.release();
  });
});

// ---- the adapter contract -----------------------------------------------------------------------------------------

adapterContractSuite<mysqlPromise.Pool, mysqlPromise.PoolConnection>({
  driver: 'mysql2',
  capabilities: { queries: true, transactions: true, sessionIds: true },
  moduleUrl: import.meta.url,
  unavailable: mysqlSkipReason,
  createPool: ({ max }) => mysqlPromise.createPool({ uri: mysqlTestUrl(), connectionLimit: max }),
  endPool: (pool) => pool.end().catch(() => undefined),
  track: (inspector, pool, options) => trackMysql2Pool(inspector, pool, options),
  acquire: (pool) => pool.getConnection(), // @contract-acquire
  release: (_pool, conn) => outcomeOf(() => conn.release()),
  destroy: (_pool, conn) => Promise.resolve(conn.destroy()),
  counts: (pool) => driverCounts(pool.pool),
  acquireTimeout: false, // mysql2 has none (queueLimit rejects at once instead: mysql2-detections.test.ts)
  query: async (conn) => void (await conn.query('SELECT 1')),
  begin: async (conn) => void (await conn.query('START TRANSACTION')),
});
