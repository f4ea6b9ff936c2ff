// Query comments (issue 18) without a server: the sqlcommenter encoding (nothing a value holds can end the comment,
// open a nested one, or end its quotes; every value reads back as it was), where the comment goes in a statement
// and which statements are left alone, the option's validation, and the server view's reading of comments
// (ActivityInspector's queryTags, `poolscope db`'s text). The behaviour on a real PostgreSQL is in
// test/integration/pg-query-comments.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  encodeSqlCommentText,
  parseSqlCommentPairs,
  sqlCommentPair,
  trailingSqlComment,
  truncateCommentValue,
  withoutTrailingSqlComment,
} from '../../src/core/sql-comment-format.js';
import { QUERY_COMMENT_FIELDS, resolveQueryComments } from '../../src/core/query-comment-options.js';
import { resolvePoolTrackingOptions } from '../../src/core/pool-tracker-options.js';
import { commentInsertionPoint } from '../../src/adapters/pg/pg-query-comments.js';
import { queryTagsOf } from '../../src/server/activity-query-tags.js';
import { buildReport } from '../../src/server/activity-analysis.js';
import { describeQueryTags, formatServerActivity } from '../../src/cli/commands/db-command.js';
import { OptionsError } from '../../src/errors.js';
import { fuzzSuite } from '../support/fuzz-kit.js';

const fuzz = fuzzSuite(import.meta.url);

/** What an encoded key or value may hold: RFC 3986's unreserved characters and percent escapes. */
const ENCODED = /^[A-Za-z0-9\-_.~%]*$/;

describe('sqlcommenter encoding', () => {
  test('`*/`, quotes, commas, newlines and non-ASCII are percent-encoded (RFC 3986: also ! \' ( ) *)', () => {
    assert.equal(encodeSqlCommentText('*/'), '%2A%2F');
    assert.equal(encodeSqlCommentText('/*'), '%2F%2A');
    assert.equal(encodeSqlCommentText("it's"), 'it%27s');
    assert.equal(encodeSqlCommentText('a,b=c'), 'a%2Cb%3Dc');
    assert.equal(encodeSqlCommentText('line\nnext\r'), 'line%0Anext%0D');
    assert.equal(encodeSqlCommentText('(!)'), '%28%21%29');
    assert.equal(encodeSqlCommentText('GET /orders/:id'), 'GET%20%2Forders%2F%3Aid');
    assert.equal(encodeSqlCommentText('café ☕'), 'caf%C3%A9%20%E2%98%95');
    assert.equal(encodeSqlCommentText('a-b_c.d~e'), 'a-b_c.d~e');
  });

  test('a lone surrogate (encodeURIComponent throws on it) is sent as U+FFFD instead of failing', () => {
    assert.equal(encodeSqlCommentText('x\uD800y'), 'x%EF%BF%BDy');
    assert.equal(encodeSqlCommentText('\uDC00'), '%EF%BF%BD');
    assert.equal(encodeSqlCommentText('\uD83D\uDE00'), '%F0%9F%98%80'); // a whole pair is kept
  });

  test('the spec example: pairs read back, the \\\' escape included', () => {
    const inside = "action='%2Fparam*d',controller='index',framework='spring',traceparent='00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01',tracestate='congo%3Dt61rcWkgMzE%2Crojo%3D00f067aa0ba902b7'";
    assert.deepEqual(parseSqlCommentPairs(inside), {
      action: '/param*d',
      controller: 'index',
      framework: 'spring',
      traceparent: '00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01',
      tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    });
    assert.deepEqual(parseSqlCommentPairs("name='FOO%20\\'BAR'"), { name: "FOO 'BAR" });
  });

  test('free-form comments are not sqlcommenter comments', () => {
    for (const inside of ['', ' ', ' hello ', "a='1' b='2'", "a='1", 'a=1', "='x'", "a='1',,b='2'"]) {
      assert.equal(parseSqlCommentPairs(inside), undefined, JSON.stringify(inside));
    }
    assert.deepEqual(Object.keys(parseSqlCommentPairs("__proto__='x'") ?? {}), ['__proto__'], '__proto__ is an own key');
  });

  test('the trailing comment of a query, before trailing whitespace and `;`', () => {
    assert.equal(trailingSqlComment("SELECT 1 /*a='1'*/"), "a='1'");
    assert.equal(trailingSqlComment("SELECT 1 /*a='1'*/;\n "), "a='1'");
    assert.equal(trailingSqlComment("SELECT 1 /*a='1'*/ ; "), "a='1'");
    assert.equal(trailingSqlComment('SELECT 1 /**/'), '');
    assert.equal(trailingSqlComment('SELECT 1 /*/'), undefined);
    assert.equal(trailingSqlComment("SELECT 1 /*a='1'*/ + 1"), undefined);
    assert.equal(trailingSqlComment("SELECT 1 /*a='1'"), undefined, 'a comment cut by track_activity_query_size');
    assert.equal(trailingSqlComment("/* x */ SELECT 1 /*a='1'*/"), "a='1'");
    assert.equal(withoutTrailingSqlComment("SELECT 1 /*a='1'*/;"), 'SELECT 1;');
    assert.equal(withoutTrailingSqlComment("SELECT 1\n  /*a='1'*/"), 'SELECT 1');
    assert.equal(withoutTrailingSqlComment('SELECT 1 /* note */'), 'SELECT 1 /* note */', 'a free-form comment stays');
  });

  test('values are cut before encoding, never inside a surrogate pair', () => {
    assert.equal(truncateCommentValue('abcdef', 4), 'abcd');
    assert.equal(truncateCommentValue('abc\uD83D\uDE00', 4), 'abc');
    assert.equal(truncateCommentValue('ab', 4), 'ab');
  });

  fuzz.property('any key and value: encoded without a character that could end the comment, and read back as it was', () =>
    fc.property(
      fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 40 }), { minKeys: 1, maxKeys: 5 }),
      (pairs) => {
        const entries = Object.entries(pairs).filter(([key]) => key.length > 0);
        fc.pre(entries.length > 0);
        const inside = entries.map(([key, value]) => sqlCommentPair(key, value)).join(',');
        for (const part of inside.split(',')) {
          const [key, quoted] = part.split('=');
          assert.match(key ?? '', ENCODED);
          assert.match((quoted ?? '').slice(1, -1), ENCODED);
        }
        assert.ok(!inside.includes('*/') && !inside.includes('/*') && !inside.includes('--'));
        const query = `SELECT 1 /*${inside}*/`;
        const read = parseSqlCommentPairs(trailingSqlComment(query) ?? '');
        const wellFormed = (text: string): string => text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
        assert.deepEqual(read, Object.fromEntries(entries.map(([key, value]) => [wellFormed(key), wellFormed(value)])));
      },
    ),
  );
});

