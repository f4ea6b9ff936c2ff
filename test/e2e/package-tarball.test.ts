// The published package as a user gets it (issue 12, "Package"): `npm pack` (which runs the `prepare` build), then
// `npm install <tarball> pg` in a scratch app in a temp directory, and child processes that load every subpath of
// the package's `exports` with `import()` and with `require()` (require of ES modules: Node >= 20.19), as a user
// would, with only pg installed and then with the optional peers too.
//
// - The package is packed from a staged copy of this repo (package.json, tsconfig*.json, src and what `files`
//   lists, with this repo's node_modules linked for the build), so the build never rewrites this repo's dist/
//   while other tests may read it.
// - The install reaches the npm registry only: pg at this repo's installed version, with --prefer-offline so a
//   warm npm cache answers. The optional peers (prom-client, @opentelemetry/api) and the type packages are never
//   installed from the registry: they are symlinked from this repo's node_modules when a test needs them present.
// - Subpaths are read from the installed package.json, so a new subpath is covered without editing this file; one
//   whose module needs an optional peer at run time must be listed in RUNTIME_PEERS, one with no runtime code in
//   TYPES_ONLY.
// - pg is hidden for one test (renamed inside the scratch app, then put back): every entry still loads, and the calls
//   that load pg when called reject with PgUnavailableError naming it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPO_MODULES = path.join(REPO_ROOT, 'node_modules');
const TSC = path.join(REPO_MODULES, 'typescript', 'bin', 'tsc');
/** Packing (a full tsc build) and installing. */
const SETUP_BOUND = { timeout: 240_000 };
const COMMAND_BOUND_MILLIS = 120_000;
const CHILD_BOUND_MILLIS = 30_000;

/** Subpaths whose module imports an optional peer at run time, and that peer. Every other subpath loads with none. */
const RUNTIME_PEERS: Readonly<Record<string, string>> = { './prometheus': 'prom-client' };
/** Subpaths with types only: their module loads and exports nothing. */
const TYPES_ONLY: ReadonlySet<string> = new Set(['./cli']);
/** The optional peers left out of the scratch app at first (pg is installed: the app "has only pg"). */
const ABSENT_PEERS = ['prom-client', '@opentelemetry/api'] as const;
/**
 * Every package a user may or may not have: loading the root must reach none of them, a subpath only its
 * RUNTIME_PEERS entry. (express and fastify are never installed here: the ops routes meet them structurally.)
 */
const OPTIONAL_PEERS = ['pg', ...ABSENT_PEERS, 'express', 'fastify', 'mysql2', 'tarn', 'generic-pool', 'knex', 'piscina', 'workerpool'] as const;

const [NODE_MAJOR = 0, NODE_MINOR = 0] = process.versions.node.split('.').map(Number);
const CAN_REQUIRE_ESM = NODE_MAJOR > 22 || (NODE_MAJOR === 22 && NODE_MINOR >= 12) || (NODE_MAJOR === 20 && NODE_MINOR >= 19);

interface LoadResult {
  readonly spec: string;
  readonly ok: boolean;
  readonly keys?: readonly string[];
  /** require probe: `require(spec) === await import(spec)` (one module instance, no dual-package hazard). */
  readonly sameAsImport?: boolean;
  readonly code?: string;
  readonly message?: string;
}

interface ProbeReport {
  readonly results: readonly LoadResult[];
  /** Files of optional peers in the CommonJS cache after loading. */
  readonly peerFiles: readonly string[];
}

const PEER_FILE_PATTERN = String.raw`[\\/]node_modules[\\/](?:${OPTIONAL_PEERS.map((peer) => peer.replace('/', String.raw`[\\/]`)).join('|')})[\\/]`;

/** `node probe-import.mjs <spec>...`: import() each spec, report one JSON line. */
const PROBE_IMPORT = `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const results = [];
for (const spec of process.argv.slice(2)) {
  try {
    const ns = spec.endsWith('.json') ? await import(spec, { with: { type: 'json' } }) : await import(spec);
    results.push({ spec, ok: true, keys: Object.keys(ns).sort() });
  } catch (error) {
    results.push({ spec, ok: false, code: error?.code, message: String(error?.message ?? error) });
  }
}
const peerFiles = Object.keys(require.cache).filter((file) => new RegExp(${JSON.stringify(PEER_FILE_PATTERN)}).test(file));
process.stdout.write(JSON.stringify({ results, peerFiles }) + '\\n');
`;

