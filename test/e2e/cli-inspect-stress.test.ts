// `poolscope inspect` and `poolscope stress` against an app on a real socket with a tracked pg.Pool on a real
// PostgreSQL: the CLI run in-process (runCli with captured streams) and once as a real process.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type pg from 'pg';
import { formatRecommendation, trackPgPool, type Inspector, type Recommendation } from '../../src/index.js';
import { createOpsHandler, type OpsHandlerOptions } from '../../src/http/ops-handler.js';
import { createOpsRequestListener } from '../../src/http/node-server.js';
import type { RecommendationsReport } from '../../src/http/recommendations-route.js';
import type { InspectReport } from '../../src/cli/inspect-report.js';
import type { StressReport } from '../../src/cli/stress-report.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TestResources, eventually, isAt, siteOf } from '../support/pg-test-kit.js';
import { runCliCaptured, spawnCli as spawnCliProcess, type CliRun } from '../support/cli-capture.js';
import { listenOnLoopback } from '../support/loopback-server.js';

const here = import.meta.url;

let db: TestDatabase;
const res = new TestResources();
/** Servers and held connections of the current test, undone after it (last first). */
const closers: (() => Promise<void> | void)[] = [];

before(async () => {
  db = await createTestDatabase('cli_inspect_stress');
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await res.closeAll();
});
after(() => db?.drop());

// ---- the app under test ---------------------------------------------------------------------------------------------

interface App {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly pool: pg.Pool;
  readonly inspector: Inspector;
  /** Requests the app's own endpoint (/work) has received. */
  workCalls(): number;
}

/**
 * An app on 127.0.0.1: the ops routes (createOpsRequestListener) and, for every other path, its own listener, whose
 * GET /work runs one short query through the tracked pool (500 when that fails).
 */
async function startApp(options: { max?: number; connectionTimeoutMillis?: number; ops?: OpsHandlerOptions } = {}): Promise<App> {
  const pool = res.pool(db.url, { max: options.max ?? 4, connectionTimeoutMillis: options.connectionTimeoutMillis });
  pool.on('error', () => undefined);
  const inspector = res.inspector();
  trackPgPool(inspector, pool, { name: 'main', stackCapture: 'always' });
  const handler = createOpsHandler(inspector, options.ops);
  let calls = 0;
  const server = createServer(
    createOpsRequestListener(handler, (req, response) => {
      if (req.url !== '/work') {
        response.writeHead(404).end();
        return;
      }
      calls += 1;
      pool.query('SELECT 1 AS one').then(
        () => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
      );
    }),
  );
  const { url, close } = await listenOnLoopback(server);
  closers.push(close);
  return { url, pool, inspector, workCalls: () => calls };
}

/** Checks out `clients`, released after the test. */
function releaseLater(clients: pg.PoolClient[]): void {
  closers.push(() => {
    for (const client of clients) client.release();
  });
}

// ---- running the CLI ---------------------------------------------------------------------------------------------------


type Run = CliRun;

/** runCli in this process, stdout and stderr captured (not a terminal), no colour. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runCliCaptured(args, { env });
}

/** The real CLI as a child process, without the token of the environment. */
function spawnCli(args: string[]): Promise<Run> {
  return spawnCliProcess(args, { POOLSCOPE_TOKEN: undefined });
}

// ---- inspect ---------------------------------------------------------------------------------------------------------

