/**
 * Shared by the ORM, query-builder and streaming integration tests (test/integration/orm-*.test.ts and
 * pg-streams.test.ts): the table they all use, a tracked pool with every detection collected, the site check for
 * libraries that may run a query with no user frame on the stack, and the end-of-test counter check.
 */
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { Inspector, LeakSuspectedEvent, LeaseSnapshot, PoolscopeEventType, PoolTrackingOptions } from '../../src/index.js';
import { trackPgPool } from '../../src/index.js';
import type { TestContext } from 'node:test';
import { eventually, isAt, siteOf, type TestResources } from './pg-test-kit.js';
import { queryTagsOf } from '../../src/server/activity-query-tags.js';
import { withoutTrailingSqlComment } from '../../src/core/sql-comment-format.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/** The owner every test runs its work as (`inspector.runAs(ORM_OWNER, ...)`). */
export const ORM_OWNER = 'job orm-test';

/** One table for every library: `run` keeps each test's rows (and the tracked and untracked pools') apart. */
export const ITEMS_TABLE_SQL =
  'CREATE TABLE items (id serial PRIMARY KEY, run text NOT NULL, label text NOT NULL, n integer NOT NULL)';

/** The file's own test database, with the `items` table created (through `res`, closed again). */
export async function createItemsDatabase(label: string, res: TestResources): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  const setup = await res.client(db.url);
  await setup.query(ITEMS_TABLE_SQL);
  await res.closeAll();
  return db;
}

/** A row as the tests compare it: what a user reads back, without the serial id or the run tag. */
export interface ItemRow {
  label: string;
  n: number;
}

/** Every event type that reports misuse: none may fire on correct code. */
export const DETECTION_TYPES = [
  'leak-suspected',
  'dirty-release',
  'inherited-transaction',
  'double-release',
  'foreign-release',
  'release-in-flight',
  'owner-ended-holding',
] as const satisfies readonly PoolscopeEventType[];
export type DetectionType = (typeof DETECTION_TYPES)[number];

/** One detection as the tests compare it. */
export interface Detection {
  readonly type: DetectionType;
  readonly leaseId: number;
  readonly message: string;
}

export interface TrackedOrmPool {
  readonly pool: pg.Pool;
  readonly inspector: Inspector;
  /** Every detection the pool reported, in order. */
  readonly detections: Detection[];
  /** Every lease handed out, as the `lease-acquired` event showed it (owner and location at checkout). */
  readonly acquired: LeaseSnapshot[];
}

/** A pool of `max` connections tracked as 'main', with every detection and checkout recorded. */
export function trackedOrmPool(
  res: TestResources,
  url: string,
  max: number,
  options: Omit<PoolTrackingOptions, 'name'> = {},
): TrackedOrmPool {
  const pool = res.pool(url, { max });
  const inspector = res.inspector();
  trackPgPool(inspector, pool, { name: 'main', ...options });
  const detections: Detection[] = [];
  for (const type of DETECTION_TYPES) {
    inspector.on(type, (event) => detections.push({ type, leaseId: event.lease.id, message: event.message }));
  }
  const acquired: LeaseSnapshot[] = [];
  inspector.on('lease-acquired', (event) => acquired.push(event.lease));
  return { pool, inspector, detections, acquired };
}

/** Opens `count` connections at once as another job, so later work reuses connections another owner opened. */
export async function warmUp(tracked: TrackedOrmPool, count: number): Promise<void> {
  const { pool, inspector } = tracked;
  await inspector.runAs('job warm-up', async () => {
    const clients = await Promise.all(Array.from({ length: count }, () => pool.connect()));
    for (const client of clients) client.release();
  });
}

/**
 * The site check for a library that may run a query when it is awaited, from a microtask with no frame of the
 * caller on the stack: the location is the test's line (`site`, from siteOf) or null, never a library's line.
 */
