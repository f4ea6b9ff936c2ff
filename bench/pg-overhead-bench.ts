// Throughput cost of poolscope on a real PostgreSQL: `SELECT 1` through a tracked pg.Pool against a bare one, in
// the same process, interleaved A B A B: variants X are default, always, off and `control` (an untracked second pool
// that shows the method's own noise and bias). By default each round is one run whose workers switch pool every
// 100 ms, round-robin over bare X1 X2 X3 X4 (every pool equally often, so equally warm); with --interleave run, each
// round is the separate runs bare X1 bare X2 ... (A B A C ...). Each X is compared with bare in the same round; the
// table reports the median ratio.
// Informational: prints PASS/MISS against the targets and exits 0 once it has measured.
//
//   node --import tsx bench/pg-overhead-bench.ts [--rounds 5] [--seconds 1.2] [--warmup 0.25]
//        [--concurrency 10,50] [--workloads query,connect] [--variants default,always,off,control]
//        [--interleave slice|run] [--slice-ms 100] [--stack-depth 12] [--budget 280] [--lib tsc|dist|src]
//
// DATABASE_URL if set (loopback only), else postgres://postgres@127.0.0.1:5432/postgres. See bench/README.md.

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Inspector, PoolTracker, PoolTrackingOptions } from '../src/index.js';
import { LIB_CHOICES, loadPoolscope } from './load-poolscope.js';
import type { LibChoice } from './load-poolscope.js';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const POOL_MAX = 10;
const PRIME_SECONDS = 0.5;

const WORKLOADS = ['query', 'connect'] as const;
type Workload = (typeof WORKLOADS)[number];
const WORKLOAD_LABEL: Record<Workload, string> = {
  query: "pool.query('SELECT 1')",
  connect: 'connect+query+release',
};

const TRACKED = ['default', 'always', 'off'] as const;
type TrackedName = (typeof TRACKED)[number];
/** Compared against bare: the tracked variants, and `control`, a second untracked pool (an A/A check of the method). */
const COMPARED = [...TRACKED, 'control'] as const;
type ComparedName = (typeof COMPARED)[number];
type VariantName = 'bare' | ComparedName;
const isTracked = (name: VariantName): name is TrackedName => (TRACKED as readonly string[]).includes(name);

/** Median ratio against the adjacent bare run that each tracked variant must reach. */
const TARGETS: Record<TrackedName, number> = { default: 0.97, always: 0.88, off: 0.99 };

const TRACKING_OPTIONS: Record<TrackedName, PoolTrackingOptions> = {
  default: { name: 'bench-default' },
  always: { name: 'bench-always', stackCapture: 'always' },
  off: { name: 'bench-off', stackCapture: 'off' },
};

// ---- arguments --------------------------------------------------------------------------------------------------

interface Args {
  rounds: number;
  seconds: number;
  warmup: number;
  concurrency: number[];
  workloads: Workload[];
  stackDepth: number;
  budget: number;
  lib: LibChoice;
  variants: ComparedName[];
  interleave: Interleave;
  sliceMs: number;
}

/** `slice`: bare and X share each measurement, taking turns every --slice-ms; `run`: separate runs, bare then X. */
const INTERLEAVES = ['slice', 'run'] as const;
type Interleave = (typeof INTERLEAVES)[number];

