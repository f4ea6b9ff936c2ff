// Query comments (issue 18) on a real PostgreSQL: a statement sent through a lease carries a sqlcommenter comment
// naming its owner, the file:line of the checkout, the lease, the pool and the app, which pg_stat_activity shows and
// ActivityInspector, pidJoin and `poolscope db` read back; statements that must not change (named prepared
// statements, statements with a comment, COPY, cursors and streams) are sent as written; every statement shape runs
// exactly as without the option (fixed cases and a fuzz of shapes); hostile owner labels cannot leave the comment.
//
// What the server received is read from pg_stat_activity.query of the lease's backend after the statement ran (a
// session keeps its last statement's text): no timing involved. The running-statement checks cancel the pg_sleep
// with pg_cancel_backend once seen.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import fc from 'fast-check';
import * as otel from '@opentelemetry/api';
import { trackPgPool, type Inspector, type PoolTrackingOptions } from '../../src/index.js';
import { ActivityInspector } from '../../src/server/activity-inspector.js';
import { pidJoin } from '../../src/server/pid-join.js';
import { queryTagsOf } from '../../src/server/activity-query-tags.js';
import { formatServerActivity } from '../../src/cli/commands/db-command.js';
import { encodeSqlCommentText } from '../../src/core/sql-comment-format.js';
import { OptionsError } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { eventually, isAt, siteOf, TestResources } from '../support/pg-test-kit.js';
import { fuzzSuite } from '../support/fuzz-kit.js';
import { FakeClock } from '../support/fake-clock.js';

let db: TestDatabase;
const res = new TestResources();
const activities: ActivityInspector[] = [];
const here = import.meta.url;
const fuzz = fuzzSuite(here);
const APP = 'qc-test';

before(async () => {
  db = await createTestDatabase('query_comments');
  const setup = await res.client(db.url);
  await setup.query('CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)');
  await setup.query("INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')");
  await res.closeAll();
});
afterEach(async () => {
  for (const activity of activities.splice(0)) await activity.close();
  await res.closeAll();
});
after(() => db?.drop());

/** A pool tracked as 'main' by an inspector named APP, its comments per `queryComments`. */
function trackedPool(options: Omit<PoolTrackingOptions, 'name'> = {}, max = 2): { pool: pg.Pool; inspector: Inspector; errors: unknown[] } {
  const errors: unknown[] = [];
  const inspector = res.inspector({ appName: APP, onError: (error) => errors.push(error) });
  const pool = res.pool(db.url, { max });
  trackPgPool(inspector, pool, { name: 'main', stackCapture: 'always', ...options });
  return { pool, inspector, errors };
}

function activityInspector(options: { maxQueryTextLength?: number } = {}): ActivityInspector {
  const activity = new ActivityInspector({ connectionString: db.url, ...options });
  activities.push(activity);
  return activity;
}

/** pg.Client's backend PID (not in @types/pg). */
function pidOf(client: pg.PoolClient | pg.Client): number {
  return (client as unknown as { processID: number }).processID;
}

/** The text of the last statement the server received on backend `pid` (pg_stat_activity keeps it). */
async function serverText(watcher: pg.Client, pid: number): Promise<string> {
  const { rows } = await watcher.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = $1', [pid]);
  assert.equal(rows.length, 1, `backend ${pid} in pg_stat_activity`);
  return rows[0]?.query ?? '';
}

/** The comment poolscope writes for these fields, in key order (values encoded as the spec says). */
function commentOf(fields: Record<string, string | number>): string {
  const pairs = Object.keys(fields)
    .sort()
    .map((key) => `${key}='${encodeSqlCommentText(String(fields[key]))}'`);
  return `/*${pairs.join(',')}*/`;
}

/** What a query answered, comparable across pools: per result its command, field names and rows; or its error. */
function outcomeOf(result: unknown): unknown {
  const one = (r: pg.QueryResult): unknown => ({ command: r.command, fields: (r.fields ?? []).map((f) => f.name), rows: r.rows });
  return Array.isArray(result) ? result.map((r) => one(r as pg.QueryResult)) : one(result as pg.QueryResult);
}

async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: outcomeOf(await run()) };
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    return { error: e.code ?? e.message };
  }
}