export function assertSiteOrNone(location: string | null, site: string, what: string): void {
  assert.ok(!location?.includes('node_modules'), `${what}: reported a library frame (${location}) instead of ${site} or null`);
  assert.ok(location === null || isAt(location, site), `${what}: location ${location} is neither ${site} nor null`);
}

/**
 * A leak report a user can act on: the lease's owner is the job, the site is the marked line or none (see
 * assertSiteOrNone), and the message names the line, or else says why there is none and names the owner.
 */
export function assertLeakAttributed(leak: LeakSuspectedEvent, site: string, what: string): void {
  assert.equal(leak.lease.owner?.label, ORM_OWNER, `${what}: owner`);
  assertSiteOrNone(leak.lease.location, site, what);
  assert.match(leak.message, new RegExp(`by task "${ORM_OWNER}"`), `${what}: the message names the owner`);
  if (leak.lease.location === null) {
    assert.equal(leak.lease.locationStatus, 'no-user-frame', `${what}: why there is no site`);
    assert.match(leak.message, /no frame of your code on the stack/, `${what}: the message says why there is no site`);
  } else {
    assert.ok(leak.message.includes(`acquired at ${leak.lease.location}`), `${what}: the message names the site`);
  }
}

/**
 * Attributes checkouts to the marked line that made them: call `step(marker)` right after the statement on the
 * line ending with `// <marker>`; the checkouts made since the previous step are that line's.
 */
export class SiteRecorder {
  readonly #tracked: TrackedOrmPool;
  #from: number;
  readonly steps: { readonly marker: string; readonly leases: readonly LeaseSnapshot[] }[] = [];

  constructor(tracked: TrackedOrmPool) {
    this.#tracked = tracked;
    this.#from = tracked.acquired.length;
  }