function usage(message: string): never {
  console.error(`pg-overhead-bench: ${message}`);
  console.error(
    'usage: node --import tsx bench/pg-overhead-bench.ts [--rounds N] [--seconds S] [--warmup S] ' +
      '[--concurrency 10,50] [--workloads query,connect] [--variants default,always,off,control] ' +
      '[--interleave slice|run] [--slice-ms MS] [--stack-depth N] [--budget S] [--lib tsc|dist|src]',
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    rounds: 5,
    seconds: 1.5,
    warmup: 0.25,
    concurrency: [10, 50],
    workloads: [...WORKLOADS],
    stackDepth: 12,
    budget: 280,
    lib: 'tsc',
    variants: [...COMPARED],
    interleave: 'slice',
    sliceMs: 100,
  };
  const number = (flag: string, text: string | undefined, min: number, integer: boolean): number => {
    const value = Number(text);
    if (text === undefined || text === '' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      usage(`${flag} needs ${integer ? 'a whole number' : 'a number'} >= ${min}, got ${JSON.stringify(text)}`);
    }
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    const eq = token.indexOf('=');
    const flag = eq === -1 ? token : token.slice(0, eq);
    const value = (): string | undefined => (eq === -1 ? argv[++i] : token.slice(eq + 1));
    switch (flag) {
      case '--rounds':
        args.rounds = number(flag, value(), 1, true);
        break;
      case '--seconds':
        args.seconds = number(flag, value(), 0.1, false);
        break;
      case '--warmup':
        args.warmup = number(flag, value(), 0, false);
        break;
      case '--stack-depth':
        args.stackDepth = number(flag, value(), 0, true);
        break;
      case '--budget':
        args.budget = number(flag, value(), 10, false);
        break;
      case '--concurrency': {
        const list = (value() ?? '').split(',').filter((s) => s !== '');
        if (list.length === 0) usage('--concurrency needs a list such as 10,50');
        args.concurrency = list.map((s) => number(flag, s, 1, true));
        break;
      }
      case '--workloads': {
        const list = (value() ?? '').split(',').filter((s) => s !== '');
        for (const w of list) if (!(WORKLOADS as readonly string[]).includes(w)) usage(`unknown workload ${JSON.stringify(w)}`);
        if (list.length === 0) usage('--workloads needs a list such as query,connect');
        args.workloads = list as Workload[];
        break;
      }
      case '--variants': {
        const list = (value() ?? '').split(',').filter((s) => s !== '');
        for (const v of list) if (!(COMPARED as readonly string[]).includes(v)) usage(`unknown variant ${JSON.stringify(v)}`);
        if (list.length === 0 || new Set(list).size !== list.length) usage('--variants needs a list without repeats, e.g. default,off');
        args.variants = list as ComparedName[];
        break;
      }
      case '--interleave': {
        const mode = value() ?? '';
        if (!(INTERLEAVES as readonly string[]).includes(mode)) usage(`--interleave needs one of ${INTERLEAVES.join(', ')}`);
        args.interleave = mode as Interleave;
        break;
      }
      case '--slice-ms':
        args.sliceMs = number(flag, value(), 10, false);
        break;
      case '--lib': {
        const lib = value() ?? '';
        if (!(LIB_CHOICES as readonly string[]).includes(lib)) usage(`--lib needs one of ${LIB_CHOICES.join(', ')}`);
        args.lib = lib as LibChoice;
        break;
      }
      case '--help':
      case '-h':
        usage('help');
        break;
      default:
        usage(`unknown argument ${JSON.stringify(token)}`);
    }
  }
  return args;
}

/** Refuses anything but a loopback server: this bench floods the server it is pointed at. */
function loopbackUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    usage('DATABASE_URL is not a URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') usage('DATABASE_URL must be a postgres:// URL');
  const overridden = url.searchParams.has('host') || url.searchParams.has('hostaddr');
  if (!LOOPBACK_HOSTS.has(url.hostname) || overridden) {
    usage(`refusing to benchmark a non-loopback server (${url.hostname || 'no host'}); use 127.0.0.1 or localhost`);
  }
  return raw;
}

// ---- workloads --------------------------------------------------------------------------------------------------

/**
 * Calls `fn` under `depth` extra synchronous frames, so a stack captured at checkout walks as many frames as it would
 * in an application (route handler, service, repository...) instead of the two or three of a bench loop.
 */
function atDepth<T>(depth: number, fn: () => T): T {
  return depth <= 0 ? fn() : atDepth(depth - 1, fn);
}

type Operation = () => Promise<unknown>;