describe('the comment on a running statement', () => {
  test('pg_stat_activity shows owner, file:line, lease, pool and app; ActivityInspector, pidJoin and poolscope db read them', async () => {
    const { pool, inspector } = trackedPool({ queryComments: true });
    const watcher = await res.client(db.url);
    const owner = 'GET /orders/:id';
    const client = await inspector.runAs({ label: owner, kind: 'request' }, () => pool.connect()); // @qc-checkout
    const holder = inspector.snapshot('main').holders[0];
    assert.ok(holder?.location && isAt(holder.location, siteOf(here, '@qc-checkout')), `location ${holder?.location}`);
    const pid = pidOf(client);

    const sleeping = inspector.runAs({ label: owner, kind: 'request' }, () => client.query('SELECT pg_sleep(60)'));
    const failed = assert.rejects(sleeping, (error: { code?: string }) => error.code === '57014');
    await eventually(async () => (await serverText(watcher, pid)).startsWith('SELECT pg_sleep(60)'), 'the pg_sleep running');

    const expected = `SELECT pg_sleep(60) ${commentOf({ app: APP, file: holder.location, lease: holder.id, owner, pool: 'main' })}`;
    assert.equal(await serverText(watcher, pid), expected);

    const report = await activityInspector().activity({ database: db.name });
    const session = report.sessions.find((s) => s.pid === pid);
    assert.equal(session?.state, 'active');
    assert.deepEqual(session?.queryTags, {
      owner,
      location: holder.location,
      leaseId: holder.id,
      poolName: 'main',
      appName: APP,
      traceparent: null,
      tags: { app: APP, file: holder.location, lease: String(holder.id), owner, pool: 'main' },
    });
    const joined = pidJoin(inspector.snapshotAll(), report);
    const view = joined.pools[0]?.leases[0];
    assert.equal(view?.match, 'found');
    assert.equal(view?.server?.queryTags?.leaseId, view?.leaseId, 'the comment names the lease the join found');

    const text = formatServerActivity(report);
    assert.ok(
      text.includes(`      query: SELECT pg_sleep(60)\n      sent by "${owner}" at ${holder.location} (lease #${holder.id} of pool main, app ${APP})\n`),
      text,
    );
    // The lease records the statement as written: the comment is for the server only.
    assert.equal(inspector.snapshot('main').holders[0]?.query?.text, 'SELECT pg_sleep(60)');

    await watcher.query('SELECT pg_cancel_backend($1)', [pid]);
    await failed;
    client.release();
  });

  test('a one-shot pool.query() is a lease of its own: its comment names it (and no file when no stack was taken)', async () => {
    const { pool, inspector } = trackedPool({ queryComments: true, stackCapture: 'off' });
    const watcher = await res.client(db.url);
    const leases: number[] = [];
    inspector.on('lease-acquired', (event) => leases.push(event.lease.id));
    const { rows } = await pool.query('SELECT $1::int + 1 AS n', [41]);
    assert.deepEqual(rows, [{ n: 42 }]);
    const client = await pool.connect();
    try {
      // max 2, one idle connection: the same backend served the one-shot query.
      const texts = [await serverText(watcher, pidOf(client))];
      assert.equal(texts[0], `SELECT $1::int + 1 AS n ${commentOf({ app: APP, lease: leases[0] ?? 0, pool: 'main' })}`, 'no owner, no file');
    } finally {
      client.release();
    }
  });

  test('a statement longer than the text cap is still read from its end; one cut by track_activity_query_size has no tags', async () => {
    const { pool, inspector } = trackedPool({ queryComments: { fields: ['lease', 'pool'] } });
    const client = await inspector.runAs('job long', () => pool.connect());
    try {
      const padding = 'x'.repeat(300);
      await client.query(`SELECT '${padding}' AS pad`);
      const capped = await activityInspector({ maxQueryTextLength: 40 }).activity({ database: db.name });
      const session = capped.sessions.find((s) => s.pid === pidOf(client));
      assert.equal(session?.query?.length, 40);
      assert.equal(session?.queryTags?.poolName, 'main', 'read from the end sent apart');

      const { rows } = await client.query<{ bytes: number }>("SELECT setting::int AS bytes FROM pg_settings WHERE name = 'track_activity_query_size'");
      const tooLong = 'y'.repeat((rows[0]?.bytes ?? 1024) * 2);
      await client.query(`SELECT '${tooLong}' AS pad`);
      const cut = await activityInspector().activity({ database: db.name });
      assert.equal(cut.sessions.find((s) => s.pid === pidOf(client))?.queryTags, null, 'the server cut the comment off');
    } finally {
      client.release();
    }
  });
});

