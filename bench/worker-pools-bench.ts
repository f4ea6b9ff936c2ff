// What tracking a worker pool costs per task (issue 16): a tracked pool against a bare one of the same settings, for
// Piscina (worker threads) and workerpool (worker threads, child processes), in one process, interleaved rounds.
// Informational: no target is asserted, the exit code is 0 (2 for bad flags).
//
//   node --import tsx bench/worker-pools-bench.ts [--rounds 7] [--tasks 5000] [--concurrency 16] [--workers 4]
//        [--kinds piscina,workerpool-thread,workerpool-process] [--lib tsc|src]
//
// Method. For each kind, three pools of the same settings are created once and warmed up: `bare` (not tracked),
// `tracked` (trackPiscina / trackWorkerpool, no listener) and `events` (tracked, with a listener on each of the four
// worker pool events, so every task builds its worker-task-executed payload). Each round runs --tasks tasks of the
// cheapest kind (`echo`, test/fixtures/workers/tasks.mjs) through each pool, --concurrency in flight (so the queue is
// used), the pools in a rotating order. Per pool and round: wall time per task, and the main thread's busy time per
// task (event loop utilization: where poolscope's bookkeeping runs; process.cpuUsage() would add the worker
// threads). Medians over the rounds; the ratio is bare's median wall time over the variant's (1.00 = free, lower
// is slower). The background memory sampling (every 10 s) is left at its default.
//
// --lib tsc (default) measures the current src/ transpiled by TypeScript (what users run); --lib src through tsx,
// whose keepNames wrapping adds a little per closure (see bench/README.md).

import { rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import workerpool from 'workerpool';
import type * as Root from '../src/index.js';
import type * as PiscinaSubpath from '../src/adapters/piscina/index.js';
import type * as WorkerpoolSubpath from '../src/adapters/workerpool/index.js';
import { transpileSources } from './load-poolscope.js';

const KINDS = ['piscina', 'workerpool-thread', 'workerpool-process'] as const;
type Kind = (typeof KINDS)[number];
const VARIANTS = ['bare', 'tracked', 'events'] as const;
type Variant = (typeof VARIANTS)[number];
const WORKER_EVENTS = ['worker-pool-saturated', 'worker-capacity-reached', 'worker-task-executed', 'worker-exited'] as const;

const FIXTURES = fileURLToPath(new URL('../test/fixtures/workers/', import.meta.url));
const TASKS_FILE = path.join(FIXTURES, 'tasks.mjs');
const WORKERPOOL_FILE = path.join(FIXTURES, 'workerpool-worker.mjs');

interface Args {
  readonly rounds: number;
  readonly tasks: number;
  readonly concurrency: number;
  readonly workers: number;
  readonly kinds: readonly Kind[];
  readonly lib: 'tsc' | 'src';
}

function usage(problem: string): never {
  process.stderr.write(`worker-pools-bench: ${problem}\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const args = { rounds: 7, tasks: 5000, concurrency: 16, workers: 4, kinds: [...KINDS] as Kind[], lib: 'tsc' as 'tsc' | 'src' };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${String(flag)} needs a value`);
    if (flag === '--rounds' || flag === '--tasks' || flag === '--concurrency' || flag === '--workers') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) usage(`${flag} must be a whole number >= 1`);
      args[flag.slice(2) as 'rounds' | 'tasks' | 'concurrency' | 'workers'] = n;
    } else if (flag === '--kinds') {
      const kinds = value.split(',');
      for (const kind of kinds) if (!(KINDS as readonly string[]).includes(kind)) usage(`--kinds: unknown ${kind} (${KINDS.join(', ')})`);
      args.kinds = kinds as Kind[];
    } else if (flag === '--lib') {
      if (value !== 'tsc' && value !== 'src') usage('--lib must be tsc or src');
      args.lib = value;
    } else usage(`unknown flag ${String(flag)}`);
  }
  return args;
}

interface Libs {
  readonly root: typeof Root;
  readonly piscina: typeof PiscinaSubpath;
  readonly workerpool: typeof WorkerpoolSubpath;
  readonly description: string;
  dispose(): void;
}