describe('where the comment goes, and which statements are left alone', () => {
  test('at the end of the text, before a trailing `;` and the whitespace after it', () => {
    const at = (text: string): string => {
      const i = commentInsertionPoint(text);
      return i < 0 ? '(left alone)' : `${text.slice(0, i)}|${text.slice(i)}`;
    };
    assert.equal(at('SELECT 1'), 'SELECT 1|');
    assert.equal(at('SELECT 1;'), 'SELECT 1|;');
    assert.equal(at('SELECT 1;\n  '), 'SELECT 1|;\n  ');
    assert.equal(at('SELECT 1\n'), 'SELECT 1|\n');
    assert.equal(at('SELECT 1; SELECT 2'), 'SELECT 1; SELECT 2|');
    assert.equal(at('SELECT 1;;'), 'SELECT 1;|;');
    assert.equal(at('SELECT 2*'), 'SELECT 2*|', 'a space goes before the comment: `*/*` is never formed');
    assert.equal(at("SELECT 'a;'"), "SELECT 'a;'|");
  });

  test('left alone: a comment anywhere (or what looks like one in a string), blank text, COPY', () => {
    for (const text of [
      'SELECT 1 -- note',
      'SELECT 1 /* note */',
      '/* tagged */ SELECT 1',
      "SELECT '--' AS dashes",
      "SELECT '/*' AS opener",
      '',
      '  \n\t',
      'COPY t FROM STDIN',
      '  copy (SELECT 1) TO STDOUT',
      'Copy\nt TO STDOUT',
    ]) {
      assert.equal(commentInsertionPoint(text), -1, JSON.stringify(text));
    }
    assert.notEqual(commentInsertionPoint('COPYRIGHT_CHECK()'), -1, 'only the COPY keyword');
    assert.notEqual(commentInsertionPoint('SELECT copy FROM t'), -1);
  });
});