describe('statements behave exactly as without the option', () => {
  /** Runs `run` on a client of a pool with comments and of one without; returns both outcomes and what the server got. */
  async function both(
    run: (client: pg.PoolClient) => Promise<unknown>,
    commented: { pool: pg.Pool; inspector: Inspector },
    plain: pg.Pool,
    watcher: pg.Client,
  ): Promise<{ withComments: unknown; without: unknown; sent: string; leaseId: number }> {
    const a = await commented.inspector.runAs('job shapes', () => commented.pool.connect());
    const b = await plain.connect();
    try {
      const leaseId = commented.inspector.snapshot('main').holders.at(-1)?.id ?? 0;
      const withComments = await outcome(() => run(a));
      const without = await outcome(() => run(b));
      return { withComments, without, sent: await serverText(watcher, pidOf(a)), leaseId };
    } finally {
      a.release();
      b.release();
    }
  }

  test('parameterised, multi-statement, `;`, `--` and `/* */` comments, COPY, callbacks, config objects, errors', async () => {
    const commented = trackedPool({ queryComments: { fields: ['lease', 'owner', 'pool'] } });
    const plain = trackedPool({}).pool;
    const watcher = await res.client(db.url);
    const tag = (leaseId: number): string => commentOf({ lease: leaseId, owner: 'job shapes', pool: 'main' });
    type Case = [name: string, run: (c: pg.PoolClient) => Promise<unknown>, sent: (leaseId: number) => string];
    const cases: Case[] = [
      ['text', (c) => c.query('SELECT v FROM t ORDER BY id'), (l) => `SELECT v FROM t ORDER BY id ${tag(l)}`],
      ['parameterised (text, values)', (c) => c.query('SELECT v FROM t WHERE id = $1', [2]), (l) => `SELECT v FROM t WHERE id = $1 ${tag(l)}`],
      ['parameterised config object', (c) => c.query({ text: 'SELECT $1::int * $2::int AS n', values: [6, 7] }), (l) => `SELECT $1::int * $2::int AS n ${tag(l)}`],
      ['rowMode array', (c) => c.query({ text: 'SELECT id, v FROM t ORDER BY id', rowMode: 'array' }), (l) => `SELECT id, v FROM t ORDER BY id ${tag(l)}`],
      ['ends with ;', (c) => c.query('SELECT 1 AS a;'), (l) => `SELECT 1 AS a ${tag(l)};`],
      ['ends with ; and whitespace', (c) => c.query('SELECT 1 AS a ;\n  '), (l) => `SELECT 1 AS a  ${tag(l)};\n  `],
      ['parameterised, ends with ;', (c) => c.query('SELECT $1::text AS s;', ['x']), (l) => `SELECT $1::text AS s ${tag(l)};`],
      ['multi-statement', (c) => c.query('SELECT 1 AS a; SELECT 2 AS b'), (l) => `SELECT 1 AS a; SELECT 2 AS b ${tag(l)}`],
      ['multi-statement ending with ;', (c) => c.query('UPDATE t SET v = v WHERE id = 1; SELECT count(*)::int AS n FROM t;'), (l) => `UPDATE t SET v = v WHERE id = 1; SELECT count(*)::int AS n FROM t ${tag(l)};`],
      ['a string holding ; and */', (c) => c.query("SELECT 'a;b*/' AS s"), (l) => `SELECT 'a;b*/' AS s ${tag(l)}`],
      ['callback form', (c) => new Promise((resolve, reject) => void c.query('SELECT 3 AS c', (err: Error | undefined, r: unknown) => (err ? reject(err) : resolve(r)))), (l) => `SELECT 3 AS c ${tag(l)}`],
      ['ends with a -- comment: left alone', (c) => c.query('SELECT 1 AS a -- the answer'), () => 'SELECT 1 AS a -- the answer'],
      ['-- comment inside: left alone', (c) => c.query('SELECT 1 AS a -- one\n, 2 AS b'), () => 'SELECT 1 AS a -- one\n, 2 AS b'],
      ['block comment: left alone', (c) => c.query("SELECT 1 AS a /*app='theirs'*/"), () => "SELECT 1 AS a /*app='theirs'*/"],
      ['leading comment (Knex .comment()): left alone', (c) => c.query('/* report */ SELECT 1 AS a'), () => '/* report */ SELECT 1 AS a'],
      ["a string holding '--': left alone", (c) => c.query("SELECT '--' AS dashes"), () => "SELECT '--' AS dashes"],
      ['COPY: left alone', (c) => c.query('COPY (SELECT id FROM t ORDER BY id) TO STDOUT'), () => 'COPY (SELECT id FROM t ORDER BY id) TO STDOUT'],
      ['empty: left alone', (c) => c.query(''), () => ''],
      ['syntax error', (c) => c.query('SELEC 1'), (l) => `SELEC 1 ${tag(l)}`],
      ['unterminated string', (c) => c.query("SELECT 'abc"), (l) => `SELECT 'abc ${tag(l)}`],
      ['runtime error', (c) => c.query('SELECT 1 / 0'), (l) => `SELECT 1 / 0 ${tag(l)}`],
    ];
    for (const [name, run, sent] of cases) {
      const result = await both(run, commented, plain, watcher);
      assert.deepEqual(result.withComments, result.without, `${name}: same outcome`);
      assert.equal(result.sent, sent(result.leaseId), `${name}: what the server received`);
    }
    assert.deepEqual(commented.errors, []);
  });

  test('a named prepared statement is sent as written, so another lease on the same connection can run it again', async () => {
    const { pool, inspector } = trackedPool({ queryComments: true }, 1);
    const watcher = await res.client(db.url);
    const named = { name: 'qc_by_id', text: 'SELECT v FROM t WHERE id = $1', values: [3] };
    const runs: unknown[] = [];
    for (const owner of ['job a', 'job b']) {
      // max 1: both leases get the one connection, where pg keeps the statement parsed under its name.
      const client = await inspector.runAs(owner, () => pool.connect());
      try {
        runs.push((await client.query(named)).rows);
        assert.equal(await serverText(watcher, pidOf(client)), named.text);
      } finally {
        client.release();
      }
    }
    assert.deepEqual(runs, [[{ v: 'three' }], [{ v: 'three' }]]);
    assert.deepEqual(named, { name: 'qc_by_id', text: 'SELECT v FROM t WHERE id = $1', values: [3] }, 'the config object is untouched');
  });

  test('the caller\'s config object is never changed (ORMs reuse theirs): pg gets a copy', async () => {
    const { pool, inspector } = trackedPool({ queryComments: true });
    class Statement {
      readonly values = [1];
      get text(): string {
        return 'SELECT v FROM t WHERE id = $1';
      }
    }
    const plain = { text: 'SELECT count(*)::int AS n FROM t', types: undefined };
    const instance = new Statement();
    const client = await inspector.runAs('job reuse', () => pool.connect());
    try {
      for (let i = 0; i < 2; i++) {
        assert.deepEqual((await client.query(plain)).rows, [{ n: 3 }]);
        assert.deepEqual((await client.query(instance)).rows, [{ v: 'one' }]);
      }
      assert.deepEqual(Object.keys(plain), ['text', 'types']);
      assert.equal(plain.text, 'SELECT count(*)::int AS n FROM t');
      assert.ok(!Object.hasOwn(instance, 'text'));
      const watcher = await res.client(db.url);
      assert.match(await serverText(watcher, pidOf(client)), /^SELECT v FROM t WHERE id = \$1 \/\*app=/, 'a class instance is commented through its copy');
    } finally {
      client.release();
    }
  });

  test('cursors and streams (submittables) are sent as written and read the same rows', async () => {
    const { pool, inspector } = trackedPool({ queryComments: true });
    const watcher = await res.client(db.url);
    const client = await inspector.runAs('job stream', () => pool.connect());
    try {
      const cursor = client.query(new Cursor<{ v: string }>('SELECT v FROM t ORDER BY id'));
      const rows = await cursor.read(10);
      await cursor.close();
      assert.deepEqual(rows.map((r) => r.v), ['one', 'two', 'three']);
      assert.equal(await serverText(watcher, pidOf(client)), 'SELECT v FROM t ORDER BY id');

      const stream = client.query(new QueryStream('SELECT id FROM t WHERE id > $1 ORDER BY id', [1]));
      const streamed: unknown[] = [];
      for await (const row of stream) streamed.push(row);
      assert.deepEqual(streamed, [{ id: 2 }, { id: 3 }]);
      assert.equal(await serverText(watcher, pidOf(client)), 'SELECT id FROM t WHERE id > $1 ORDER BY id');
    } finally {
      client.release();
    }
  });

  // A statement shape: one or more SELECTs of literals (strings with quotes, `;`, `*/`, `$`, backslashes, non-ASCII;
  // dollar-quoted strings; quoted identifiers), with or without parameters, comments and a trailing `;`; now and then
  // broken (an unterminated string). The outcome must be the same with and without comments, and the text sent must
  // be the statement itself, with the comment only where one may go.
  const stringChar = fc.constantFrom('a', 'Z', '0', ' ', ';', '*', '/', '-', "''", '$', '\\', '\n', 'é', '☕', ',', '=');
  const literal = fc.oneof(
    fc.integer({ min: -1000, max: 1000 }).map((n) => `${n}`),
    fc.array(stringChar, { maxLength: 8 }).map((chars) => `'${chars.join('')}'`),
    fc.array(fc.constantFrom('a', ';', '*/', "'", '$', '-'), { maxLength: 5 }).map((parts) => `$q$${parts.join('')}$q$`),
    fc.constantFrom('2*3', '- 1', 'NULL', 'true', "E'a\\'b'", "'x'::text || 'y'"),
  );
  const alias = fc.constantFrom('a', '"b*/c"', '"d;e"', '"f"');
  const select = fc.array(fc.tuple(literal, alias), { minLength: 1, maxLength: 3 }).map((columns) => `SELECT ${columns.map(([value, name], i) => `${value} AS ${name}${i}`).join(', ')}`);
  const shape = fc.record({
    statements: fc.array(select, { minLength: 1, maxLength: 3 }),
    parameter: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
    comment: fc.constantFrom('', ' -- note', '/* lead */ ', ' /* tail */', '\n-- line\n'),
    trailing: fc.constantFrom('', ';', ';\n', ' ', '\n\t', ' ; '),
    broken: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  });

  fuzz.property(
    'a fuzz of statement shapes: the comment never changes what runs',
    (t) => {
      const commented = trackedPool({ queryComments: { fields: ['lease', 'pool'] } });
      const plain = trackedPool({}).pool;
      let watcher: pg.Client | undefined;
      t.after(() => res.closeAll());
      return fc.asyncProperty(shape, async ({ statements, parameter, comment, trailing, broken }) => {
        watcher ??= await res.client(db.url);
        let text = parameter === undefined ? statements.join('; ') : `${statements[0]}, $1::text AS p`;
        if (comment.startsWith('/* lead')) text = comment + text;
        else text += comment;
        if (broken) text += " || 'unterminated";
        text += trailing;
        const values = parameter === undefined ? undefined : [parameter];
        const result = await both((c) => c.query(text, values), commented, plain, watcher);
        assert.deepEqual(result.withComments, result.without, text);
        const leftAlone = text.includes('--') || text.includes('/*') || text.trim() === '';
        if (leftAlone) {
          assert.equal(result.sent, text);
        } else {
          const tag = commentOf({ lease: result.leaseId, pool: 'main' });
          const body = text.replace(/[ \t\n\r\f\v]*$/, '');
          const at = body.endsWith(';') ? body.length - 1 : body.length;
          assert.equal(result.sent, `${text.slice(0, at)} ${tag}${text.slice(at)}`);
        }
      });
    },
    { weight: 0.5 },
  );
});

