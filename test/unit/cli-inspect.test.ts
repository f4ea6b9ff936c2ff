// `poolscope inspect` without a database: argument parsing, the level markers, text and JSON rendering of fixed
// API bodies, and the command against a local node:http server answering fixed bodies (exit codes, token, prefix).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { DistributionSnapshot } from '../../src/core/histogram.js';
import type { LeaseSnapshot } from '../../src/core/lease.js';
import type { InspectorSnapshot, PoolSnapshot } from '../../src/core/pool-snapshot.js';
import type { PoolStats } from '../../src/core/pool-stats.js';
import { formatRecommendation, type Recommendation } from '../../src/core/recommendations.js';
import type { PoolApiView, PoolListReport } from '../../src/http/pool-api-routes.js';
import type { RecommendationsReport } from '../../src/http/recommendations-route.js';
import { CliUsageError } from '../../src/cli/cli-command.js';
import { inspectCommand } from '../../src/cli/commands/inspect-command.js';
import { INSPECT_FLAGS, parseInspectArgs } from '../../src/cli/inspect-options.js';
import {
  buildInspectReport,
  isPoolCritical,
  renderInspectJson,
  renderInspectText,
  utilizationMarker,
  type InspectReport,
} from '../../src/cli/inspect-report.js';
import { colorEnabled, stripAnsi } from '../../src/cli/terminal-style.js';
import { STRESS_FLAGS } from '../../src/cli/stress-options.js';
import { Capture, runCliCaptured } from '../support/cli-capture.js';
import { closedPort, listenOnLoopback } from '../support/loopback-server.js';
import { poolStatsFixture, type PoolStatsOverrides } from '../support/pool-stats-fixture.js';

// ---- fixtures ---------------------------------------------------------------------------------------------------

const T0 = '2026-01-20T10:30:00.000Z';
function stats(over: PoolStatsOverrides = {}): PoolStats {
  return poolStatsFixture({ timestamp: T0, ...over });
}

function view(s: PoolStats): PoolApiView {
  return { poolName: s.poolName, driver: 'pg', stats: s, config: { max: s.max } };
}

function lease(over: Partial<LeaseSnapshot>): LeaseSnapshot {
  return {
    id: 1, poolName: 'main', state: 'held', owner: null, requestedAt: T0, acquiredAt: T0, waitMillis: 0, heldMillis: 10,
    location: null, locationStatus: 'not-captured', stack: [], backendPid: 1, query: null, queriesRun: 1, queriesInFlight: 0,
    transaction: { status: 'idle', depth: 0 }, leakSuspected: false, connectionError: null, ...over,
  };
}

function poolSnapshot(s: PoolStats, holders: LeaseSnapshot[], waiters: LeaseSnapshot[] = []): PoolSnapshot {
  return { id: 1, poolName: s.poolName, takenAt: T0, reason: 'manual', stats: s, config: {}, holders, waiters };
}

const distribution: DistributionSnapshot = {
  count: 1520, sumMillis: 95.1, minMillis: 0.01, maxMillis: 4.2, meanMillis: 0.06, p50Millis: 0.02, p90Millis: 0.1, p95Millis: 0.3, p99Millis: 1.9,
};
const mainStats = stats({
  total: 10, idle: 3, used: 7, max: 10, min: 2, waitTime: distribution,
  useTime: { ...distribution, p50Millis: 12.5, p95Millis: 230, p99Millis: 1234.4, maxMillis: 5000 },
  counters: { acquires: 1520, releases: 1513, timeouts: 2, leaksSuspected: 1, doubleReleases: 3 },
});
const LONG_QUERY = `SELECT ${Array.from({ length: 20 }, (_, i) => `column_${i}`).join(',\n   ')} FROM orders WHERE id = $1`;
const holder = lease({
  id: 12,
  owner: { id: 3, label: 'GET /orders', kind: 'request', startedAt: T0, ended: false },
  heldMillis: 1532.1,
  query: { text: LONG_QUERY, runningMillis: 1500 },
  transaction: { status: 'in-transaction', depth: 2 },
  location: 'src/orders.ts:42:7',
});
const waiter = lease({ id: 13, state: 'waiting', acquiredAt: null, waitMillis: 250, heldMillis: 0, location: 'src/jobs.ts:9:3', backendPid: null });
const recommendation: Recommendation = {
  id: 'raise-max',
  poolName: 'main',
  severity: 'critical',
  title: "Pool 'main' stays busy and callers wait",
  evidence: ['utilization 70% now (7/10)', '2 acquire timeout(s) since tracking began'],
  fixes: ['Track down slow queries', 'Increase max from 10 to 15'],
  change: { option: 'max', from: 10, to: 15 },
};