/** `node probe-require.cjs <spec>...`: require() each spec (and compare with import()), report one JSON line. */
const PROBE_REQUIRE = `'use strict';
(async () => {
  const results = [];
  for (const spec of process.argv.slice(2)) {
    try {
      const loaded = require(spec);
      const sameAsImport = spec.endsWith('.json') ? undefined : loaded === (await import(spec));
      results.push({ spec, ok: true, keys: Object.keys(loaded).sort(), sameAsImport });
    } catch (error) {
      results.push({ spec, ok: false, code: error?.code, message: String(error?.message ?? error) });
    }
  }
  const peerFiles = Object.keys(require.cache).filter((file) => new RegExp(${JSON.stringify(PEER_FILE_PATTERN)}).test(file));
  process.stdout.write(JSON.stringify({ results, peerFiles }) + '\\n');
})();
`;

/**
 * \`node probe-lazy-pg.mjs\` (run while pg is hidden): the calls that load pg when called, each reported with the
 * error it rejected with. Nothing connects: loading pg fails first.
 */
const PROBE_LAZY_PG = `import { PgUnavailableError } from 'poolscope';
const url = 'postgres://127.0.0.1:1/none';
const results = [];
async function attempt(name, run) {
  try {
    await run();
    results.push({ name, ok: true });
  } catch (error) {
    results.push({ name, ok: false, code: error?.code, feature: error?.feature, isPgUnavailable: error instanceof PgUnavailableError, message: String(error?.message ?? error) });
  }
}
const { ActivityInspector } = await import('poolscope/server');
const activity = new ActivityInspector({ connectionString: url });
await attempt('poolscope/server: new ActivityInspector({ connectionString }).activity()', () => activity.activity());
await activity.close();
const { checkServerCapacity } = await import('poolscope/config');
await attempt('poolscope/config: checkServerCapacity({ connectionString })', () => checkServerCapacity({ connectionString: url, max: 10 }));
const { TestPools } = await import('poolscope/testing');
const pools = new TestPools({ connectionString: url });
await attempt('poolscope/testing: new TestPools().create()', () => pools.create());
await pools.cleanup();
process.stdout.write(JSON.stringify({ results }) + '\\n');
`;

/**
 * \`node --import ./peer-log.mjs probe-import.mjs poolscope\`: a resolve hook that records every attempt to resolve an
 * optional peer (even one whose failure the importer would catch), in the file named by POOLSCOPE_PEER_LOG.
 */
const PEER_LOG_REGISTER = `import { register } from 'node:module';
register('./peer-log-hooks.mjs', import.meta.url);
`;
const PEER_LOG_HOOKS = `import { appendFileSync } from 'node:fs';
const peers = ${JSON.stringify(OPTIONAL_PEERS)};
export async function resolve(specifier, context, next) {
  if (peers.some((peer) => specifier === peer || specifier.startsWith(peer + '/'))) {
    appendFileSync(process.env.POOLSCOPE_PEER_LOG, specifier + ' from ' + context.parentURL + '\\n');
  }
  return next(specifier, context);
}
`;

/** What a TypeScript user compiles (skipLibCheck off, so poolscope's .d.ts files are checked too). */
const TYPES_TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    types: ['node'],
  },
};
const TYPES_ROOT = `import { Inspector, trackPgPool } from 'poolscope';
export const inspector: Inspector = new Inspector();
export const track: typeof trackPgPool = trackPgPool;
`;
const TYPES_SUBPATHS = `import { TestPools } from 'poolscope/testing';
import { PrometheusExporter } from 'poolscope/prometheus';
import { OtelExporter } from 'poolscope/otel';
import { createOpsHandler, type OpsHandler, type ReadyzReport } from 'poolscope/http';
import { loadPoolConfig, type PoolConfig } from 'poolscope/config';
import { ActivityInspector, type ServerActivityReport } from 'poolscope/server';
import { TenantPools, type TenantPoolsOptions } from 'poolscope/tenants';
import type { InspectReport, StressReport } from 'poolscope/cli';

export async function main(): Promise<void> {
  const pools = new TestPools({ connectionString: 'postgres://localhost/test' });
  const { pool } = await pools.create({ name: 'main' });
  const client = await pool.connect(); // pg.PoolClient: the default pool type is pg.Pool (@types/pg)
  client.release();
  await pools.cleanup();
}
export type Exporters = [PrometheusExporter, OtelExporter];
export const entries = { createOpsHandler, loadPoolConfig, ActivityInspector, TenantPools };
export type Shapes = [OpsHandler, ReadyzReport, PoolConfig, ServerActivityReport, TenantPoolsOptions, InspectReport, StressReport];
`;

