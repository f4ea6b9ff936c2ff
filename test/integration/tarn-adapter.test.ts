// trackTarnPool (poolscope/tarn) on tarn 3.1 alone, with real resources: TCP sockets to an echo server on 127.0.0.1
// (test/support/socket-pool-kit.ts), and pg.Clients on a real PostgreSQL (resourceKind 'pg'). The adapter contract
// suite first, then what is particular to tarn, asserted on what a user sees: the reported file:line, the events,
// tarn's own answers unchanged. Knex's pool (trackKnex) is tested in tarn-knex.test.ts.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import pg from 'pg';
import { Pool as TarnPool, TimeoutError } from 'tarn';
import { acquireTimeoutReportOf, trackTarnPool, type TarnTrackingOptions } from '../../src/adapters/tarn/index.js';
import { adapterContractSuite, outcomeOf } from '../support/adapter-contract.js';
import { collect, isAt, nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';
import { closedPort, connectSocket, pingSocket, startEchoServer, type EchoServer } from '../support/socket-pool-kit.js';
import { endTarn, tarnCounts, type Tracked } from '../support/tarn-test-kit.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const here = import.meta.url;
let db: TestDatabase;
let echo: EchoServer;
const res = new TestResources();
/** tarn pools made by a test, destroyed after it (resources a test left out are given back first). */
const tarnPools: TarnPool<unknown>[] = [];

before(async () => {
  db = await createTestDatabase('tarn');
  echo = await startEchoServer();
});
afterEach(async () => {
  await res.closeAll();
  for (const pool of tarnPools.splice(0)) await endTarn(pool);
});
after(async () => {
  await echo?.close();
  await db?.drop();
});

// ---- pools ------------------------------------------------------------------------------------------------------

interface TarnSettings {
  readonly max?: number;
  readonly acquireTimeoutMillis?: number;
  readonly propagateCreateError?: boolean;
}

/** A tarn pool of sockets to the echo server (or to `port`); a destroyed socket fails validation and is replaced. */
function socketTarn(settings: TarnSettings & { readonly port?: number } = {}): TarnPool<net.Socket> {
  const { port = echo.port, max = 2, ...rest } = settings;
  const pool = new TarnPool<net.Socket>({
    create: () => connectSocket(port),
    destroy: (socket) => void socket.destroy(),
    validate: (socket) => !socket.destroyed,
    min: 0,
    max,
    createRetryIntervalMillis: 50,
    ...rest,
  });
  tarnPools.push(pool as TarnPool<unknown>);
  return pool;
}

/** A tarn pool of pg.Clients on the test database. */
function pgTarn(max = 2): TarnPool<pg.Client> {
  const pool = new TarnPool<pg.Client>({
    create: async () => {
      const client = new pg.Client({ connectionString: db.url });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    },
    destroy: (client) => client.end(),
    min: 0,
    max,
  });
  tarnPools.push(pool as TarnPool<unknown>);
  return pool;
}

function trackedTarn<R>(pool: TarnPool<R>, options: Partial<TarnTrackingOptions<R>> = {}): Tracked<TarnPool<R>> {
  const errors: unknown[] = [];
  const inspector = res.inspector({ onError: (error) => errors.push(error) });
  const view = trackTarnPool(inspector, pool, { name: 'tarn', ...options });
  return { inspector, pool, view, errors };
}

// ---- the contract ------------------------------------------------------------------------------------------------

describe('tarn alone, sockets', () => {
  adapterContractSuite<TarnPool<net.Socket>, net.Socket>({
    driver: 'tarn',
    capabilities: { queries: false, transactions: false, sessionIds: false },
    moduleUrl: here,
    unavailable: () => Promise.resolve(undefined), // the echo server runs in this process
    createPool: ({ max, acquireTimeoutMillis }) => socketTarn({ max, acquireTimeoutMillis }),
    endPool: (pool) => endTarn(pool as TarnPool<unknown>),
    track: (inspector, pool, options) => trackTarnPool(inspector, pool, options),
    acquire: (pool) => pool.acquire().promise, // @contract-acquire
    release: (pool, conn) => outcomeOf(() => pool.release(conn)),
    // tarn destroys one resource only when it fails validation: closed, then given back, it is replaced.
    destroy: async (pool, conn) => {
      conn.destroy();
      pool.release(conn);
    },
    counts: (pool) => tarnCounts(pool as TarnPool<unknown>),
    acquireTimeout: true,
  });
});

// ---- tarn alone, sockets ------------------------------------------------------------------------------------------

describe('tarn alone: trackTarnPool', () => {
  test('a lease has its owner, your line, wait and hold; waiters too; tarn’s settings; nothing else shown as zero', async () => {
    const { inspector, pool, view, errors } = trackedTarn(socketTarn({ max: 1 }), { stackCapture: 'always' });
    const socket = await inspector.runAs({ label: 'job sync', kind: 'job' }, () => pool.acquire().promise); // @tarn-acquire
    const waiting = pool.acquire().promise; // @tarn-waiter
    const { holders, waiters } = view.snapshot();
    assert.equal(holders[0]?.owner?.label, 'job sync');
    assert.ok(isAt(holders[0]?.location, siteOf(here, '@tarn-acquire')), `holder at ${holders[0]?.location}`);
    assert.ok(isAt(waiters[0]?.location, siteOf(here, '@tarn-waiter')), `waiter at ${waiters[0]?.location}`);
    assert.equal(holders[0]?.queriesRun, null);
    assert.deepEqual(holders[0]?.transaction, { status: 'not-available', depth: null });
    assert.equal(pool.release(socket), true, "tarn's own answer");
    const next = await waiting;
    assert.equal(next, socket, 'max 1: the same socket is handed on');
    await pingSocket(next);
    pool.release(next);
    const stats = view.stats();
    assert.equal(stats.counters.acquires, 2);
    assert.equal(stats.counters.releases, 2);
    assert.equal(stats.counters.creates, 1);
    assert.equal(stats.waitTime.count, 2);
    assert.deepEqual(view.config(), {
      max: 1,
      min: 0,
      idleTimeoutMillis: 30000,
      acquireTimeoutMillis: 30000,
      connectionTimeoutMillis: 30000,
      createTimeoutMillis: 30000,
      destroyTimeoutMillis: 5000,
      reapIntervalMillis: 1000,
      createRetryIntervalMillis: 50,
      propagateCreateError: false,
    });
    assert.deepEqual(errors, []);
  });

  test('2. owner ended while holding: a job that returns without releasing is reported at the acquire line', async () => {
    const { inspector, pool } = trackedTarn(socketTarn(), { ownerEndGraceMillis: 50 });
    const reported = nextEvent(inspector, 'owner-ended-holding');
    let kept: net.Socket | undefined;
    await inspector.runAs({ label: 'job forgetful', kind: 'job' }, async () => {
      kept = await pool.acquire().promise; // @tarn-owner-ended
    });
    const event = await reported;
    assert.equal(event.owner.label, 'job forgetful');
    assert.ok(isAt(event.lease.location, siteOf(here, '@tarn-owner-ended')), `location ${event.lease.location}`);
    if (kept !== undefined) pool.release(kept);
  });

  test('5. a second release: tarn still answers false; poolscope names both lines', async () => {
    const { inspector, pool, view } = trackedTarn(socketTarn());
    const doubles = collect(inspector, 'double-release');
    const socket = await pool.acquire().promise; // @tarn-double-acquire
    assert.equal(pool.release(socket), true);
    assert.equal(pool.release(socket), false); // @tarn-double-second
    assert.equal(doubles.length, 1);
    assert.ok(isAt(doubles[0]?.releaseLocation, siteOf(here, '@tarn-double-second')), `release at ${doubles[0]?.releaseLocation}`);
    assert.ok(isAt(doubles[0]?.lease.location, siteOf(here, '@tarn-double-acquire')));
    assert.match(doubles[0]?.message ?? '', /released again/i);
    assert.equal(view.stats().counters.doubleReleases, 1);
  });

  test('5. a stale release after the socket went to another owner is a foreign release; a never-lent socket is not a double one', async () => {
    const { inspector, pool, view, errors } = trackedTarn(socketTarn({ max: 1 }));
    const foreign = collect(inspector, 'foreign-release');
    const doubles = collect(inspector, 'double-release');
    const socket = await inspector.runAs('job A', async () => {
      const borrowed = await pool.acquire().promise;
      pool.release(borrowed);
      return borrowed;
    });
    const again = await inspector.runAs('job B', () => pool.acquire().promise);
    assert.equal(again, socket);
    assert.equal(
      inspector.runAs('job A again', () => pool.release(socket)),
      true,
      "tarn takes it back (B's loan ends), as without poolscope",
    );
    assert.equal(foreign.length, 1);
    assert.equal(foreign[0]?.releasedBy?.label, 'job A again');
    assert.equal(foreign[0]?.lease.owner?.label, 'job B');
    assert.equal(pool.numUsed(), 0);

    const unknown = collect(inspector, 'unknown-release');
    const stranger = await echo.connect();
    try {
      assert.equal(pool.release(stranger), false, "tarn's answer for a resource it never lent"); // @tarn-stranger
    } finally {
      stranger.destroy();
    }
    assert.equal(doubles.length, 0, 'no lease of this pool ever held it: not a double release');
    assert.equal(unknown.length, 1, 'reported as the release of a resource the pool never lent');
    assert.ok(isAt(unknown[0]?.releaseLocation, siteOf(here, '@tarn-stranger')), `at ${unknown[0]?.releaseLocation}`);
    assert.match(unknown[0]?.message ?? '', /never lent/);
    assert.equal(view.stats().counters.foreignReleases, 2, 'the stale release, and the stranger');
    assert.deepEqual(errors, []);
  });

  test("6. tarn's TimeoutError keeps its class and message start and says who holds the sockets", async () => {
    const { inspector, pool, view } = trackedTarn(socketTarn({ max: 1, acquireTimeoutMillis: 200 }));
    const holder = await inspector.runAs({ label: 'GET /report', kind: 'request' }, () => pool.acquire().promise); // @tarn-holder
    const error = await pool.acquire().promise.then(
      () => assert.fail('expected a timeout'),
      (e: unknown) => e as Error,
    );
    assert.ok(error instanceof TimeoutError);
    assert.ok(error.message.startsWith('operation timed out for an unknown reason\n[poolscope]'), error.message);
    assert.match(error.message, /pool "tarn": 1\/1 connections in use/);
    assert.match(error.message, /request "GET \/report"/);
    assert.ok(error.message.includes(siteOf(here, '@tarn-holder')), error.message);
    assert.equal(acquireTimeoutReportOf(error)?.holders.length, 1);
    assert.equal(view.stats().counters.timeouts, 1);
    pool.release(holder);
  });

  test('a factory that cannot connect: connection errors reported, the caller gets tarn’s error, nothing thrown', async () => {
    const port = await closedPort();
    // tarn's default: create errors are retried until the acquire times out, with the last one's message.
    const retried = trackedTarn(socketTarn({ port, max: 1, acquireTimeoutMillis: 300 }));
    const failures = collect(retried.inspector, 'connection-error');
    const timedOut = await retried.pool.acquire().promise.then(
      () => assert.fail('nothing listens there'),
      (e: unknown) => e as Error,
    );
    assert.ok(timedOut instanceof TimeoutError);
    assert.match(timedOut.message, /^connect ECONNREFUSED/);
    assert.ok(failures.length >= 1);
    assert.equal(failures[0]?.leaseId, null, 'a create error belongs to no lease');
    assert.equal(retried.view.stats().counters.timeouts, 1);
    assert.deepEqual(retried.errors, []);

    // propagateCreateError: the first caller gets the create error itself, reported once, with its lease.
    const propagated = trackedTarn(socketTarn({ port, max: 1, propagateCreateError: true }));
    const propagatedFailures = collect(propagated.inspector, 'connection-error');
    await assert.rejects(propagated.pool.acquire().promise, /ECONNREFUSED/);
    assert.equal(propagatedFailures.length, 1);
    assert.notEqual(propagatedFailures[0]?.leaseId, null);
    assert.equal(propagated.view.stats().counters.errors, 1);
    assert.deepEqual(propagated.errors, []);
  });

  test('resources lent before tracking began go back without a report', async () => {
    const pool = socketTarn();
    const before = await pool.acquire().promise;
    const { inspector, view } = trackedTarn(pool);
    const doubles = collect(inspector, 'double-release');
    assert.equal(pool.release(before), true);
    assert.deepEqual(doubles, []);
    assert.equal(view.stats().counters.releases, 0, 'not a lease of this tracker');
  });

  test('pingResource makes the pool probeable (no lease); without it readiness says not supported', async () => {
    const pinged = trackedTarn(socketTarn(), { pingResource: (socket: net.Socket) => pingSocket(socket) });
    const probe = await pinged.view.probe(2000);
    assert.equal(probe.reachable, true, JSON.stringify(probe));
    assert.equal(pinged.view.stats().counters.acquires, 0);
    assert.equal(pinged.pool.numUsed(), 0, 'the ping gave its socket back');
    const plain = trackedTarn(socketTarn());
    assert.equal((await plain.view.probe(500)).skipped, 'not-supported');
  });

  test('untrack removes every listener and the mark; refused: twice, not a tarn pool, a bad resourceKind', async () => {
    const pool = socketTarn();
    const emitter = (pool as unknown as { emitter: { eventNames(): (string | symbol)[] } }).emitter;
    const { inspector } = trackedTarn(pool);
    assert.throws(() => trackTarnPool(inspector, pool, { name: 'twice' }), { code: 'POOLSCOPE_ERR_POOL_ALREADY_TRACKED' });
    assert.throws(() => trackTarnPool(inspector, res.pool(db.url) as unknown as TarnPool<unknown>, { name: 'pg' }), {
      code: 'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      message: /needs a tarn Pool/,
    });
    const other = socketTarn();
    assert.throws(() => trackTarnPool(inspector, other, { name: 'bad', resourceKind: 'redis' as 'pg' }), {
      code: 'POOLSCOPE_ERR_OPTIONS_INVALID',
    });
    inspector.untrack('tarn');
    assert.deepEqual(emitter.eventNames(), []);
    assert.deepEqual(Object.getOwnPropertySymbols(pool), []);
    const view = trackTarnPool(inspector, pool, { name: 'again' });
    pool.release(await pool.acquire().promise);
    assert.equal(view.stats().counters.acquires, 1);
    assert.deepEqual(inspector.poolNames(), ['again']);
  });
});

// ---- tarn alone, pg.Clients -------------------------------------------------------------------------------------

describe("tarn alone with pg.Client resources (resourceKind 'pg')", () => {
  test('queries, transaction depth and backend pids are followed; readiness runs SELECT 1', async () => {
    const { pool, view, errors } = trackedTarn(pgTarn(), { resourceKind: 'pg' });
    assert.deepEqual(view.stats().capabilities, { queries: true, transactions: true, sessionIds: true });
    const client = await pool.acquire().promise;
    await client.query('BEGIN');
    await client.query('SAVEPOINT a');
    let [holder] = view.snapshot().holders;
    assert.deepEqual(holder?.transaction, { status: 'in-transaction', depth: 2 });
    assert.equal(holder?.backendPid, (client as unknown as { processID: number }).processID);
    await client.query('COMMIT');
    [holder] = view.snapshot().holders;
    assert.deepEqual(holder?.transaction, { status: 'idle', depth: 0 });
    assert.equal(holder?.queriesRun, 3);
    pool.release(client);
    assert.equal((await view.probe(5000)).reachable, true);
    assert.equal(view.stats().counters.queries, 3, 'the ping is not counted');
    assert.deepEqual(errors, []);
  });

  test('3. released with a query in flight: reported at the release line', async () => {
    const { inspector, pool } = trackedTarn(pgTarn(), { resourceKind: 'pg' });
    const events = collect(inspector, 'release-in-flight');
    const client = await pool.acquire().promise;
    const notAwaited = client.query('SELECT pg_sleep(0.2)');
    pool.release(client); // @tarn-in-flight
    await notAwaited;
    assert.equal(events.length, 1);
    assert.ok(isAt(events[0]?.releaseLocation, siteOf(here, '@tarn-in-flight')), `release at ${events[0]?.releaseLocation}`);
    assert.match(events[0]?.message ?? '', /pg_sleep\(0\.2\)/);
  });

  test('4. dirty release: reported with both lines; the next borrower inherits it; onDirtyRelease rollback cleans it', async () => {
    const { inspector, pool } = trackedTarn(pgTarn(1), { resourceKind: 'pg' });
    const dirty = collect(inspector, 'dirty-release');
    const inherited = collect(inspector, 'inherited-transaction');
    const client = await pool.acquire().promise; // @tarn-dirty-acquire
    await client.query('BEGIN');
    pool.release(client); // @tarn-dirty-release
    assert.equal(dirty.length, 1);
    assert.ok(isAt(dirty[0]?.releaseLocation, siteOf(here, '@tarn-dirty-release')));
    assert.ok(isAt(dirty[0]?.lease.location, siteOf(here, '@tarn-dirty-acquire')));
    const next = await pool.acquire().promise;
    assert.equal(inherited.length, 1, 'the next borrower gets the open transaction, reported once');
    await next.query('ROLLBACK');
    pool.release(next);

    const rolling = trackedTarn(pgTarn(1), { name: 'rolling', resourceKind: 'pg', onDirtyRelease: 'rollback' });
    const rollingDirty = collect(rolling.inspector, 'dirty-release');
    const first = await rolling.pool.acquire().promise;
    await first.query('BEGIN');
    await first.query("SELECT 'left open'");
    rolling.pool.release(first);
    const second = await rolling.pool.acquire().promise;
    assert.equal(second, first);
    const { rows } = await second.query<{ status: string }>('SELECT 1 AS status');
    assert.equal(rows.length, 1);
    assert.equal(rolling.view.snapshot().holders[0]?.transaction.status, 'idle', 'ROLLBACK ran before its next query');
    assert.equal(rollingDirty[0]?.action, 'rollback');
    rolling.pool.release(second);
  });
});