const poolList: PoolListReport = { timestamp: T0, pools: [view(mainStats)] };

// ---- a CliIo that captures what the command writes --------------------------------------------------------------



const cli = runCliCaptured;

// ---- argument parsing -------------------------------------------------------------------------------------------

describe('parseInspectArgs', () => {
  test('defaults, every flag, and the token from the environment', () => {
    const plain = parseInspectArgs(['--url', 'http://127.0.0.1:3000'], {});
    assert.equal(plain.url.href, 'http://127.0.0.1:3000/');
    assert.deepEqual(
      { pool: plain.pool, detailed: plain.detailed, recommendations: plain.recommendations, format: plain.format, token: plain.token, prefix: plain.prefix, timeout: plain.timeoutMillis },
      { pool: undefined, detailed: false, recommendations: false, format: 'text', token: undefined, prefix: '', timeout: 10000 },
    );
    const all = parseInspectArgs(
      ['--url=https://app.internal:8443', '--pool', 'tenant:42', '--detailed', '--recommendations', '--format', 'json', '--token', 'abc', '--prefix', '/ops/x', '--timeout', '250'],
      { POOLSCOPE_TOKEN: 'from-env' },
    );
    assert.deepEqual(
      { url: all.url.href, pool: all.pool, detailed: all.detailed, recommendations: all.recommendations, format: all.format, token: all.token, prefix: all.prefix, timeout: all.timeoutMillis },
      { url: 'https://app.internal:8443/', pool: 'tenant:42', detailed: true, recommendations: true, format: 'json', token: 'abc', prefix: '/ops/x', timeout: 250 },
    );
    assert.equal(parseInspectArgs(['--url', 'http://h'], { POOLSCOPE_TOKEN: 'from-env' }).token, 'from-env');
    assert.equal(parseInspectArgs(['--url', 'http://h'], { POOLSCOPE_TOKEN: '' }).token, undefined);
  });

  const usageErrors: [string, string[], RegExp][] = [
    ['missing --url', [], /--url is required/],
    ['unknown flag', ['--url', 'http://h', '--verbose'], /unknown option --verbose\. Options: --url, --pool/],
    ['unknown short flag', ['--url', 'http://h', '-x'], /unknown option -x/],
    ['bad --format', ['--url', 'http://h', '--format', 'yaml'], /--format must be one of text, json, not "yaml"/],
    ['--url without a value', ['--url'], /option --url needs a value/],
    ['--url followed by a flag', ['--url', '--detailed'], /option --url needs a value/],
    ['a value for a boolean flag', ['--url', 'http://h', '--detailed=yes'], /option --detailed takes no value/],
    ['a positional', ['http://h'], /unexpected argument "http:\/\/h"/],
    ['not a URL', ['--url', '127.0.0.1:3000'], /--url must be an http:\/\/ or https:\/\/ URL|--url must be an http\(s\) URL/],
    ['another scheme', ['--url', 'file:///etc/passwd'], /--url must be an http:\/\/ or https:\/\/ URL, not file:/],
    ['credentials in the URL', ['--url', 'http://u:p@h'], /must not carry a user or password; pass a bearer token with --token/],
    ['a query in the URL', ['--url', 'http://h/?x=1'], /must not have a query string/],
    ['a prefix with a trailing slash', ['--url', 'http://h', '--prefix', '/ops/'], /--prefix must be a path such as \/ops/],
    ['a prefix without a leading slash', ['--url', 'http://h', '--prefix', 'ops'], /--prefix must be a path/],
    ['an empty pool name', ['--url', 'http://h', '--pool', ''], /--pool needs a pool name/],
    ['an empty token', ['--url', 'http://h', '--token', ''], /--token needs a value/],
    ['a zero timeout', ['--url', 'http://h', '--timeout', '0'], /--timeout must be a whole number from 1 to 600000, not "0"/],
    ['a non-numeric timeout', ['--url', 'http://h', '--timeout', '5s'], /--timeout must be a whole number/],
  ];
  for (const [what, args, message] of usageErrors) {
    test(`usage error: ${what}`, async () => {
      assert.throws(() => parseInspectArgs(args, {}), (error: unknown) => error instanceof CliUsageError && message.test(error.message));
      // Through the CLI: exit 2, the message and a pointer to --help on stderr, nothing on stdout.
      const run = await cli(['inspect', ...args]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /Run `poolscope inspect --help` for usage\./);
      assert.equal(run.stdout, '');
    });
  }

  test('--help lists every flag', async () => {
    const run = await cli(['inspect', '--help']);
    assert.equal(run.code, 0);
    for (const flag of INSPECT_FLAGS) assert.match(run.stdout, new RegExp(`--${flag.name}\\b`));
  });

  test('docs/reference/cli.md documents every flag of inspect and stress, and the exit codes', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/reference/cli.md', import.meta.url)), 'utf8');
    const section = (name: string): string => {
      const start = doc.indexOf(`## poolscope ${name}`);
      assert.ok(start >= 0, `cli.md has a "## poolscope ${name}" section`);
      const end = doc.indexOf('\n## ', start + 1);
      return doc.slice(start, end === -1 ? undefined : end);
    };
    for (const flag of INSPECT_FLAGS) assert.ok(section('inspect').includes(`\`--${flag.name}`), `cli.md documents inspect --${flag.name}`);
    for (const flag of STRESS_FLAGS) assert.ok(section('stress').includes(`\`--${flag.name}`), `cli.md documents stress --${flag.name}`);
    for (const code of ['0', '1', '2', '3', '130']) assert.match(doc, new RegExp(`\\| \`${code}\` \\|`));
  });
});