describe('poolscope inspect', () => {
  test('text: names the pool and shows the numbers the app has', async () => {
    const app = await startApp({ max: 4 });
    for (let i = 0; i < 3; i += 1) await app.pool.query('SELECT 1');
    releaseLater([await app.pool.connect()]);
    const stats = app.inspector.stats('main');
    assert.deepEqual([stats.total, stats.idle, stats.used, stats.pending, stats.max, stats.min, stats.counters.acquires], [1, 0, 1, 0, 4, 0, 4]);

    const run = await cli(['inspect', '--url', app.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, new RegExp(`^poolscope inspect ${app.url} at \\S+Z$`, 'm'));
    assert.match(run.stdout, /^Pool main \(pg\) {2}\[LOW\] 25% in use {2}level normal$/m);
    assert.match(run.stdout, /^ {2}total {2}idle {2}used {2}pending {2}max {2}min\n +1 +0 +1 +0 +4 +0$/m);
    assert.match(run.stdout, /^ {2}wait( +[\d.]+){4} +4$/m, 'wait time over the 4 checkouts');
    assert.match(run.stdout, /^ {2}use( +[\d.]+){4} +3$/m, 'use time over the 3 released');
    assert.match(run.stdout, /^ {2}acquires 4, timeouts 0, leaks suspected 0, dirty releases 0, double releases 0$/m);
    assert.match(run.stdout, /^No pool is critical\.$/m);
  });

  test('JSON with --detailed and --recommendations: the documented shape, a holder at its file:line', async () => {
    const app = await startApp({ max: 4 });
    const held = await app.pool.connect(); // @held-site
    releaseLater([held]);
    await held.query('BEGIN');
    await held.query('SELECT 42 AS answer');

    const run = await cli(['inspect', '--url', app.url, '--format', 'json', '--detailed', '--recommendations']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as InspectReport;
    assert.deepEqual(Object.keys(report), ['url', 'timestamp', 'pools', 'workerPools', 'critical', 'snapshot', 'recommendations']);
    assert.deepEqual(report.workerPools, [], 'no worker pool tracked');
    assert.equal(report.url, app.url);
    assert.equal(report.critical, false);
    assert.equal(report.pools.length, 1);
    const [pool] = report.pools;
    assert.deepEqual(
      [pool?.poolName, pool?.driver, pool?.marker, pool?.critical, pool?.stats.used, pool?.stats.max, pool?.stats.utilizationPercent, pool?.config.max],
      ['main', 'pg', 'LOW', false, 1, 4, 25, 4],
    );
    const holder = report.snapshot?.pools[0]?.holders[0];
    assert.ok(holder !== undefined, run.stdout);
    assert.ok(isAt(holder.location, siteOf(here, '@held-site')), `holder at ${holder.location}`);
    assert.deepEqual(holder.transaction, { status: 'in-transaction', depth: 1 });
    assert.equal(holder.query?.text, 'SELECT 42 AS answer');
    assert.ok(Array.isArray(report.recommendations));
  });

  test('a pool held full is CRITICAL: exit 1, every holder with its file:line, the waiter too', async () => {
    const app = await startApp({ max: 4 });
    const held = await Promise.all(Array.from({ length: 4 }, () => app.pool.connect())); // @hold-all-site
    const waiting = app.pool.connect(); // @waiter-site
    closers.push(async () => {
      for (const client of held) client.release(); // first, so that the waiter gets a connection
      (await waiting).release();
    });
    await eventually(() => app.inspector.stats('main').pending === 1, 'a caller waiting');

    const run = await cli(['inspect', '--url', app.url, '--detailed']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^Pool main \(pg\) {2}\[CRITICAL\] 100% in use {2}level critical$/m);
    assert.match(run.stdout, /^ +4 +0 +4 +1 +4 +0$/m, 'total idle used pending max min');
    assert.match(run.stdout, /^ {2}Holders \(4\)$/m);
    const holdSite = siteOf(here, '@hold-all-site');
    const holderLines = run.stdout.split('\n').filter((line) => line.includes(`${holdSite}:`));
    assert.equal(holderLines.length, 4, run.stdout);
    for (const line of holderLines) assert.match(line, /^ {4}#\d+ +- +[\d.]+ +held, idle +- +\S+$/);
    assert.match(run.stdout, /^ {2}Waiters \(1\)$/m);
    const waiterLines = run.stdout.split('\n').filter((line) => line.includes(`${siteOf(here, '@waiter-site')}:`));
    assert.equal(waiterLines.length, 1, run.stdout);
    assert.match(waiterLines[0] ?? '', /^ {4}#\d+ +- +[\d.]+ +\S+$/);
    assert.match(run.stdout, /^Critical: main \(exit code 1\)\.$/m);

    const json = await cli(['inspect', '--url', app.url, '--format', 'json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as InspectReport;
    assert.deepEqual([report.critical, report.pools[0]?.marker, report.pools[0]?.critical], [true, 'CRITICAL', true]);
  });

  test('behind a prefix with a token: refused without it (exit 3, the server says why), read with it', async () => {
    const app = await startApp({ ops: { prefix: '/ops', token: 'cli-e2e-token-123', allowlist: [] } });
    const refused = await cli(['inspect', '--url', app.url, '--prefix', '/ops']);
    assert.equal(refused.code, 3);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /GET http:\/\/127\.0\.0\.1:\d+\/ops\/api\/pools answered 403 POOLSCOPE_ERR_HTTP_FORBIDDEN: This ops route is restricted/);
    assert.equal((await cli(['inspect', '--url', app.url, '--prefix', '/ops', '--token', 'cli-e2e-token-123'])).code, 0);
    assert.equal((await cli(['inspect', '--url', app.url, '--prefix', '/ops'], { POOLSCOPE_TOKEN: 'cli-e2e-token-123' })).code, 0);
    const wrongPrefix = await cli(['inspect', '--url', app.url, '--token', 'cli-e2e-token-123']);
    assert.equal(wrongPrefix.code, 3, 'without the prefix the path is the app listener 404');
  });

  test('an unknown --pool is the server 404, exit 3', async () => {
    const app = await startApp();
    const run = await cli(['inspect', '--url', app.url, '--pool', 'nope']);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /answered 404 POOLSCOPE_ERR_POOL_NOT_TRACKED: No pool named "nope" is tracked\. Tracked pools: main\./);
  });
});

// ---- /api/recommendations ---------------------------------------------------------------------------------------------

describe('GET /api/recommendations', () => {
  test('runs the rules over the pool; ?pool= filters, an unknown pool is 404; inspect prints them', async () => {
    const app = await startApp();
    trackPgPool(app.inspector, res.pool(db.url, { max: 1 }), { name: 'other' });
    const client = await app.pool.connect();
    client.release();
    assert.throws(() => client.release(), /already been released/); // a double release: fix-misuse

    const response = await fetch(`${app.url}/api/recommendations`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as RecommendationsReport;
    assert.deepEqual(Object.keys(body), ['timestamp', 'recommendations']);
    assert.deepEqual(
      body.recommendations.map((r) => [r.id, r.poolName, r.severity]),
      [['fix-misuse', 'main', 'warning']],
    );
    const one = (await (await fetch(`${app.url}/api/recommendations?pool=main`)).json()) as RecommendationsReport;
    assert.deepEqual(one.recommendations, body.recommendations);
    const other = (await (await fetch(`${app.url}/api/recommendations?pool=other`)).json()) as RecommendationsReport;
    assert.deepEqual(other.recommendations, [], 'the other pool has nothing to fix');
    const unknown = await fetch(`${app.url}/api/recommendations?pool=nope`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: string }).error, 'POOLSCOPE_ERR_POOL_NOT_TRACKED');

    const run = await cli(['inspect', '--url', app.url, '--pool', 'main', '--recommendations']);
    assert.equal(run.code, 0, run.stderr);
    const recommendation = body.recommendations[0] as Recommendation;
    const indented = formatRecommendation(recommendation).split('\n').map((line) => `  ${line}`).join('\n');
    assert.ok(run.stdout.includes(`Recommendations (1)\n${indented}\n`), run.stdout);
    assert.match(run.stdout, /double releases 1/);
  });
});

// ---- stress ------------------------------------------------------------------------------------------------------------

describe('poolscope stress', () => {
  test('3 waves x 5 requests: every request reaches the app, counts match, pool health after each wave', async () => {
    const app = await startApp({ max: 4 });
    const acquiresBefore = app.inspector.stats('main').counters.acquires;
    const run = await cli(['stress', '--base-url', app.url, '--endpoint', '/work', '--waves', '3', '--requests', '5', '--delay', '10', '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(app.workCalls(), 15);
    assert.ok(app.inspector.stats('main').counters.acquires - acquiresBefore >= 15, 'each request checked out a connection');
    const report = JSON.parse(run.stdout) as StressReport;
    assert.equal(report.interrupted, false);
    assert.deepEqual(
      [report.summary.wavesRun, report.summary.totalRequests, report.summary.succeeded, report.summary.failed, report.summary.aborted],
      [3, 15, 15, 0, 0],
    );
    assert.deepEqual(report.summary.statuses, { 200: 15 });
    assert.equal(report.summary.latency?.count, 15);
    assert.deepEqual(report.initialHealth?.pools.map((p) => [p.poolName, p.maxCount]), [['main', 4]]);
    for (const wave of report.waves) {
      assert.deepEqual([wave.requests, wave.succeeded, wave.failed, wave.completed], [5, 5, 0, true]);
      assert.deepEqual(wave.health?.pools.map((p) => [p.poolName, p.maxCount, p.usedCount, p.waitingCount]), [['main', 4, 0, 0]]);
    }
    assert.deepEqual(report.summary.peaks.map((p) => p.poolName), ['main']);
  });

  test('text mode against a saturated pool: failures and the full pool are reported, exit 0 (1 with --fail-on-errors)', async () => {
    const app = await startApp({ max: 2, connectionTimeoutMillis: 200 });
    releaseLater(await Promise.all([app.pool.connect(), app.pool.connect()]));
    const args = ['stress', '--base-url', app.url, '--endpoint', '/work', '--waves', '1', '--requests', '3', '--delay', '0'];
    const run = await cli(args);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(app.workCalls(), 3);
    assert.match(run.stdout, /^Pool health at start \(unavailable, HTTP 503\)$/m);
    assert.match(run.stdout, /^ {2}main +2\/2 +100% +0 +critical$/m);
    assert.match(run.stdout, /^wave 1\/1 {2}0 ok {2}3 failed \(500 x 3\) {2}p50 .* ms {2}\| main 100% \(2\/2\) waiting 0$/m);
    assert.match(run.stdout, /^ {2}requests 3: 0 ok, 3 failed \(100%\)$/m);
    assert.match(run.stdout, /^ {4}main +100% of 2 \(wave 0\) +0 \(wave 0\)$/m);
    assert.equal((await cli([...args, '--fail-on-errors'])).code, 1);
  });

  test('the bound is enforced before anything is sent: --requests 5000 is a usage error', async () => {
    const app = await startApp();
    const run = await cli(['stress', '--base-url', app.url, '--endpoint', '/work', '--requests', '5000']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--requests 5000 is over the limit: at most 1000 concurrent requests per wave/);
    assert.equal(run.stdout, '');
    assert.equal(app.workCalls(), 0);
  });
});

// ---- the real process ----------------------------------------------------------------------------------------------------

describe('the poolscope process', () => {
  test('inspect --format json: exit code 1 for a pool held full, the JSON on stdout', async () => {
    const app = await startApp({ max: 2 });
    releaseLater(await Promise.all([app.pool.connect(), app.pool.connect()]));
    const run = await spawnCli(['inspect', '--url', app.url, '--format', 'json']);
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as InspectReport;
    assert.equal(report.critical, true);
    assert.deepEqual(report.pools.map((p) => [p.poolName, p.marker, p.stats.used, p.stats.max]), [['main', 'CRITICAL', 2, 2]]);
  });

  test('a usage error exits 2 with the message on stderr', async () => {
    const run = await spawnCli(['stress', '--base-url', 'http://127.0.0.1:9', '--requests', '5000']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^poolscope stress: --requests 5000 is over the limit/);
  });
});