let tempDir: string | undefined;
let appDir = '';
let modulesDir = '';
/** The installed package's subpaths, as specifiers (`poolscope`, `poolscope/testing`, ...). */
let specs: string[] = [];

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeout: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, timeout, maxBuffer: 20_000_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(command)} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** The children's environment: nothing of the test runner's (loaders, test context) nor of an enclosing npm script. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of Object.keys(env)) {
    if (/^npm_(?:package_|lifecycle_|config_local_prefix$)/i.test(key)) delete env[key];
  }
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return env;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Packs this repo from a staged copy (the build runs there, not in this repo's dist/); returns the tarball's path. */
async function packTarball(dir: string): Promise<string> {
  const stage = path.join(dir, 'stage');
  await mkdir(stage, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { files?: string[] };
  const always = ['package.json', 'src', 'README.md', 'LICENSE', 'CHANGELOG.md'];
  const tsconfigs = ['tsconfig.json', 'tsconfig.build.json'];
  const listed = (manifest.files ?? []).filter((entry) => !/^\.?\/?dist(?:\/|$)/.test(entry) && !/[*?]/.test(entry));
  for (const entry of new Set([...always, ...tsconfigs, ...listed])) {
    const from = path.join(REPO_ROOT, entry);
    if (await exists(from)) await cp(from, path.join(stage, entry), { recursive: true });
  }
  await symlink(REPO_MODULES, path.join(stage, 'node_modules'), 'junction');
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], stage, childEnv(), COMMAND_BOUND_MILLIS);
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string }[];
  const filename = packed[0]?.filename;
  assert.ok(filename, `npm pack printed no filename: ${stdout}`);
  await rm(stage, { recursive: true, force: true });
  return path.join(dir, filename);
}

async function linkFromRepo(name: string): Promise<void> {
  const target = path.join(modulesDir, name);
  if (await exists(target)) return;
  await mkdir(path.dirname(target), { recursive: true });
  await symlink(path.join(REPO_MODULES, name), target, 'junction');
}