function operationFor(pool: pg.Pool, workload: Workload, depth: number): Operation {
  if (workload === 'query') {
    const run = () => pool.query('SELECT 1');
    return () => atDepth(depth, run);
  }
  const connect = () => pool.connect();
  return async () => {
    const client = await atDepth(depth, connect);
    try {
      await client.query('SELECT 1');
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    client.release();
  };
}

/** What one slot of a measurement accumulated over its own slices. */
interface Totals {
  readonly count: number;
  readonly millis: number;
  /** Process CPU (user + system) in microseconds. */
  readonly cpuMicros: number;
}

interface RunResult {
  /** Completed operations per second during the measured window. */
  readonly qps: number;
  /** Process CPU (user + system) per completed operation, microseconds. */
  readonly cpuMicros: number;
  readonly count: number;
}

function runResult(totals: readonly Totals[]): RunResult {
  let count = 0;
  let millis = 0;
  let cpu = 0;
  for (const t of totals) {
    count += t.count;
    millis += t.millis;
    cpu += t.cpuMicros;
  }
  return { qps: count / (millis / 1000), cpuMicros: count > 0 ? cpu / count : Number.NaN, count };
}

/** One measured slice: which slot was active and what it did meanwhile. */
interface Slice extends Totals {
  readonly slot: number;
}

/**
 * `concurrency` workers loop on the operation of the active slot; slots take turns every `sliceMs` (with one slot,
 * the slice is the whole window). The first `warmupMs` are not counted (slots rotate during it too); then each slot's
 * completions, wall time and process CPU are summed over its own slices, `measureMs` in all, split evenly. A
 * completion counts for the slot whose operation it was (one finishing after its slice ended counts in that slot's
 * next slice). A failing operation fails the measurement. Returns the totals per slot and the slices in order.
 */
async function measure(
  ops: readonly Operation[],
  concurrency: number,
  warmupMs: number,
  measureMs: number,
  sliceMs: number,
): Promise<{ totals: Totals[]; slices: Slice[] }> {
  const n = ops.length;
  const slicesToMeasure = Math.max(n, Math.round(measureMs / sliceMs / n) * n);
  const counts = new Array<number>(n).fill(0);
  const countedBefore = new Array<number>(n).fill(0);
  const slices: Slice[] = [];
  const millis = new Array<number>(n).fill(0);
  const cpuMicros = new Array<number>(n).fill(0);
  let active = 0;
  let measuring = warmupMs <= 0;
  let stopped = false;
  let measuredSlices = 0;
  let timer: NodeJS.Timeout | undefined;
  const startedAt = performance.now();
  let sliceStart = startedAt;
  let cpuStart = process.cpuUsage();

  const schedule = () => {
    const warmLeft = warmupMs - (performance.now() - startedAt);
    timer = setTimeout(boundary, measuring || warmLeft <= 0 ? sliceMs : Math.min(sliceMs, warmLeft));
  };
  const boundary = () => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (measuring) {
      const sliceCpu = cpu.user - cpuStart.user + (cpu.system - cpuStart.system);
      millis[active] = (millis[active] ?? 0) + (now - sliceStart);
      cpuMicros[active] = (cpuMicros[active] ?? 0) + sliceCpu;
      const counted = counts[active] ?? 0;
      slices.push({ slot: active, count: counted - (countedBefore[active] ?? 0), millis: now - sliceStart, cpuMicros: sliceCpu });
      countedBefore[active] = counted;
      measuredSlices += 1;
    }
    sliceStart = now;
    cpuStart = cpu;
    if (measuredSlices >= slicesToMeasure) {
      measuring = false;
      stopped = true;
      return;
    }
    if (n > 1) active = (active + 1) % n;
    if (!measuring && now - startedAt >= warmupMs - 1) measuring = true;
    schedule();
  };

  const worker = async (): Promise<void> => {
    while (!stopped) {
      const slot = active;
      await (ops[slot] as Operation)();
      if (measuring) counts[slot] = (counts[slot] ?? 0) + 1;
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < concurrency; i++) workers.push(worker());
  schedule();
  try {
    await Promise.all(workers);
  } catch (error) {
    stopped = true;
    clearTimeout(timer);
    await Promise.allSettled(workers);
    throw error;
  }
  return { totals: counts.map((count, i) => ({ count, millis: millis[i] ?? 0, cpuMicros: cpuMicros[i] ?? 0 })), slices };
}

// ---- statistics and output --------------------------------------------------------------------------------------

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function table(rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const header = rows[0] ?? [];
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const fmtSigned = (n: number, digits: number) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(digits)}` : '-');

interface CellResult {
  readonly workload: Workload;
  readonly concurrency: number;
  readonly runs: Map<VariantName, RunResult[]>;
  /** Per variant, one per round: X / bare of the round (slice mode: the median of its slice ratios). */
  readonly ratios: Map<ComparedName, number[]>;
  /** Per variant: the ratios the table's median is taken over (slice mode: every X slice / its bare neighbours). */
  readonly samples: Map<ComparedName, number[]>;
  /** Per variant, paired like `samples`: its CPU per op minus bare's, microseconds. */
  readonly cpuDeltas: Map<ComparedName, number[]>;
}

// ---- main -------------------------------------------------------------------------------------------------------

interface Variant {
  readonly name: VariantName;
  readonly pool: pg.Pool;
  readonly inspector: Inspector | undefined;
  readonly tracker: PoolTracker | undefined;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const url = loopbackUrl(process.env.DATABASE_URL ?? DEFAULT_URL);
  const poolscope = await loadPoolscope(args.lib);
  const { lib } = poolscope;

  const compared = args.variants;
  const cells = args.workloads.length * args.concurrency.length;
  // In slice mode the warm-up lasts at least one full turn of the slots, so every pool is warm before counting.
  const sliceWarmup = Math.max(args.warmup, ((1 + compared.length) * args.sliceMs) / 1000);
  const perRound =
    args.interleave === 'run'
      ? 2 * compared.length * (args.warmup + args.seconds)
      : sliceWarmup + (1 + compared.length) * args.seconds;
  const fixed = (1 + compared.length) * args.workloads.length * (PRIME_SECONDS + 0.1) + 5;
  let rounds = args.rounds;
  const estimate = (r: number) => fixed + cells * r * perRound;
  while (rounds > 1 && estimate(rounds) > args.budget) rounds -= 1;
  if (estimate(rounds) > args.budget) {
    usage(`one round of ${cells} cells needs ${estimate(1).toFixed(0)}s, over --budget ${args.budget}s`);
  }
  if (rounds < args.rounds) {
    console.log(`note: --rounds ${args.rounds} would take ~${estimate(args.rounds).toFixed(0)}s, over --budget ${args.budget}s; running ${rounds} rounds`);
  }
  // Last resort against a stalled server: the run is bounded even if a query never returns.
  const limitSeconds = Math.ceil(estimate(rounds) + 60);
  const watchdog = setTimeout(() => {
    console.error(`pg-overhead-bench: still running ${limitSeconds}s after start; giving up (server stalled?)`);
    process.exit(1);
  }, limitSeconds * 1000);
  watchdog.unref();

  const variants: Variant[] = [];
  const makePool = () =>
    new pg.Pool({ connectionString: url, max: POOL_MAX, idleTimeoutMillis: 0, connectionTimeoutMillis: 10_000 });
  const bare: Variant = { name: 'bare', pool: makePool(), inspector: undefined, tracker: undefined };
  variants.push(bare);
  const tracked = new Map<TrackedName, Variant>();
  for (const name of compared) {
    const pool = makePool();
    if (!isTracked(name)) {
      variants.push({ name, pool, inspector: undefined, tracker: undefined });
      continue;
    }
    const inspector = new lib.Inspector();
    const tracker = lib.trackPgPool(inspector, pool, TRACKING_OPTIONS[name]);
    const variant: Variant = { name, pool, inspector, tracker };
    tracked.set(name, variant);
    variants.push(variant);
  }
  for (const v of variants) v.pool.on('error', (error) => console.error(`pool ${v.name}: idle client error: ${error.message}`));

  try {
    const info = await bare.pool.query<{ version: string }>('SELECT version() AS version');
    const started = new Date();
    console.log('poolscope pg overhead bench');
    console.log(`date:        ${started.toISOString()}`);
    console.log(`node:        ${process.version} (${os.cpus().length} CPUs: ${os.cpus()[0]?.model ?? 'unknown'})`);
    console.log(`postgres:    ${info.rows[0]?.version ?? 'unknown'}`);
    console.log(`server:      ${new URL(url).host}`);
    console.log(`poolscope:   ${poolscope.description}`);
    console.log(
      `method:      pool max ${POOL_MAX}; ${rounds} rounds per cell; ` +
        (args.interleave === 'slice'
          ? `each round one run whose workers switch pool every ${args.sliceMs} ms, round-robin over bare ` +
            `${compared.join(' ')} (order of the X rotating per round), ${sliceWarmup}s warm-up, then ${args.seconds}s ` +
            `measured per pool; ratio = X slice / nearest bare slices; `
          : `each round the runs bare X1 bare X2 ... (X rotating over ${compared.join('/')}), ${args.warmup}s warm-up ` +
            `+ ${args.seconds}s measured each; ratio = X / the bare run just before it; `) +
        `calls made ${args.stackDepth} frames deep`,
    );
    console.log(`load avg:    ${os.loadavg().map((n) => n.toFixed(2)).join(' ')} (start)`);
    console.log(`estimate:    ~${estimate(rounds).toFixed(0)}s`);
    console.log('');

    // Prime: open every pool's connections and let V8 compile both paths before anything is measured.
    for (const workload of args.workloads) {
      for (const v of variants) {
        await measure([operationFor(v.pool, workload, args.stackDepth)], POOL_MAX, PRIME_SECONDS * 1000, 100, 100);
      }
    }

    const results: CellResult[] = [];
    for (const workload of args.workloads) {
      for (const concurrency of args.concurrency) {
        const cell: CellResult = { workload, concurrency, runs: new Map(), ratios: new Map(), samples: new Map(), cpuDeltas: new Map() };
        const ops = new Map(variants.map((v) => [v.name, operationFor(v.pool, workload, args.stackDepth)] as const));
        const warmupMs = args.warmup * 1000;
        const measureMs = args.seconds * 1000;
        const opOf = (name: VariantName) => ops.get(name) as Operation;
        /** `run` mode: separate runs bare X1 bare X2 ...; each X against the bare run just before it. */
        const runRound = async (order: readonly ComparedName[]): Promise<Map<ComparedName, number>> => {
          const roundRatios = new Map<ComparedName, number>();
          for (const name of order) {
            const base = runResult((await measure([opOf('bare')], concurrency, warmupMs, measureMs, measureMs)).totals);
            const mine = runResult((await measure([opOf(name)], concurrency, warmupMs, measureMs, measureMs)).totals);
            append(cell.runs, 'bare', base);
            append(cell.runs, name, mine);
            const ratio = mine.qps / base.qps;
            append(cell.samples, name, ratio);
            append(cell.cpuDeltas, name, mine.cpuMicros - base.cpuMicros);
            roundRatios.set(name, ratio);
          }
          return roundRatios;
        };
        /**
         * `slice` mode: one run whose slots go bare X1 X2 ... round-robin every --slice-ms; each X slice against the
         * mean of the nearest bare slices before and after it. Every pool is used equally often (a pool used less
         * often than bare reads slower: its server backends go cold between turns) and all share any interference;
         * the median over many slices shrugs off a stalled one.
         */
        const sliceRound = async (order: readonly ComparedName[]): Promise<Map<ComparedName, number>> => {
          const slots: readonly VariantName[] = ['bare', ...order];
          const { totals, slices } = await measure(
            slots.map(opOf),
            concurrency,
            sliceWarmup * 1000,
            slots.length * measureMs,
            args.sliceMs,
          );
          append(cell.runs, 'bare', runResult(totals.filter((_, i) => slots[i] === 'bare')));
          for (const name of order) append(cell.runs, name, runResult(totals.filter((_, i) => slots[i] === name)));
          const perRound = new Map<ComparedName, number[]>();
          slices.forEach((slice, i) => {
            const name = slots[slice.slot];
            if (name === undefined || name === 'bare' || slice.count === 0) return;
            const isBare = (s: Slice | undefined): s is Slice => s !== undefined && slots[s.slot] === 'bare' && s.count > 0;
            const neighbours = [[...slices.slice(0, i)].reverse().find(isBare), slices.slice(i + 1).find(isBare)].filter(isBare);
            if (neighbours.length === 0) return;
            const bareQps = neighbours.reduce((sum, s) => sum + s.count / s.millis, 0) / neighbours.length;
            const bareCpu = neighbours.reduce((sum, s) => sum + s.cpuMicros / s.count, 0) / neighbours.length;
            const ratio = slice.count / slice.millis / bareQps;
            append(cell.samples, name, ratio);
            append(cell.cpuDeltas, name, slice.cpuMicros / slice.count - bareCpu);
            append(perRound, name, ratio);
          });
          return new Map(order.map((name) => [name, median(perRound.get(name) ?? [])] as const));
        };
        for (let r = 0; r < rounds; r++) {
          const order = compared.map((_, i) => compared[(i + r) % compared.length] as ComparedName);
          const parts: string[] = [];
          const roundRatios = args.interleave === 'run' ? await runRound(order) : await sliceRound(order);
          for (const name of order) {
            const ratio = roundRatios.get(name) ?? Number.NaN;
            append(cell.ratios, name, ratio);
            parts.push(`${name} ${fmt(ratio, 3)}`);
          }
          console.log(`  ${WORKLOAD_LABEL[workload]} c=${concurrency} round ${r + 1}/${rounds}: ${parts.join(', ')}`);
        }
        results.push(cell);
      }
    }

    console.log('');
    console.log(`load avg:    ${os.loadavg().map((n) => n.toFixed(2)).join(' ')} (end)`);
    console.log('');
    const rows: string[][] = [
      ['workload', 'conc', 'variant', 'median q/s', 'CPU us/q', 'dCPU us/q', 'median ratio', 'round min', 'round max', 'target', 'verdict'],
    ];
    const verdicts = new Map<ComparedName, { pass: number; total: number; ratios: number[] }>();
    for (const cell of results) {
      for (const name of ['bare', ...compared] as const) {
        const runs = cell.runs.get(name) ?? [];
        const qps = median(runs.map((r) => r.qps));
        const cpu = median(runs.map((r) => r.cpuMicros));
        if (name === 'bare') {
          rows.push([WORKLOAD_LABEL[cell.workload], String(cell.concurrency), name, fmtInt(qps), fmt(cpu, 1), '', '1 (ref)', '', '', '', '']);
          continue;
        }
        const ratios = cell.ratios.get(name) ?? [];
        const med = median(cell.samples.get(name) ?? []);
        const target = isTracked(name) ? TARGETS[name] : undefined;
        // The control is untracked: it should read ~1; anything else is the method's own bias or noise.
        const pass = target === undefined ? Math.abs(med - 1) <= 0.03 : med >= target;
        const summary = verdicts.get(name) ?? { pass: 0, total: 0, ratios: [] };
        summary.total += 1;
        if (pass) summary.pass += 1;
        summary.ratios.push(med);
        verdicts.set(name, summary);
        rows.push([
          WORKLOAD_LABEL[cell.workload],
          String(cell.concurrency),
          name,
          fmtInt(qps),
          fmt(cpu, 1),
          fmtSigned(median(cell.cpuDeltas.get(name) ?? []), 2),
          fmt(med, 3),
          fmt(Math.min(...ratios), 3),
          fmt(Math.max(...ratios), 3),
          target === undefined ? '~1 +-0.03' : `>= ${target.toFixed(2)}`,
          target === undefined ? (pass ? 'ok' : 'BIASED') : pass ? 'PASS' : 'MISS',
        ]);
      }
    }
    console.log(table(rows, new Set([1, 3, 4, 5, 6, 7, 8])));
    const samplesPerVariant = results[0]?.samples.get(compared[0] as ComparedName)?.length ?? 0;
    console.log(
      args.interleave === 'slice'
        ? `median ratio: median over ~${samplesPerVariant} slices per cell of (X slice q/s) / (mean q/s of the nearest ` +
            'bare slices before and after it); round min/max: range of the per-round medians; dCPU: median of the same pairs\' process CPU ' +
            'per query, X minus bare; median q/s and CPU us/q: per-round totals'
        : 'median ratio: median over rounds of X / the bare run just before it; round min/max: range of those ratios; ' +
            'dCPU: median of the same pairs\' process CPU per query, X minus bare',
    );
    console.log('');
    console.log('targets (median ratio against bare, per workload x concurrency cell):');
    for (const name of compared) {
      const s = verdicts.get(name);
      if (s === undefined) continue;
      const target = isTracked(name) ? `>= ${TARGETS[name].toFixed(2)}` : '~1 +-0.03 (A/A control, untracked)';
      const verdict = s.pass === s.total ? (isTracked(name) ? 'PASS' : 'ok') : isTracked(name) ? 'MISS' : 'BIASED';
      console.log(
        `  ${name.padEnd(8)} ${target}: ${verdict} (${s.pass}/${s.total} cells; cell medians ` +
          `${s.ratios.map((r) => fmt(r, 3)).join(', ')})`,
      );
    }

    console.log('');
    console.log('tracker sanity (whole run, including warm-up):');
    for (const [name, v] of tracked) {
      const c = v.tracker?.stats().counters;
      if (c === undefined) continue;
      console.log(
        `  ${name.padEnd(8)} acquires ${c.acquires}, releases ${c.releases}, queries ${c.queries}, errors ${c.errors}, ` +
          `leaks ${c.leaksSuspected}, dirty ${c.dirtyReleases}, double ${c.doubleReleases}, saturation snapshots ${c.saturationSnapshots}`,
      );
    }
    console.log(`elapsed:     ${((Date.now() - started.getTime()) / 1000).toFixed(0)}s`);
  } finally {
    for (const v of variants) v.inspector?.close();
    await Promise.allSettled(variants.map((v) => v.pool.end()));
    clearTimeout(watchdog);
  }
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (error: unknown) => {
    console.error('pg-overhead-bench failed:', error);
    process.exitCode = 1;
  },
);