describe('the queryComments option', () => {
  const otel = { trace: { getSpanContext: () => undefined }, context: { active: () => ({}) } };

  test('off by default; true sends every field but traceparent; fields are kept in key order', () => {
    assert.equal(resolvePoolTrackingOptions({ name: 'main' }).queryComments, undefined);
    assert.equal(resolvePoolTrackingOptions({ name: 'main', queryComments: false }).queryComments, undefined);
    assert.deepEqual(resolvePoolTrackingOptions({ name: 'main', queryComments: true }).queryComments?.fields, ['app', 'file', 'lease', 'owner', 'pool']);
    assert.deepEqual(resolveQueryComments({ otel })?.fields, [...QUERY_COMMENT_FIELDS]);
    assert.deepEqual(resolveQueryComments({ fields: ['pool', 'owner', 'file'] })?.fields, ['file', 'owner', 'pool']);
    assert.deepEqual(resolveQueryComments({ fields: [] })?.fields, []);
    // Inspector-wide defaults apply; a pool's own setting wins.
    assert.notEqual(resolvePoolTrackingOptions({ name: 'main' }, { queryComments: true }).queryComments, undefined);
    assert.equal(resolvePoolTrackingOptions({ name: 'main', queryComments: false }, { queryComments: true }).queryComments, undefined);
  });

  test('a bad value throws OptionsError naming the part and how to fix it', () => {
    const cases: [unknown, string, RegExp][] = [
      ['yes', 'queryComments', /true, false, or \{ fields\?, extra\?, otel\? \}/],
      [null, 'queryComments', /true, false/],
      [['owner'], 'queryComments', /true, false/],
      [{ fields: ['owner', 'route'] }, 'queryComments.fields', /'app', 'file', 'lease', 'owner', 'pool', 'traceparent'/],
      [{ fields: 'owner' }, 'queryComments.fields', /a list/],
      [{ fields: ['owner', 'owner'] }, 'queryComments.fields', /without repeats/],
      [{ fields: ['traceparent'] }, 'queryComments.fields', /no 'traceparent' without queryComments\.otel/],
      [{ extra: { route: 'x' } }, 'queryComments.extra', /a function/],
      [{ otel: {} }, 'queryComments.otel', /@opentelemetry\/api/],
      [{ otel: { trace: {}, context: { active: () => undefined } } }, 'queryComments.otel', /@opentelemetry\/api/],
      [{ feilds: ['owner'] }, 'queryComments.feilds', /fields, extra and otel/],
    ];
    for (const [value, option, expected] of cases) {
      assert.throws(
        () => resolvePoolTrackingOptions({ name: 'main', queryComments: value as never }),
        (error: unknown) => {
          assert.ok(error instanceof OptionsError, String(error));
          assert.equal(error.code, 'POOLSCOPE_ERR_OPTIONS_INVALID');
          assert.equal(error.option, option);
          assert.match(error.message, expected);
          return true;
        },
        JSON.stringify(value),
      );
    }
  });
});

