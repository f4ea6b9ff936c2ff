// What `queryComments` (issue 18) costs per statement: a tracked pg.Pool with comments against the same pool
// without them, and against bare pg, in one process and one run. Informational: no target is asserted; it exits 0
// once it has printed (2 for bad flags).
//
//   node --import tsx bench/query-comments-bench.ts [--rounds 8] [--seconds 0.6] [--slice-ms 100] [--concurrency 8]
//        [--pool-max 8] [--stack-depth 12] [--micro-iterations 200000] [--lib tsc|src] [--source-maps off|on]
//
// Method (the slice interleaving of adapters-bench.ts, see bench/README.md):
// - one pool per variant, created once: `bare` (untracked, the reference), `control` (a second untracked pool: the
//   A/A check), `tracked` (trackPgPool, default options: adaptive stacks, no comments), `comments` (the same with
//   `queryComments: true`), `tracked-always` and `comments-always` (`stackCapture: 'always'`, so every lease has a
//   stack and its comment a `file`, formatted once per lease). All tracked pools share one Inspector;
// - every worker loops inside `inspector.runAs({ label: 'GET /orders/:id', kind: 'request' }, loop)`, whatever pool
//   it runs on: comments carry an owner, and every variant pays the same AsyncLocalStorage hooks (on Node 20 the
//   first run() turns them on for the whole process);
// - each round is one run: --concurrency workers loop on the active pool's operation, the active pool changes every
//   --slice-ms round-robin (the order rotating per round); after a warm-up of one full turn, each pool gets --seconds
//   of measured slices. Per round and pool: operations per second and process CPU (user + system) per operation;
//   the table shows medians over rounds of the ratio to bare, and dCPU (us per operation) against bare and against
//   the same tracking without comments;
// - workloads: checkout + `SELECT 1` + release (one statement per lease: a lease's comment is built for each), the
//   one-shot `pool.query('SELECT 1')`, and checkout + 5 statements + release (the comment built once, reused 4 times);
// - calls are made --stack-depth synchronous frames deep, so a captured stack walks as many frames as in an app.
// Then a micro-benchmark of the pieces, no I/O: one statement with its lease's comment cached (a string, a config
// object), building a lease's comment (owner, with and without `file`), and formatting a captured stack (what `file`
// costs for a lease that has a stack and was not formatted yet).
//
// Source maps: tsx turns Node's source-map support on, which makes reading a stack's text (the costly part of
// formatting a lease's location) several us slower; --source-maps off (default) turns it off before anything runs, as
// a plain `node dist/app.js` runs; `on` measures an app started with --enable-source-maps.
//
// Backend: DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres (loopback only).

import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type * as Root from '../src/index.js';
import type * as CommentsModule from '../src/adapters/pg/pg-query-comments.js';
import type * as LeaseModule from '../src/core/lease.js';
import type * as OwnerModule from '../src/core/owner-context.js';
import type * as StackModule from '../src/core/stack-capture.js';
import type * as OptionsModule from '../src/core/query-comment-options.js';
import type { PoolTracker } from '../src/core/pool-tracker.js';
import { transpileSources } from './load-poolscope.js';

const VARIANTS = ['bare', 'control', 'tracked', 'comments', 'tracked-always', 'comments-always'] as const;
type Variant = (typeof VARIANTS)[number];
const WORKLOADS = ['connect+query+release', 'pool.query', 'connect+5 queries+release'] as const;
type Workload = (typeof WORKLOADS)[number];
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const OWNER = { label: 'GET /orders/:id', kind: 'request' } as const;