describe('owner labels cannot break out of the comment', () => {
  test('quotes, */, newlines, non-ASCII, a lone surrogate, SQL: the statement runs unchanged and the label reads back', async () => {
    const { pool, inspector } = trackedPool({ queryComments: { fields: ['owner'] } });
    const watcher = await res.client(db.url);
    const labels = [
      "O'Brien's report",
      '*/ DROP TABLE t; --',
      "'); DELETE FROM t; --",
      '/* nested',
      'line one\nline two\r\n',
      '日本語 ✓ café',
      'lone \uD800 surrogate',
      '%2A%2F already encoded',
      'back\\slash',
      'x'.repeat(500),
    ];
    for (const label of labels) {
      const client = await inspector.runAs(label, () => pool.connect());
      try {
        assert.deepEqual((await client.query('SELECT count(*)::int AS n FROM t')).rows, [{ n: 3 }], label);
        const sent = await serverText(watcher, pidOf(client));
        assert.match(sent, /^SELECT count\(\*\)::int AS n FROM t \/\*owner='[A-Za-z0-9\-_.~%]*'\*\/$/, `${JSON.stringify(label)} sent as ${sent}`);
        const expected = label.replace('\uD800', '\uFFFD').slice(0, 200);
        assert.equal(queryTagsOf(sent)?.owner, expected);
      } finally {
        client.release();
      }
    }
    assert.deepEqual((await pool.query('SELECT count(*)::int AS n FROM t')).rows, [{ n: 3 }], 'the table is intact');
  });

  fuzz.property(
    'any owner label: same result, one comment, the label read back',
    (t) => {
      const { pool, inspector } = trackedPool({ queryComments: { fields: ['owner', 'pool'] } });
      let watcher: pg.Client | undefined;
      t.after(() => res.closeAll());
      return fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), async (label) => {
        watcher ??= await res.client(db.url);
        const client = await inspector.runAs(label, () => pool.connect());
        try {
          assert.deepEqual((await client.query("SELECT 'ok' AS r")).rows, [{ r: 'ok' }]);
          const sent = await serverText(watcher, pidOf(client));
          assert.ok(sent.startsWith("SELECT 'ok' AS r /*owner='") && sent.indexOf('*/') === sent.length - 2, sent);
          const wellFormed = label.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
          assert.equal(queryTagsOf(sent)?.owner, wellFormed);
        } finally {
          client.release();
        }
      });
    },
    { weight: 0.3 },
  );
});