describe('the server view reads the comments back', () => {
  const tagged =
    "SELECT pg_sleep($1) /*app='billing',file='src%2Forders.ts%3A42%3A17',lease='12',owner='GET%20%2Forders%2F%3Aid',pool='main',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/";

  test("queryTagsOf: poolscope's fields, and every pair whoever wrote it", () => {
    assert.deepEqual(queryTagsOf(tagged), {
      owner: 'GET /orders/:id',
      location: 'src/orders.ts:42:17',
      leaseId: 12,
      poolName: 'main',
      appName: 'billing',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tags: {
        app: 'billing',
        file: 'src/orders.ts:42:17',
        lease: '12',
        owner: 'GET /orders/:id',
        pool: 'main',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    });
    const other = queryTagsOf("SELECT 1 /*controller='index',route='%2Fusers'*/");
    assert.deepEqual(other, {
      owner: null, location: null, leaseId: null, poolName: null, appName: null, traceparent: null,
      tags: { controller: 'index', route: '/users' },
    });
    assert.equal(queryTagsOf("SELECT 1 /*lease='x'*/")?.leaseId, null, 'a lease that is not a number');
    assert.equal(queryTagsOf('SELECT 1'), null);
    assert.equal(queryTagsOf('SELECT 1 /* just a note */'), null);
    assert.equal(queryTagsOf(null), null);
    assert.equal(queryTagsOf('<insufficient privilege>'), null);
  });

  test('the report: tags on sessions and the lists derived from them; a cut query is read from its end', () => {
    const session = (pid: number, state: string, query: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
      pid, application_name: 'billing/web-1/main', usename: 'app', datname: 'shop', client_addr: null, state, query,
      backend_start: null, xact_start: null, query_start: null, state_change: null, transaction_age_ms: null,
      state_age_ms: 10, query_age_ms: 1500, wait_event_type: null, wait_event: null, blocked_by: [], lock_wait_ms: null, ...over,
    });
    const report = buildReport(
      {
        taken_at: '2026-01-01T00:00:00.000Z', version: '15.4', version_number: 150004, max_connections: 100,
        superuser_reserved_connections: 3, reserved_connections: 0, used_connections: 4, hidden_backends: 0, own_pid: 1,
        sessions: [
          session(10, 'active', tagged, { wait_event_type: 'Timeout', wait_event: 'PgSleep' }),
          session(11, 'idle in transaction', "UPDATE t SET v = 1 /*lease='3',owner='job%20nightly',pool='jobs'*/", { xact_start: '2026-01-01T00:00:00Z', transaction_age_ms: 9000 }),
          // What a text cap of 20 characters leaves, with the query's end sent apart.
          session(12, 'active', 'SELECT count(*) FROM ', { query_end: "ders WHERE x = 1 /*lease='7',pool='main'*/", query_age_ms: 300 }),
          session(13, 'idle', 'SELECT 1'),
        ],
      },
      { applicationName: null, database: null, user: null },
    );
    assert.equal(report.sessions[0]?.queryTags?.owner, 'GET /orders/:id');
    assert.equal(report.sessions[2]?.queryTags?.leaseId, 7, 'read from query_end');
    assert.equal(report.sessions[3]?.queryTags, null);
    assert.equal(report.idleInTransaction[0]?.queryTags?.owner, 'job nightly');
    assert.equal(report.oldestTransaction?.queryTags?.poolName, 'jobs');
    assert.ok(!('query_end' in (report.sessions[2] ?? {})), 'the raw end is not part of the report');

    const text = formatServerActivity(report);
    const lines = text.split('\n');
    const running = lines.indexOf('Running now (longest first):');
    assert.deepEqual(lines.slice(running, running + 7), [
      'Running now (longest first):',
      '  pid 10  app billing/web-1/main  running 1.5 s, waiting on Timeout/PgSleep  (app@shop)',
      '      query: SELECT pg_sleep($1)',
      '      sent by "GET /orders/:id" at src/orders.ts:42:17 (lease #12 of pool main, app billing, trace 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01)',
      '  pid 12  app billing/web-1/main  running 300 ms  (app@shop)',
      '      query: SELECT count(*) FROM',
      '      sent (lease #7 of pool main)',
    ]);
    assert.ok(text.includes('      last query: UPDATE t SET v = 1\n      sent by "job nightly" (lease #3 of pool jobs)\n'), text);
  });

  test('what a comment names is printed on one line, control characters escaped', () => {
    const tags = queryTagsOf(`SELECT 1 /*${sqlCommentPair('owner', 'a\nb\u001b[31m')},${sqlCommentPair('file', 'x.ts:1\n2')},${sqlCommentPair('pool', 'p\r')}*/`);
    assert.ok(tags !== null);
    assert.equal(describeQueryTags(tags), 'sent by "a\\nb\\u001b[31m" at x.ts:1\\u000a2 (pool p\\u000d)');
    const foreign = queryTagsOf("SELECT 1 /*route='%2Fusers%0A',framework='express'*/");
    assert.ok(foreign !== null);
    assert.equal(describeQueryTags(foreign), 'tags: route="/users\\n", framework="express"');
  });
});
