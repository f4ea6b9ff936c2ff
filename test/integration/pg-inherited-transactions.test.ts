// A connection released inside a transaction is handed to the next checkout still inside it. The lease that left it
// open is the one to blame, once; the holders that merely inherit it are not new dirty releases. And the
// onDirtyRelease policy: report (default), rollback, destroy. On a real PostgreSQL.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trackPgPool } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { collect, isAt, siteOf, TestResources } from '../support/pg-test-kit.js';

/** The backend PID of a pg client (pg sets processID; @types/pg does not declare it). */
function pidOf(client: object): number {
  return (client as { processID: number }).processID;
}

let db: TestDatabase;
const res = new TestResources();
const here = import.meta.url;

before(async () => {
  db = await createTestDatabase('inherited_tx');
  const pool = res.pool(db.url, { max: 1 });
  await pool.query('CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)');
  await res.closeAll();
});
afterEach(() => res.closeAll());
after(() => db?.drop());

describe('inherited transactions', () => {
  test('the next holders inherit the open transaction: reported once, naming the lease that left it open', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const dirty = collect(inspector, 'dirty-release');
    const inherited = collect(inspector, 'inherited-transaction');

    await inspector.runAs({ label: 'POST /orders', kind: 'request' }, async () => {
      const client = await pool.connect(); // @culprit-acquire
      await client.query('BEGIN');
      await client.query("INSERT INTO items (name) VALUES ('never committed')");
      client.release(); // @culprit-release
    });
    assert.equal(dirty.length, 1, 'the culprit is a dirty release');
    assert.equal(dirty[0]?.action, 'report');

    for (const route of ['GET /a', 'GET /b', 'GET /c']) {
      await inspector.runAs({ label: route, kind: 'request' }, async () => {
        const client = await pool.connect();
        await client.query('SELECT 1');
        client.release();
      });
    }
    assert.equal(inherited.length, 1, 'reported once, at the first checkout that inherits it');
    const event = inherited[0];
    assert.ok(event !== undefined);
    assert.equal(event.lease.owner?.label, 'GET /a');
    assert.equal(event.leftOpenBy.owner?.label, 'POST /orders');
    assert.ok(isAt(event.leftOpenBy.location, siteOf(here, '@culprit-acquire')), `acquire site ${event.leftOpenBy.location}`);
    assert.ok(isAt(event.releaseLocation, siteOf(here, '@culprit-release')), `release site ${event.releaseLocation}`);
    assert.equal(event.openedBy, 'BEGIN');
    assert.match(event.message, /left open/);
    assert.match(event.message, /request "POST \/orders"/);
    assert.equal(dirty.length, 1, 'the innocent holders are not reported as dirty releases');
    assert.equal(inspector.stats('main').counters.dirtyReleases, 1);

    // Whoever closes the inherited transaction owns what it does next: its own dirty release is reported.
    await inspector.runAs({ label: 'GET /d', kind: 'request' }, async () => {
      const client = await pool.connect();
      await client.query('ROLLBACK');
      await client.query('BEGIN READ ONLY');
      client.release();
    });
    assert.equal(dirty.length, 2);
    assert.equal(dirty[1]?.lease.owner?.label, 'GET /d');
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM items');
    assert.equal(rows[0].n, 0);
  });

  test("pool.query('BEGIN') is the culprit, and the pool.query calls after it only inherit", async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const dirty = collect(inspector, 'dirty-release');
    const inherited = collect(inspector, 'inherited-transaction');
    await pool.query('BEGIN'); // @pool-query-begin
    for (let i = 0; i < 5; i++) await pool.query('SELECT 1');
    assert.equal(dirty.length, 1);
    assert.ok(isAt(dirty[0]?.lease.location, siteOf(here, '@pool-query-begin')), `site ${dirty[0]?.lease.location}`);
    assert.equal(inherited.length, 1);
    assert.equal(inherited[0]?.leftOpenBy.id, dirty[0]?.lease.id);
    await pool.query('ROLLBACK');
  });
});

describe('onDirtyRelease', () => {
  test("'rollback' sends ROLLBACK before the connection goes back: same session, nothing inherited, work undone", async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main', onDirtyRelease: 'rollback' });
    const dirty = collect(inspector, 'dirty-release');
    const inherited = collect(inspector, 'inherited-transaction');
    const client = await pool.connect();
    const pid = pidOf(client);
    await client.query('BEGIN');
    await client.query("INSERT INTO items (name) VALUES ('rolled back')");
    client.release();
    assert.equal(dirty.length, 1);
    assert.equal(dirty[0]?.action, 'rollback');
    assert.equal(dirty[0]?.destroyed, false);
    assert.match(dirty[0]?.message ?? '', /ROLLBACK was sent/);

    const next = await pool.connect();
    try {
      assert.equal(pidOf(next), pid, 'the connection was kept');
      assert.equal((next as unknown as { getTransactionStatus(): string }).getTransactionStatus(), 'I');
      const { rows } = await next.query("SELECT count(*)::int AS n FROM items WHERE name = 'rolled back'");
      assert.equal(rows[0].n, 0);
    } finally {
      next.release();
    }
    assert.equal(inherited.length, 0);
    assert.equal(inspector.stats('main').used, 0);
  });

  test("'destroy' closes the connection instead of returning it; destroyDirtyReleases: true is the same", async () => {
    for (const options of [{ onDirtyRelease: 'destroy' as const }, { destroyDirtyReleases: true }]) {
      const pool = res.pool(db.url, { max: 1 });
      const inspector = res.inspector();
      trackPgPool(inspector, pool, { name: 'main', ...options });
      const dirty = collect(inspector, 'dirty-release');
      const client = await pool.connect();
      const pid = pidOf(client);
      await client.query('BEGIN');
      client.release();
      assert.equal(dirty[0]?.action, 'destroy');
      assert.equal(dirty[0]?.destroyed, true);
      const next = await pool.connect();
      assert.notEqual(pidOf(next), pid, 'a new session');
      next.release();
    }
  });

  test("'report' (the default) changes nothing: the connection goes back as it is", async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    const tracker = trackPgPool(inspector, pool, { name: 'main' });
    assert.equal(tracker.options.onDirtyRelease, 'report');
    const client = await pool.connect();
    await client.query('BEGIN');
    client.release();
    const next = await pool.connect();
    assert.equal((next as unknown as { getTransactionStatus(): string }).getTransactionStatus(), 'T');
    await next.query('ROLLBACK');
    next.release();
  });

  test('a policy that is not one of the three is refused with a coded error', () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    assert.throws(
      () => trackPgPool(inspector, pool, { name: 'main', onDirtyRelease: 'commit' as never }),
      (error: Error & { code?: string }) => error.code === 'POOLSCOPE_ERR_OPTIONS_INVALID' && /onDirtyRelease/.test(error.message),
    );
  });
});