  step(marker: string): void {
    const to = this.#tracked.acquired.length;
    this.steps.push({ marker, leases: this.#tracked.acquired.slice(this.#from, to) });
    this.#from = to;
  }

  /**
   * Asserts, for every step, that it checked out at least one connection, owned by ORM_OWNER, at the marked line
   * or at no user frame (see assertSiteOrNone).
   */
  assertSites(moduleUrl: string, what: string): void {
    for (const { marker, leases } of this.steps) {
      assert.ok(leases.length > 0, `${what} ${marker}: no connection was checked out`);
      const site = siteOf(moduleUrl, marker);
      for (const lease of leases) {
        assert.equal(lease.owner?.label, ORM_OWNER, `${what} ${marker}: owner of lease #${lease.id}`);
        assertSiteOrNone(lease.location, site, `${what} ${marker}`);
      }
    }
  }

  /** `marker -> locations` lines, without asserting (printed before the assertions, so a failure shows them all). */
  describe(moduleUrl: string, what: string): string[] {
    return this.steps.map(
      ({ marker, leases }) =>
        `${what} ${marker} (${siteOf(moduleUrl, marker)}) reported at: ${distinct(leases.map((l) => siteText(l)))}`,
    );
  }
}

/** A lease's site for a diagnostic line: its location, or null and why (`locationStatus`). */
export function siteText(lease: LeaseSnapshot): string {
  return lease.location ?? `null (${lease.locationStatus})`;
}

/** Distinct values, for a compact diagnostic line. */
export function distinct(values: readonly (string | null)[]): string {
  return [...new Set(values.map((v) => v ?? 'null'))].join(', ');
}

/**
 * The end-of-test counters: every checkout returned, nothing in use, no misuse counted. `expected` lists the
 * detections a test caused on purpose (counted, not asserted absent).
 */
export function assertCountersSettled(
  inspector: Inspector,
  expected: { leaksSuspected?: number; ownerEndedHolding?: number; releasesInFlight?: number } = {},
): void {
  const stats = inspector.stats('main');
  const c = stats.counters;
  assert.equal(stats.used, 0, 'no connection in use at the end');
  assert.equal(c.acquires, c.releases, `acquires (${c.acquires}) === releases (${c.releases})`);
  assert.deepEqual(
    {
      dirtyReleases: c.dirtyReleases,
      doubleReleases: c.doubleReleases,
      foreignReleases: c.foreignReleases,
      releasesInFlight: c.releasesInFlight,
      leaksSuspected: c.leaksSuspected,
      ownerEndedHolding: c.ownerEndedHolding,
    },
    {
      dirtyReleases: 0,
      doubleReleases: 0,
      foreignReleases: 0,
      releasesInFlight: expected.releasesInFlight ?? 0,
      leaksSuspected: expected.leaksSuspected ?? 0,
      ownerEndedHolding: expected.ownerEndedHolding ?? 0,
    },
  );
}

/** Asserts no detection fired, printing their messages if some did. */
export function assertNoDetections(detections: readonly Detection[]): void {
  assert.deepEqual(
    detections.map((d) => `${d.type}: ${d.message}`),
    [],
    'no detection on correct code',
  );
}

/** The single holder of 'main' (asserting there is exactly one). */
export function onlyHolder(inspector: Inspector): LeaseSnapshot {
  const holders = inspector.snapshot('main').holders;
  assert.equal(holders.length, 1, 'exactly one holder');
  const holder = holders[0];
  assert.ok(holder !== undefined);
  return holder;
}

/** A promise and its resolve, to hold a transaction open until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

// ---- test bodies shared by the ORM files ------------------------------------------------------------------------

/** A check made inside the transactions of the shared workload (a no-op on the untracked pool). */
export type TransactionProbe = (point: 'outer' | 'savepoint' | 'released' | 'rolled-back-to') => void;

/** What one library's test file gives the shared test bodies: its workloads, written in its own API. */
export interface OrmUnderTest<DB> {
  /** Lower-case library name; its markers in the test file are `// @<name>-...`. */
  readonly name: string;
  /** The test file's URL (markers are looked up there). */
  readonly here: string;
  readonly res: TestResources;
  /** The test database's URL (known once `before` ran). */
  readonly url: () => string;
  over(pool: pg.Pool): DB;
  untracked(max: number): DB;
  rowsOf(db: DB, run: string): Promise<ItemRow[]>;
  selectsAndInserts(db: DB, run: string, sites?: SiteRecorder): Promise<unknown>;
  seed(db: DB, run: string): Promise<void>;
  concurrentQueries(db: DB, run: string): Promise<unknown[]>;
  /**
   * Outer transaction with a kept savepoint and a rolled-back one, probed at each point, then two rollbacks (for
   * testTransactions; a library whose transactions are checked its own way leaves it out).
   */
  transactions?(db: DB, run: string, probe?: TransactionProbe): Promise<void>;
  /** `SELECT pg_sleep(60)` through the library (for testQueryComments, which cancels it). */
  sleep?(db: DB): Promise<unknown>;
}

/** Same rows as untracked; every lease owned by the job, at the calling line or no user frame; nothing detected. */
export async function testSelectsAndInserts<DB>(t: TestContext, lib: OrmUnderTest<DB>): Promise<void> {
  const expected = await lib.selectsAndInserts(lib.untracked(5), 'basic-bare');
  const tracked = trackedOrmPool(lib.res, lib.url(), 5);
  const sites = new SiteRecorder(tracked);
  const actual = await tracked.inspector.runAs(ORM_OWNER, () => lib.selectsAndInserts(lib.over(tracked.pool), 'basic-tracked', sites));

  assert.deepEqual(actual, expected, 'the same results through the tracked pool');
  for (const line of sites.describe(lib.here, lib.name)) t.diagnostic(line);
  sites.assertSites(lib.here, lib.name);
  assertNoDetections(tracked.detections);
  assertCountersSettled(tracked.inspector);
}

/** Status and depth on the lease inside transactions and savepoints; rollbacks leave the same rows as untracked. */
export async function testTransactions<DB>(t: TestContext, lib: OrmUnderTest<DB>): Promise<void> {
  const transactions = lib.transactions;
  assert.ok(transactions !== undefined, `${lib.name} gives no transactions workload`);
  const bare = lib.untracked(2);
  await transactions(bare, 'tx-bare');
  const expected = await lib.rowsOf(bare, 'tx-bare');
  assert.deepEqual(
    expected.map((r) => r.label),
    ['inner', 'outer'],
    'savepoint kept, savepoint rolled back, transactions rolled back',
  );

  const tracked = trackedOrmPool(lib.res, lib.url(), 2);
  const { inspector } = tracked;
  const seen: Record<string, unknown> = {};
  const locations: Record<string, string | null> = {};
  const probe: TransactionProbe = (point) => {
    const holder = onlyHolder(inspector);
    seen[point] = { ...holder.transaction, owner: holder.owner?.label };
    locations[point] = holder.location;
  };
  await inspector.runAs(ORM_OWNER, () => transactions(lib.over(tracked.pool), 'tx-tracked', probe));

  assert.deepEqual(await lib.rowsOf(lib.over(tracked.pool), 'tx-tracked'), expected);
  assert.deepEqual(seen, {
    outer: { status: 'in-transaction', depth: 1, owner: ORM_OWNER },
    savepoint: { status: 'in-transaction', depth: 2, owner: ORM_OWNER },
    released: { status: 'in-transaction', depth: 1, owner: ORM_OWNER },
    'rolled-back-to': { status: 'in-transaction', depth: 2, owner: ORM_OWNER },
  });
  const marker = `@${lib.name}-transaction`;
  const site = siteOf(lib.here, marker);
  t.diagnostic(`${lib.name} ${marker} (${site}) reported at: ${locations.outer}`);
  for (const point of Object.keys(seen)) assertSiteOrNone(locations[point] ?? null, site, `transaction() (${point})`);
  assertNoDetections(tracked.detections);
  assertCountersSettled(inspector);
}

/** 50 concurrent queries on a pool of max 5 whose connections another job opened: same results, all owned. */
export async function testConcurrentQueries<DB>(t: TestContext, lib: OrmUnderTest<DB>): Promise<void> {
  const bare = lib.untracked(5);
  await lib.seed(bare, 'many-bare');
  const expected = await lib.concurrentQueries(bare, 'many-bare');

  const tracked = trackedOrmPool(lib.res, lib.url(), 5);
  const db = lib.over(tracked.pool);
  await lib.seed(db, 'many-tracked');
  await warmUp(tracked, 5);
  const sites = new SiteRecorder(tracked);
  const actual = await tracked.inspector.runAs(ORM_OWNER, () => lib.concurrentQueries(db, 'many-tracked'));
  sites.step(`@${lib.name}-concurrent`);

  assert.deepEqual(actual, expected);
  assert.equal(sites.steps[0]?.leases.length, 50, 'one checkout per query');
  assert.ok(tracked.pool.totalCount <= 5);
  for (const line of sites.describe(lib.here, lib.name)) t.diagnostic(line);
  sites.assertSites(lib.here, lib.name);
  assertNoDetections(tracked.detections);
  assertCountersSettled(tracked.inspector);
}

// ---- query comments ---------------------------------------------------------------------------------------------

/** The application name of testQueryComments' inspector (the `app` of its comments). */
export const QUERY_COMMENTS_APP = 'orm-qc';

/** A pool whose clients record every statement text poolscope hands to pg (a recorder under poolscope's wrapper). */
export interface RecordedPool {
  readonly pool: pg.Pool;
  /** What pg was given to send, in order: strings and config objects' `text`; submittables as `(submittable)`. */
  readonly sent: string[];
}

/**
 * A pool of `max` whose every client records what it is asked to send. The recorder is the client's own `query`,
 * set from the pool's 'connect' event before poolscope's (so listen before tracking): poolscope's query wrapper
 * calls it as pg's query, with the text as poolscope passes it on, the comment included.
 */
export function recordedPool(res: TestResources, url: string, max: number): RecordedPool {
  const pool = res.pool(url, { max });
  const sent: string[] = [];
  pool.on('connect', (client) => {
    const pgQuery = client.query as (...args: unknown[]) => unknown;
    (client as unknown as { query: unknown }).query = function recordingQuery(this: unknown, ...args: unknown[]): unknown {
      const config = args[0] as { text?: unknown; submit?: unknown } | string;
      sent.push(typeof config === 'string' ? config : typeof config.submit === 'function' ? '(submittable)' : String(config.text));
      return pgQuery.apply(this, args);
    };
  });
  return { pool, sent };
}

/**
 * queryComments through the library: the same results as on an untracked pool; every statement it sends through a
 * lease carries that lease's comment (owner, pool, app and lease id; `file` only at the test's line, as the lease's
 * location); a statement running now shows it in pg_stat_activity, read back by ActivityInspector's parsing.
 * Returns the recorded texts for the library's own checks.
 */
export async function testQueryComments<DB>(t: TestContext, lib: OrmUnderTest<DB>): Promise<string[]> {
  const sleep = lib.sleep;
  assert.ok(sleep !== undefined, `${lib.name} gives no sleep statement`);
  const expected = await lib.selectsAndInserts(lib.untracked(2), 'qc-bare');

  const { pool, sent } = recordedPool(lib.res, lib.url(), 2);
  const inspector = lib.res.inspector({ appName: QUERY_COMMENTS_APP });
  trackPgPool(inspector, pool, { name: 'main', queryComments: true, stackCapture: 'always' });
  const leases = new Map<number, LeaseSnapshot>();
  inspector.on('lease-acquired', (event) => leases.set(event.lease.id, event.lease));
  const db = lib.over(pool);
  const actual = await inspector.runAs(ORM_OWNER, () => lib.selectsAndInserts(db, 'qc-tracked'));
  assert.deepEqual(actual, expected, 'the same results with comments');

  assert.ok(sent.length >= 5, `statements recorded: ${sent.length}`);
  for (const text of sent) {
    const tags = queryTagsOf(text);
    assert.ok(tags !== null, `${lib.name} sent a statement without a comment: ${text}`);
    const lease = tags.leaseId === null ? undefined : leases.get(tags.leaseId);
    assert.ok(lease !== undefined, `the comment names a lease of the pool: ${text}`);
    assert.deepEqual(
      { owner: tags.owner, pool: tags.poolName, app: tags.appName, file: tags.location },
      { owner: ORM_OWNER, pool: 'main', app: QUERY_COMMENTS_APP, file: lease.location },
      text,
    );
    assert.ok(!withoutTrailingSqlComment(text).includes('/*'), `one comment only: ${text}`);
  }
  t.diagnostic(`${lib.name}: ${sent.length} statements, e.g. ${sent[0]}`);

  // A statement running now, seen from the database.
  const watcher = await lib.res.client(lib.url());
  const running = inspector.runAs(ORM_OWNER, () => sleep(db));
  // Cancelled (57014); Drizzle wraps the driver's error in its own (`cause`).
  const cancelled = assert.rejects(running, (error: { code?: unknown; cause?: { code?: unknown } }) => (error.code ?? error.cause?.code) === '57014');
  let seen: { pid: number; query: string } | undefined;
  await eventually(async () => {
    const { rows } = await watcher.query<{ pid: number; query: string }>(
      "SELECT pid, query FROM pg_stat_activity WHERE state = 'active' AND query ILIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid() AND datname = current_database()",
    );
    seen = rows[0];
    return seen !== undefined;
  }, `${lib.name}'s pg_sleep running`);
  const tags = queryTagsOf(seen?.query ?? null);
  assert.equal(tags?.owner, ORM_OWNER, seen?.query);
  assert.equal(tags?.poolName, 'main');
  t.diagnostic(`${lib.name} in pg_stat_activity: ${seen?.query}`);
  await watcher.query('SELECT pg_cancel_backend($1)', [seen?.pid]);
  await cancelled;
  return sent;
}
