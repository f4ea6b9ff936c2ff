// pg-cursor and pg-query-stream on clients checked out of a tracked pg.Pool (real PostgreSQL), asserted on what a
// user sees: the same rows as on an untracked pool; while a cursor or stream is open its lease names the query,
// counts it and shows it in flight; once closed or ended, nothing is in flight and nothing is running; releasing
// with one still open is a release-in-flight; transaction status and depth; no false detection; counters that add
// up; a deliberate leak (a client kept with its cursor open) reported once, at the test's line.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import type { Inspector } from '../../src/index.js';
import type { TestDatabase } from '../support/test-database.js';
import { isAt, nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';
import {
  assertCountersSettled,
  assertNoDetections,
  createItemsDatabase,
  type ItemRow,
  ORM_OWNER,
  onlyHolder,
  SiteRecorder,
  trackedOrmPool,
  warmUp,
} from '../support/orm-test-kit.js';

let db: TestDatabase;
const res = new TestResources();
const here = import.meta.url;

const SELECT_SQL = 'SELECT label, n FROM items WHERE run = $1 ORDER BY label';
const INSERT_SQL = "INSERT INTO items (run, label, n) SELECT $1, 'r' || lpad(g::text, 2, '0'), g FROM generate_series(1, $2::int) g RETURNING label, n";

before(async () => {
  db = await createItemsDatabase('pg_streams', res);
});
afterEach(() => res.closeAll());
after(() => db?.drop());

/** What a probe saw of the only holder. */
interface QueryView {
  text: string | null;
  running: boolean;
  inFlight: number;
  queriesRun: number;
}

function queryView(inspector: Inspector): QueryView {
  const holder = onlyHolder(inspector);
  return {
    text: holder.query?.text ?? null,
    running: holder.query !== null && holder.query.runningMillis !== null,
    inFlight: holder.queriesInFlight ?? -1,
    queriesRun: holder.queriesRun ?? -1,
  };
}

type Probe = (point: string) => void;

/** Reads every row of a stream, calling `onFirst` once the first row is in (the stream is open then). */
async function drain<T>(stream: QueryStream, onFirst: () => void = () => undefined): Promise<T[]> {
  const rows: T[] = [];
  for await (const row of stream) {
    rows.push(row as T);
    if (rows.length === 1) onFirst();
  }
  if (!stream.closed) await once(stream, 'close'); // its cursor is closed once the stream has closed
  return rows;
}

// ---- the workloads: the same code on the tracked and the untracked pool ------------------------------------------

async function cursorWork(pool: pg.Pool, run: string, probe: Probe = () => undefined): Promise<unknown> {
  const client = await pool.connect(); // @cursor-connect
  try {
    const insert = client.query(new Cursor<ItemRow>(INSERT_SQL, [run, 10]));
    const inserted = await insert.read(100);
    await insert.close();
    probe('insert-closed');
    const cursor = client.query(new Cursor<ItemRow>(SELECT_SQL, [run]));
    const first = await cursor.read(3);
    probe('open');
    const rest = await cursor.read(100);
    await cursor.close();
    probe('closed');
    return { inserted, first, rest };
  } finally {
    client.release();
  }
}

async function streamWork(pool: pg.Pool, run: string, probe: Probe = () => undefined): Promise<unknown> {
  const client = await pool.connect(); // @stream-connect
  try {
    const inserted = await drain<ItemRow>(client.query(new QueryStream(INSERT_SQL, [run, 10], { batchSize: 3 })));
    probe('insert-ended');
    const rows = await drain<ItemRow>(client.query(new QueryStream(SELECT_SQL, [run], { batchSize: 2 })), () => probe('open'));
    probe('ended');
    return { inserted, rows };
  } finally {
    client.release();
  }
}

async function transactionWork(pool: pg.Pool, run: string, probe: Probe = () => undefined): Promise<ItemRow[]> {
  const client = await pool.connect(); // @tx-connect
  try {
    await client.query('BEGIN');
    const outer = client.query(new Cursor<ItemRow>(INSERT_SQL, [`${run}`, 2]));
    await outer.read(10);
    probe('outer');
    await outer.close();
    await client.query('SAVEPOINT nested');
    const inner = client.query(new QueryStream(SELECT_SQL, [run], { batchSize: 1 }));
    await drain(inner, () => probe('savepoint'));
    await client.query('RELEASE SAVEPOINT nested');
    probe('released');
    await client.query('SAVEPOINT doomed');
    const doomed = client.query(new Cursor(INSERT_SQL, [`${run}`, 5]));
    await doomed.read(10);
    await doomed.close();
    await client.query('ROLLBACK TO SAVEPOINT doomed');
    await client.query('COMMIT');

    await client.query('BEGIN');
    const rolledBack = client.query(new Cursor(INSERT_SQL, [`${run}-rolled-back`, 3]));
    await rolledBack.read(10);
    await rolledBack.close();
    await client.query('ROLLBACK');
    return (await client.query<ItemRow>(SELECT_SQL, [run])).rows.concat((await client.query<ItemRow>(SELECT_SQL, [`${run}-rolled-back`])).rows);
  } finally {
    client.release();
  }
}

async function concurrentWork(pool: pg.Pool, run: string): Promise<unknown[]> {
  return Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const client = await pool.connect(); // @streams-concurrent
      try {
        if (i % 2 === 0) {
          const cursor = client.query(new Cursor<ItemRow>('SELECT label, n FROM items WHERE run = $1 AND n = $2', [run, i]));
          const rows = await cursor.read(10);
          await cursor.close();
          return rows;
        }
        return await drain<ItemRow>(client.query(new QueryStream(INSERT_SQL.replace("'r' ||", `'c${i}-' ||`), [run, 1])));
      } finally {
        client.release();
      }
    }),
  );
}

