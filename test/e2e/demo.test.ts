// `poolscope demo` end to end on a real PostgreSQL: in-process through runCli and once as a real process. The
// planted misuse must be reported at the lines of src/cli/demo/demo-leak-sites.ts marked `// @...` (found here by marker,
// not by trusting the demo's own check), and nothing may be left behind (scratch database, sessions, temp dirs).
//
// Server: the demo's own resolution (DATABASE_URL, else 127.0.0.1:5432, else embedded). With
// POOLSCOPE_TEST_EMBEDDED=1 the demo is forced onto an embedded PostgreSQL (POOLSCOPE_DEMO_EMBEDDED=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { CliIo } from '../../src/cli/cli-command.js';
import { runCli } from '../../src/cli/main.js';
import { siteOf } from '../support/pg-test-kit.js';
import { Capture } from '../support/cli-capture.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO_SOURCE = new URL('../../src/cli/demo/demo-leak-sites.ts', import.meta.url).href;
const EMBEDDED = process.env.POOLSCOPE_TEST_EMBEDDED === '1';
const LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const BOUND = { timeout: 180_000 };

/** The environment the demo gets: the test's own, forced onto embedded PostgreSQL when the suite is. */
function demoEnv(): Record<string, string | undefined> {
  return { ...process.env, NO_COLOR: '1', ...(EMBEDDED ? { POOLSCOPE_DEMO_EMBEDDED: '1' } : {}) };
}