// ---- markers and the critical verdict ---------------------------------------------------------------------------

describe('utilization markers', () => {
  test('the marker is the level: LOW/GOOD normal (below/from 60%), HIGH warning, CRITICAL critical', () => {
    const cases: [Partial<PoolStats>, string][] = [
      [{ used: 0 }, 'LOW'], [{ used: 59, max: 100 }, 'LOW'], [{ used: 60, max: 100 }, 'GOOD'], [{ used: 79, max: 100 }, 'GOOD'],
      [{ used: 80, max: 100, level: 'warning' }, 'HIGH'], [{ used: 1, max: 10, pending: 2, level: 'warning' }, 'HIGH'],
      [{ used: 9, max: 10, level: 'critical' }, 'CRITICAL'], [{ used: 91, max: 100, level: 'warning' }, 'CRITICAL'],
      [{ used: 10, max: 10, expectFull: true }, 'GOOD'], [{ used: 10, max: 10, pending: 1, level: 'warning', expectFull: true }, 'HIGH'],
    ];
    assert.deepEqual(cases.map(([over]) => [over, utilizationMarker(stats(over))]), cases);
  });

  test('critical: level critical or over 90%, never for an expectFull pool', () => {
    assert.equal(isPoolCritical(stats({ used: 8, max: 10, level: 'warning' })), false);
    assert.equal(isPoolCritical(stats({ used: 9, max: 10, level: 'critical' })), true, 'level critical at 90%');
    assert.equal(isPoolCritical(stats({ used: 91, max: 100, level: 'warning' })), true, 'over 90% with a higher criticalPercent');
    assert.equal(isPoolCritical(stats({ used: 10, max: 10, level: 'normal', expectFull: true })), false);
    assert.equal(isPoolCritical(stats({ used: 10, max: 10, level: 'warning', expectFull: true, pending: 2 })), false);
  });
});

// ---- rendering ----------------------------------------------------------------------------------------------------

