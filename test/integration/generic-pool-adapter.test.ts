// The generic-pool adapter (poolscope/generic-pool) on real resources: TCP sockets to an echo server on 127.0.0.1
// (test/support/socket-pool-kit.ts), in generic-pool 3.9 pools. The adapter contract suite first, then what is
// particular to generic-pool, asserted on what a user sees: the reported file:line, the events, generic-pool's own
// answers (its promises and rejections) unchanged.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import genericPool from 'generic-pool';
import type { Pool } from 'generic-pool';
import { trackGenericPool, acquireTimeoutReportOf, type GenericPoolTrackingOptions } from '../../src/adapters/generic-pool/index.js';
import type { Inspector, PoolView } from '../../src/index.js';
import { adapterContractSuite, outcomeOf } from '../support/adapter-contract.js';
import { collect, isAt, nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';
import { closedPort, connectSocket, pingSocket, startEchoServer, type EchoServer } from '../support/socket-pool-kit.js';
import { eventually } from '../support/wait-for.js';

const here = import.meta.url;
let echo: EchoServer;
const res = new TestResources();
/** Pools made by a test, drained and cleared after it (their leaked sockets destroyed first). */
const pools: Pool<net.Socket>[] = [];

before(async () => {
  echo = await startEchoServer();
});
afterEach(async () => {
  await res.closeAll();
  for (const pool of pools.splice(0)) await endPool(pool);
});
after(() => echo?.close());

interface SocketPoolOptions {
  readonly max?: number;
  readonly min?: number;
  readonly acquireTimeoutMillis?: number;
  /** Where the factory connects (default: the echo server). */
  readonly port?: number;
}

/** A pool tracked as 'sockets' by a fresh inspector. */
interface TrackedSocketPool {
  readonly inspector: Inspector;
  readonly pool: Pool<net.Socket>;
  readonly view: PoolView;
  /** What reached the inspector's onError (poolscope's own failures): none, in every test. */
  readonly errors: unknown[];
}

/** A generic-pool pool of sockets, ended after the test. */
function socketPool(options: SocketPoolOptions = {}): Pool<net.Socket> {
  const { port = echo.port, ...config } = options;
  const pool = genericPool.createPool<net.Socket>(
    {
      create: () => connectSocket(port),
      destroy: async (socket) => void socket.destroy(),
      validate: async (socket) => !socket.destroyed,
    },
    { max: 2, min: 0, testOnBorrow: true, ...config },
  );
  pools.push(pool);
  return pool;
}

/** Drains and clears `pool`; sockets a test left out are destroyed through the pool first. */
async function endPool(pool: Pool<net.Socket>): Promise<void> {
  const loans = (pool as unknown as { _resourceLoans: Map<net.Socket, unknown> })._resourceLoans;
  for (const socket of [...loans.keys()]) await pool.destroy(socket).catch(() => undefined);
  await pool.drain();
  await pool.clear();
}

function tracked(options: Partial<GenericPoolTrackingOptions<net.Socket>> = {}, pool = socketPool()): TrackedSocketPool {
  const errors: unknown[] = [];
  const inspector = res.inspector({ onError: (error) => errors.push(error) });
  const view = trackGenericPool(inspector, pool, { name: 'sockets', ...options });
  return { inspector, pool, view, errors };
}

// ---- the contract -------------------------------------------------------------------------------------------------

adapterContractSuite<Pool<net.Socket>, net.Socket>({
  driver: 'generic-pool',
  capabilities: { queries: false, transactions: false, sessionIds: false },
  moduleUrl: here,
  unavailable: () => Promise.resolve(undefined), // the echo server runs in this process
  createPool: ({ max, acquireTimeoutMillis }) => socketPool({ max, acquireTimeoutMillis }),
  endPool,
  track: (inspector, pool, options) => trackGenericPool(inspector, pool, options),
  acquire: (pool) => pool.acquire(), // @contract-acquire
  release: (pool, conn) => outcomeOf(() => pool.release(conn)),
  destroy: (pool, conn) => pool.destroy(conn),
  counts: (pool) => ({ total: pool.size, idle: pool.available, waiting: pool.pending }),
  acquireTimeout: true,
});

// ---- what generic-pool adds ---------------------------------------------------------------------------------------

describe('checkouts', () => {
  test('a lease has its owner, the caller’s file:line, wait and hold; use() too; nothing else is shown as zero', async () => {
    const { inspector, pool, view, errors } = tracked({ stackCapture: 'always' });
    const acquired = collect(inspector, 'lease-acquired');
    const released = collect(inspector, 'lease-released');

    const socket = await inspector.runAs({ label: 'job sync', kind: 'job' }, () => pool.acquire()); // @gp-acquire
    const [holder] = view.snapshot().holders;
    assert.ok(holder);
    assert.equal(holder.owner?.label, 'job sync');
    assert.ok(isAt(holder.location, siteOf(here, '@gp-acquire')), `location ${holder.location}`);
    assert.equal(holder.queriesRun, null, 'queries are not available');
    assert.deepEqual(holder.transaction, { status: 'not-available', depth: null });
    assert.equal(holder.backendPid, null);
    await pingSocket(socket);
    await pool.release(socket);

    const echoed = await pool.use((s) => pingSocket(s).then(() => 'echoed')); // @gp-use
    assert.equal(echoed, 'echoed');
    const useSite = acquired[1]?.lease.location;
    assert.ok(isAt(useSite, siteOf(here, '@gp-use')), `use() at ${useSite}`);

    const stats = view.stats();
    assert.equal(stats.counters.acquires, 2);
    assert.equal(stats.counters.releases, 2);
    assert.equal(stats.waitTime.count, 2);
    assert.equal(stats.useTime.count, 2);
    assert.equal(stats.counters.creates, 1, 'one socket made, reused by use()');
    assert.deepEqual(
      released.map((e) => e.destroyed),
      [false, false],
    );
    assert.deepEqual(view.config(), {
      max: 2,
      min: 0,
      testOnBorrow: true,
      testOnReturn: false,
      fifo: true,
      autostart: true,
      priorityRange: 1,
      idleTimeoutMillis: 30000,
      softIdleTimeoutMillis: -1,
      evictionRunIntervalMillis: 0,
      numTestsPerEvictionRun: 3,
    });
    assert.deepEqual(errors, []);
  });

  test('a caller that waits for a busy pool is a waiter in the snapshot, then a holder with its wait', async () => {
    const { pool, view } = tracked({ stackCapture: 'always' }, socketPool({ max: 1 }));
    const first = await pool.acquire();
    const waiting = pool.acquire(); // @gp-waiter
    const [waiter] = view.snapshot().waiters;
    assert.ok(isAt(waiter?.location, siteOf(here, '@gp-waiter')), `waiter at ${waiter?.location}`);
    assert.equal(view.stats().pending, 1);
    await pool.release(first);
    const second = await waiting;
    assert.equal(second, first, 'max 1: the same socket is handed on');
    assert.equal(view.snapshot().holders[0]?.state, 'held');
    await pool.release(second);
    assert.equal(view.stats().waitTime.count, 2);
  });

  test('resources lent before tracking began go back without a report', async () => {
    const pool = socketPool();
    const before = await pool.acquire();
    const { inspector, view } = tracked({}, pool);
    const doubles = collect(inspector, 'double-release');
    const foreign = collect(inspector, 'foreign-release');
    await pool.release(before);
    assert.deepEqual([...doubles, ...foreign], []);
    assert.equal(view.stats().counters.releases, 0, 'not a lease of this tracker');
  });

  test('destroy() ends the lease as destroyed and counts the socket removed', async () => {
    const { inspector, pool, view } = tracked();
    const released = nextEvent(inspector, 'lease-released');
    const socket = await pool.acquire();
    await pool.destroy(socket);
    assert.equal((await released).destroyed, true);
    await eventually(() => socket.destroyed, 'the factory to destroy the socket');
    assert.equal(view.stats().counters.removes, 1);
    assert.equal(view.stats().total, pool.size);
  });
});

describe('detections', () => {
  test('2. owner ended while holding: a job that returns without releasing is reported at the acquire line', async () => {
    const { inspector, pool } = tracked({ ownerEndGraceMillis: 50 });
    const reported = nextEvent(inspector, 'owner-ended-holding');
    let kept: net.Socket | undefined;
    await inspector.runAs({ label: 'job forgetful', kind: 'job' }, async () => {
      kept = await pool.acquire(); // @gp-owner-ended
    });
    const event = await reported;
    assert.equal(event.owner.label, 'job forgetful');
    assert.ok(isAt(event.lease.location, siteOf(here, '@gp-owner-ended')), `location ${event.lease.location}`);
    assert.ok(kept);
    await pool.release(kept);
  });

  test('5. a second release: generic-pool still rejects with its own error; poolscope names both lines', async () => {
    const { inspector, pool, view } = tracked();
    const doubles = collect(inspector, 'double-release');
    const socket = await pool.acquire(); // @gp-double-acquire
    await pool.release(socket);
    await assert.rejects(pool.release(socket), { message: 'Resource not currently part of this pool' }); // @gp-double-second
    await assert.rejects(pool.destroy(socket), { message: 'Resource not currently part of this pool' }); // @gp-double-destroy
    assert.equal(doubles.length, 2, 'release and destroy of a resource not lent: both reported');
    assert.ok(isAt(doubles[0]?.releaseLocation, siteOf(here, '@gp-double-second')), `release at ${doubles[0]?.releaseLocation}`);
    assert.ok(isAt(doubles[1]?.releaseLocation, siteOf(here, '@gp-double-destroy')), `destroy at ${doubles[1]?.releaseLocation}`);
    assert.ok(isAt(doubles[0]?.lease.location, siteOf(here, '@gp-double-acquire')));
    assert.equal(view.stats().counters.doubleReleases, 2);
  });

  test('5. a stale release after the socket went to another owner is a foreign release (generic-pool takes it)', async () => {
    const { inspector, pool, view } = tracked({}, socketPool({ max: 1 }));
    const foreign = collect(inspector, 'foreign-release');
    const doubles = collect(inspector, 'double-release');
    const socket = await inspector.runAs('job A', async () => {
      const borrowed = await pool.acquire();
      await pool.release(borrowed);
      return borrowed;
    });
    const again = await inspector.runAs('job B', () => pool.acquire());
    assert.equal(again, socket, 'max 1: the same socket is handed on');
    await inspector.runAs('job A again', () => pool.release(socket)); // a stale release: B's loan ends
    assert.equal(foreign.length, 1);
    assert.equal(foreign[0]?.releasedBy?.label, 'job A again');
    assert.equal(foreign[0]?.lease.owner?.label, 'job B');
    assert.equal(pool.borrowed, 0, 'generic-pool took it back, as without poolscope');
    // Job B's own release is now one too many: generic-pool rejects it, poolscope reports it.
    await assert.rejects(inspector.runAs('job B', () => pool.release(again)), /Resource not currently part of this pool/);
    assert.equal(doubles.length, 1);
    assert.equal(view.stats().counters.foreignReleases, 1);
  });

  test('5. a socket this pool never lent: generic-pool rejects as without poolscope, and it is no double release', async () => {
    const { inspector, pool, view, errors } = tracked();
    const doubles = collect(inspector, 'double-release');
    const foreign = collect(inspector, 'foreign-release');
    const unknown = collect(inspector, 'unknown-release');
    const stranger = await echo.connect();
    try {
      const plain = socketPool();
      const expected = await outcomeOf(() => plain.release(stranger));
      assert.deepEqual(await outcomeOf(() => pool.release(stranger)), expected);
      assert.deepEqual(await outcomeOf(() => pool.destroy(stranger)), expected);
    } finally {
      stranger.destroy();
    }
    assert.deepEqual([...doubles, ...foreign], [], 'no lease of this pool ever held it: not a double release');
    assert.equal(unknown.length, 2, 'the release and the destroy of a resource the pool never lent, each reported');
    assert.equal(view.stats().counters.doubleReleases, 0);
    assert.deepEqual(errors, []);
  });

  test("6. generic-pool's TimeoutError keeps its class and message start and says who holds the sockets", async () => {
    const { inspector, pool, view } = tracked({}, socketPool({ max: 1, acquireTimeoutMillis: 200 }));
    const holder = await inspector.runAs({ label: 'GET /report', kind: 'request' }, () => pool.acquire()); // @gp-holder
    const error = await pool.acquire().then(
      () => assert.fail('expected a timeout'),
      (e: unknown) => e as Error,
    );
    assert.equal(error.name, 'TimeoutError');
    assert.ok(error.message.startsWith('ResourceRequest timed out\n[poolscope]'), error.message);
    assert.match(error.message, /pool "sockets": 1\/1 connections in use/);
    assert.match(error.message, /request "GET \/report"/);
    assert.ok(error.message.includes(siteOf(here, '@gp-holder')), error.message);
    assert.doesNotMatch(error.message, /no query run|last query/, 'no query text: queries are not available');
    const report = acquireTimeoutReportOf(error);
    assert.equal(report?.holders.length, 1);
    assert.equal(view.stats().counters.timeouts, 1);
    await pool.release(holder);
  });
});

describe('resources and settings', () => {
  test('a factory that cannot connect: connection errors reported, the caller gets the timeout, nothing thrown', async () => {
    const pool = socketPool({ port: await closedPort(), acquireTimeoutMillis: 300 });
    const ownErrors: unknown[] = [];
    pool.on('factoryCreateError', (error) => ownErrors.push(error));
    const { inspector, view, errors } = tracked({}, pool);
    const failures = collect(inspector, 'connection-error');
    inspector.on('connection-error', () => undefined);
    const error = await pool.acquire().then(
      () => assert.fail('nothing listens there'),
      (e: unknown) => e as Error,
    );
    assert.equal(error.name, 'TimeoutError');
    assert.ok(error.message.startsWith('ResourceRequest timed out'));
    assert.ok(failures.length >= 1, 'the factory errors are connection errors');
    assert.match(failures[0]?.message ?? '', /ECONNREFUSED/);
    assert.equal(failures[0]?.leaseId, null);
    assert.ok(ownErrors.length >= 1, "generic-pool's own listeners still get its events");
    assert.equal(view.stats().counters.errors, failures.length);
    assert.deepEqual(errors, []);
  });

  test('sessionIdOf fills backendPid and the sessionIds capability; pingResource makes the pool probeable', async () => {
    const ids = new WeakMap<net.Socket, number>();
    let next = 100;
    const pool = socketPool();
    const { view } = tracked(
      {
        sessionIdOf: (socket: net.Socket) => {
          if (!ids.has(socket)) ids.set(socket, next++);
          return ids.get(socket) ?? null;
        },
        pingResource: (socket: net.Socket) => pingSocket(socket),
      },
      pool,
    );
    assert.deepEqual(view.stats().capabilities, { queries: false, transactions: false, sessionIds: true });
    const socket = await pool.acquire();
    assert.equal(view.snapshot().holders[0]?.backendPid, 100);
    await pool.release(socket);
    const probe = await view.probe(2000);
    assert.equal(probe.reachable, true, JSON.stringify(probe));
    assert.equal(view.stats().counters.acquires, 1, 'the ping records no lease');
    assert.equal(pool.borrowed, 0, 'the ping gave its socket back');
  });

  test('without pingResource the pool has no ping: readiness says not supported', async () => {
    const { view } = tracked();
    assert.equal((await view.probe(500)).skipped, 'not-supported');
  });

  test('untrack puts back acquire, release, destroy and the factory; the pool works as before', async () => {
    const pool = socketPool();
    const own = (key: string) => Object.hasOwn(pool, key);
    const factory = (pool as unknown as { _factory: unknown })._factory;
    const listeners = pool.listenerCount('factoryCreateError');
    const { inspector, view } = tracked({}, pool);
    assert.ok(own('acquire') && own('release') && own('destroy'));
    inspector.untrack('sockets');
    assert.ok(!own('acquire') && !own('release') && !own('destroy'), 'no own property left');
    assert.equal((pool as unknown as { _factory: unknown })._factory, factory);
    assert.equal(pool.listenerCount('factoryCreateError'), listeners);
    const socket = await pool.acquire();
    await pool.release(socket);
    assert.equal(view.stats().counters.acquires, 0);
    const again = trackGenericPool(res.inspector(), pool, { name: 'again' });
    await pool.release(await pool.acquire());
    assert.equal(again.stats().counters.acquires, 1);
  });

  test('refused: a pool tracked twice, an object that is no generic-pool pool, a bad option', () => {
    const { inspector, pool } = tracked();
    assert.throws(() => trackGenericPool(inspector, pool, { name: 'twice' }), { code: 'POOLSCOPE_ERR_POOL_ALREADY_TRACKED' });
    assert.throws(() => trackGenericPool(inspector, {} as unknown as Pool<net.Socket>, { name: 'x' }), {
      code: 'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      message: /needs a generic-pool Pool/,
    });
    const other = socketPool();
    assert.throws(() => trackGenericPool(inspector, other, { name: 'bad', pingResource: 'yes' as unknown as () => void }), {
      code: 'POOLSCOPE_ERR_OPTIONS_INVALID',
    });
    assert.ok(!Object.hasOwn(other, 'acquire'), 'a refused pool is left as it was');
    assert.deepEqual(inspector.poolNames(), ['sockets']);
  });
});

