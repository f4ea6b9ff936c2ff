// Kysely 0.28 (`new Kysely({ dialect: new PostgresDialect({ pool }) })`) over a tracked pg.Pool on a real
// PostgreSQL, asserted on what a user sees: the same rows as on an untracked pool, leases owned by the job and
// placed at the test's line (or at no user frame, never at a Kysely frame), transaction status and depth inside
// transactions and savepoints, no false detection, counters that add up, and a deliberate leak reported once.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { Kysely, PostgresDialect, sql, type Generated } from 'kysely';
import type { TestDatabase } from '../support/test-database.js';
import { nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';
import {
  assertCountersSettled,
  assertLeakAttributed,
  assertNoDetections,
  assertSiteOrNone,
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
  testSelectsAndInserts,
} from '../support/orm-test-kit.js';

interface Database {
  items: { id: Generated<number>; run: string; label: string; n: number };
}

let db: TestDatabase;
const res = new TestResources();
const here = import.meta.url;

before(async () => {
  db = await createItemsDatabase('orm_kysely', res);
});
afterEach(() => res.closeAll());
after(() => db?.drop());

/** Kysely over `pool`. Never destroyed here: destroy() would end the pool, which TestResources ends itself. */
function kyselyOver(pool: pg.Pool): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

function untracked(max: number): Kysely<Database> {
  return kyselyOver(res.pool(db.url, { max }));
}

function rowsOf(k: Kysely<Database>, run: string): Promise<ItemRow[]> {
  return k.selectFrom('items').select(['label', 'n']).where('run', '=', run).orderBy('label').execute();
}

// ---- the workloads: the same code on the tracked and the untracked pool ------------------------------------------

async function selectsAndInserts(k: Kysely<Database>, run: string, sites?: SiteRecorder): Promise<unknown> {
  const insert = k
    .insertInto('items')
    .values([
      { run, label: 'a', n: 1 },
      { run, label: 'b', n: 2 },
      { run, label: 'c', n: 3 },
    ])
    .returning(['label', 'n']);
  const inserted = await insert.execute(); // @kysely-insert
  sites?.step('@kysely-insert');
  const select = k.selectFrom('items').select(['label', 'n']).where('run', '=', run).orderBy('label');
  const selected = await select.execute(); // @kysely-select
  sites?.step('@kysely-select');
  const firstQuery = k.selectFrom('items').select(['label', 'n']).where('run', '=', run).where('n', '>', 1).orderBy('n');
  const first = await firstQuery.executeTakeFirstOrThrow(); // @kysely-take-first
  sites?.step('@kysely-take-first');
  const update = k.updateTable('items').set({ n: 20 }).where('run', '=', run).where('label', '=', 'b').returning(['label', 'n']);
  const updated = await update.executeTakeFirst(); // @kysely-update
  sites?.step('@kysely-update');
  const missing = await k.selectFrom('items').select('label').where('run', '=', `${run}-none`).executeTakeFirst(); // @kysely-missing
  sites?.step('@kysely-missing');
  return { inserted, selected, first, updated, missing, after: await rowsOf(k, run) };
}

/** A repository function a few calls down, as in an app: the line poolscope should name is the one marked here. */
async function findByLabel(k: Kysely<Database>, run: string, label: string): Promise<ItemRow> {
  const query = k.selectFrom('items').select(['label', 'n']).where('run', '=', run).where('label', '=', label);
  return await query.executeTakeFirstOrThrow(); // @kysely-repository
}

async function serviceLayer(k: Kysely<Database>, run: string): Promise<ItemRow[]> {
  const found: ItemRow[] = [];
  for (const label of ['a', 'c']) found.push(await findByLabel(k, run, label));
  return found;
}

/** Checks made inside the transactions on the tracked pool (no-op on the untracked one). */
type Probe = (point: 'transaction' | 'outer' | 'savepoint' | 'released' | 'rolled-back-to') => void;

async function transactions(k: Kysely<Database>, run: string, probe: Probe = () => undefined): Promise<void> {
  await k.transaction().execute(async (trx) => { // @kysely-transaction
    await trx.insertInto('items').values({ run, label: 'tx', n: 1 }).execute();
    probe('transaction');
  });

  const outer = await k.startTransaction().execute(); // @kysely-start-transaction
  await outer.insertInto('items').values({ run, label: 'outer', n: 2 }).execute();
  probe('outer');
  const inner = await outer.savepoint('inner').execute();
  await inner.insertInto('items').values({ run, label: 'inner', n: 3 }).execute();
  probe('savepoint');
  const released = await inner.releaseSavepoint('inner').execute();
  probe('released');
  const doomed = await released.savepoint('doomed').execute();
  await doomed.insertInto('items').values({ run, label: 'doomed-savepoint', n: 4 }).execute();
  const back = await doomed.rollbackToSavepoint('doomed').execute();
  probe('rolled-back-to');
  await back.commit().execute();

  await assert.rejects(
    k.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ run, label: 'thrown', n: 5 }).execute();
      throw new Error('roll this transaction back');
    }),
    /roll this transaction back/,
  );
  const abandoned = await k.startTransaction().execute();
  await abandoned.insertInto('items').values({ run, label: 'rolled-back', n: 6 }).execute();
  await abandoned.rollback().execute();
}