async function seed(pool: pg.Pool, run: string): Promise<void> {
  await pool.query('INSERT INTO items (run, label, n) SELECT $1, $2 || g, g FROM generate_series(0, 48, 2) g', [run, 's']);
}

// ---- tests ------------------------------------------------------------------------------------------------------

describe('pg-cursor on a client of a tracked pool', () => {
  test('rows as untracked; while open the lease names the cursor, in flight; after close() nothing in flight', async (t) => {
    const expected = await cursorWork(res.pool(db.url, { max: 2 }), 'cursor-bare');
    const tracked = trackedOrmPool(res, db.url, 2);
    const { inspector } = tracked;
    const seen: Record<string, QueryView> = {};
    const sites = new SiteRecorder(tracked);
    const actual = await inspector.runAs(ORM_OWNER, () =>
      cursorWork(tracked.pool, 'cursor-tracked', (point) => {
        seen[point] = queryView(inspector);
      }),
    );
    sites.step('@cursor-connect');

    assert.deepEqual(actual, expected);
    for (const line of sites.describe(here, 'pg-cursor')) t.diagnostic(line);
    t.diagnostic(`pg-cursor lease views: ${JSON.stringify(seen)}`);
    const lease = sites.steps[0]?.leases[0];
    assert.equal(lease?.owner?.label, ORM_OWNER);
    assert.ok(isAt(lease?.location, siteOf(here, '@cursor-connect')), `location was ${lease?.location}`);
    assert.deepEqual(seen.open, { text: SELECT_SQL, running: true, inFlight: 1, queriesRun: 2 }, 'while the cursor is open');
    assert.deepEqual(seen['insert-closed'], { text: INSERT_SQL, running: false, inFlight: 0, queriesRun: 1 }, 'after close()');
    assert.deepEqual(seen.closed, { text: SELECT_SQL, running: false, inFlight: 0, queriesRun: 2 }, 'after close()');
    assertNoDetections(tracked.detections);
    assertCountersSettled(inspector);
  });

  test('releasing the client with a cursor still open is a release-in-flight, at the release line', async () => {
    const tracked = trackedOrmPool(res, db.url, 1);
    const { pool, inspector } = tracked;
    await seed(pool, 'cursor-released');
    const client = await pool.connect();
    const cursor = client.query(new Cursor<ItemRow>(SELECT_SQL, ['cursor-released']));
    assert.equal((await cursor.read(1)).length, 1);
    const reported = nextEvent(inspector, 'release-in-flight', 2000);
    client.release(); // @cursor-release-in-flight
    await cursor.close();

    const event = await reported;
    assert.ok(isAt(event.releaseLocation, siteOf(here, '@cursor-release-in-flight')), `release at ${event.releaseLocation}`);
    assert.equal(event.lease.query?.text, SELECT_SQL);
    assert.equal(event.lease.queriesInFlight, 1);
    assert.deepEqual(
      tracked.detections.map((d) => d.type),
      ['release-in-flight'],
      'only the misuse caused on purpose',
    );
    assertCountersSettled(inspector, { releasesInFlight: 1 });
  });

  test('deliberate leak: a client kept with its cursor open is reported with its owner, site and query', async (t) => {
    const tracked = trackedOrmPool(res, db.url, 2, { leakThresholdMillis: 300 });
    const { pool, inspector } = tracked;
    await seed(pool, 'cursor-leak');
    const leakReported = nextEvent(inspector, 'leak-suspected');
    const ownerEnded = nextEvent(inspector, 'owner-ended-holding');

    let kept: { client: pg.PoolClient; cursor: Cursor<ItemRow> } | undefined;
    await inspector.runAs(ORM_OWNER, async () => {
      const client = await pool.connect(); // @cursor-leak
      const cursor = client.query(new Cursor<ItemRow>(SELECT_SQL, ['cursor-leak']));
      await cursor.read(2);
      kept = { client, cursor }; // the job ends holding the client, its cursor open
    });

    const leak = await leakReported;
    const ended = await ownerEnded;
    t.diagnostic(`pg-cursor @cursor-leak (${siteOf(here, '@cursor-leak')}) reported at: ${leak.lease.location}`);
    assert.equal(leak.lease.owner?.label, ORM_OWNER);
    assert.ok(isAt(leak.lease.location, siteOf(here, '@cursor-leak')), `location was ${leak.lease.location}`);
    assert.equal(leak.lease.query?.text, SELECT_SQL);
    assert.match(leak.message, /SELECT label, n FROM items/);
    assert.equal(ended.lease.id, leak.lease.id);

    const returned = nextEvent(inspector, 'leak-returned');
    assert.ok(kept !== undefined);
    await kept.cursor.close();
    kept.client.release();
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

describe('pg-query-stream on a client of a tracked pool', () => {
  test('rows as untracked; while open the lease names the stream, in flight; after its end nothing in flight', async (t) => {
    const expected = await streamWork(res.pool(db.url, { max: 2 }), 'stream-bare');
    const tracked = trackedOrmPool(res, db.url, 2);
    const { inspector } = tracked;
    const seen: Record<string, QueryView> = {};
    const sites = new SiteRecorder(tracked);
    const actual = await inspector.runAs(ORM_OWNER, () =>
      streamWork(tracked.pool, 'stream-tracked', (point) => {
        seen[point] = queryView(inspector);
      }),
    );
    sites.step('@stream-connect');

    assert.deepEqual(actual, expected);
    for (const line of sites.describe(here, 'pg-query-stream')) t.diagnostic(line);
    t.diagnostic(`pg-query-stream lease views: ${JSON.stringify(seen)}`);
    const lease = sites.steps[0]?.leases[0];
    assert.equal(lease?.owner?.label, ORM_OWNER);
    assert.ok(isAt(lease?.location, siteOf(here, '@stream-connect')), `location was ${lease?.location}`);
    assert.deepEqual(seen.open, { text: SELECT_SQL, running: true, inFlight: 1, queriesRun: 2 }, 'while the stream is open');
    assert.deepEqual(seen['insert-ended'], { text: INSERT_SQL, running: false, inFlight: 0, queriesRun: 1 }, 'after its end');
    assert.deepEqual(seen.ended, { text: SELECT_SQL, running: false, inFlight: 0, queriesRun: 2 }, 'after its end');
    assertNoDetections(tracked.detections);
    assertCountersSettled(inspector);
  });

  test('releasing the client with a stream still open is a release-in-flight, at the release line', async () => {
    const tracked = trackedOrmPool(res, db.url, 1);
    const { pool, inspector } = tracked;
    await seed(pool, 'stream-released');
    const client = await pool.connect();
    const stream = client.query(new QueryStream(SELECT_SQL, ['stream-released'], { batchSize: 1, highWaterMark: 1 }));
    await once(stream, 'readable');
    const reported = nextEvent(inspector, 'release-in-flight', 2000);
    client.release(); // @stream-release-in-flight
    stream.destroy();
    if (!stream.closed) await once(stream, 'close');

    const event = await reported;
    assert.ok(isAt(event.releaseLocation, siteOf(here, '@stream-release-in-flight')), `release at ${event.releaseLocation}`);
    assert.equal(event.lease.query?.text, SELECT_SQL);
    assert.equal(event.lease.queriesInFlight, 1);
    assert.deepEqual(
      tracked.detections.map((d) => d.type),
      ['release-in-flight'],
      'only the misuse caused on purpose',
    );
    assertCountersSettled(inspector, { releasesInFlight: 1 });
  });
});

describe('cursors and streams together', () => {
  test('transaction with a savepoint around cursors and streams: status and depth; rollbacks; rows as untracked', async (t) => {
    const expected = await transactionWork(res.pool(db.url, { max: 1 }), 'tx-bare');
    assert.deepEqual(
      expected.map((r) => r.label),
      ['r01', 'r02'],
      'savepoint kept, savepoint rolled back, transaction rolled back',
    );
    const tracked = trackedOrmPool(res, db.url, 1);
    const { inspector } = tracked;
    const seen: Record<string, unknown> = {};
    const sites = new SiteRecorder(tracked);
    const actual = await inspector.runAs(ORM_OWNER, () =>
      transactionWork(tracked.pool, 'tx-tracked', (point) => {
        const holder = onlyHolder(inspector);
        seen[point] = { ...holder.transaction, owner: holder.owner?.label };
      }),
    );
    sites.step('@tx-connect');

    assert.deepEqual(actual, expected);
    for (const line of sites.describe(here, 'pg-cursor/pg-query-stream')) t.diagnostic(line);
    assert.ok(isAt(sites.steps[0]?.leases[0]?.location, siteOf(here, '@tx-connect')));
    assert.deepEqual(seen, {
      outer: { status: 'in-transaction', depth: 1, owner: ORM_OWNER },
      savepoint: { status: 'in-transaction', depth: 2, owner: ORM_OWNER },
      released: { status: 'in-transaction', depth: 1, owner: ORM_OWNER },
    });
    assertNoDetections(tracked.detections);
    assertCountersSettled(inspector);
  });

  test('50 concurrent cursors and streams on a pool of max 5 (connections opened by another job)', async (t) => {
    const bare = res.pool(db.url, { max: 5 });
    await seed(bare, 'many-bare');
    const expected = await concurrentWork(bare, 'many-bare');

    const tracked = trackedOrmPool(res, db.url, 5, { stackCapture: 'always' }); // every lease's site is checked: no sampling
    await seed(tracked.pool, 'many-tracked');
    await warmUp(tracked, 5);
    const sites = new SiteRecorder(tracked);
    const actual = await tracked.inspector.runAs(ORM_OWNER, () => concurrentWork(tracked.pool, 'many-tracked'));
    sites.step('@streams-concurrent');

    assert.deepEqual(actual, expected);
    const leases = sites.steps[0]?.leases ?? [];
    assert.equal(leases.length, 50, 'one checkout per cursor or stream');
    assert.ok(tracked.pool.totalCount <= 5);
    for (const line of sites.describe(here, 'pg-cursor/pg-query-stream')) t.diagnostic(line);
    const site = siteOf(here, '@streams-concurrent');
    for (const lease of leases) {
      assert.equal(lease.owner?.label, ORM_OWNER);
      assert.ok(isAt(lease.location, site), `location was ${lease.location}`);
    }
    assertNoDetections(tracked.detections);
    assertCountersSettled(tracked.inspector);
  });
});