/** The server the demo will use, when it outlives the demo (env or local); undefined for an embedded one. */
async function persistentAdminUrl(): Promise<string | undefined> {
  if (EMBEDDED) return undefined;
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const client = new pg.Client({ connectionString: LOCAL_ADMIN_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return LOCAL_ADMIN_URL;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Demo databases and demo sessions on the server. */
async function leftovers(adminUrl: string): Promise<{ databases: string[]; sessions: number }> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const databases = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'poolscope\\_demo\\_%'");
    const sessions = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'poolscope-demo-%'",
    );
    return { databases: databases.rows.map((row) => row.datname), sessions: sessions.rows[0]?.n ?? -1 };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Sessions of `cluster`'s nodes on the server's admin database (where the demo's node joins). */
async function clusterSessions(adminUrl: string, cluster: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const result = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1', [`poolscope-cluster/${cluster}/%`]);
    return result.rows[0]?.n ?? -1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function embeddedTempDirs(): string[] {
  return readdirSync(os.tmpdir()).filter((name) => name.startsWith('poolscope-demo-pg-'));
}

/** The text under `== <title...>` up to the next heading. */
function section(output: string, titleStart: string): string {
  const start = output.indexOf(`\n== ${titleStart}`);
  assert.notEqual(start, -1, `a section "${titleStart}" in:\n${output}`);
  const end = output.indexOf('\n== ', start + 1);
  return output.slice(start, end === -1 ? undefined : end);
}

function scratchDatabaseOf(output: string): string {
  const name = /scratch database (poolscope_demo_[0-9a-f]{8})\)/.exec(output)?.[1];
  assert.ok(name, `the demo names its scratch database:\n${output}`);
  return name;
}

/** Checks the parts of a finished demo's output that name lines of the demo source. */
function assertFindings(output: string): void {
  const errorPath = siteOf(DEMO_SOURCE, '@leak-error-path');
  const earlyReturn = siteOf(DEMO_SOURCE, '@leak-early-return');
  const notAwaited = siteOf(DEMO_SOURCE, '@release-not-awaited');
  // The demo's handlers live in its folder (src/cli/demo/): the planted sites and the healthy and slow queries.
  const demoDir = errorPath.slice(0, errorPath.lastIndexOf('/') + 1);

  const snapshot = section(output, 'Saturation snapshot');
  const numbers = /snapshot #\d+ of pool 'main' \(saturation\) at \S+: (\d+)\/10 in use \((\d+)%\), \d+ idle, (\d+) waiting/.exec(snapshot);
  assert.ok(numbers, snapshot);
  assert.ok(Number(numbers[2]) >= 80 || Number(numbers[3]) > 0, `saturated: 80% in use or callers queued:\n${snapshot}`);
  const holders = snapshot.split('\n').filter((line) => /^ {4}#\d+ /.test(line) && !/ waiting /.test(line));
  assert.equal(holders.length, Number(numbers[1]), 'one line per holder');
  for (const line of holders) assert.ok(line.includes(` at ${demoDir}`), `every holder names its line in the demo: ${line}`);
  // The waves leaked before the pool saturated (with these small numbers only the burst saturates it).
  assert.ok(holders.some((line) => line.includes(` at ${errorPath}:`) && line.includes('GET /api/orders/export')), snapshot);
  assert.ok(holders.some((line) => line.includes(` at ${earlyReturn}:`) && line.includes('GET /api/customers/lookup')), snapshot);

  const reports = section(output, 'Leak and misuse reports');
  const reported = (type: string, verb: string, site: string, owner: string): void => {
    const pattern = new RegExp(`^ {2}${type} x\\d+ on pool 'main', ${verb} ${escape(site)}:\\d+ {2}\\(${escape(owner)}\\)$`, 'm');
    assert.match(reports, pattern, `${type} at ${site}`);
  };
  reported('leak-suspected', 'acquired at', errorPath, 'GET /api/orders/export');
  reported('owner-ended-holding', 'acquired at', errorPath, 'GET /api/orders/export');
  reported('leak-suspected', 'acquired at', earlyReturn, 'GET /api/customers/lookup');
  reported('owner-ended-holding', 'acquired at', earlyReturn, 'GET /api/customers/lookup');
  reported('release-in-flight', 'released at', notAwaited, 'GET /api/orders/checkout');
  // The messages themselves name the lines too.
  assert.match(reports, new RegExp(`Connection leak suspected on pool "main": .* by request "GET /api/orders/export", acquired at ${escape(errorPath)}:\\d+`));
  assert.match(reports, new RegExp(`lease #\\d+ released at ${escape(notAwaited)}:\\d+ while "INSERT INTO audit_log`));

  const server = section(output, "The database's view");
  assert.match(server, /poolscope-demo-main +idle in transaction +\d+/);
  assert.match(server, /poolscope-demo-listen +idle +[34] {2}/, 'the three LISTEN connections (and the readiness probe\'s, when it opened one)');

  const recommendations = section(output, 'Recommendations');
  assert.match(recommendations, /\[CRITICAL\] Pool 'main' is misused: \d+ suspected leak\(s\)/);
  assert.match(recommendations, new RegExp(`\\[(CRITICAL|WARNING)\\] \\d+ connection\\(s\\) of pool 'main' held longer than 1000 ms, most from (${escape(errorPath)}|${escape(earlyReturn)}):\\d+`));
  assert.match(recommendations, /You can address this by:\n {6}1\. /);
  assert.doesNotMatch(recommendations, /pool 'listen'/, 'the expectFull pool is full by design');

  const inspect = section(output, 'poolscope inspect --url http://127.0.0.1:');
  assert.match(inspect, /Pool main \(pg\) {2}\[\w+\] \d+% in use/);
  assert.match(inspect, /Pool listen \(pg\) .*expectFull: full by design/);

  assert.match(output, /Result: poolscope reported each of the 3 planted misuses at its line of the demo source\./);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('the demo runs in-process to the end, reports the planted misuse at its lines, and leaves nothing behind', BOUND, async () => {
  const adminUrl = await persistentAdminUrl();
  const before = adminUrl === undefined ? undefined : await leftovers(adminUrl);
  const tempBefore = new Set(embeddedTempDirs());
  const stdout = new Capture();
  const stderr = new Capture();
  const io: CliIo = { stdout, stderr, env: demoEnv(), signal: new AbortController().signal };

  const code = await runCli(['demo', '--waves', '2', '--requests', '5'], io);
  const output = stdout.text;
  assert.equal(code, 0, `${output}\n${stderr.text}`);
  assert.equal(stderr.text, '');
  assert.match(output, EMBEDDED ? /Database: embedded PostgreSQL \d+/ : /Database: (local PostgreSQL|PostgreSQL from DATABASE_URL) \d+/);
  assert.match(output, /App: http:\/\/127\.0\.0\.1:\d+ /);
  for (const path of ['/api/orders', '/api/report', '/api/orders/export', '/api/customers/lookup', '/api/orders/checkout', '/readyz', '/metrics', '/api/snapshots']) {
    assert.match(output, new RegExp(`GET http://127\\.0\\.0\\.1:\\d+${escape(path)}\\s`), path);
  }
  assert.match(output, /wave 1\/2: 5 requests in [\d.]+ s: .*\/api\/orders\/export 1x500, \/api\/customers\/lookup 1x404, \/api\/orders\/checkout 1x200/);
  assertFindings(output);
  assert.ok(!output.includes('\u001b['), 'no colour when stdout is not a terminal');

  const name = scratchDatabaseOf(output);
  assert.match(output, new RegExp(`Cleaned up: app and pools stopped, scratch database ${name} dropped${EMBEDDED ? ', embedded PostgreSQL stopped and deleted' : ''}\\.`));
  if (adminUrl !== undefined && before !== undefined) {
    const after = await leftovers(adminUrl);
    assert.ok(!after.databases.includes(name), `${name} was dropped`);
    assert.deepEqual(after.databases.filter((db) => !before.databases.includes(db)), [], 'no new demo database is left');
    assert.equal(after.sessions, 0, 'no session of the demo pools is left');
  } else {
    assert.deepEqual(embeddedTempDirs().filter((dir) => !tempBefore.has(dir)), [], 'the embedded server folder is deleted');
  }
});

test('Ctrl-C with --keep-running stops the app, leaves the cluster and cleans up; the routes answered while it ran', BOUND, async () => {
  const adminUrl = await persistentAdminUrl();
  const stdout = new Capture();
  const stderr = new Capture();
  const controller = new AbortController();
  const io: CliIo = { stdout, stderr, env: demoEnv(), signal: controller.signal };
  const cluster = `demo-e2e-${process.pid}`;
  // On a server that outlives the demo, named with --database-url (as the cluster guide does for several instances).
  const server = adminUrl === undefined ? [] : ['--database-url', adminUrl];
  const running = runCli(['demo', '--waves', '1', '--requests', '4', '--keep-running', ...server, '--cluster', cluster, '--node', 'demo-1'], io);

  await stdout
    .untilIncludes('until Ctrl-C. Try:', 120_000)
    .catch((error: unknown) => assert.fail(`the demo reached --keep-running: ${String(error)}\n${stderr.text}`));
  const url = /The app keeps running at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout.text)?.[1];
  assert.ok(url);
  assert.match(stdout.text, new RegExp(`npx poolscope inspect --url ${escape(url)} --detailed --recommendations`));
  const readyz = await fetch(`${url}/readyz`);
  const body = (await readyz.json()) as { pools: { poolName: string }[] };
  assert.deepEqual(
    body.pools.map((pool) => pool.poolName),
    ['main', 'listen'],
  );
  const metrics = await fetch(`${url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /db_client_connection_max\{[^}]*pool_name="main"[^}]*\} 10/);

  if (adminUrl !== undefined) assert.match(stdout.text, /Database: PostgreSQL from --database-url \d+/);
  // The cluster: joined on the server's own database, answering through the ops routes, named in the hints.
  assert.match(stdout.text, new RegExp(`Cluster: joined "${cluster}" as node demo-1 on postgres://`));
  assert.match(stdout.text, new RegExp(`npx poolscope cluster --database-url '[^']+' --cluster ${cluster}\n`));
  const answer = await fetch(`${url}/api/cluster/snapshot?pools=main`);
  assert.equal(answer.status, 200);
  const result = (await answer.json()) as { complete: boolean; nodes: { node: string; snapshot: { pools: { poolName: string }[] } }[]; totals: { pools: { poolName: string }[] } };
  assert.equal(result.complete, true);
  assert.deepEqual(result.nodes.map((entry) => entry.node), ['demo-1']);
  assert.deepEqual(result.nodes[0]?.snapshot.pools.map((pool) => pool.poolName), ['main']);
  assert.deepEqual(result.totals.pools.map((pool) => pool.poolName), ['main']);
  const stream = await fetch(`${url}/api/stream`);
  const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
  let hello = '';
  while (!hello.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    hello += new TextDecoder().decode(value);
  }
  await reader.cancel();
  assert.match(hello, /^event: hello\ndata: \{.*"instanceId":"demo-1".*"cluster":true\}/, 'hello offers the cluster panel');

  controller.abort();
  const code = await running;
  assert.equal(code, 130);
  const name = scratchDatabaseOf(stdout.text);
  assert.match(stdout.text, new RegExp(`Cleaned up: app and pools stopped, scratch database ${name} dropped`));
  await assert.rejects(fetch(`${url}/health`), 'the app no longer listens');
  if (adminUrl !== undefined) {
    assert.ok(!(await leftovers(adminUrl)).databases.includes(name));
    assert.equal(await clusterSessions(adminUrl, cluster), 0, 'the node left the cluster');
  }
});

test('bad cluster flags exit 2 with the coded message before touching any database', async () => {
  const cases: [string[], RegExp][] = [
    [['demo', '--cluster', ''], /^poolscope demo: --cluster: POOLSCOPE_ERR_CLUSTER_INVALID_NAME: /],
    [['demo', '--cluster', 'shop', '--node', 'api/1'], /^poolscope demo: --node: POOLSCOPE_ERR_CLUSTER_INVALID_NAME: Invalid node name "api\/1"/],
    [['demo', '--cluster', 'shop', '--cluster-secret-env', 'NOT_SET_ANYWHERE_42'], /^poolscope demo: --cluster-secret-env NOT_SET_ANYWHERE_42: the environment variable NOT_SET_ANYWHERE_42 is not set or empty\./],
    [['demo', '--node', 'api-1'], /^poolscope demo: --node needs --cluster NAME/],
  ];
  for (const [args, message] of cases) {
    const stdout = new Capture();
    const stderr = new Capture();
    // An unreachable DATABASE_URL: reaching for it would fail with exit 3, not 2.
    const env = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/postgres' };
    const code = await runCli(args, { stdout, stderr, env, signal: new AbortController().signal });
    assert.equal(code, 2, args.join(' '));
    assert.equal(stdout.text, '');
    assert.match(stderr.text, message);
    assert.match(stderr.text, /Run `poolscope demo --help` for usage\./);
  }
});

test('the demo as a real process: `node --import tsx src/cli/main.ts demo` exits 0', BOUND, async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--waves', '2', '--requests', '4'],
      { cwd: REPO_ROOT, env: demoEnv(), timeout: 150_000, maxBuffer: 10_000_000 },
      (error, out, err) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout: out, stderr: err }),
    );
  });
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assertFindings(stdout);
  assert.match(stdout, /Cleaned up: app and pools stopped, scratch database poolscope_demo_[0-9a-f]{8} dropped/);
});

test('no PostgreSQL reachable at DATABASE_URL: exit 3 with a message, nothing started', BOUND, async () => {
  const stdout = new Capture();
  const stderr = new Capture();
  const env = { DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/postgres' };
  const code = await runCli(['demo'], { stdout, stderr, env, signal: new AbortController().signal });
  assert.equal(code, 3);
  assert.match(stderr.text, /^poolscope demo: could not create the demo's scratch database on postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/postgres: /);
  assert.doesNotMatch(stderr.text, /secret/);
  assert.doesNotMatch(stdout.text, /App: /);
});

test('bad usage exits 2 before touching any database', async () => {
  for (const args of [['demo', '--waves', '0'], ['demo', '--requests', 'many'], ['demo', '--bogus'], ['demo', 'now']]) {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runCli(args, { stdout, stderr, env: {}, signal: new AbortController().signal });
    assert.equal(code, 2, args.join(' '));
    assert.equal(stdout.text, '');
    assert.match(stderr.text, /Run `poolscope demo --help` for usage\./);
  }
});
