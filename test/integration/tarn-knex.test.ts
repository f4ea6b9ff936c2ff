// trackKnex (poolscope/tarn) on Knex 3.3's own pool (a tarn pool of pg.Clients) and a real PostgreSQL. The adapter
// contract suite first, then what is particular to Knex, asserted on what a user sees: your line for queries and
// transactions although Knex checks out from a microtask, transaction depth through Knex's savepoints, Knex's own
// errors kept (and explained), no detection on correct code. tarn alone is tested in tarn-adapter.test.ts.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import knex, { type Knex } from 'knex';
import { TimeoutError, type Pool as TarnPool } from 'tarn';
import { acquireTimeoutReportOf, trackKnex } from '../../src/adapters/tarn/index.js';
import type { LeaseSnapshot, PoolTrackingOptions } from '../../src/index.js';
import { adapterContractSuite, outcomeOf } from '../support/adapter-contract.js';
import { collect, isAt, nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';
import { closedPort } from '../support/loopback-server.js';
import { giveBackAll, tarnCounts, type Tracked } from '../support/tarn-test-kit.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const here = import.meta.url;
const OWNER = 'job knex-test';
let db: TestDatabase;
const res = new TestResources();
/** Knex instances made by a test, destroyed after it (connections a test left out are given back first). */
const knexes: Knex[] = [];

before(async () => {
  db = await createTestDatabase('tarn_knex');
  const setup = await res.client(db.url);
  await setup.query('CREATE TABLE items (id serial PRIMARY KEY, run text NOT NULL, label text NOT NULL, n integer NOT NULL)');
  await res.closeAll();
});
afterEach(async () => {
  await res.closeAll();
  for (const k of knexes.splice(0)) await endKnex(k);
});
after(() => db?.drop());

// ---- Knex instances ---------------------------------------------------------------------------------------------

function knexOn(settings: { max?: number; acquireConnectionTimeout?: number; connection?: Knex.Config['connection'] } = {}): Knex {
  const k = knex({
    client: 'pg',
    connection: settings.connection ?? db.url,
    pool: { min: 0, max: settings.max ?? 2 },
    acquireConnectionTimeout: settings.acquireConnectionTimeout ?? 10_000,
    // Knex warns on the console about failed checkouts, which some tests cause on purpose.
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
  knexes.push(k);
  return k;
}

/** Gives back what a test left out, then destroys the instance (and its pool). */
async function endKnex(k: Knex): Promise<void> {
  const pool = k.client.pool as TarnPool<unknown> | undefined;
  if (pool !== undefined) giveBackAll(pool);
  await k.destroy();
}

function trackedKnex(k: Knex, options: Partial<PoolTrackingOptions> = {}): Tracked<Knex> {
  const errors: unknown[] = [];
  const inspector = res.inspector({ onError: (error) => errors.push(error) });
  const view = trackKnex(inspector, k, { name: 'knex', ...options });
  return { inspector, pool: k, view, errors };
}

// ---- the contract ------------------------------------------------------------------------------------------------

describe('Knex on PostgreSQL', () => {
  adapterContractSuite<Knex, pg.Client>({
    driver: 'tarn',
    capabilities: { queries: true, transactions: true, sessionIds: true },
    moduleUrl: here,
    unavailable: () => Promise.resolve(undefined), // createTestDatabase falls back to an embedded server or fails loudly
    createPool: ({ max, acquireTimeoutMillis }) => knexOn({ max, acquireConnectionTimeout: acquireTimeoutMillis }),
    endPool: async (k) => {
      const index = knexes.indexOf(k);
      if (index !== -1) knexes.splice(index, 1);
      await endKnex(k);
    },
    track: (inspector, k, options) => trackKnex(inspector, k, options),
    acquire: (k) => k.client.acquireConnection(), // @contract-acquire
    release: (k, conn) => outcomeOf(() => k.client.releaseConnection(conn)),
    // Knex's own way to retire a connection: marked disposed, its next validation fails and tarn replaces it.
    destroy: async (k, conn) => {
      (conn as unknown as { __knex__disposed: string }).__knex__disposed = 'test: destroyed';
      await k.client.releaseConnection(conn);
    },
    counts: (k) => tarnCounts(k.client.pool as TarnPool<unknown>),
    acquireTimeout: true,
    query: async (conn) => void (await conn.query('SELECT 1')),
    begin: async (conn) => void (await conn.query('BEGIN')),
  });
});

// ---- your line, transactions, timeouts ----------------------------------------------------------------------------

describe('Knex: trackKnex', () => {
  test("a query's and a transaction's lease are at your line (Knex runs them from a microtask), owned by the job", async (t) => {
    const bare = knexOn();
    const expected = await workload(bare, 'sites-bare');
    const { inspector, pool: k, view, errors } = trackedKnex(knexOn());
    const acquired = collect(inspector, 'lease-acquired');
    const lines: string[] = [];
    const marks: { marker: string; leases: LeaseSnapshot[] }[] = [];
    const actual = await inspector.runAs(OWNER, () =>
      workload(k, 'sites-tracked', (marker) => marks.push({ marker, leases: acquired.splice(0).map((e) => e.lease) })),
    );
    assert.deepEqual(actual, expected, 'the same results as on an untracked Knex');
    for (const { marker, leases } of marks) {
      lines.push(`${marker} (${siteOf(here, marker)}) reported at: ${leases.map((l) => l.location).join(', ')}`);
    }
    for (const line of lines) t.diagnostic(line);
    for (const { marker, leases } of marks) {
      assert.equal(leases.length, 1, `${marker}: one checkout`);
      const lease = leases[0];
      assert.ok(isAt(lease?.location, siteOf(here, marker)), `${marker}: ${lease?.location} is the line`);
      assert.equal(lease?.locationStatus, 'found');
      assert.equal(lease?.owner?.label, OWNER);
    }
    const stats = view.stats();
    assert.equal(stats.counters.acquires, stats.counters.releases);
    assert.equal(stats.used, 0);
    assert.deepEqual(
      [stats.counters.dirtyReleases, stats.counters.doubleReleases, stats.counters.foreignReleases, stats.counters.releasesInFlight],
      [0, 0, 0, 0],
    );
    assert.deepEqual(errors, []);
  });

  test('30 concurrent queries on a pool of 3 whose connections another job opened: each lease at its own line, all owned', async () => {
    for (const stackCapture of ['always', 'adaptive'] as const) {
      const { inspector, pool: k, view, errors } = trackedKnex(knexOn({ max: 3 }), { name: `knex-${stackCapture}`, stackCapture });
      await inspector.runAs('job warm-up', () => Promise.all([1, 2, 3].map((n) => k.raw('SELECT ?::int AS n', [n]))));
      const released = collect(inspector, 'lease-released');
      const results = await inspector.runAs(OWNER, () => concurrentQueries(k));
      assert.deepEqual(results[0], [{ n: 0 }]);
      assert.deepEqual(results[1], []);
      assert.equal(released.length, 30, 'one checkout per query');
      const raw = siteOf(here, '@knex-concurrent-raw');
      const select = siteOf(here, '@knex-concurrent-select');
      let found = 0;
      for (const { lease } of released) {
        assert.equal(lease.owner?.label, OWNER);
        if (lease.locationStatus !== 'found') {
          // Sampled out under the adaptive budget: "not captured", never a line of Knex, never "no user frame".
          assert.equal(lease.locationStatus, 'not-captured', `${stackCapture}: lease #${lease.id}`);
          continue;
        }
        found += 1;
        // Each lease at the line of the query it ran: a raw statement's at the raw line, a select's at the select's.
        const line = lease.query?.text.startsWith('SELECT $1::int') ? raw : select;
        assert.ok(isAt(lease.location, line), `${stackCapture}: lease #${lease.id} ran ${lease.query?.text} at ${lease.location}, not ${line}`);
      }
      if (stackCapture === 'always') assert.equal(found, 30);
      const stats = view.stats();
      assert.equal(stats.used, 0);
      assert.deepEqual([stats.counters.foreignReleases, stats.counters.doubleReleases, stats.counters.ownerEndedHolding], [0, 0, 0]);
      assert.ok(stats.total <= 3);
      assert.deepEqual(errors, []);
    }
  });

  test('transactions and savepoints: status and depth on the lease, the statements Knex sent, no detection', async () => {
    const { inspector, pool: k, view, errors } = trackedKnex(knexOn());
    const seen: Record<string, unknown> = {};
    const probe = (point: string): void => {
      const [holder] = view.snapshot().holders;
      seen[point] = { ...holder?.transaction, query: holder?.query?.text };
    };
    await inspector.runAs(OWNER, () =>
      k.transaction(async (trx) => {
        await trx('items').insert({ run: 'tx', label: 'outer', n: 1 });
        probe('outer');
        await trx.transaction(async (inner) => {
          await inner('items').insert({ run: 'tx', label: 'inner', n: 2 });
          probe('savepoint');
        });
        probe('released');
        await assert.rejects(
          trx.transaction(async (doomed) => {
            await doomed('items').insert({ run: 'tx', label: 'doomed', n: 3 });
            throw new Error('roll this savepoint back');
          }),
          /roll this savepoint back/,
        );
        probe('rolled-back-to');
      }),
    );
    const insert = 'insert into "items" ("label", "n", "run") values ($1, $2, $3)';
    assert.deepEqual(
      Object.fromEntries(Object.entries(seen).map(([point, value]) => [point, { ...(value as object), query: undefined }])),
      {
        outer: { status: 'in-transaction', depth: 1, query: undefined },
        savepoint: { status: 'in-transaction', depth: 2, query: undefined },
        released: { status: 'in-transaction', depth: 1, query: undefined },
        // Knex sends ROLLBACK TO SAVEPOINT and no RELEASE: the savepoint stays established (PostgreSQL's rule).
        'rolled-back-to': { status: 'in-transaction', depth: 2, query: undefined },
      },
    );
    const texts = Object.values(seen).map((value) => (value as { query?: string }).query);
    assert.equal(texts[0], insert);
    assert.equal(texts[1], insert);
    assert.match(texts[2] ?? '', /^RELEASE SAVEPOINT trx\d+;$/);
    assert.match(texts[3] ?? '', /^ROLLBACK TO SAVEPOINT trx\d+$/);
    const rows = await k('items').select('label').where({ run: 'tx' }).orderBy('label');
    assert.deepEqual(rows, [{ label: 'inner' }, { label: 'outer' }]);
    const stats = view.stats();
    assert.equal(stats.counters.dirtyReleases, 0);
    assert.ok(stats.counters.queries >= 8, `queries counted: ${stats.counters.queries}`);
    assert.deepEqual(errors, []);
  });

  test('1. a transaction never committed is a leak at the transaction() line, with its depth; its rollback returns it', async () => {
    const { inspector, pool: k } = trackedKnex(knexOn(), { leakThresholdMillis: 200 });
    const suspected = nextEvent(inspector, 'leak-suspected');
    let open: Knex.Transaction | undefined;
    await inspector.runAs(OWNER, async () => {
      const trx = await k.transaction(); // @knex-leak
      await trx('items').insert({ run: 'leak', label: 'never committed', n: 1 });
      open = trx;
    });
    const leak = await suspected;
    assert.ok(isAt(leak.lease.location, siteOf(here, '@knex-leak')), `leak at ${leak.lease.location}`);
    assert.deepEqual(leak.lease.transaction, { status: 'in-transaction', depth: 1 });
    assert.match(leak.message, new RegExp(`acquired at ${siteOf(here, '@knex-leak').replace(/[.]/g, '\\.')}`));
    assert.match(leak.message, /Last query: "insert into \\"items\\"/);
    const returned = nextEvent(inspector, 'leak-returned');
    await open?.rollback();
    assert.equal((await returned).lease.id, leak.lease.id);
  });

  test('3. a connection given back with its query still running is reported at the release line', async () => {
    const { inspector, pool: k } = trackedKnex(knexOn());
    const events = collect(inspector, 'release-in-flight');
    const conn = (await k.client.acquireConnection()) as pg.Client;
    const notAwaited = conn.query('SELECT pg_sleep(0.2)');
    await k.client.releaseConnection(conn); // @knex-in-flight
    await notAwaited;
    assert.equal(events.length, 1);
    assert.ok(isAt(events[0]?.releaseLocation, siteOf(here, '@knex-in-flight')), `release at ${events[0]?.releaseLocation}`);
    assert.equal(events[0]?.lease.queriesInFlight, 1);
  });

  test("6. Knex's timeout error keeps its class and message start and names the holder's line", async () => {
    const { inspector, pool: k, view } = trackedKnex(knexOn({ max: 1, acquireConnectionTimeout: 300 }));
    const holder = await inspector.runAs({ label: 'GET /report', kind: 'request' }, () => k.transaction()); // @knex-holder
    const error = await k('items')
      .select('id')
      .then(
        () => assert.fail('expected a timeout'),
        (e: unknown) => e as Error & { cause?: unknown },
      );
    assert.equal(error.name, 'KnexTimeoutError');
    assert.ok(error.message.startsWith('Knex: Timeout acquiring a connection. The pool is probably full.'), error.message);
    assert.match(error.message, /\[poolscope\] pool "knex": 1\/1 connections in use/);
    assert.match(error.message, /request "GET \/report"/);
    assert.ok(error.message.includes(siteOf(here, '@knex-holder')), error.message);
    assert.ok(error.stack?.startsWith(`KnexTimeoutError: ${error.message}\n`), 'the stack carries the message once');
    assert.equal(acquireTimeoutReportOf(error)?.holders.length, 1);
    assert.ok(error.cause instanceof TimeoutError, "tarn's error stays the cause");
    assert.equal(acquireTimeoutReportOf(error.cause), acquireTimeoutReportOf(error));
    assert.equal(view.stats().counters.timeouts, 1);
    await holder.rollback();
  });

  test('a database that refuses connections: the same error as without poolscope, one connection error, nothing thrown', async () => {
    const port = await closedPort();
    const connection = { host: '127.0.0.1', port, user: 'nobody', database: 'nothing' };
    const expected = await outcomeOf(() => knexOn({ connection, max: 1 }).raw('SELECT 1'));
    const { inspector, pool: k, view, errors } = trackedKnex(knexOn({ connection, max: 1 }));
    const failures = collect(inspector, 'connection-error');
    const actual = await outcomeOf(() => k.raw('SELECT 1'));
    assert.equal(actual.ok, false);
    assert.deepEqual(actual, expected);
    assert.equal(failures.length, 1, 'reported once, by the checkout it failed');
    assert.match(failures[0]?.message ?? '', /ECONNREFUSED/);
    assert.notEqual(failures[0]?.leaseId, null);
    assert.equal(view.stats().counters.errors, 1);
    assert.equal(view.stats().used, 0);
    assert.deepEqual(errors, []);
  });

  test('readiness runs SELECT 1 on a connection of the pool and records no lease; counts equal tarn’s; settings shown', async () => {
    const { pool: k, view } = trackedKnex(knexOn({ max: 3 }));
    await k.raw('SELECT 1');
    const probe = await view.probe(5000);
    assert.equal(probe.reachable, true, JSON.stringify(probe));
    const stats = view.stats();
    assert.equal(stats.counters.acquires, 1, 'the ping is not a lease');
    assert.deepEqual({ total: stats.total, idle: stats.idle, waiting: stats.pending }, tarnCounts(k.client.pool as TarnPool<unknown>));
    assert.equal(stats.max, 3);
    const config = view.config() as Record<string, unknown>;
    assert.equal(config.max, 3);
    assert.equal(config.acquireTimeoutMillis, 10_000);
    assert.equal(config.connectionTimeoutMillis, 10_000);
    assert.equal(config.database, db.name);
    assert.ok(!JSON.stringify(config).includes('password'), 'never a password');
  });

  test("stackCapture 'off': no site is taken, and Knex's builders are not wrapped", () => {
    const k = knexOn();
    trackedKnex(k, { stackCapture: 'off' });
    assert.equal(Object.hasOwn(k.client, 'queryBuilder'), false);
    assert.equal(Object.hasOwn(k.client, 'acquireConnection'), true, 'the timeout explanation stays');
  });

  test('untrack puts back the client’s own methods and the pool’s listeners; Knex works as before', async () => {
    const k = knexOn();
    const client = k.client as Record<string, unknown>;
    const own = Object.keys(client).filter((key) => typeof client[key] === 'function');
    const emitter = (k.client.pool as { emitter: { eventNames(): (string | symbol)[] } }).emitter;
    const events = emitter.eventNames();
    const { inspector, view } = trackedKnex(k);
    assert.ok(Object.hasOwn(client, 'runner'));
    inspector.untrack('knex');
    assert.deepEqual(
      Object.keys(client).filter((key) => typeof client[key] === 'function'),
      own,
    );
    assert.deepEqual(emitter.eventNames(), events);
    assert.deepEqual(await k.raw('SELECT 7 AS n').then((r: { rows: unknown[] }) => r.rows), [{ n: 7 }]);
    assert.equal(view.stats().counters.acquires, 0);
    const again = trackKnex(res.inspector(), k, { name: 'again' });
    await k.raw('SELECT 1');
    assert.equal(again.stats().counters.acquires, 1);
  });

  test('refused: a transaction, a Knex over an external pg.Pool, a destroyed Knex, a Knex tracked twice', async () => {
    const inspector = res.inspector();
    const k = knexOn();
    trackKnex(inspector, k, { name: 'knex' });
    assert.throws(() => trackKnex(inspector, k, { name: 'twice' }), { code: 'POOLSCOPE_ERR_POOL_ALREADY_TRACKED' });
    const trx = await k.transaction();
    assert.throws(() => trackKnex(inspector, trx, { name: 'trx' }), { code: 'POOLSCOPE_ERR_POOL_UNSUPPORTED', message: /a Knex transaction/ });
    await trx.rollback();
    const external = knex({ client: 'pg', connectionPool: res.pool(db.url) });
    assert.throws(() => trackKnex(inspector, external, { name: 'external' }), {
      code: 'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      message: /external pool.*trackPgPool/,
    });
    const destroyed = knex({ client: 'pg', connection: db.url });
    await destroyed.destroy();
    assert.throws(() => trackKnex(inspector, destroyed, { name: 'destroyed' }), { code: 'POOLSCOPE_ERR_POOL_UNSUPPORTED', message: /no pool/ });
    assert.throws(() => trackKnex(inspector, {} as Knex, { name: 'nothing' }), { code: 'POOLSCOPE_ERR_POOL_UNSUPPORTED' });
    assert.deepEqual(inspector.poolNames(), ['knex']);
  });
});

/** The same statements on any Knex, each on its marked line; `mark` is called after each. */
async function workload(k: Knex, run: string, mark: (marker: string) => void = () => undefined): Promise<unknown> {
  await k('items').insert([{ run, label: 'a', n: 1 }, { run, label: 'b', n: 2 }]); // @knex-insert
  mark('@knex-insert');
  const selected = await k('items').select('label', 'n').where({ run }).orderBy('label'); // @knex-select
  mark('@knex-select');
  const counted = await k.raw('SELECT count(*)::int AS count FROM items WHERE run = ?', [run]); // @knex-raw
  mark('@knex-raw');
  await k.transaction(async (trx) => { // @knex-transaction
    await trx('items').update({ n: 20 }).where({ run, label: 'b' });
    await trx('items').insert({ run, label: 'c', n: 3 });
  });
  mark('@knex-transaction');
  const rows = await k('items').select('label', 'n').where({ run }).orderBy('label'); // @knex-after
  mark('@knex-after');
  return { selected, counted: (counted as { rows: unknown[] }).rows, rows };
}

/** 30 queries at once: raw statements (even) and selects (odd), each kind on its own marked line. */
function concurrentQueries(k: Knex): Promise<unknown[]> {
  return Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0
        ? k.raw('SELECT ?::int AS n', [i]).then((r: { rows: unknown[] }) => r.rows) // @knex-concurrent-raw
        : k('items').select('id').where({ run: 'none', n: i }), // @knex-concurrent-select
    ),
  );
}