interface Args {
  rounds: number;
  seconds: number;
  sliceMs: number;
  concurrency: number;
  poolMax: number;
  stackDepth: number;
  microIterations: number;
  lib: 'tsc' | 'src';
  sourceMaps: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { rounds: 8, seconds: 0.6, sliceMs: 100, concurrency: 8, poolMax: 8, stackDepth: 12, microIterations: 200_000, lib: 'tsc', sourceMaps: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const num = (min: number): number => {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n) || n < min) usage(`${flag} needs a number >= ${min}`);
      i += 1;
      return n;
    };
    switch (flag) {
      case '--rounds': args.rounds = Math.round(num(1)); break;
      case '--seconds': args.seconds = num(0.05); break;
      case '--slice-ms': args.sliceMs = num(10); break;
      case '--concurrency': args.concurrency = Math.round(num(1)); break;
      case '--pool-max': args.poolMax = Math.round(num(1)); break;
      case '--stack-depth': args.stackDepth = Math.round(num(0)); break;
      case '--micro-iterations': args.microIterations = Math.round(num(1000)); break;
      case '--lib':
        if (value !== 'tsc' && value !== 'src') usage('--lib is tsc or src');
        args.lib = value;
        i += 1;
        break;
      case '--source-maps':
        if (value !== 'on' && value !== 'off') usage('--source-maps is on or off');
        args.sourceMaps = value === 'on';
        i += 1;
        break;
      default: usage(`unknown flag ${String(flag)}`);
    }
  }
  return args;
}

function usage(problem: string): never {
  process.stderr.write(`query-comments-bench: ${problem}\n`);
  process.exit(2);
}

interface Libs {
  readonly root: typeof Root;
  readonly comments: typeof CommentsModule;
  readonly lease: typeof LeaseModule;
  readonly owner: typeof OwnerModule;
  readonly stack: typeof StackModule;
  readonly options: typeof OptionsModule;
  readonly description: string;
}

async function loadLibs(choice: 'tsc' | 'src'): Promise<Libs> {
  if (choice === 'src') {
    return {
      root: await import('../src/index.js'),
      comments: await import('../src/adapters/pg/pg-query-comments.js'),
      lease: await import('../src/core/lease.js'),
      owner: await import('../src/core/owner-context.js'),
      stack: await import('../src/core/stack-capture.js'),
      options: await import('../src/core/query-comment-options.js'),
      description: 'src/ through tsx (--lib src: keepNames overstates closures)',
    };
  }
  const dir = transpileSources();
  try {
    const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(path.join(dir, file)).href)) as T;
    return {
      root: await load<typeof Root>('index.js'),
      comments: await load<typeof CommentsModule>('adapters/pg/pg-query-comments.js'),
      lease: await load<typeof LeaseModule>('core/lease.js'),
      owner: await load<typeof OwnerModule>('core/owner-context.js'),
      stack: await load<typeof StackModule>('core/stack-capture.js'),
      options: await load<typeof OptionsModule>('core/query-comment-options.js'),
      description: 'current src/ transpiled by TypeScript (as tsc emits it)',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function loopbackUrl(): string {
  const url = process.env.DATABASE_URL ?? DEFAULT_URL;
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) usage(`DATABASE_URL must point at loopback, not ${host}`);
  return url;
}

function atDepth<T>(depth: number, fn: () => T): T {
  return depth <= 0 ? fn() : atDepth(depth - 1, fn);
}

function operation(pool: pg.Pool, workload: Workload, depth: number): () => Promise<unknown> {
  switch (workload) {
    case 'pool.query':
      return () => atDepth(depth, () => pool.query('SELECT 1'));
    case 'connect+query+release':
      return async () => {
        const client = await atDepth(depth, () => pool.connect());
        try {
          await client.query('SELECT 1');
        } finally {
          client.release();
        }
      };
    case 'connect+5 queries+release':
      return async () => {
        const client = await atDepth(depth, () => pool.connect());
        try {
          for (let i = 0; i < 5; i++) await client.query('SELECT 1');
        } finally {
          client.release();
        }
      };
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

interface Totals {
  ops: number;
  cpu: number;
  millis: number;
}

/** One round of one workload: slices round-robin over the variants; totals per variant (warm-up excluded). */
async function runRound(
  args: Args,
  pools: ReadonlyMap<Variant, pg.Pool>,
  workload: Workload,
  order: readonly Variant[],
  inspector: Root.Inspector,
): Promise<Map<Variant, Totals>> {
  const totals = new Map<Variant, Totals>(order.map((v) => [v, { ops: 0, cpu: 0, millis: 0 }]));
  const ops = new Map(order.map((v) => [v, operation(pools.get(v) as pg.Pool, workload, args.stackDepth)]));
  let active: Variant = order[0] as Variant;
  let completed = 0;
  let stopping = false;
  const worker = (): Promise<void> =>
    inspector.runAs(OWNER, async () => {
      while (!stopping) {
        const variant = active;
        await (ops.get(variant) as () => Promise<unknown>)();
        if (variant === active) completed += 1;
      }
    });
  const workers = Array.from({ length: args.concurrency }, worker);
  const measuredSlices = Math.max(1, Math.round((args.seconds * 1000) / args.sliceMs));
  const warmupSlices = order.length;
  for (let slice = 0; slice < warmupSlices + measuredSlices * order.length; slice++) {
    active = order[slice % order.length] as Variant;
    completed = 0;
    const cpu0 = cpuMicros();
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, args.sliceMs));
    const t = totals.get(active) as Totals;
    if (slice >= warmupSlices) {
      t.ops += completed;
      t.cpu += cpuMicros() - cpu0;
      t.millis += performance.now() - t0;
    }
  }
  stopping = true;
  await Promise.all(workers);
  return totals;
}