describe('rendering fixed API bodies', () => {
  const url = 'http://127.0.0.1:3000';

  test('text: one pool with its marker, counts, wait/use percentiles and the counters that matter', () => {
    const report = buildInspectReport({ url, pools: poolList });
    const text = renderInspectText(report, { color: false });
    assert.equal(text, stripAnsi(text), 'no colour codes');
    const lines = text.split('\n');
    assert.equal(lines[0], `poolscope inspect ${url} at ${T0}`);
    assert.ok(lines.includes('Pool main (pg)  [GOOD] 70% in use  level normal'), text);
    assert.match(text, /^ {2}total {2}idle {2}used {2}pending {2}max {2}min$/m);
    assert.match(text, /^ +10 +3 +7 +0 +10 +2$/m);
    assert.match(text, /^ {2}time +p50 ms +p95 ms +p99 ms +max ms +count$/m);
    assert.match(text, /^ {2}wait +0\.02 +0\.30 +1\.90 +4\.20 +1520$/m);
    assert.match(text, /^ {2}use +12\.5 +230\.0 +1234 +5000 +1520$/m);
    assert.ok(lines.includes('  acquires 1520, timeouts 2, leaks suspected 1, dirty releases 0, double releases 3'), text);
    assert.doesNotMatch(text, /Holders|Recommendations/);
    assert.equal(lines.at(-2), 'No pool is critical.');
    assert.equal(text.endsWith('\n'), true);
    for (const line of lines) assert.equal(line, line.trimEnd(), `no trailing spaces: ${JSON.stringify(line)}`);
  });

  test('text: problem counters appear once non-zero; a pool without checkouts shows dashes', () => {
    const quiet = stats({ poolName: 'quiet', counters: { foreignReleases: 4, ownerEndedHolding: 1 } });
    const text = renderInspectText(buildInspectReport({ url, pools: { timestamp: T0, pools: [view(quiet)] } }), { color: false });
    assert.match(text, /acquires 0, timeouts 0, leaks suspected 0, dirty releases 0, double releases 0, foreign releases 4, owners ended holding 1$/m);
    assert.match(text, /^ {2}wait +- +- +- +- +0$/m);
    assert.match(text, /Pool quiet \(pg\) {2}\[LOW\] 0% in use/);
  });

  test('text --detailed: every holder (lease, owner, held ms, transaction, truncated query, file:line) and waiter', () => {
    const snapshot: InspectorSnapshot = { takenAt: T0, pools: [poolSnapshot(mainStats, [holder], [waiter])], multiPoolOwners: [] };
    const text = renderInspectText(buildInspectReport({ url, pools: poolList, snapshot }), { color: false });
    const holderLine = text.split('\n').find((line) => line.includes('#12'));
    assert.ok(holderLine !== undefined, text);
    assert.match(holderLine, /^ {4}#12 +GET \/orders +1532 +held, in-transaction depth 2 +SELECT column_0, column_1, .*\.\.\. \(running 1500 ms\) +src\/orders\.ts:42:7$/);
    const shownQuery = /(SELECT column_0.*?\.\.\.)/.exec(holderLine)?.[1] ?? '';
    assert.equal(shownQuery.length, 60, 'query text truncated to 60 characters');
    assert.match(text, /^ {2}Holders \(1\)$/m);
    assert.match(text, /^ {4}lease +owner +held ms +state +query +location$/m);
    assert.match(text, /^ {2}Waiters \(1\)$/m);
    assert.match(text, /^ {4}#13 +- +250\.0 +src\/jobs\.ts:9:3$/m);
  });

  test('text --detailed with an idle pool says so', () => {
    const snapshot: InspectorSnapshot = { takenAt: T0, pools: [poolSnapshot(mainStats, [])], multiPoolOwners: [] };
    const text = renderInspectText(buildInspectReport({ url, pools: poolList, snapshot }), { color: false });
    assert.match(text, /^ {2}Holders: none\n {2}Waiters: none$/m);
  });

  test('text --recommendations: each one as formatRecommendation writes it; none says none', () => {
    const recommendations: RecommendationsReport = { timestamp: T0, recommendations: [recommendation] };
    const text = renderInspectText(buildInspectReport({ url, pools: poolList, recommendations }), { color: false });
    const indented = formatRecommendation(recommendation).split('\n').map((line) => `  ${line}`).join('\n');
    assert.ok(text.includes(`Recommendations (1)\n${indented}\n`), text);
    const none = renderInspectText(buildInspectReport({ url, pools: poolList, recommendations: { timestamp: T0, recommendations: [] } }), { color: false });
    assert.match(none, /^Recommendations: none$/m);
  });

  test('text: a critical pool is CRITICAL (red on a terminal) and named in the last line; expectFull is not judged', () => {
    const hot = stats({ poolName: 'hot', used: 10, total: 10, max: 10, pending: 2, level: 'critical' });
    const listen = stats({ poolName: 'listen', used: 9, total: 9, max: 9, expectFull: true });
    const report = buildInspectReport({ url, pools: { timestamp: T0, pools: [view(hot), view(listen)] } });
    assert.equal(report.critical, true);
    const plain = renderInspectText(report, { color: false });
    assert.match(plain, /^Pool hot \(pg\) {2}\[CRITICAL\] 100% in use {2}level critical$/m);
    assert.match(plain, /^Pool listen \(pg\) {2}\[GOOD\] 100% in use {2}level normal {2}expectFull: full by design, not judged$/m);
    assert.match(plain, /^Critical: hot \(exit code 1\)\.$/m);
    const colored = renderInspectText(report, { color: true });
    assert.ok(colored.includes('\u001b[31m[CRITICAL]\u001b[0m'), 'CRITICAL in red');
    assert.equal(stripAnsi(colored), plain);
  });

  test('JSON: the documented shape; optional parts only when asked; --pool keeps one pool everywhere', () => {
    const bare = JSON.parse(renderInspectJson(buildInspectReport({ url, pools: poolList }))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(bare), ['url', 'timestamp', 'pools', 'critical']);
    assert.deepEqual(bare, {
      url,
      timestamp: T0,
      pools: [{ poolName: 'main', driver: 'pg', marker: 'GOOD', critical: false, stats: mainStats, config: { max: 10 } }],
      critical: false,
    });

    const other = stats({ poolName: 'other', used: 10, max: 10, level: 'critical' });
    const snapshot: InspectorSnapshot = {
      takenAt: T0,
      pools: [poolSnapshot(mainStats, [holder]), poolSnapshot(other, [])],
      multiPoolOwners: [
        { owner: { id: 3, label: 'GET /orders', kind: 'request', startedAt: T0, ended: false }, leases: { main: [12], other: [5] } },
        { owner: { id: 4, label: 'job', kind: 'job', startedAt: T0, ended: false }, leases: { other: [6], third: [1] } },
      ],
    };
    const otherRecommendation = { ...recommendation, poolName: 'other' };
    const full = buildInspectReport({
      url,
      pools: { timestamp: T0, pools: [view(mainStats), view(other)] },
      snapshot,
      recommendations: { timestamp: T0, recommendations: [recommendation, otherRecommendation] },
    });
    const parsed = JSON.parse(renderInspectJson(full)) as InspectReport;
    assert.deepEqual(Object.keys(parsed), ['url', 'timestamp', 'pools', 'critical', 'snapshot', 'recommendations']);
    assert.equal(parsed.critical, true);
    assert.deepEqual(parsed.pools.map((p) => [p.poolName, p.marker, p.critical]), [['main', 'GOOD', false], ['other', 'CRITICAL', true]]);
    assert.equal(parsed.snapshot?.pools.length, 2);
    assert.equal(parsed.recommendations?.length, 2);

    const one = buildInspectReport({
      url,
      pools: { timestamp: T0, pools: [view(mainStats), view(other)] },
      snapshot,
      recommendations: { timestamp: T0, recommendations: [recommendation, otherRecommendation] },
      pool: 'main',
    });
    assert.deepEqual(one.pools.map((p) => p.poolName), ['main']);
    assert.equal(one.critical, false, 'the other pool is critical, but it was not asked about');
    assert.deepEqual(one.snapshot?.pools.map((p) => p.poolName), ['main']);
    assert.deepEqual(one.snapshot?.multiPoolOwners.map((o) => o.owner.id), [3]);
    assert.deepEqual(one.recommendations?.map((r) => r.poolName), ['main']);
  });
});

describe('colour', () => {
  test('only on a terminal, and never with NO_COLOR set', () => {
    assert.equal(colorEnabled({ stdout: Object.assign(new Capture(), { isTTY: true }), env: {} }), true);
    assert.equal(colorEnabled({ stdout: Object.assign(new Capture(), { isTTY: true }), env: { NO_COLOR: '1' } }), false);
    assert.equal(colorEnabled({ stdout: Object.assign(new Capture(), { isTTY: true }), env: { NO_COLOR: '' } }), true);
    assert.equal(colorEnabled({ stdout: new Capture(), env: {} }), false);
  });
});

// ---- the command against a local server answering fixed bodies ----------------------------------------------------

interface Answer {
  status: number;
  body: unknown;
  contentType?: string;
}

describe('inspect against a local API server', () => {
  let server: Server;
  let base: string;
  let closeServer: () => Promise<void>;
  let answers: Map<string, Answer>;
  let seen: { url: string; authorization: string | undefined }[];

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      const answer = answers.get(req.url ?? '') ?? { status: 404, body: { error: 'POOLSCOPE_ERR_HTTP_NOT_FOUND', message: `No ops route at ${req.url}.` } };
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json; charset=utf-8' });
      res.end(text);
    });
    const started = await listenOnLoopback(server);
    base = started.url;
    closeServer = started.close;
  });
  after(() => closeServer());
  beforeEach(() => {
    seen = [];
    answers = new Map([['/api/pools', { status: 200, body: poolList }]]);
  });

  test('text, exit 0, no token sent when none is given, no colour off a terminal', async () => {
    const run = await cli(['inspect', '--url', base]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /^Pool main \(pg\) {2}\[GOOD\] 70% in use/m);
    assert.equal(run.stdout, stripAnsi(run.stdout));
    // /api/worker-pools answers 404 here (an app on a poolscope without worker pools): no worker section, no error.
    assert.deepEqual(
      [...seen].sort((a, b) => a.url.localeCompare(b.url)),
      [{ url: '/api/pools', authorization: undefined }, { url: '/api/worker-pools', authorization: undefined }],
    );
    assert.doesNotMatch(run.stdout, /Worker pool/);
  });

  test('colour on a terminal unless NO_COLOR', async () => {
    assert.ok((await cli(['inspect', '--url', base], { tty: true })).stdout.includes('\u001b[32m[GOOD]\u001b[0m'), 'GOOD in green');
    const noColor = await cli(['inspect', '--url', base], { tty: true, env: { NO_COLOR: '1' } });
    assert.equal(noColor.stdout, stripAnsi(noColor.stdout));
  });

  test('--detailed and --recommendations read their routes; JSON carries them', async () => {
    answers.set('/api/snapshot', { status: 200, body: { takenAt: T0, pools: [poolSnapshot(mainStats, [holder], [waiter])], multiPoolOwners: [] } });
    answers.set('/api/recommendations', { status: 200, body: { timestamp: T0, recommendations: [recommendation] } });
    const run = await cli(['inspect', '--url', base, '--detailed', '--recommendations', '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as InspectReport;
    assert.equal(report.url, base);
    assert.equal(report.snapshot?.pools[0]?.holders[0]?.location, 'src/orders.ts:42:7');
    assert.deepEqual(report.recommendations, [recommendation]);
    assert.deepEqual(seen.map((s) => s.url).sort(), ['/api/pools', '/api/recommendations', '/api/snapshot', '/api/worker-pools']);
    assert.equal(report.workerPools, undefined, 'no worker-pool route: no workerPools field');
  });

  test('--pool reads /api/pools/NAME (encoded) and /api/recommendations?pool=NAME', async () => {
    const tenant = stats({ poolName: 'tenant:42', used: 1 });
    answers.set('/api/pools/tenant%3A42', { status: 200, body: view(tenant) });
    answers.set('/api/recommendations?pool=tenant%3A42', { status: 200, body: { timestamp: T0, recommendations: [] } });
    const run = await cli(['inspect', '--url', base, '--pool', 'tenant:42', '--recommendations', '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as InspectReport;
    assert.deepEqual(report.pools.map((p) => p.poolName), ['tenant:42']);
    assert.equal(report.timestamp, tenant.timestamp);
    assert.deepEqual(seen.map((s) => s.url).sort(), ['/api/pools/tenant%3A42', '/api/recommendations?pool=tenant%3A42', '/api/worker-pools/tenant%3A42']);
  });

  test('--token (or POOLSCOPE_TOKEN) goes out as a bearer token; --prefix and a base path are honoured', async () => {
    answers.set('/base/ops/api/pools', { status: 200, body: poolList });
    assert.equal((await cli(['inspect', '--url', `${base}/base/`, '--prefix', '/ops', '--token', 'tok-1'])).code, 0);
    assert.equal((await cli(['inspect', '--url', base], { env: { POOLSCOPE_TOKEN: 'tok-env' } })).code, 0);
    assert.equal((await cli(['inspect', '--url', base, '--token', 'tok-flag'], { env: { POOLSCOPE_TOKEN: 'tok-env' } })).code, 0);
    const worker = (s: { url: string }): boolean => s.url.endsWith('/api/worker-pools');
    assert.deepEqual(seen.filter((s) => !worker(s)), [
      { url: '/base/ops/api/pools', authorization: 'Bearer tok-1' },
      { url: '/api/pools', authorization: 'Bearer tok-env' },
      { url: '/api/pools', authorization: 'Bearer tok-flag' },
    ]);
    assert.deepEqual(seen.filter(worker), [
      { url: '/base/ops/api/worker-pools', authorization: 'Bearer tok-1' },
      { url: '/api/worker-pools', authorization: 'Bearer tok-env' },
      { url: '/api/worker-pools', authorization: 'Bearer tok-flag' },
    ]);
  });

  test('exit 1 when a pool is critical (level critical at 90%, marker CRITICAL), not for a full expectFull pool', async () => {
    answers.set('/api/pools', { status: 200, body: { timestamp: T0, pools: [view(stats({ used: 9, max: 10, level: 'critical' }))] } });
    const critical = await cli(['inspect', '--url', base]);
    assert.equal(critical.code, 1);
    assert.match(critical.stdout, /\[CRITICAL\] 90% in use {2}level critical/);
    assert.match(critical.stdout, /^Critical: main \(exit code 1\)\.$/m);
    const json = await cli(['inspect', '--url', base, '--format', 'json']);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as InspectReport).critical, true);

    answers.set('/api/pools', { status: 200, body: { timestamp: T0, pools: [view(stats({ poolName: 'listen', used: 9, max: 9, expectFull: true }))] } });
    assert.equal((await cli(['inspect', '--url', base])).code, 0);
  });

  test("exit 3 on a 403, printing the server's error and message", async () => {
    answers.set('/api/pools', { status: 403, body: { error: 'POOLSCOPE_ERR_HTTP_FORBIDDEN', message: 'This ops route is restricted (address 203.0.113.7).' } });
    const run = await cli(['inspect', '--url', base, '--token', 'secret-token-value']);
    assert.equal(run.code, 3);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      `poolscope inspect: GET ${base}/api/pools answered 403 POOLSCOPE_ERR_HTTP_FORBIDDEN: This ops route is restricted (address 203.0.113.7).\n`,
    );
    assert.doesNotMatch(run.stderr, /secret-token-value/);
  });

  test('exit 3 on a non-JSON error, on JSON that is not the API, and when one of several reads fails', async () => {
    answers.set('/api/pools', { status: 502, body: '<html>Bad gateway</html>', contentType: 'text/html' });
    const html = await cli(['inspect', '--url', base]);
    assert.equal(html.code, 3);
    assert.match(html.stderr, /answered 502 \(text\/html: "<html>Bad gateway<\/html>"\)/);

    answers.set('/api/pools', { status: 200, body: { hello: 'world' } });
    const wrong = await cli(['inspect', '--url', base]);
    assert.equal(wrong.code, 3);
    assert.match(wrong.stderr, /not poolscope's \/api\/pools \(check --url and --prefix\)/);

    answers.set('/api/pools', { status: 200, body: poolList });
    const noRoute = await cli(['inspect', '--url', base, '--recommendations']); // the fake has no /api/recommendations
    assert.equal(noRoute.code, 3);
    assert.match(noRoute.stderr, /\/api\/recommendations answered 404 POOLSCOPE_ERR_HTTP_NOT_FOUND/);
  });

  test('exit 3 when nothing listens', async () => {
    const port = await closedPort();
    const run = await cli(['inspect', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/api/pools: .*ECONNREFUSED`));
  });

  test('Ctrl-C (an aborted signal) exits 130 without output', async () => {
    const controller = new AbortController();
    controller.abort();
    const run = await cli(['inspect', '--url', base], { signal: controller.signal });
    assert.deepEqual(run, { code: 130, stdout: '', stderr: '' });
  });

  test('the command object keeps the CliCommand conventions', () => {
    assert.equal(inspectCommand.name, 'inspect');
    assert.match(inspectCommand.summary, /\S/);
    assert.match(inspectCommand.help, /Exit codes: 0 ok; 1 a pool/);
  });
});
