// Detections 1-6 of the pg adapter on a real PostgreSQL, asserted on what a user sees: the event, its message and
// the file:line it names. Each detection is also checked not to fire on correct code.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { acquireTimeoutReportOf, trackPgPool, withClient, withTransaction } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { collect, isAt, nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';

let db: TestDatabase;
const res = new TestResources();
const here = import.meta.url;

before(async () => {
  db = await createTestDatabase('detections');
});
afterEach(() => res.closeAll());
after(() => db?.drop());

describe('1. leak over threshold', () => {
  test('fires once for a held lease with the acquisition file:line, then reports the return', async () => {
    const pool = res.pool(db.url, { max: 3 });
    const inspector = res.inspector();
    const tracker = trackPgPool(inspector, pool, { name: 'main', leakThresholdMillis: 300 });
    const leaks = collect(inspector, 'leak-suspected');

    const short = await pool.connect();
    await short.query('SELECT 1');
    short.release();
    const leaked = await pool.connect(); // @leak-site
    await leaked.query('SELECT 42 AS answer');

    const leak = await nextEvent(inspector, 'leak-suspected');
    assert.ok(isAt(leak.lease.location, siteOf(here, '@leak-site')), `location was ${leak.lease.location}`);
    assert.match(leak.message, /Connection leak suspected on pool "main": lease #\d+ held for/);
    assert.match(leak.message, /SELECT 42 AS answer/);
    assert.equal(leak.thresholdMillis, 300);
    assert.ok(leak.lease.stack.length > 0);

    // Several more sweeps (the timer's, run by hand), the lease still over the threshold: still one report for it.
    for (let sweep = 0; sweep < 3; sweep++) tracker.sweepLeaks();
    assert.equal(leaks.length, 1, 'one report per lease, and none for the short checkout');
    assert.equal(inspector.stats('main').counters.leaksSuspected, 1);

    const returned = nextEvent(inspector, 'leak-returned');
    leaked.release();
    const back = await returned;
    assert.equal(back.lease.id, leak.lease.id);
    assert.equal(back.lease.state, 'released');
  });

  test('no leak is reported for normal short checkouts through pool.query and withClient', async () => {
    const pool = res.pool(db.url, { max: 2 });
    const inspector = res.inspector();
    const tracker = trackPgPool(inspector, pool, { name: 'main', leakThresholdMillis: 1000 });
    const leaks = collect(inspector, 'leak-suspected');
    for (let i = 0; i < 20; i++) {
      await pool.query('SELECT 1');
      await withClient(pool, (c) => c.query('SELECT 2'));
    }
    tracker.sweepLeaks();
    assert.equal(leaks.length, 0);
    assert.equal(inspector.stats('main').used, 0);
  });

  test('pools declared expectFull have no leak threshold by default', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    const tracker = trackPgPool(inspector, pool, { name: 'listen', expectFull: true });
    assert.equal(tracker.options.leakThresholdMillis, 0);
  });
});