function concurrentQueries(k: Kysely<Database>, run: string): Promise<unknown[]> {
  const queries = Array.from({ length: 50 }, (_, i) =>
    i % 2 === 0
      ? k.selectFrom('items').select(['label', 'n']).where('run', '=', run).where('n', '=', i)
      : k.insertInto('items').values({ run, label: `c${i}`, n: i }).returning(['label', 'n']),
  );
  return Promise.all(queries.map((query) => query.execute())); // @kysely-concurrent
}

async function seed(k: Kysely<Database>, run: string): Promise<void> {
  await k
    .insertInto('items')
    .values(Array.from({ length: 25 }, (_, j) => ({ run, label: `s${j * 2}`, n: j * 2 })))
    .execute();
}

/** This file's workloads, for the test bodies shared by the ORM files (its transactions are checked below). */
const lib: OrmUnderTest<Kysely<Database>> = {
  name: 'kysely',
  here,
  res,
  url: () => db.url,
  over: kyselyOver,
  untracked,
  rowsOf,
  selectsAndInserts,
  seed,
  concurrentQueries,
  sleep: (k) => sql`SELECT pg_sleep(60)`.execute(k),
};

// ---- tests ------------------------------------------------------------------------------------------------------

describe('Kysely 0.28 over a tracked pool', () => {
  test('queryComments: same rows; each statement (client.query(sql, parameters)) carries its lease\'s comment', async (t) => {
    await testQueryComments(t, lib);
  });

  test('selects and inserts: same rows as untracked; leases owned by the job, at the calling line or no user frame', (t) =>
    testSelectsAndInserts(t, lib));

  test('executeTakeFirstOrThrow() from a repository function: that line or no user frame, never a Kysely frame', async (t) => {
    const bare = untracked(2);
    await selectsAndInserts(bare, 'repo-bare');
    const expected = await serviceLayer(bare, 'repo-bare');
    const tracked = trackedOrmPool(res, db.url, 2, { stackCapture: 'always' });
    const k = kyselyOver(tracked.pool);
    await selectsAndInserts(k, 'repo-tracked');
    const from = tracked.acquired.length;
    const actual = await tracked.inspector.runAs(ORM_OWNER, () => serviceLayer(k, 'repo-tracked'));

    assert.deepEqual(actual, expected);
    assert.deepEqual(actual, [
      { label: 'a', n: 1 },
      { label: 'c', n: 3 },
    ]);
    const leases = tracked.acquired.slice(from);
    assert.equal(leases.length, 2);
    const site = siteOf(here, '@kysely-repository');
    for (const lease of leases) {
      t.diagnostic(`kysely @kysely-repository (${site}) reported at: ${siteText(lease)}`);
      assert.equal(lease.owner?.label, ORM_OWNER);
      assertSiteOrNone(lease.location, site, 'executeTakeFirstOrThrow');
    }
    assertNoDetections(tracked.detections);
    assertCountersSettled(tracked.inspector);
  });

  test('transactions and savepoints: status and depth on the lease; rollbacks leave the same rows as untracked', async (t) => {
    const bare = untracked(2);
    await transactions(bare, 'tx-bare');
    const expected = await rowsOf(bare, 'tx-bare');
    assert.deepEqual(
      expected.map((r) => r.label),
      ['inner', 'outer', 'tx'],
      'savepoint kept, savepoint rolled back, transactions rolled back',
    );

    const tracked = trackedOrmPool(res, db.url, 2);
    const { inspector } = tracked;
    const seen: Record<string, unknown> = {};
    const locations: Record<string, string | null> = {};
    const probe: Probe = (point) => {
      const holder = onlyHolder(inspector);
      seen[point] = { ...holder.transaction, owner: holder.owner?.label };
      locations[point] = holder.location;
    };
    await inspector.runAs(ORM_OWNER, () => transactions(kyselyOver(tracked.pool), 'tx-tracked', probe));

    assert.deepEqual(await rowsOf(kyselyOver(tracked.pool), 'tx-tracked'), expected);
    assert.deepEqual(seen, {
      transaction: { status: 'in-transaction', depth: 1, owner: ORM_OWNER },
      outer: { status: 'in-transaction', depth: 1, owner: ORM_OWNER },
      savepoint: { status: 'in-transaction', depth: 2, owner: ORM_OWNER },
      released: { status: 'in-transaction', depth: 1, owner: ORM_OWNER },
      'rolled-back-to': { status: 'in-transaction', depth: 2, owner: ORM_OWNER },
    });
    const transactionSite = siteOf(here, '@kysely-transaction');
    const startSite = siteOf(here, '@kysely-start-transaction');
    t.diagnostic(`kysely @kysely-transaction (${transactionSite}) reported at: ${locations.transaction}`);
    t.diagnostic(`kysely @kysely-start-transaction (${startSite}) reported at: ${locations.outer}`);
    assertSiteOrNone(locations.transaction ?? null, transactionSite, 'transaction().execute()');
    for (const point of ['outer', 'savepoint', 'released', 'rolled-back-to']) {
      assertSiteOrNone(locations[point] ?? null, startSite, `startTransaction() (${point})`);
    }
    assertNoDetections(tracked.detections);
    assertCountersSettled(inspector);
  });

  test('50 concurrent queries on a pool of max 5 (connections opened by another job): same results, all owned', (t) =>
    testConcurrentQueries(t, lib));

  test('deliberate leak: a controlled transaction never committed is reported with its owner and site', async (t) => {
    const tracked = trackedOrmPool(res, db.url, 2, { leakThresholdMillis: 300 });
    const { inspector } = tracked;
    const k = kyselyOver(tracked.pool);
    const leakReported = nextEvent(inspector, 'leak-suspected');
    const ownerEnded = nextEvent(inspector, 'owner-ended-holding');

    const open = await inspector.runAs(ORM_OWNER, async () => {
      await k.selectFrom('items').select('label').limit(1).execute(); // a clean checkout first
      const trx = await k.startTransaction().execute(); // @kysely-leak
      await trx.insertInto('items').values({ run: 'leak', label: 'never committed', n: 1 }).execute();
      return trx; // the job ends holding the connection
    });

    const leak = await leakReported;
    const ended = await ownerEnded;
    const site = siteOf(here, '@kysely-leak');
    t.diagnostic(`kysely @kysely-leak (${site}) reported at: ${siteText(leak.lease)}`);
    assertLeakAttributed(leak, site, 'leaked startTransaction()');
    assert.deepEqual(leak.lease.transaction, { status: 'in-transaction', depth: 1 });
    assert.equal(ended.lease.id, leak.lease.id);
    assert.equal(ended.owner.label, ORM_OWNER);
    assert.equal(onlyHolder(inspector).id, leak.lease.id);

    const returned = nextEvent(inspector, 'leak-returned');
    await open.rollback().execute();
    assert.equal((await returned).lease.id, leak.lease.id);
    assert.deepEqual(
      tracked.detections.map((d) => [d.type, d.leaseId]).sort(),
      [
        ['leak-suspected', leak.lease.id],
        ['owner-ended-holding', leak.lease.id],
      ],
      'only the leak caused on purpose (reported as a leak and as the job ending with it)',
    );
    assertCountersSettled(inspector, { leaksSuspected: 1, ownerEndedHolding: 1 });
  });
});
