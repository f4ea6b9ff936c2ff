// Releases under owners (issue 10, section 1), on a real PostgreSQL. pg-pool releases the client of `pool.query()`
// inside the query callback, which runs in the async context of the socket (the owner that opened the connection),
// not of the caller; callback-form `client.query`/`pool.connect` do the same. None of that is a foreign release:
// a release is foreign only when code running as another owner calls `release()` on a lease it did not take.
//
// Each correct scenario runs 25 consecutive and 25 concurrent owners on a fresh pool (max 4, so the connections,
// opened inside owners, are reused across owners), through runAs and through real node:http, Express and Fastify
// servers, and must report no misuse at all. The one true foreign release (a client handed from owner A to owner
// B, which releases it) must still be reported, once, at this file's line.
import { after, afterEach, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import type pg from 'pg';
import {
  poolRecommendationInputs,
  recommend,
  trackPgPool,
  type Inspector,
  type LeaseAcquiredEvent,
  type PoolscopeEventOf,
} from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { collect, eventually, isAt, siteOf, sleep, TestResources } from '../support/pg-test-kit.js';
import { listenOnLoopback } from '../support/loopback-server.js';

const here = import.meta.url;
let db: TestDatabase;
const res = new TestResources();
/** Servers of the current test, closed after it (before the pools). */
const closers: (() => Promise<void>)[] = [];

before(async () => {
  db = await createTestDatabase('owner_releases');
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await res.closeAll();
});
after(() => db?.drop());

/** Owners per run; the pool is smaller, so connections are reused across owners. */
const OWNERS = 25;
const POOL_MAX = 4;
/** Short owner-end grace: a correct program releases before its owner ends, so no grace is needed at all. */
const GRACE_MILLIS = 10;
const SQL = 'SELECT 1 AS one';

const MISUSE_TYPES = ['foreign-release', 'double-release', 'dirty-release', 'release-in-flight', 'owner-ended-holding'] as const;
type MisuseType = (typeof MISUSE_TYPES)[number];
type MisuseEvent = PoolscopeEventOf<MisuseType>;

interface TrackedPool {
  readonly pool: pg.Pool;
  readonly inspector: Inspector;
  /** Every misuse event, in order. */
  readonly misuse: MisuseEvent[];
  readonly acquired: LeaseAcquiredEvent[];
}

function trackedPool(max = POOL_MAX): TrackedPool {
  const pool = res.pool(db.url, { max });
  const inspector = res.inspector();
  trackPgPool(inspector, pool, { name: 'main', ownerEndGraceMillis: GRACE_MILLIS });
  const misuse: MisuseEvent[] = [];
  for (const type of MISUSE_TYPES) inspector.on(type, (event) => misuse.push(event));
  return { pool, inspector, misuse, acquired: collect(inspector, 'lease-acquired') };
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function countsOf(events: readonly MisuseEvent[]): Record<MisuseType, number> {
  const counts = Object.fromEntries(MISUSE_TYPES.map((type) => [type, 0])) as Record<MisuseType, number>;
  for (const event of events) counts[event.type] += 1;
  return counts;
}

function describeCounts(counts: Record<MisuseType, number>): string {
  return MISUSE_TYPES.map((type) => `${counts[type]} ${type}`).join(', ');
}

/**
 * Waits out the owner-end grace period: the inspector's owner-end timers (GRACE_MILLIS) were set before this longer
 * one, so they have fired when it does. A bound for the check, not a timing assertion.
 */
function ownersSettled(): Promise<void> {
  // Kept sleep: "no report after the grace" has no event (a check that reports nothing emits nothing).
  return sleep(GRACE_MILLIS * 5);
}

/**
 * The whole contract of a correct run: no misuse event of any kind, the counters agree (every checkout released,
 * none held, no foreign release), and no fix-misuse recommendation. The counts go to the diagnostics first, so a
 * failing run still shows its figures.
 */
async function assertNoMisuse(t: TestContext, tracked: TrackedPool, checkouts: number): Promise<void> {
  await ownersSettled();
  const counts = countsOf(tracked.misuse);
  const stats = tracked.inspector.stats('main');
  t.diagnostic(
    `${checkouts} owner-scoped checkouts: ${describeCounts(counts)}; counters: ${stats.counters.acquires} acquires, ` +
      `${stats.counters.releases} releases, ${stats.counters.foreignReleases} foreign; ${stats.used} used; ` +
      `${stats.counters.creates} connection(s) opened`,
  );
  assert.deepEqual(
    counts,
    countsOf([]),
    `${describeCounts(counts)}; first: ${tracked.misuse[0]?.message ?? ''}`,
  );
  assert.equal(stats.counters.foreignReleases, 0, 'counters.foreignReleases');
  assert.equal(stats.counters.acquires, checkouts, 'every checkout seen');
  assert.equal(stats.counters.releases, stats.counters.acquires, 'every checkout released once');
  assert.equal(stats.used, 0, 'nothing held after the run');
  const found = recommend({ pools: poolRecommendationInputs(tracked.inspector, ['main']) });
  assert.deepEqual(
    found.filter((r) => r.id === 'fix-misuse').map((r) => r.title),
    [],
    'no fix-misuse recommendation',
  );
}

/** Each checkout carries the owner in whose scope it was made: one lease per expected label, no lease without one. */
function assertLeaseOwners(tracked: TrackedPool, labels: readonly string[]): void {
  const owners = tracked.acquired.map((event) => event.lease.owner?.label ?? '(no owner)');
  assert.deepEqual([...owners].sort(), [...labels].sort());
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// ---- runAs owners ---------------------------------------------------------------------------------------------

interface Scenario {
  readonly name: string;
  /** One owner's database work; resolves after its release. */
  readonly run: (pool: pg.Pool) => Promise<void>;
}

function assertOne(rows: readonly { one?: unknown }[]): void {
  assert.equal(rows[0]?.one, 1);
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'pool.query, promise form',
    run: async (pool) => {
      assertOne((await pool.query<{ one: number }>(SQL)).rows);
    },
  },
  {
    name: 'pool.query, callback form',
    run: (pool) =>
      new Promise<void>((resolve, reject) => {
        pool.query<{ one: number }>(SQL, (err, result) => {
          if (err) reject(err);
          else {
            assertOne(result.rows);
            resolve();
          }
        });
      }),
  },
  {
    name: 'pool.connect callback form, done() inside the client.query callback',
    run: (pool) =>
      new Promise<void>((resolve, reject) => {
        pool.connect((connectErr, client, done) => {
          if (connectErr || client === undefined) {
            done();
            reject(connectErr ?? new Error('no client'));
            return;
          }
          client.query<{ one: number }>(SQL, (queryErr, result) => {
            done();
            if (queryErr) reject(queryErr);
            else {
              assertOne(result.rows);
              resolve();
            }
          });
        });
      }),
  },
  {
    name: 'await pool.connect(), client.release() inside the client.query callback',
    run: async (pool) => {
      const client = await pool.connect();
      await new Promise<void>((resolve, reject) => {
        client.query<{ one: number }>(SQL, (err, result) => {
          client.release();
          if (err) reject(err);
          else {
            assertOne(result.rows);
            resolve();
          }
        });
      });
    },
  },
  {
    name: 'await pool.connect(), release in finally',
    run: async (pool) => {
      const client = await pool.connect();
      try {
        assertOne((await client.query<{ one: number }>(SQL)).rows);
      } finally {
        client.release();
      }
    },
  },
];

function ownerLabel(i: number): string {
  return `job ${i}`;
}

describe('runAs owners: correct releases are never foreign', () => {
  for (const scenario of SCENARIOS) {
    test(`${scenario.name}: ${OWNERS} consecutive owners`, async (t) => {
      const tracked = trackedPool();
      for (const i of range(OWNERS)) {
        await tracked.inspector.runAs({ label: ownerLabel(i), kind: 'job' }, () => scenario.run(tracked.pool));
      }
      await assertNoMisuse(t, tracked, OWNERS);
      assertLeaseOwners(tracked, range(OWNERS).map(ownerLabel));
    });

    test(`${scenario.name}: ${OWNERS} concurrent owners`, async (t) => {
      const tracked = trackedPool();
      await Promise.all(
        range(OWNERS).map((i) => tracked.inspector.runAs({ label: ownerLabel(i), kind: 'job' }, () => scenario.run(tracked.pool))),
      );
      await assertNoMisuse(t, tracked, OWNERS);
      assertLeaseOwners(tracked, range(OWNERS).map(ownerLabel));
    });
  }

  test('leases taken inside an owner carry it while held', async (t) => {
    const tracked = trackedPool(3);
    const barrier = deferred<void>();
    const holders = range(3).map((i) =>
      tracked.inspector.runAs({ label: ownerLabel(i), kind: 'job' }, async () => {
        const client = await tracked.pool.connect();
        try {
          await client.query(SQL);
          await barrier.promise;
        } finally {
          client.release();
        }
      }),
    );
    await eventually(() => tracked.inspector.snapshot('main').holders.length === 3, 'three owners hold a connection');
    const snapshot = tracked.inspector.snapshot('main');
    assert.deepEqual(
      snapshot.holders.map((h) => `${h.owner?.kind ?? '-'} ${h.owner?.label ?? '(no owner)'}`).sort(),
      range(3).map((i) => `job ${ownerLabel(i)}`),
    );
    barrier.resolve();
    await Promise.all(holders);
    await assertNoMisuse(t, tracked, 3);
  });

  test(`1000 owner-scoped pool.query calls (50 owners at a time, pool max 5): no foreign release`, async (t) => {
    const tracked = trackedPool(5);
    const total = 1000;
    const batch = 50;
    for (let start = 0; start < total; start += batch) {
      await Promise.all(
        range(batch).map((i) =>
          tracked.inspector.runAs({ label: `job ${start + i}`, kind: 'job' }, async () => {
            assertOne((await tracked.pool.query<{ one: number }>(SQL)).rows);
          }),
        ),
      );
    }
    await ownersSettled();
    const foreign = tracked.misuse.filter((event) => event.type === 'foreign-release').length;
    t.diagnostic(`foreign releases over ${total} owner-scoped pool.query calls: ${foreign}`);
    assert.equal(foreign, 0, `${foreign} foreign releases out of ${total}; first: ${tracked.misuse[0]?.message ?? ''}`);
    await assertNoMisuse(t, tracked, total);
  });
});

// ---- the one true foreign release -----------------------------------------------------------------------------

describe('a client handed to another owner and released there is still a foreign release', () => {
  test('runAs: owner A checks out, owner B releases; one event naming both, at this line', async () => {
    const tracked = trackedPool();
    const foreign = collect(tracked.inspector, 'foreign-release');
    const handOver = deferred<pg.PoolClient>();
    const released = deferred<void>();
    const a = tracked.inspector.runAs({ label: 'job A', kind: 'job' }, async () => {
      const client = await tracked.pool.connect();
      await client.query(SQL);
      handOver.resolve(client);
      await released.promise; // A outlives the release, so only the foreign release is wrong here
    });
    const b = tracked.inspector.runAs({ label: 'job B', kind: 'job' }, async () => {
      const client = await handOver.promise;
      client.release(); // @runas-foreign-release
      released.resolve();
    });
    await Promise.all([a, b]);
    await ownersSettled();

    assert.equal(foreign.length, 1, foreign.map((e) => e.message).join('\n'));
    const [event] = foreign;
    assert.equal(event?.lease.owner?.label, 'job A');
    assert.equal(event?.releasedBy?.label, 'job B');
    assert.match(event?.message ?? '', /lease #\d+ held by job "job A" was released from job "job B"/);
    assert.ok(isAt(event?.releaseLocation, siteOf(here, '@runas-foreign-release')), `release location was ${event?.releaseLocation}`);
    assert.doesNotMatch(event?.releaseLocation ?? '', /node_modules/);
    assert.deepEqual(countsOf(tracked.misuse), { ...countsOf([]), 'foreign-release': 1 }, describeCounts(countsOf(tracked.misuse)));
    const stats = tracked.inspector.stats('main');
    assert.equal(stats.counters.foreignReleases, 1);
    assert.equal(stats.counters.releases, stats.counters.acquires);
    assert.equal(stats.used, 0);
    const misuse = recommend({ pools: poolRecommendationInputs(tracked.inspector, ['main']) }).filter((r) => r.id === 'fix-misuse');
    assert.equal(misuse.length, 1);
    assert.match(misuse[0]?.title ?? '', /1 foreign release\(s\)/);
  });

  test(`Express: request A hands its client to request B amid ${OWNERS} concurrent pool.query requests; exactly one event`, async (t) => {
    const tracked = trackedPool();
    const foreign = collect(tracked.inspector, 'foreign-release');
    const handOver = deferred<pg.PoolClient>();
    const released = deferred<void>();
    const app = express();
    app.use(tracked.inspector.httpOwnerMiddleware());
    app.get('/query/:i', async (_req, response) => {
      const result = await tracked.pool.query<{ one: number }>(SQL);
      response.json({ one: result.rows[0]?.one });
    });
    app.get('/give', async (_req, response) => {
      const client = await tracked.pool.connect();
      await client.query(SQL);
      handOver.resolve(client); // a shared variable between requests: the bug this event is for
      await released.promise;
      response.json({ given: true });
    });
    app.get('/take', async (_req, response) => {
      const client = await handOver.promise;
      client.release(); // @http-foreign-release
      released.resolve();
      response.json({ taken: true });
    });
    const url = await listening(createServer(app));

    const give = fetch(`${url}/give`);
    const traffic = range(OWNERS).map((i) => fetch(`${url}/query/${i}`));
    const take = fetch(`${url}/take`);
    const answers = await Promise.all([give, take, ...traffic]);
    assert.deepEqual(answers.map((a) => a.status), answers.map(() => 200));
    await Promise.all(answers.map((a) => a.arrayBuffer()));
    await ownersSettled();

    t.diagnostic(`foreign-release events: ${foreign.length} (expected 1)`);
    assert.equal(foreign.length, 1, `${foreign.length} foreign releases; first: ${foreign[0]?.message ?? ''}`);
    const [event] = foreign;
    assert.equal(event?.lease.owner?.label, 'GET /give');
    assert.equal(event?.releasedBy?.label, 'GET /take');
    assert.match(event?.message ?? '', /held by request "GET \/give" was released from request "GET \/take"/);
    assert.ok(isAt(event?.releaseLocation, siteOf(here, '@http-foreign-release')), `release location was ${event?.releaseLocation}`);
    assert.doesNotMatch(event?.releaseLocation ?? '', /node_modules/);
    assert.deepEqual(countsOf(tracked.misuse), { ...countsOf([]), 'foreign-release': 1 }, describeCounts(countsOf(tracked.misuse)));
    const stats = tracked.inspector.stats('main');
    assert.equal(stats.counters.foreignReleases, 1);
    assert.equal(stats.counters.acquires, OWNERS + 1);
    assert.equal(stats.counters.releases, stats.counters.acquires);
    assert.equal(stats.used, 0);
  });
});

// ---- real HTTP servers ----------------------------------------------------------------------------------------

const ROUTES = ['query', 'connect', 'hold'] as const;
type Route = (typeof ROUTES)[number];

/** What each route's handler does, written as in an app: `await pool.query`, or connect and release in finally. */
interface AppWork {
  readonly serve: (route: Route) => Promise<{ one: unknown }>;
  /** Resolved to let the `hold` requests finish. */
  readonly barrier: Deferred<void>;
}

function appWork(pool: pg.Pool): AppWork {
  const barrier = deferred<void>();
  return {
    barrier,
    async serve(route) {
      if (route === 'query') {
        const result = await pool.query<{ one: number }>(SQL);
        return { one: result.rows[0]?.one };
      }
      const client = await pool.connect();
      try {
        const result = await client.query<{ one: number }>(SQL);
        if (route === 'hold') await barrier.promise;
        return { one: result.rows[0]?.one };
      } finally {
        client.release();
      }
    },
  };
}

function routeOf(path: string | undefined): Route | undefined {
  const name = /^\/([a-z]+)\/\d+$/.exec(path ?? '')?.[1];
  return ROUTES.find((route) => route === name);
}

async function listening(server: ReturnType<typeof createServer>): Promise<string> {
  const started = await listenOnLoopback(server);
  closers.push(started.close);
  return started.url;
}

const SERVER_KINDS = ['node:http', 'Express', 'Fastify'] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

/** Starts an app of `kind` whose requests are owners (the owner middleware, or wrapHttpHandler); its base URL. */
async function startApp(kind: ServerKind, inspector: Inspector, work: AppWork): Promise<string> {
  if (kind === 'node:http') {
    const handler = inspector.wrapHttpHandler(async (req: IncomingMessage, response: ServerResponse) => {
      const route = routeOf(req.url);
      if (route === undefined) {
        response.writeHead(404).end();
        return;
      }
      try {
        const body = JSON.stringify(await work.serve(route));
        response.writeHead(200, { 'content-type': 'application/json' }).end(body);
      } catch (error) {
        response.writeHead(500).end(String(error));
      }
    });
    return listening(createServer((req, response) => void handler(req, response)));
  }
  if (kind === 'Express') {
    const app = express();
    app.use(inspector.httpOwnerMiddleware());
    app.get('/:route/:i', async (req, response) => {
      const route = routeOf(req.path);
      if (route === undefined) response.status(404).end();
      else response.json(await work.serve(route));
    });
    return listening(createServer(app));
  }
  const app = Fastify();
  closers.push(() => app.close());
  const owners = inspector.httpOwnerMiddleware();
  app.addHook('onRequest', (request, reply, done) => {
    owners(request.raw, reply.raw, () => done());
  });
  app.get('/:route/:i', async (request, reply) => {
    const route = routeOf(request.url);
    if (route === undefined) return reply.code(404).send();
    return work.serve(route);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function get(url: string): Promise<void> {
  const response = await fetch(url);
  const body = await response.text();
  assert.equal(response.status, 200, `${url}: ${body}`);
  assert.deepEqual(JSON.parse(body), { one: 1 });
}

for (const kind of SERVER_KINDS) {
  describe(`${kind} with request owners: correct releases are never foreign`, () => {
    for (const route of ['query', 'connect'] as const) {
      const what = route === 'query' ? 'await pool.query()' : 'connect, release in finally';
      const paths = range(OWNERS).map((i) => `/${route}/${i}`);

      test(`${what}: ${OWNERS} consecutive requests`, async (t) => {
        const tracked = trackedPool();
        const url = await startApp(kind, tracked.inspector, appWork(tracked.pool));
        for (const path of paths) await get(`${url}${path}`);
        await assertNoMisuse(t, tracked, OWNERS);
        assertLeaseOwners(tracked, paths.map((path) => `GET ${path}`));
      });

      test(`${what}: ${OWNERS} concurrent requests`, async (t) => {
        const tracked = trackedPool();
        const url = await startApp(kind, tracked.inspector, appWork(tracked.pool));
        await Promise.all(paths.map((path) => get(`${url}${path}`)));
        await assertNoMisuse(t, tracked, OWNERS);
        assertLeaseOwners(tracked, paths.map((path) => `GET ${path}`));
      });
    }

    test('a request holding a connection is its holder in the snapshot', async (t) => {
      const tracked = trackedPool(3);
      const work = appWork(tracked.pool);
      const url = await startApp(kind, tracked.inspector, work);
      const paths = range(3).map((i) => `/hold/${i}`);
      const requests = paths.map((path) => get(`${url}${path}`));
      await eventually(() => tracked.inspector.snapshot('main').holders.length === 3, 'three requests hold a connection');
      const snapshot = tracked.inspector.snapshot('main');
      assert.deepEqual(
        snapshot.holders.map((h) => `${h.owner?.kind ?? '-'} ${h.owner?.label ?? '(no owner)'}`).sort(),
        paths.map((path) => `request GET ${path}`),
      );
      work.barrier.resolve();
      await Promise.all(requests);
      await assertNoMisuse(t, tracked, 3);
    });
  });
}