async function macro(args: Args, libs: Libs): Promise<void> {
  const url = loopbackUrl();
  const inspector = new libs.root.Inspector({ appName: 'bench-app', historyIntervalMillis: 0 });
  const pools = new Map<Variant, pg.Pool>();
  for (const variant of VARIANTS) {
    const pool = new pg.Pool({ connectionString: url, max: args.poolMax, idleTimeoutMillis: 0 });
    pools.set(variant, pool);
    if (variant === 'bare' || variant === 'control') continue;
    libs.root.trackPgPool(inspector, pool, {
      name: `bench-${variant}`,
      leakThresholdMillis: 0,
      ...(variant.endsWith('always') ? { stackCapture: 'always' as const } : {}),
      ...(variant.startsWith('comments') ? { queryComments: true } : {}),
    });
  }
  // One check that comments are on where they should be (the statement's text on the server).
  const probe = await (pools.get('comments-always') as pg.Pool).connect();
  const { rows } = await probe.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()');
  probe.release();
  process.stdout.write(`check: comments-always sends ${rows[0]?.query}\n`);

  const results = new Map<string, Map<Variant, { cpu: number[]; rate: number[] }>>();
  const started = performance.now();
  for (const workload of WORKLOADS) {
    const perVariant = new Map(VARIANTS.map((v) => [v, { cpu: [] as number[], rate: [] as number[] }]));
    for (let round = 0; round < args.rounds; round++) {
      const rotated = [...VARIANTS.slice(round % VARIANTS.length), ...VARIANTS.slice(0, round % VARIANTS.length)];
      const totals = await runRound(args, pools, workload, rotated, inspector);
      for (const variant of VARIANTS) {
        const t = totals.get(variant) as Totals;
        perVariant.get(variant)?.cpu.push(t.cpu / Math.max(1, t.ops));
        perVariant.get(variant)?.rate.push((t.ops / t.millis) * 1000);
      }
      process.stderr.write(`  ${workload}: round ${round + 1}/${args.rounds}\n`);
    }
    results.set(workload, perVariant);
  }
  const seconds = (performance.now() - started) / 1000;

  const lines = [
    '',
    `| workload | variant | CPU us/op | CPU / bare | dCPU vs bare | dCPU vs same tracking without comments | ops/s / bare |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const [workload, perVariant] of results) {
    const bare = perVariant.get('bare') as { cpu: number[]; rate: number[] };
    for (const variant of VARIANTS) {
      const v = perVariant.get(variant) as { cpu: number[]; rate: number[] };
      const ratio = median(v.cpu.map((c, i) => c / (bare.cpu[i] ?? Number.NaN)));
      const dBare = median(v.cpu.map((c, i) => c - (bare.cpu[i] ?? Number.NaN)));
      const baseline = variant === 'comments' ? 'tracked' : variant === 'comments-always' ? 'tracked-always' : undefined;
      const base = baseline === undefined ? undefined : perVariant.get(baseline);
      const dTracked = base === undefined ? '' : signed(median(v.cpu.map((c, i) => c - (base.cpu[i] ?? Number.NaN))));
      const rate = median(v.rate.map((r, i) => r / (bare.rate[i] ?? Number.NaN)));
      lines.push(`| ${workload} | ${variant} | ${median(v.cpu).toFixed(1)} | ${ratio.toFixed(3)} | ${signed(dBare)} | ${dTracked} | ${rate.toFixed(3)} |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n\nmacro: ${args.rounds} rounds x ${WORKLOADS.length} workloads in ${seconds.toFixed(0)} s\n`);
  inspector.close();
  await Promise.all([...pools.values()].map((pool) => pool.end()));
}

function signed(n: number): string {
  return `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;
}

/** ns per call of `fn` over `iterations` (after a warm-up of a tenth). */
function nsPer(iterations: number, fn: (i: number) => unknown): number {
  let sink: unknown;
  for (let i = 0; i < iterations / 10; i++) sink = fn(i);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) sink = fn(i);
  const ns = ((performance.now() - t0) * 1e6) / iterations;
  if (sink === Symbol.for('never')) process.stdout.write('');
  return ns;
}