/** The smallest OpenTelemetry context manager: AsyncLocalStorage (the API alone has none that propagates). */
class TestContextManager implements otel.ContextManager {
  readonly #storage = new AsyncLocalStorage<otel.Context>();

  active(): otel.Context {
    return this.#storage.getStore() ?? otel.ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: otel.Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }

  bind<T>(_ctx: otel.Context, target: T): T {
    return target;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    return this;
  }
}

describe('fields, extra and OpenTelemetry', () => {
  test('traceparent (and tracestate) of the active span, through @opentelemetry/api passed as `otel`', async () => {
    // A context manager of the test's own (the API alone has none that propagates); unregistered after.
    assert.ok(otel.context.setGlobalContextManager(new TestContextManager()));
    try {
      const { pool, inspector } = trackedPool({ queryComments: { otel, fields: ['lease', 'traceparent'] } });
      const watcher = await res.client(db.url);
      const span = {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: otel.TraceFlags.SAMPLED,
        traceState: otel.createTraceState('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'),
      };
      const client = await inspector.runAs('job traced', () => pool.connect());
      try {
        const leaseId = inspector.snapshot('main').holders[0]?.id ?? 0;
        await otel.context.with(otel.trace.setSpanContext(otel.ROOT_CONTEXT, span), () => client.query('SELECT 1 AS a'));
        const traced = await serverText(watcher, pidOf(client));
        assert.equal(
          traced,
          `SELECT 1 AS a /*lease='${leaseId}',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',tracestate='congo%3Dt61rcWkgMzE%2Crojo%3D00f067aa0ba902b7'*/`,
        );
        assert.equal(queryTagsOf(traced)?.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
        await client.query('SELECT 2 AS b');
        assert.equal(await serverText(watcher, pidOf(client)), `SELECT 2 AS b /*lease='${leaseId}'*/`, 'no active span, no traceparent');
        await otel.context.with(otel.trace.setSpanContext(otel.ROOT_CONTEXT, otel.INVALID_SPAN_CONTEXT), () => client.query('SELECT 3 AS c'));
        assert.equal(await serverText(watcher, pidOf(client)), `SELECT 3 AS c /*lease='${leaseId}'*/`, 'an invalid span context is not sent');
      } finally {
        client.release();
      }
    } finally {
      otel.context.disable();
    }
  });

  test('extra: your own pairs, once per lease; field keys are not overridden; an error goes to onError, not to the query', async () => {
    const calls: unknown[] = [];
    let fail = false;
    const { pool, inspector, errors } = trackedPool({
      queryComments: {
        fields: ['lease', 'owner'],
        extra: (lease) => {
          calls.push({ leaseId: lease.leaseId, poolName: lease.poolName, owner: lease.owner, location: lease.location !== null, pid: lease.backendPid !== null });
          if (fail) throw new Error('extra failed');
          return { route: '/orders/:id', tenant: 'acme', owner: 'not mine', empty: undefined, zeta: 'last' };
        },
      },
    });
    const watcher = await res.client(db.url);
    const client = await inspector.runAs({ label: 'GET /orders/7', kind: 'request' }, () => pool.connect());
    const leaseId = inspector.snapshot('main').holders[0]?.id ?? 0;
    try {
      await client.query('SELECT 1 AS a');
      await client.query('SELECT 2 AS b');
      assert.equal(
        await serverText(watcher, pidOf(client)),
        `SELECT 2 AS b /*lease='${leaseId}',owner='GET%20%2Forders%2F7',route='%2Forders%2F%3Aid',tenant='acme',zeta='last'*/`,
      );
      assert.deepEqual(calls, [{ leaseId, poolName: 'main', owner: { label: 'GET /orders/7', kind: 'request' }, location: true, pid: true }], 'called once');
    } finally {
      client.release();
    }
    fail = true;
    const next = await inspector.runAs('job next', () => pool.connect());
    try {
      assert.deepEqual((await next.query('SELECT 3 AS c')).rows, [{ c: 3 }]);
      assert.match(await serverText(watcher, pidOf(next)), /^SELECT 3 AS c \/\*lease='\d+',owner='job%20next'\*\/$/);
      assert.equal((errors[0] as Error | undefined)?.message, 'extra failed');
    } finally {
      next.release();
    }
  });

  test('file: a stack not formatted yet is formatted for a comment within stackCaptureBudgetPerSecond per 100 ms', async () => {
    const clock = new FakeClock();
    const inspector = res.inspector({ appName: APP, clock });
    const pool = res.pool(db.url, { max: 1 });
    // 'always' captures every checkout; 10 per second is one formatted location per 100 ms slice.
    trackPgPool(inspector, pool, { name: 'main', stackCapture: 'always', stackCaptureBudgetPerSecond: 10, leakThresholdMillis: 0, queryComments: { fields: ['file', 'lease'] } });
    const watcher = await res.client(db.url);
    const sent: { text: string; leaseId: number }[] = [];
    const run = async (): Promise<void> => {
      const client = await pool.connect(); // @qc-budget
      try {
        await client.query('SELECT 1 AS a');
        sent.push({ text: await serverText(watcher, pidOf(client)), leaseId: inspector.snapshot('main').holders[0]?.id ?? 0 });
      } finally {
        client.release();
      }
    };
    await run();
    await run(); // same slice: over the budget
    clock.advance(100);
    await run(); // next slice
    const site = siteOf(here, '@qc-budget');
    const [first, second, third] = sent.map((s) => ({ tags: queryTagsOf(s.text), leaseId: s.leaseId }));
    assert.ok(isAt(first?.tags?.location, site), `first: ${first?.tags?.location}`);
    assert.equal(second?.tags?.location, null, 'second: no file (over the budget)');
    assert.equal(second?.tags?.leaseId, second?.leaseId);
    assert.ok(isAt(third?.tags?.location, site), `third: ${third?.tags?.location}`);
  });

  test('no field with a value: sent as written; untrack() stops the comments', async () => {
    const { pool, inspector } = trackedPool({ queryComments: { fields: ['owner'] } });
    const watcher = await res.client(db.url);
    const client = await pool.connect(); // no owner
    try {
      await client.query('SELECT 1 AS a');
      assert.equal(await serverText(watcher, pidOf(client)), 'SELECT 1 AS a');
    } finally {
      client.release();
    }
    inspector.untrack('main');
    const after = await inspector.runAs('job after', () => pool.connect());
    try {
      await after.query('SELECT 2 AS b');
      assert.equal(await serverText(watcher, pidOf(after)), 'SELECT 2 AS b');
    } finally {
      after.release();
    }
  });

  test('a bad queryComments is refused by trackPgPool, and the pool is left untracked', () => {
    const inspector = res.inspector();
    const pool = res.pool(db.url);
    assert.throws(() => trackPgPool(inspector, pool, { name: 'main', queryComments: { fields: ['route' as never] } }), OptionsError);
    assert.deepEqual(inspector.poolNames(), []);
    trackPgPool(inspector, pool, { name: 'main', queryComments: true });
  });
});
