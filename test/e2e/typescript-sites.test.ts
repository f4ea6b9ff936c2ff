// What the user of a TypeScript app sees as the acquisition site of a leaked checkout (issue 10, section 2): a tiny
// app in a temp directory, with poolscope installed the way npm installs it (built from this repo into
// node_modules/poolscope, its own source maps pointing at node_modules/poolscope/src like the published tarball's),
// compiled with tsc (sourceMap, NodeNext) and run four ways. With source maps (--enable-source-maps, an entry that
// calls process.setSourceMapsEnabled(true) before loading the app, or tsx) the site is the .ts line; without them it
// is the line of the emitted .js, the only one Node knows. Lines are found by the `// @leak-site` marker in the
// generated source and in tsc's output, never hard-coded.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPO_MODULES = path.join(REPO_ROOT, 'node_modules');
const TSC = path.join(REPO_MODULES, 'typescript', 'bin', 'tsc');
/** tsx's loader, by file URL: the app directory has no tsx of its own. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const MARKER = '// @leak-site';
/** Building the package and the app (two tsc runs) is the slow part; a bound, not a timing assertion. */
const BUILD_BOUND = { timeout: 240_000 };
const RUN_BOUND_MILLIS = 60_000;

/** The app's only module with logic. Type-only lines above the site make its .ts and .js lines differ. */
const APP_SOURCE = `import pg from 'pg';
import { Inspector, trackPgPool, type LeakSuspectedEvent } from 'poolscope';

/** Erased by tsc: the site's line in build/app.js is not its line in src/app.ts. */
interface OrderRequest {
  readonly orderId: number;
  readonly note?: string;
}

type Checkout = Promise<pg.PoolClient>;

async function openConnection(pool: pg.Pool, request: OrderRequest): Checkout {
  await pool.query('SELECT $1::int AS id', [request.orderId]);
  const client: pg.PoolClient = await pool.connect(); ${MARKER}
  return client;
}

async function loadOrder(pool: pg.Pool, request: OrderRequest): Checkout {
  await new Promise<void>((resolve) => setImmediate(resolve));
  return await openConnection(pool, request);
}

async function handleRequest(pool: pg.Pool): Checkout {
  const request: OrderRequest = { orderId: 42 };
  return await loadOrder(pool, request);
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
const inspector = new Inspector();
trackPgPool(inspector, pool, { name: 'main', leakThresholdMillis: 50 });
let stopWaiting: () => void = () => undefined;
const leak = new Promise<LeakSuspectedEvent | null>((resolve) => {
  const timer = setTimeout(() => resolve(null), 20_000);
  stopWaiting = () => clearTimeout(timer);
  inspector.on('leak-suspected', (event) => resolve(event));
});

const client = await handleRequest(pool);
const leaked = await leak;
stopWaiting();
const holders = inspector.snapshot('main').holders.map((holder) => ({ location: holder.location, stack: holder.stack }));
console.log(JSON.stringify({ holders, leak: leaked && { location: leaked.lease.location, message: leaked.message } }));
client.release();
inspector.close();
await pool.end();
`;

/** The entry of way 2: turns source maps on, then loads the app (a static import would be evaluated first). */
const MAIN_SOURCE = `process.setSourceMapsEnabled(true);
await import('./app.js');
`;

const APP_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    sourceMap: true,
    rootDir: 'src',
    outDir: 'build',
    types: ['node'],
    skipLibCheck: true,
  },
  include: ['src'],
};

interface SitesReport {
  holders: { location: string | null; stack: string[] }[];
  leak: { location: string | null; message: string } | null;
}

interface Site {
  /** Path relative to the app directory, as poolscope reports it (the child runs there). */
  file: string;
  line: number;
  /** 1-based column of `connect` in `pool.connect()` on that line (where V8 places the call). */
  column: number;
}

let db: TestDatabase | undefined;
let tempDir: string | undefined;
let appDir = '';

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeout: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, timeout, maxBuffer: 10_000_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(command)} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** The child's environment: no NODE_OPTIONS (it could turn source maps on) and nothing of the test runner's. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db?.url, NO_COLOR: '1' };
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/**
 * Installs poolscope as npm would: node_modules/poolscope holds package.json and dist/ only. It is built there
 * from a copy of src/ (so its .js.map files point at ../src, inside node_modules/poolscope, as the published
 * package's do), with this repo's node_modules linked in for the build and unlinked after. pg and the type
 * packages the app compiles against are symlinks into this repo's node_modules.
 */
async function installPoolscope(dir: string): Promise<void> {
  const modules = path.join(dir, 'node_modules');
  const pkg = path.join(modules, 'poolscope');
  await mkdir(path.join(modules, '@types'), { recursive: true });
  await cp(path.join(REPO_ROOT, 'src'), path.join(pkg, 'src'), { recursive: true });
  await cp(path.join(REPO_ROOT, 'package.json'), path.join(pkg, 'package.json'));
  await cp(path.join(REPO_ROOT, 'tsconfig.json'), path.join(pkg, 'tsconfig.json'));
  await symlink(REPO_MODULES, path.join(pkg, 'node_modules'), 'junction');
  await run(process.execPath, [TSC, '-p', path.join(pkg, 'tsconfig.json')], pkg, childEnv(), BUILD_BOUND.timeout);
  for (const leftover of ['node_modules', 'src', 'tsconfig.json']) await rm(path.join(pkg, leftover), { recursive: true, force: true });

  await symlink(path.join(REPO_MODULES, 'pg'), path.join(modules, 'pg'), 'junction');
  for (const types of ['node', 'pg']) await symlink(path.join(REPO_MODULES, '@types', types), path.join(modules, '@types', types), 'junction');
}