function micro(args: Args, libs: Libs): void {
  const { PgQueryCommenter } = libs.comments;
  const { Lease } = libs.lease;
  const { Owner } = libs.owner;
  const n = args.microIterations;
  const owner = new Owner(1, OWNER, undefined, 0);
  const tracker = {
    name: 'main',
    options: { stackCaptureBudgetPerSecond: 200 },
    now: () => performance.now(),
    leaseLocation: (lease: LeaseModule.Lease) => lease.formatted?.location,
    reportInternalError: () => undefined,
  } as unknown as PoolTracker;
  const resolved = libs.options.resolveQueryComments(true);
  if (resolved === undefined) throw new Error('queryComments: true resolved to off');
  const commenter = new PgQueryCommenter(resolved, tracker, 'bench-app', () => undefined);
  const text = 'SELECT id, total FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20';
  const config = { text, values: [42] };
  const site: StackModule.FormattedStack = { location: 'src/routes/orders.ts:42:17', locationStatus: 'found', frames: [], rawFrames: 5, userFrameIndex: 1 };
  /** A lease with a stack already formatted (its site known), or with none. */
  const leaseOf = (id: number, formatted: boolean): LeaseModule.Lease => {
    const lease = new Lease(id, 'main', owner, formatted ? {} : undefined, 0);
    if (formatted) lease.formatted = site;
    return lease;
  };
  const lease = leaseOf(1, true);
  const holder = { queryComment: undefined };
  commenter.annotate(text, text, lease, holder);
  const rows: [string, number][] = [
    ['a statement, its lease comment cached (string)', nsPer(n, () => commenter.annotate(text, text, lease, holder))],
    ['a statement, its lease comment cached (config object: copied)', nsPer(n, () => commenter.annotate(config, text, lease, holder))],
    ['a statement left alone (holds a comment)', nsPer(n, () => commenter.annotate('SELECT 1 -- x', 'SELECT 1 -- x', lease, holder))],
    ['a new lease: build its comment + one statement, with file (location already formatted)', nsPer(n, (i) => commenter.annotate(text, text, leaseOf(i, true), { queryComment: undefined }))],
    ['a new lease: build its comment + one statement, no stack (no file)', nsPer(n, (i) => commenter.annotate(text, text, leaseOf(i, false), { queryComment: undefined }))],
  ];
  // What `file` costs for a lease with a stack not formatted yet: reading V8's stack text and finding the site.
  const { captureStack, formatStack } = libs.stack;
  const captured = (): StackModule.StackHolder => atDepth(args.stackDepth, () => captureStack(5, captured));
  rows.push(['capture a stack (5 frames, 12 deep; paid by stackCapture, not by comments)', nsPer(Math.min(n, 50_000), () => captured())]);
  rows.push(['capture + format it (the first read of a lease location)', nsPer(Math.min(n, 50_000), () => formatStack(captured()))]);
  const lines = ['', '| piece (no I/O) | ns per call |', '|---|---|', ...rows.map(([what, ns]) => `| ${what} | ${ns.toFixed(0)} |`)];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.setSourceMapsEnabled(args.sourceMaps);
  const libs = await loadLibs(args.lib);
  process.stdout.write(
    `query-comments-bench: node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${libs.description}\n` +
      `rounds ${args.rounds}, ${args.seconds} s per pool per round in ${args.sliceMs} ms slices, concurrency ${args.concurrency}, pool max ${args.poolMax}, ` +
      `source maps ${process.sourceMapsEnabled ? 'on' : 'off'}\n`,
  );
  micro(args, libs);
  await macro(args, libs);
}

await main();