async function probe(kind: 'import' | 'require', specifiers: readonly string[], nodeArgs: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ProbeReport> {
  const script = kind === 'import' ? 'probe-import.mjs' : 'probe-require.cjs';
  const { stdout } = await run(process.execPath, [...nodeArgs, script, ...specifiers], appDir, childEnv(env), CHILD_BOUND_MILLIS);
  return JSON.parse(stdout.trimEnd().split('\n').at(-1) ?? '') as ProbeReport;
}

function resultOf(report: ProbeReport, spec: string): LoadResult {
  const result = report.results.find((entry) => entry.spec === spec);
  assert.ok(result, `no result for ${spec}`);
  return result;
}

function assertLoaded(result: LoadResult, how: string): void {
  const hint = result.code === 'ERR_REQUIRE_ASYNC_MODULE' ? ' (a module of its graph has a top-level await: require(esm) refuses those)' : '';
  assert.ok(result.ok, `${how} ${result.spec} failed: ${result.code} ${result.message}${hint}`);
  if (TYPES_ONLY.has(subpathOf(result.spec))) assert.deepEqual(result.keys, [], `${how} ${result.spec} is types only, yet exports values`);
  else assert.ok((result.keys?.length ?? 0) > 0, `${how} ${result.spec} exported nothing`);
}

/** `poolscope/prometheus` -> `./prometheus`. */
function subpathOf(spec: string): string {
  return spec === 'poolscope' ? '.' : `.${spec.slice('poolscope'.length)}`;
}

async function tsc(files: Readonly<Record<string, string>>): Promise<void> {
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(appDir, file), text);
  const tsconfig = { ...TYPES_TSCONFIG, files: Object.keys(files) };
  await writeFile(path.join(appDir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  await run(process.execPath, [TSC, '-p', 'tsconfig.json'], appDir, childEnv(), COMMAND_BOUND_MILLIS);
}

describe('the packed tarball, installed in a scratch app with only pg', () => {
  before(async () => {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-tarball-'));
    const tarball = await packTarball(tempDir);
    appDir = path.join(tempDir, 'app');
    modulesDir = path.join(appDir, 'node_modules');
    await mkdir(appDir);
    await writeFile(path.join(appDir, 'package.json'), JSON.stringify({ name: 'tarball-app', private: true }, null, 2));
    const pgVersion = (JSON.parse(await readFile(path.join(REPO_MODULES, 'pg', 'package.json'), 'utf8')) as { version: string }).version;
    await run(
      'npm',
      ['install', tarball, `pg@${pgVersion}`, '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--ignore-scripts'],
      appDir,
      childEnv(),
      COMMAND_BOUND_MILLIS,
    );
    for (const [file, text] of Object.entries({
      'probe-import.mjs': PROBE_IMPORT,
      'probe-require.cjs': PROBE_REQUIRE,
      'peer-log.mjs': PEER_LOG_REGISTER,
      'peer-log-hooks.mjs': PEER_LOG_HOOKS,
      'probe-lazy-pg.mjs': PROBE_LAZY_PG,
    })) {
      await writeFile(path.join(appDir, file), text);
    }
    const installed = JSON.parse(await readFile(path.join(modulesDir, 'poolscope', 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    specs = Object.keys(installed.exports).map((subpath) => (subpath === '.' ? 'poolscope' : `poolscope${subpath.slice(1)}`));
    for (const peer of ABSENT_PEERS) assert.equal(await exists(path.join(modulesDir, peer)), false, `${peer} must not be installed yet`);
  }, SETUP_BOUND);

  after(async () => {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  });

  test('every subpath of exports has a types and a default (or require) condition', async () => {
    const installed = JSON.parse(await readFile(path.join(modulesDir, 'poolscope', 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    assert.ok(specs.includes('poolscope'), 'the root is exported');
    for (const [subpath, target] of Object.entries(installed.exports)) {
      if (typeof target === 'string') continue;
      const conditions = target as Record<string, unknown>;
      assert.equal(Object.keys(conditions)[0], 'types', `${subpath}: types comes first`);
      assert.ok('default' in conditions || 'require' in conditions, `${subpath}: require() needs a require or default condition`);
      for (const file of Object.values(conditions)) {
        assert.ok(await exists(path.join(modulesDir, 'poolscope', String(file))), `${subpath}: ${String(file)} is in the tarball`);
      }
    }
  });

  test('without prom-client and @opentelemetry/api: import() loads every subpath but those needing a missing peer, which fail naming it', async () => {
    const report = await probe('import', specs);
    for (const spec of specs) {
      const result = resultOf(report, spec);
      const peer = RUNTIME_PEERS[subpathOf(spec)];
      if (peer === undefined) {
        assertLoaded(result, 'import()');
        continue;
      }
      assert.equal(result.ok, false, `${spec} loaded without ${peer}`);
      assert.equal(result.code, 'ERR_MODULE_NOT_FOUND', `${spec}: ${result.message}`);
      assert.ok(result.message?.includes(`'${peer}'`), `${spec}: the error names ${peer}: ${result.message}`);
    }
    // ./otel imports @opentelemetry/api's types only (the Meter is the caller's): it loads without the package.
    if (specs.includes('poolscope/otel')) assertLoaded(resultOf(report, 'poolscope/otel'), 'import() without @opentelemetry/api:');
  });

  test('without prom-client and @opentelemetry/api: require() does the same (Node >= 20.19)', { skip: !CAN_REQUIRE_ESM && `Node ${process.version} cannot require ES modules` }, async () => {
    const report = await probe('require', specs);
    for (const spec of specs) {
      const result = resultOf(report, spec);
      const peer = RUNTIME_PEERS[subpathOf(spec)];
      if (peer === undefined) {
        assertLoaded(result, 'require()');
        if (result.sameAsImport !== undefined) assert.equal(result.sameAsImport, true, `require('${spec}') is the same module as import()`);
        continue;
      }
      assert.equal(result.ok, false, `${spec} loaded without ${peer}`);
      assert.ok(result.message?.includes(`'${peer}'`), `${spec}: the error names ${peer}: ${result.code} ${result.message}`);
    }
  });

  test('without pg as well: every entry but those needing a missing peer loads; calls that load pg reject with PgUnavailableError naming it', async () => {
    const hidden = path.join(modulesDir, '.pg-hidden-by-test');
    await rename(path.join(modulesDir, 'pg'), hidden);
    try {
      const report = await probe('import', specs);
      for (const spec of specs) {
        if (RUNTIME_PEERS[subpathOf(spec)] === undefined) assertLoaded(resultOf(report, spec), 'import() without pg:');
      }
      const { stdout } = await run(process.execPath, ['probe-lazy-pg.mjs'], appDir, childEnv(), CHILD_BOUND_MILLIS);
      const lazy = JSON.parse(stdout.trimEnd().split('\n').at(-1) ?? '') as {
        results: { name: string; ok: boolean; code?: string; isPgUnavailable?: boolean; message?: string }[];
      };
      assert.equal(lazy.results.length, 3, stdout);
      for (const result of lazy.results) {
        assert.equal(result.ok, false, `${result.name} worked without pg`);
        assert.equal(result.code, 'POOLSCOPE_ERR_PG_UNAVAILABLE', `${result.name}: ${result.code} ${result.message}`);
        assert.equal(result.isPgUnavailable, true, `${result.name}: a PgUnavailableError (from 'poolscope')`);
        assert.match(result.message ?? '', /'pg'|npm install (?:--save-dev )?pg/, `${result.name}: the message names pg: ${result.message}`);
      }
    } finally {
      await rename(hidden, path.join(modulesDir, 'pg'));
    }
  });

  test('the tarball ships src/ (not the tests) so that its source maps resolve', async () => {
    const installed = path.join(modulesDir, 'poolscope');
    assert.equal(await exists(path.join(installed, 'src', 'index.ts')), true, 'src/index.ts is in the tarball');
    assert.equal(await exists(path.join(installed, 'test')), false, 'test/ is not in the tarball');
    for (const map of ['dist/index.js.map', 'dist/index.d.ts.map']) {
      const { sources } = JSON.parse(await readFile(path.join(installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        assert.equal(await exists(path.resolve(path.dirname(path.join(installed, map)), source)), true, `${map} points at ${source}, which is shipped`);
      }
    }
  });

  test('types: the root compiles with skipLibCheck off and neither @types/pg nor an optional peer', async () => {
    await linkFromRepo('@types/node');
    await tsc({ 'types-root.ts': TYPES_ROOT });
  });

  describe('with the optional peers present (symlinked from this repo)', () => {
    before(async () => {
      for (const name of [...ABSENT_PEERS, '@types/pg']) await linkFromRepo(name);
    });

    test('import() and require() load every subpath, to the same module', async () => {
      const imported = await probe('import', specs);
      for (const spec of specs) assertLoaded(resultOf(imported, spec), 'import()');
      if (!CAN_REQUIRE_ESM) return;
      const required = await probe('require', specs);
      for (const spec of specs) {
        const result = resultOf(required, spec);
        assertLoaded(result, 'require()');
        // (a JSON module's namespace has only `default`; require() gives the object itself)
        if (!spec.endsWith('.json')) assert.deepEqual(result.keys, resultOf(imported, spec).keys, `require('${spec}') has the names import() has`);
        if (result.sameAsImport !== undefined) assert.equal(result.sameAsImport, true, `require('${spec}') is the same module as import()`);
      }
    });

    test('loading the root reaches no optional peer, and a subpath only its own (import() and require())', async () => {
      const log = path.join(tempDir ?? appDir, 'peer-log.txt');
      for (const spec of specs) {
        await writeFile(log, '');
        const imported = await probe('import', [spec], ['--import', './peer-log.mjs'], { POOLSCOPE_PEER_LOG: log });
        assertLoaded(resultOf(imported, spec), 'import()');
        const peer = RUNTIME_PEERS[subpathOf(spec)];
        const reached = (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '' && (peer === undefined || !line.startsWith(`${peer} `)));
        assert.deepEqual(reached, [], `resolutions of optional peers while importing ${spec}`);
        if (peer === undefined) assert.deepEqual(imported.peerFiles, [], `optional peers in the module cache after importing ${spec}`);
      }
      if (!CAN_REQUIRE_ESM) return;
      const required = await probe('require', ['poolscope']);
      assertLoaded(resultOf(required, 'poolscope'), 'require()');
      assert.deepEqual(required.peerFiles, [], 'optional peers in the module cache after requiring the root (and importing it again)');
    });

    test('types: every subpath compiles with skipLibCheck off, poolscope/testing typed with pg.Pool (@types/pg)', async () => {
      await tsc({ 'types-subpaths.ts': TYPES_SUBPATHS });
    });
  });
});
