// Knex 3.3 over a tracked pg.Pool on a real PostgreSQL. Knex 3.3 takes an existing pool as `connectionPool`
// (knex/lib/dialects/postgres/index.js, wrapNativePool: acquire = pool.connect(), release = client.release(); it
// never ends the pool). Asserted on what a user sees: the same rows as on an untracked pool, leases owned by the
// job and placed at the test's line or at no user frame (Knex runs a query from `then()` when it is awaited, in a
// microtask with no frame of the caller), never at a Knex frame; transaction status and depth inside transactions
// and savepoints; no false detection; counters that add up; a deliberate leak reported once.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import knex, { type Knex } from 'knex';
import type { TestDatabase } from '../support/test-database.js';
import { trackPgPool } from '../../src/index.js';
import { nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';
import {
  assertCountersSettled,
  assertLeakAttributed,
  assertNoDetections,
  createItemsDatabase,
  type ItemRow,
  ORM_OWNER,
  onlyHolder,
  SiteRecorder,
  siteText,
  trackedOrmPool,
  type OrmUnderTest,
  testConcurrentQueries,
  testQueryComments,
  recordedPool,
  testSelectsAndInserts,
  testTransactions,
  type TransactionProbe,
} from '../support/orm-test-kit.js';

let db: TestDatabase;
const res = new TestResources();
const here = import.meta.url;

before(async () => {
  db = await createItemsDatabase('orm_knex', res);
});
afterEach(() => res.closeAll());
after(() => db?.drop());

/** Knex over an existing pg.Pool (Knex >= 3.3). knex.destroy() would leave the pool alone; TestResources ends it. */
function knexOver(pool: pg.Pool): Knex {
  return knex({ client: 'pg', connectionPool: pool });
}

function untracked(max: number): Knex {
  return knexOver(res.pool(db.url, { max }));
}

async function rowsOf(k: Knex, run: string): Promise<ItemRow[]> {
  const rows: ItemRow[] = await k('items').select('label', 'n').where({ run }).orderBy('label');
  return rows;
}

// ---- the workloads: the same code on the tracked and the untracked pool ------------------------------------------

async function selectsAndInserts(k: Knex, run: string, sites?: SiteRecorder): Promise<unknown> {
  const rows = [
    { run, label: 'a', n: 1 },
    { run, label: 'b', n: 2 },
    { run, label: 'c', n: 3 },
  ];
  const insert = k('items').insert(rows).returning(['label', 'n']);
  const inserted = await insert; // @knex-insert
  sites?.step('@knex-insert');
  const select = k('items').select('label', 'n').where({ run }).orderBy('label');
  const selected = await select; // @knex-select
  sites?.step('@knex-select');
  const firstQuery = k('items').first('label', 'n').where({ run }).andWhere('n', '>', 1).orderBy('n');
  const first = await firstQuery; // @knex-first
  sites?.step('@knex-first');
  const update = k('items').update({ n: 20 }).where({ run, label: 'b' }).returning(['label', 'n']);
  const updated = await update; // @knex-update
  sites?.step('@knex-update');
  const raw = await k.raw<{ rows: unknown[] }>('SELECT count(*)::int AS count FROM items WHERE run = ?', [run]); // @knex-raw
  sites?.step('@knex-raw');
  return { inserted, selected, first, updated, raw: raw.rows, after: await rowsOf(k, run) };
}

/** Checks made inside the transactions on the tracked pool (no-op on the untracked one). */

async function transactions(k: Knex, run: string, probe: TransactionProbe = () => undefined): Promise<void> {
  await k.transaction(async (trx) => { // @knex-transaction
    await trx('items').insert({ run, label: 'outer', n: 1 });
    probe('outer');
    await trx.transaction(async (inner) => {
      await inner('items').insert({ run, label: 'inner', n: 2 });
      probe('savepoint');
    });
    probe('released');
    await assert.rejects(
      trx.transaction(async (doomed) => {
        await doomed('items').insert({ run, label: 'doomed-savepoint', n: 3 });
        throw new Error('roll this savepoint back');
      }),
      /roll this savepoint back/,
    );
    // Knex issues ROLLBACK TO SAVEPOINT and no RELEASE: the savepoint stays established (PostgreSQL's rule).
    probe('rolled-back-to');
  });

  await assert.rejects(
    k.transaction(async (trx) => {
      await trx('items').insert({ run, label: 'thrown', n: 4 });
      throw new Error('roll this transaction back');
    }),
    /roll this transaction back/,
  );
  const trx = await k.transaction();
  await trx('items').insert({ run, label: 'rolled-back', n: 5 });
  await trx.rollback();
}

function concurrentQueries(k: Knex, run: string): Promise<unknown[]> {
  const queries = Array.from({ length: 50 }, (_, i) =>
    i % 2 === 0
      ? k('items').select('label', 'n').where({ run, n: i })
      : k('items').insert({ run, label: `c${i}`, n: i }).returning(['label', 'n']),
  );
  return Promise.all(queries); // @knex-concurrent
}

async function seed(k: Knex, run: string): Promise<void> {
  await k('items').insert(Array.from({ length: 25 }, (_, j) => ({ run, label: `s${j * 2}`, n: j * 2 })));
}

/** This file's workloads, for the test bodies shared by the ORM files. */
const lib: OrmUnderTest<Knex> = {
  name: 'knex',
  here,
  res,
  url: () => db.url,
  over: knexOver,
  untracked,
  rowsOf,
  selectsAndInserts,
  seed,
  concurrentQueries,
  transactions,
  sleep: (k) => k.raw('SELECT pg_sleep(60)'),
};

// ---- tests ------------------------------------------------------------------------------------------------------

describe('Knex 3.3 (connectionPool) over a tracked pool', () => {
  test("queryComments: same rows; each statement ({ text, values } with a callback) carries its lease's comment", async (t) => {
    await testQueryComments(t, lib);
  });

  test("queryComments: a statement with Knex's .comment() is sent as written (it holds a comment already)", async () => {
    const { pool, sent } = recordedPool(res, db.url, 1);
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main', queryComments: true });
    const k = knexOver(pool);
    const rows = await inspector.runAs(ORM_OWNER, () => k('items').select('label').where({ run: 'none' }).comment('monthly report'));
    assert.deepEqual(rows, []);
    // (Knex's own `select version()` at its first checkout is commented: it holds none.)
    assert.deepEqual(sent.at(-1), '/* monthly report */ select "label" from "items" where "run" = $1');
  });

  test('Knex uses the very pool it was given and leaves it open on destroy()', async () => {
    const tracked = trackedOrmPool(res, db.url, 2);
    const k = knexOver(tracked.pool);
    await tracked.inspector.runAs(ORM_OWNER, async () => {
      await k.raw('SELECT 1');
    });
    assert.equal(tracked.inspector.stats('main').counters.acquires, 1, 'the checkout went through the tracked pool');
    await k.destroy();
    assert.equal(tracked.pool.ending, false, 'knex.destroy() does not end a pool it was handed');
    assertNoDetections(tracked.detections);
    assertCountersSettled(tracked.inspector);
  });

  test('selects and inserts: same rows as untracked; leases owned by the job, at the calling line or no user frame', (t) =>
    testSelectsAndInserts(t, lib));

  test('transactions and savepoints: status and depth on the lease; rollbacks leave the same rows as untracked', (t) =>
    testTransactions(t, lib));

  test('50 concurrent queries on a pool of max 5 (connections opened by another job): same results, all owned', (t) =>
    testConcurrentQueries(t, lib));

  test('runAs(owner, () => builder) runs the statement once (a Knex builder runs on each then())', async () => {
    // runAs settles the owner when the callback's result settles. A Knex builder is a lazy thenable: every then()
    // call runs the query again, so runAs must call then() on it exactly once and hand the caller that outcome.
    const tracked = trackedOrmPool(res, db.url, 2);
    const k = knexOver(tracked.pool);
    const inserted = await tracked.inspector.runAs(ORM_OWNER, () => k('items').insert({ run: 'once', label: 'x', n: 1 }).returning('n'));
    assert.deepEqual(inserted, [{ n: 1 }]);
    assert.deepEqual(await rowsOf(k, 'once'), [{ label: 'x', n: 1 }], 'one row inserted, not two');
    assert.equal(tracked.inspector.stats('main').counters.acquires, 2, 'the insert and the check: one checkout each');
    assert.equal(tracked.acquired[0]?.owner?.label, ORM_OWNER, "the builder ran as the owner: the insert's checkout is the job's");
    assertNoDetections(tracked.detections);
    assertCountersSettled(tracked.inspector);
  });

  test('deliberate leak: transaction() never committed is reported with its owner and site', async (t) => {
    const tracked = trackedOrmPool(res, db.url, 2, { leakThresholdMillis: 300 });
    const { inspector } = tracked;
    const k = knexOver(tracked.pool);
    const leakReported = nextEvent(inspector, 'leak-suspected');
    const ownerEnded = nextEvent(inspector, 'owner-ended-holding');

    let open: Knex.Transaction | undefined;
    await inspector.runAs(ORM_OWNER, async () => {
      await k('items').select('label').limit(1); // a clean checkout first
      const trx = await k.transaction(); // @knex-leak
      await trx('items').insert({ run: 'leak', label: 'never committed', n: 1 });
      open = trx; // the job ends holding the connection
    });

    const leak = await leakReported;
    const ended = await ownerEnded;
    const site = siteOf(here, '@knex-leak');
    t.diagnostic(`knex @knex-leak (${site}) reported at: ${siteText(leak.lease)}`);
    assertLeakAttributed(leak, site, 'transaction() never committed');
    assert.deepEqual(leak.lease.transaction, { status: 'in-transaction', depth: 1 });
    assert.equal(ended.lease.id, leak.lease.id);
    assert.equal(ended.owner.label, ORM_OWNER);
    assert.equal(onlyHolder(inspector).id, leak.lease.id);

    const returned = nextEvent(inspector, 'leak-returned');
    assert.ok(open !== undefined);
    await open.rollback();
    assert.equal((await returned).lease.id, leak.lease.id);
    assert.deepEqual(
      tracked.detections.map((x) => [x.type, x.leaseId]).sort(),
      [
        ['leak-suspected', leak.lease.id],
        ['owner-ended-holding', leak.lease.id],
      ],
      'only the leak caused on purpose (reported as a leak and as the job ending with it)',
    );
    assertCountersSettled(inspector, { leaksSuspected: 1, ownerEndedHolding: 1 });
  });
});