describe('2. owner ended while holding', () => {
  test('missing finally: the request ends on the error path with the connection still out', async () => {
    const pool = res.pool(db.url, { max: 2 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main', ownerEndGraceMillis: 50 });
    const reported = nextEvent(inspector, 'owner-ended-holding');

    const handler = async () => {
      const client = await pool.connect(); // @missing-finally
      try {
        await client.query('SELECT * FROM no_such_table');
        client.release();
      } catch (error) {
        return String(error);
      }
      return 'ok';
    };
    const outcome = await inspector.runAs({ label: 'GET /orders', kind: 'request' }, handler);
    assert.match(outcome, /no_such_table/);
    const event = await reported;
    assert.equal(event.owner.label, 'GET /orders');
    assert.equal(event.owner.kind, 'request');
    assert.ok(isAt(event.lease.location, siteOf(here, '@missing-finally')), `location was ${event.lease.location}`);
    assert.match(event.message, /request "GET \/orders" ended while still holding lease #\d+ of pool "main"/);
  });

  test('a checkout that completes after its owner ended (asked for, not awaited) is reported too', async () => {
    const pool = res.pool(db.url, { max: 2 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main', ownerEndGraceMillis: 50 });
    const reported = nextEvent(inspector, 'owner-ended-holding');
    let pending!: Promise<{ release(): void }>;
    inspector.runAs({ label: 'job fire-and-forget', kind: 'job' }, () => {
      pending = pool.connect(); // @not-awaited
    });
    const client = await pending;
    const event = await reported;
    assert.equal(event.owner.label, 'job fire-and-forget');
    assert.ok(isAt(event.lease.location, siteOf(here, '@not-awaited')), `location was ${event.lease.location}`);
    client.release();
  });

  test('early return, seen through the HTTP owner middleware; a correct handler is not reported', async () => {
    const pool = res.pool(db.url, { max: 2 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main', ownerEndGraceMillis: 50 });
    const events = collect(inspector, 'owner-ended-holding');
    const reported = nextEvent(inspector, 'owner-ended-holding');
    const middleware = inspector.httpOwnerMiddleware();
    const { EventEmitter } = await import('node:events');

    const serve = (url: string, handler: () => Promise<void>) =>
      new Promise<void>((resolve, reject) => {
        const response = new EventEmitter();
        middleware({ method: 'GET', url }, response, () => {
          handler().then(() => {
            response.emit('finish');
            resolve();
          }, reject);
        });
      });

    await serve('/good?token=secret', async () => {
      await withClient(pool, (c) => c.query('SELECT 1'));
    });
    let leaked: { release(): void } | undefined;
    await serve('/early-return', async () => {
      const client = await pool.connect(); // @early-return
      leaked = client;
      if ((client as unknown as { processID: number | null }).processID !== null) return; // the early return that skips release()
      client.release();
    });
    // The good request ended first: a report for it would have come from an earlier grace timer, before this one.
    await reported;
    assert.equal(events.length, 1, 'only the early-return request is reported');
    const event = events[0];
    assert.ok(event);
    assert.equal(event.owner.label, 'GET /early-return');
    assert.ok(isAt(event.lease.location, siteOf(here, '@early-return')));
    leaked?.release();
  });
});

describe('3. released with a query in flight', () => {
  test('the not-awaited pattern is reported at the release line', async () => {
    const pool = res.pool(db.url, { max: 2 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const events = collect(inspector, 'release-in-flight');

    const client = await pool.connect();
    const notAwaited = client.query('SELECT pg_sleep(0.2)');
    client.release(); // @in-flight-release
    await notAwaited.catch(() => undefined);

    assert.equal(events.length, 1);
    const event = events[0];
    assert.ok(event);
    assert.ok(isAt(event.releaseLocation, siteOf(here, '@in-flight-release')), `release at ${event.releaseLocation}`);
    assert.match(event.message, /pg_sleep\(0\.2\)/);
    assert.equal(event.lease.queriesInFlight, 1);

    const awaited = await pool.connect();
    await awaited.query('SELECT pg_sleep(0.01)');
    awaited.release();
    assert.equal(events.length, 1, 'an awaited query is not in flight at release');
  });
});

describe('4. dirty release', () => {
  test('released inside an open transaction: reported with both locations; the next borrower sees it', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const events = collect(inspector, 'dirty-release');

    const client = await pool.connect(); // @dirty-acquire
    await client.query('BEGIN');
    await client.query('SELECT 1');
    client.release(); // @dirty-release

    assert.equal(events.length, 1);
    const event = events[0];
    assert.ok(event);
    assert.equal(event.lease.transaction.status, 'in-transaction');
    assert.equal(event.lease.transaction.depth, 1);
    assert.equal(event.destroyed, false);
    assert.ok(isAt(event.releaseLocation, siteOf(here, '@dirty-release')));
    assert.ok(isAt(event.lease.location, siteOf(here, '@dirty-acquire')));

    const next = await pool.connect();
    assert.equal(inspector.snapshot('main').holders[0]?.transaction.status, 'in-transaction', 'pg returned it dirty');
    await next.query('ROLLBACK');
    next.release();
    assert.equal(events.length, 1, 'a clean release after ROLLBACK is not dirty');
  });

  test('a failed transaction (status E) is dirty too; destroyDirtyReleases closes the connection', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main', destroyDirtyReleases: true });
    const events = collect(inspector, 'dirty-release');
    const removed = new Promise((resolve) => pool.once('remove', resolve));

    const client = await pool.connect();
    const pid = (client as unknown as { processID: number }).processID;
    await client.query('BEGIN');
    await client.query('SELECT 1/0').catch(() => undefined);
    client.release();
    await removed;

    assert.equal(events[0]?.lease.transaction.status, 'failed');
    assert.equal(events[0]?.destroyed, true);
    const fresh = await pool.connect();
    assert.notEqual((fresh as unknown as { processID: number }).processID, pid, 'a new connection, not the dirty one');
    const { rows } = await fresh.query<{ s: string }>("SELECT 'ok' AS s");
    assert.equal(rows[0]?.s, 'ok');
    fresh.release();
  });

  test('withTransaction never releases dirty, also when the callback throws', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const events = collect(inspector, 'dirty-release');
    await withTransaction(pool, (c) => c.query('SELECT 1'));
    await assert.rejects(
      withTransaction(pool, async (c) => {
        await c.query('SELECT 1');
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(events.length, 0);
  });
});

describe('5. double and foreign release', () => {
  test('a second release(): pg still throws its own error, poolscope names both lines', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const events = collect(inspector, 'double-release');
    const published: unknown[] = [];
    const onChannel = (message: unknown) => published.push(message);
    diagnosticsChannel.subscribe('poolscope:release:double', onChannel);

    const client = await pool.connect(); // @double-acquire
    client.release();
    assert.throws(() => client.release(), /Release called on client which has already been released to the pool/); // @double-second
    diagnosticsChannel.unsubscribe('poolscope:release:double', onChannel);
    assert.equal(events.length, 1);
    assert.deepEqual(published, events, 'the same event on the diagnostics channel');
    const event = events[0];
    assert.ok(event);
    assert.ok(isAt(event.releaseLocation, siteOf(here, '@double-second')), `release at ${event.releaseLocation}`);
    assert.ok(isAt(event.lease.location, siteOf(here, '@double-acquire')));
    assert.equal(inspector.stats('main').counters.doubleReleases, 1);
  });

  test('a stale release after the connection went to someone else is a foreign release', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const foreign = collect(inspector, 'foreign-release');
    const doubles = collect(inspector, 'double-release');

    const first = await pool.connect();
    const staleRelease = first.release;
    staleRelease();
    const second = await inspector.runAs('job B', () => pool.connect());
    assert.equal(second, first, 'max 1: the same connection is handed on');
    assert.throws(() => staleRelease(), /already been released/);
    assert.equal(foreign.length, 1);
    assert.equal(doubles.length, 0);
    assert.match(foreign[0]?.message ?? '', /was handed to lease #\d+ \(task "job B"\)/);
    second.release();
  });

  test('a release from another owner scope is a foreign release (the release still happens)', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const foreign = collect(inspector, 'foreign-release');
    const client = await inspector.runAs('request A', () => pool.connect());
    inspector.runAs('request B', () => client.release());
    assert.equal(foreign.length, 1);
    assert.equal(foreign[0]?.releasedBy?.label, 'request B');
    assert.equal(inspector.stats('main').used, 0);
  });
});

describe('6. acquire timeout', () => {
  test("pg's error keeps its message start and says why: stats and the longest holders with file:line", async () => {
    const pool = res.pool(db.url, { max: 2, connectionTimeoutMillis: 30_000 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const timeouts = collect(inspector, 'acquire-timeout');

    const a = await inspector.runAs('GET /slow-report', () => pool.connect()); // @holder-a
    const b = await pool.connect(); // @holder-b
    // Opening connections can exceed 200 ms on a loaded machine: the short timeout applies from here on only
    // (pg-pool reads it at each connect()).
    pool.options.connectionTimeoutMillis = 200;
    const slowQuery = a.query('SELECT pg_sleep(0.5)');
    slowQuery.catch(() => undefined); // awaited below; a failed assertion before then must not leave it unhandled

    const error = await pool.connect().then(
      () => assert.fail('expected a timeout'),
      (e: unknown) => e as Error,
    );
    assert.ok(error.message.startsWith('timeout exceeded when trying to connect'));
    assert.match(error.message, /pool "main": 2\/2 connections in use/);
    assert.match(error.message, /request|task "GET \/slow-report"/);
    assert.match(error.message, /running "SELECT pg_sleep\(0\.5\)"/);
    assert.ok(error.message.includes(siteOf(here, '@holder-a')), error.message);
    assert.ok(error.message.includes(siteOf(here, '@holder-b')), error.message);
    assert.ok(error.stack?.startsWith(`Error: ${error.message}\n    at `), 'the stack carries the message once');
    assert.equal(error.stack?.split('[poolscope]').length, 2);

    const report = acquireTimeoutReportOf(error);
    assert.ok(report);
    assert.equal(report.holders.length, 2);
    assert.equal(report.stats.used, 2);
    assert.equal(timeouts.length, 1);
    assert.equal(inspector.stats('main').counters.timeouts, 1);

    // The callback form gets the same enriched error.
    const callbackError = await new Promise<Error>((resolve) => {
      (pool.connect as unknown as (cb: (err: Error) => void) => void)((err) => resolve(err));
    });
    assert.ok(callbackError.message.startsWith('timeout exceeded when trying to connect\n[poolscope]'));
    await slowQuery;
    a.release();
    b.release();
  });
});