async function loadLibs(choice: 'tsc' | 'src'): Promise<Libs> {
  if (choice === 'src') {
    return {
      root: await import('../src/index.js'),
      piscina: await import('../src/adapters/piscina/index.js'),
      workerpool: await import('../src/adapters/workerpool/index.js'),
      description: 'src/ through tsx (--lib src)',
      dispose: () => undefined,
    };
  }
  const dir = transpileSources();
  const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(path.join(dir, file)).href)) as T;
  return {
    root: await load<typeof Root>('index.js'),
    piscina: await load<typeof PiscinaSubpath>('adapters/piscina/index.js'),
    workerpool: await load<typeof WorkerpoolSubpath>('adapters/workerpool/index.js'),
    description: 'current src/ transpiled by TypeScript (--lib tsc)',
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** One pool: how to submit the echo task, and how to end it. */
interface BenchPool {
  submit(): PromiseLike<unknown>;
  close(): Promise<unknown>;
}

function createPool(kind: Kind, workers: number): BenchPool {
  if (kind === 'piscina') {
    const pool = new Piscina({ filename: pathToFileURL(TASKS_FILE).href, minThreads: workers, maxThreads: workers, idleTimeout: 60_000 });
    return { submit: () => pool.run(1, { name: 'echo' }), close: () => pool.destroy(), ...{ pool } };
  }
  const pool = workerpool.pool(WORKERPOOL_FILE, {
    workerType: kind === 'workerpool-thread' ? 'thread' : 'process',
    minWorkers: workers,
    maxWorkers: workers,
  });
  return { submit: () => pool.exec('echo', [1]), close: async () => {
      await pool.terminate(true);
    }, ...{ pool } };
}

/** Runs `tasks` submissions, `concurrency` in flight; returns [wall ms, main-thread busy ms]. */
async function drive(pool: BenchPool, tasks: number, concurrency: number): Promise<[number, number]> {
  let submitted = 0;
  const lane = async (): Promise<void> => {
    while (submitted < tasks) {
      submitted += 1;
      await pool.submit();
    }
  };
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks) }, lane));
  const wall = performance.now() - started;
  const busy = performance.eventLoopUtilization(elu).active;
  return [wall, busy];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function benchKind(kind: Kind, args: Args, libs: Libs): Promise<void> {
  const inspector = new libs.root.Inspector({ alerts: false, historyIntervalMillis: 0 });
  const pools = new Map<Variant, BenchPool>();
  for (const variant of VARIANTS) {
    const pool = createPool(kind, args.workers);
    pools.set(variant, pool);
    if (variant === 'bare') continue;
    const inner = (pool as unknown as { pool: unknown }).pool;
    const name = `${kind}-${variant}`;
    if (kind === 'piscina') libs.piscina.trackPiscina(inspector, inner as PiscinaSubpath.PiscinaLike, { name });
    else libs.workerpool.trackWorkerpool(inspector, inner as WorkerpoolSubpath.WorkerpoolPoolLike, { name });
  }
  const sink: unknown[] = [];
  for (const type of WORKER_EVENTS) {
    inspector.on(type, (event) => {
      if (event.poolName.endsWith('-events')) sink[0] = event;
    });
  }
  // Warm-up: every worker started and every code path compiled.
  for (const pool of pools.values()) await drive(pool, Math.min(args.tasks, 2000), args.concurrency);
  const wall = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  const busy = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < args.rounds; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);
    for (const variant of order) {
      const [w, b] = await drive(pools.get(variant) as BenchPool, args.tasks, args.concurrency);
      wall.get(variant)?.push((w * 1000) / args.tasks);
      busy.get(variant)?.push((b * 1000) / args.tasks);
    }
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  const bareWall = median(wall.get('bare') ?? []);
  const bareBusy = median(busy.get('bare') ?? []);
  console.log(`\n${kind} (${args.workers} workers, ${args.concurrency} in flight, ${args.tasks} tasks x ${args.rounds} rounds)`);
  console.log('  variant   us/task (wall)  ratio  main-thread busy us/task  added busy us/task');
  for (const variant of VARIANTS) {
    const w = median(wall.get(variant) ?? []);
    const b = median(busy.get(variant) ?? []);
    console.log(
      `  ${variant.padEnd(8)}  ${w.toFixed(2).padStart(14)}  ${(bareWall / w).toFixed(2).padStart(5)}  ${b.toFixed(2).padStart(24)}` +
        `  ${variant === 'bare' ? '' : (b - bareBusy).toFixed(2).padStart(18)}`,
    );
  }
  inspector.close();
  for (const pool of pools.values()) await pool.close();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const libs = await loadLibs(args.lib);
  try {
    console.log(`worker-pools-bench: Node ${process.version}, ${libs.description}`);
    for (const kind of args.kinds) await benchKind(kind, args, libs);
  } finally {
    libs.dispose();
  }
}

await main();