/** The marked line of `file` (relative to the app directory) and the column of its `connect`. */
async function siteIn(file: string): Promise<Site> {
  const lines = (await readFile(path.join(appDir, file), 'utf8')).split('\n');
  const found = lines.flatMap((text, index) => (text.trimEnd().endsWith(MARKER) ? [index] : []));
  assert.equal(found.length, 1, `exactly one ${MARKER} in ${file}`);
  const index = found[0] ?? 0;
  const column = (lines[index] ?? '').indexOf('.connect(') + 2;
  assert.ok(column > 1, `pool.connect() on the marked line of ${file}`);
  return { file, line: index + 1, column };
}

async function runApp(nodeArgs: readonly string[]): Promise<SitesReport> {
  const { stdout } = await run(process.execPath, nodeArgs, appDir, childEnv(), RUN_BOUND_MILLIS);
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  return JSON.parse(last) as SitesReport;
}

/** What the user must see for `site`: the holder and the leak event both name it; no node_modules anywhere. */
function assertReportedAt(report: SitesReport, site: Site): void {
  const expected = `${site.file}:${site.line}:${site.column}`;
  assert.equal(report.holders.length, 1, 'one holder: the leaked checkout');
  const [holder] = report.holders;
  assert.doesNotMatch(holder?.location ?? '', /node_modules/, 'the site is the app\'s, never a dependency\'s');
  assert.equal(holder?.location, expected);
  assert.equal(report.leak?.location, expected, 'leak-suspected names the same site');
  assert.ok(report.leak?.message.includes(expected), `leak message names the site: ${report.leak?.message}`);
  for (const frame of holder?.stack ?? []) assert.doesNotMatch(frame, /node_modules/, 'pg and poolscope frames are hidden');
  // The callers are async frames (each awaited before the checkout), in the same file. V8 prints an ES module's
  // frames as file URLs; Node prints a source-mapped frame with the original file's path.
  const absolute = path.join(appDir, site.file);
  const prefixes = [absolute, pathToFileURL(absolute).href].map((file) => `(${file}:`);
  for (const caller of ['openConnection', 'async loadOrder', 'async handleRequest']) {
    assert.ok(
      holder?.stack.some((frame) => prefixes.some((prefix) => frame.startsWith(`${caller} ${prefix}`))),
      `${caller} in ${site.file}: ${JSON.stringify(holder?.stack)}`,
    );
  }
}

/** Runs the app with `nodeArgs`, prints what it reported (for whoever reads the test output), asserts `site`. */
async function expectSite(t: TestContext, nodeArgs: readonly string[], site: Site): Promise<void> {
  const report = await runApp(nodeArgs);
  t.diagnostic(`node ${nodeArgs.join(' ')}: ${report.holders.map((holder) => holder.location).join(', ')}`);
  assertReportedAt(report, site);
}

describe('acquisition sites of a tsc-compiled TypeScript app (poolscope installed under node_modules)', () => {
  let tsSite: Site;
  let jsSite: Site;

  before(async () => {
    db = await createTestDatabase('typescript_sites');
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-ts-sites-'));
    appDir = path.join(tempDir, 'app');
    await mkdir(path.join(appDir, 'src'), { recursive: true });
    await writeFile(path.join(appDir, 'package.json'), JSON.stringify({ name: 'ts-sites-app', private: true, type: 'module' }, null, 2));
    await writeFile(path.join(appDir, 'tsconfig.json'), JSON.stringify(APP_TSCONFIG, null, 2));
    await writeFile(path.join(appDir, 'src', 'app.ts'), APP_SOURCE);
    await writeFile(path.join(appDir, 'src', 'main.ts'), MAIN_SOURCE);
    await installPoolscope(appDir);
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], appDir, childEnv(), BUILD_BOUND.timeout);
    tsSite = await siteIn('src/app.ts');
    jsSite = await siteIn('build/app.js');
    assert.notEqual(tsSite.line, jsSite.line, 'the test app must tell .ts lines from .js lines');
  }, BUILD_BOUND);

  after(async () => {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
    await db?.drop();
  });

  test('node --enable-source-maps build/app.js: the .ts line', async (t) => {
    await expectSite(t, ['--enable-source-maps', 'build/app.js'], tsSite);
  });

  test('node build/main.js, an entry that calls process.setSourceMapsEnabled(true) and then imports the app: the .ts line', async (t) => {
    await expectSite(t, ['build/main.js'], tsSite);
  });

  test('node build/app.js without source maps: the .js line (the only one Node knows)', async (t) => {
    await expectSite(t, ['build/app.js'], jsSite);
  });

  test('node --import tsx src/app.ts: the .ts line', async (t) => {
    await expectSite(t, ['--import', TSX_LOADER, 'src/app.ts'], tsSite);
  });
});
