// Drizzle (drizzle-orm's node-postgres driver, `drizzle({ client: pool })`) over a tracked pg.Pool on a real
// PostgreSQL, asserted on what a user sees: the same rows as on an untracked pool, leases owned by the job and
// placed at the test's line or at no user frame (Drizzle runs a query from `then()` when it is awaited, in a
// microtask with no frame of the caller), never at a Drizzle frame; transaction status and depth inside
// transactions and savepoints; no false detection; counters that add up; a deliberate leak reported once.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { and, asc, eq, gt, sql, TransactionRollbackError } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { integer, pgTable, serial, text } from 'drizzle-orm/pg-core';
import type { TestDatabase } from '../support/test-database.js';
import { trackPgPool } from '../../src/index.js';
import { nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';
import {
  assertCountersSettled,
  assertLeakAttributed,
  assertNoDetections,
  gate,
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

const items = pgTable('items', {
  id: serial('id').primaryKey(),
  run: text('run').notNull(),
  label: text('label').notNull(),
  n: integer('n').notNull(),
});
const row = { label: items.label, n: items.n };

type Db = NodePgDatabase;

let db: TestDatabase;
const res = new TestResources();
const here = import.meta.url;

before(async () => {
  db = await createItemsDatabase('orm_drizzle', res);
});
afterEach(() => res.closeAll());
after(() => db?.drop());

function drizzleOver(pool: pg.Pool): Db {
  return drizzle({ client: pool });
}

function untracked(max: number): Db {
  return drizzleOver(res.pool(db.url, { max }));
}

function rowsOf(d: Db, run: string): Promise<ItemRow[]> {
  return d.select(row).from(items).where(eq(items.run, run)).orderBy(asc(items.label));
}

// ---- the workloads: the same code on the tracked and the untracked pool ------------------------------------------

async function selectsAndInserts(d: Db, run: string, sites?: SiteRecorder): Promise<unknown> {
  const insert = d
    .insert(items)
    .values([
      { run, label: 'a', n: 1 },
      { run, label: 'b', n: 2 },
      { run, label: 'c', n: 3 },
    ])
    .returning(row);
  const inserted = await insert; // @drizzle-insert
  sites?.step('@drizzle-insert');
  const select = d.select(row).from(items).where(eq(items.run, run)).orderBy(asc(items.label));
  const selected = await select; // @drizzle-select
  sites?.step('@drizzle-select');
  const filtered = d.select(row).from(items).where(and(eq(items.run, run), gt(items.n, 1))).orderBy(asc(items.n)).limit(1);
  const first = await filtered.execute(); // @drizzle-execute
  sites?.step('@drizzle-execute');
  const update = d.update(items).set({ n: 20 }).where(and(eq(items.run, run), eq(items.label, 'b'))).returning(row);
  const updated = await update; // @drizzle-update
  sites?.step('@drizzle-update');
  return { inserted, selected, first, updated, after: await rowsOf(d, run) };
}

/** Checks made inside the transactions on the tracked pool (no-op on the untracked one). */

async function transactions(d: Db, run: string, probe: TransactionProbe = () => undefined): Promise<void> {
  await d.transaction(async (tx) => { // @drizzle-transaction
    await tx.insert(items).values({ run, label: 'outer', n: 1 });
    probe('outer');
    await tx.transaction(async (inner) => {
      await inner.insert(items).values({ run, label: 'inner', n: 2 });
      probe('savepoint');
    });
    probe('released');
    await assert.rejects(
      tx.transaction(async (doomed) => {
        await doomed.insert(items).values({ run, label: 'doomed-savepoint', n: 3 });
        doomed.rollback();
      }),
      TransactionRollbackError,
    );
    // Drizzle issues ROLLBACK TO SAVEPOINT and no RELEASE: the savepoint stays established (PostgreSQL's rule).
    probe('rolled-back-to');
  });

  await assert.rejects(
    d.transaction(async (tx) => {
      await tx.insert(items).values({ run, label: 'thrown', n: 4 });
      throw new Error('roll this transaction back');
    }),
    /roll this transaction back/,
  );
  await assert.rejects(
    d.transaction(async (tx) => {
      await tx.insert(items).values({ run, label: 'rolled-back', n: 5 });
      tx.rollback();
    }),
    TransactionRollbackError,
  );
}

function concurrentQueries(d: Db, run: string): Promise<unknown[]> {
  const queries = Array.from({ length: 50 }, (_, i) =>
    i % 2 === 0
      ? d.select(row).from(items).where(and(eq(items.run, run), eq(items.n, i)))
      : d.insert(items).values({ run, label: `c${i}`, n: i }).returning(row),
  );
  return Promise.all(queries.map((query) => query.execute())); // @drizzle-concurrent
}

async function seed(d: Db, run: string): Promise<void> {
  await d.insert(items).values(Array.from({ length: 25 }, (_, j) => ({ run, label: `s${j * 2}`, n: j * 2 })));
}

/** This file's workloads, for the test bodies shared by the ORM files. */
const lib: OrmUnderTest<Db> = {
  name: 'drizzle',
  here,
  res,
  url: () => db.url,
  over: drizzleOver,
  untracked,
  rowsOf,
  selectsAndInserts,
  seed,
  concurrentQueries,
  transactions,
  sleep: (d) => d.execute(sql`SELECT pg_sleep(60)`),
};

// ---- tests ------------------------------------------------------------------------------------------------------

describe('Drizzle over a tracked pool', () => {
  test("queryComments: same rows; each statement (a { text, types } object Drizzle reuses) carries its lease's comment", async (t) => {
    await testQueryComments(t, lib);
  });

  test('queryComments: a named prepared statement (.prepare(name)) is sent as written and runs again on another lease', async () => {
    const { pool, sent } = recordedPool(res, db.url, 1);
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main', queryComments: true });
    const d = drizzleOver(pool);
    await d.insert(items).values({ run: 'prepared', label: 'p', n: 7 });
    const prepared = d.select(row).from(items).where(eq(items.run, sql.placeholder('run'))).prepare('qc_items_by_run');
    // Two leases on the one connection (max 1), where pg keeps the statement parsed under its name.
    const first = await inspector.runAs('job a', () => prepared.execute({ run: 'prepared' }));
    const second = await inspector.runAs('job b', () => prepared.execute({ run: 'prepared' }));
    assert.deepEqual([first, second], [[{ label: 'p', n: 7 }], [{ label: 'p', n: 7 }]]);
    assert.deepEqual(sent.slice(-2), ['select "label", "n" from "items" where "items"."run" = $1', 'select "label", "n" from "items" where "items"."run" = $1']);
    assert.match(sent[0] ?? '', /^insert into "items" .* \/\*app=/, 'an unnamed statement is commented');
  });

  test('selects and inserts: same rows as untracked; leases owned by the job, at the calling line or no user frame', (t) =>
    testSelectsAndInserts(t, lib));

  test('transactions and savepoints: status and depth on the lease; rollbacks leave the same rows as untracked', (t) =>
    testTransactions(t, lib));

  test('50 concurrent queries on a pool of max 5 (connections opened by another job): same results, all owned', (t) =>
    testConcurrentQueries(t, lib));

  test('runAs(owner, () => query) runs the statement once (a Drizzle query runs on each then())', async () => {
    // runAs settles the owner when the callback's result settles. A Drizzle query is a lazy thenable: every then()
    // call runs it again, so runAs must call then() on it exactly once and hand the caller that outcome.
    const tracked = trackedOrmPool(res, db.url, 2);
    const d = drizzleOver(tracked.pool);
    const inserted = await tracked.inspector.runAs(ORM_OWNER, () => d.insert(items).values({ run: 'once', label: 'x', n: 1 }).returning(row));
    assert.deepEqual(inserted, [{ label: 'x', n: 1 }]);
    assert.deepEqual(await rowsOf(d, 'once'), [{ label: 'x', n: 1 }], 'one row inserted, not two');
    assert.equal(tracked.inspector.stats('main').counters.acquires, 2, 'the insert and the check: one checkout each');
    assert.equal(tracked.acquired[0]?.owner?.label, ORM_OWNER, "the thenable ran as the owner: the insert's checkout is the job's");
    assertNoDetections(tracked.detections);
    assertCountersSettled(tracked.inspector);
  });

  test('deliberate leak: a transaction left open is reported with its owner and site', async (t) => {
    const tracked = trackedOrmPool(res, db.url, 2, { leakThresholdMillis: 300 });
    const { inspector } = tracked;
    const d = drizzleOver(tracked.pool);
    const leakReported = nextEvent(inspector, 'leak-suspected');
    const ownerEnded = nextEvent(inspector, 'owner-ended-holding');
    const held = gate();
    const inserted = gate();

    let pending: Promise<void> | undefined;
    await inspector.runAs(ORM_OWNER, async () => {
      // The job starts a transaction that waits on something that never comes (here, until the test opens the gate)
      // and returns without awaiting it: the job ends holding the connection.
      pending = d.transaction(async (tx) => { // @drizzle-leak
        await tx.insert(items).values({ run: 'leak', label: 'held open', n: 1 });
        inserted.open();
        await held.promise;
      });
      await inserted.promise;
    });

    const leak = await leakReported;
    const ended = await ownerEnded;
    const site = siteOf(here, '@drizzle-leak');
    t.diagnostic(`drizzle @drizzle-leak (${site}) reported at: ${siteText(leak.lease)}`);
    assertLeakAttributed(leak, site, 'transaction left open');
    assert.deepEqual(leak.lease.transaction, { status: 'in-transaction', depth: 1 });
    assert.equal(ended.lease.id, leak.lease.id);
    assert.equal(ended.owner.label, ORM_OWNER);
    assert.equal(onlyHolder(inspector).id, leak.lease.id);

    const returned = nextEvent(inspector, 'leak-returned');
    held.open();
    await pending;
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
