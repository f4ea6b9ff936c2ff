// Throughput cost of poolscope on a real PostgreSQL: `SELECT 1` through tracked pg.Pools against bare ones, interleaved
// A B A B, in two groups that each run in a child process of their own (see bench/group-process.ts):
// - plain: `bare` (the reference), `default`, `always`, `off`, and `control` (a second untracked pool: an A/A check
//   of the method's own noise and bias). No AsyncLocalStorage ever runs in this process.
// - scoped: every operation inside an AsyncLocalStorage scope. `als` (the reference: bare pg, each operation inside
//   `new AsyncLocalStorage().run({}, op)`, the floor any owner tracking pays on Node 20), `owners` (poolscope default,
//   each operation inside `inspector.runAs('job bench', op)`), and `als-control` (a second untracked pool in the same
//   empty scope). On Node 20 the first AsyncLocalStorage run turns its promise hooks on for the whole process, which
//   would slow the plain group's bare baseline: hence the separate processes.
// By default each round is one run whose workers switch pool every 100 ms, round-robin over the group's pools (every
// pool equally often, so equally warm); with --interleave run, each round is the separate runs base X1 base X2 ....
// Each X is compared with its group's reference in the same process; `als` itself is compared with `bare` by CPU per
// query across the two processes. The rounds are split into --segments (2) that run the groups in the order
// plain scoped | scoped plain, so drift on the machine falls on both groups alike. One table at the end.
// Informational: prints PASS/MISS against the targets and exits 0 once it has measured.
//
//   node --import tsx bench/pg-overhead-bench.ts [--rounds 5] [--seconds 1.5] [--warmup 0.25]
//        [--concurrency 10,50] [--workloads query,connect] [--variants default,always,off,control,als,owners,als-control]
//        [--interleave slice|run] [--slice-ms 100] [--stack-depth 12] [--segments 2] [--budget 300] [--lib tsc|dist|src]
//
// DATABASE_URL if set (loopback only), else postgres://postgres@127.0.0.1:5432/postgres. See bench/README.md.

import { AsyncLocalStorage } from 'node:async_hooks';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Inspector, PoolTrackingOptions } from '../src/index.js';
import type { PoolView } from '../src/core/pool-view.js';
import { asyncHooksActive, GROUPS, loadChildLib, shareLib, startChildGroup } from './group-process.js';
import type { ChildGroup, GroupName } from './group-process.js';
import { LIB_CHOICES } from './load-poolscope.js';
import type { LibChoice } from './load-poolscope.js';

const SCRIPT = fileURLToPath(import.meta.url);
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const POOL_MAX = 10;
const PRIME_SECONDS = 0.5;
/** Estimated cost of one child process beyond its measurements: node + tsx start-up, loading, connecting. */
const CHILD_START_SECONDS = 2.5;

const WORKLOADS = ['query', 'connect'] as const;
type Workload = (typeof WORKLOADS)[number];
const WORKLOAD_LABEL: Record<Workload, string> = {
  query: "pool.query('SELECT 1')",
  connect: 'connect+query+release',
};

/** Compared with `bare` in the plain group (no AsyncLocalStorage in the process). */
const PLAIN_COMPARED = ['default', 'always', 'off', 'control'] as const;
/** Compared with `als` in the scoped group (every operation inside an AsyncLocalStorage scope). */
const SCOPED_COMPARED = ['owners', 'als-control'] as const;
type ComparedName = (typeof PLAIN_COMPARED)[number] | (typeof SCOPED_COMPARED)[number];
/** What --variants accepts: every compared variant, and `als` (the scoped reference, set against `bare`). */
const SELECTABLE = [...PLAIN_COMPARED, 'als', ...SCOPED_COMPARED] as const;
type SelectableName = (typeof SELECTABLE)[number];
type BaselineName = 'bare' | 'als';
type VariantName = BaselineName | ComparedName;

const GROUP_BASELINE: Record<GroupName, BaselineName> = { plain: 'bare', scoped: 'als' };
const GROUP_COMPARED: Record<GroupName, readonly ComparedName[]> = { plain: PLAIN_COMPARED, scoped: SCOPED_COMPARED };

const TRACKED = ['default', 'always', 'off', 'owners'] as const;
type TrackedName = (typeof TRACKED)[number];
const isTracked = (name: VariantName): name is TrackedName => (TRACKED as readonly string[]).includes(name);

/** Median ratio against the group's reference (bare, or als for owners) that each tracked variant must reach. */
const TARGETS: Record<TrackedName, number> = { default: 0.97, always: 0.88, off: 0.99, owners: 0.97 };
/** The A/A controls: untracked pools that should read 1 against their reference. */
const CONTROL_MARGIN = 0.03;

const OWNERS_POOL_NAME = 'bench-owners';
const OWNER_LABEL = 'job bench';
const TRACKING_OPTIONS: Record<TrackedName, PoolTrackingOptions> = {
  default: { name: 'bench-default' },
  always: { name: 'bench-always', stackCapture: 'always' },
  off: { name: 'bench-off', stackCapture: 'off' },
  owners: { name: OWNERS_POOL_NAME },
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
  variants: SelectableName[];
  interleave: Interleave;
  sliceMs: number;
  segments: number;
  /** Internal (parent to child): run only this group and print its figures as JSON. */
  group: GroupName | undefined;
  /** Internal: the folder of the parent's shared transpile of src/. */
  libDir: string | undefined;
  /** Internal: rounds run by earlier children of this group (for the rotation and the progress lines). */
  roundOffset: number;
  /** Internal: rounds of this group over all its children. */
  roundTotal: number | undefined;
}

/** `slice`: bare and X share each measurement, taking turns every --slice-ms; `run`: separate runs, bare then X. */
const INTERLEAVES = ['slice', 'run'] as const;
type Interleave = (typeof INTERLEAVES)[number];

function usage(message: string): never {
  console.error(`pg-overhead-bench: ${message}`);
  console.error(
    'usage: node --import tsx bench/pg-overhead-bench.ts [--rounds N] [--seconds S] [--warmup S] ' +
      `[--concurrency 10,50] [--workloads query,connect] [--variants ${SELECTABLE.join(',')}] ` +
      '[--interleave slice|run] [--slice-ms MS] [--stack-depth N] [--segments N] [--budget S] [--lib tsc|dist|src]',
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
    budget: 300,
    lib: 'tsc',
    variants: [...SELECTABLE],
    interleave: 'slice',
    sliceMs: 100,
    segments: 2,
    group: undefined,
    libDir: undefined,
    roundOffset: 0,
    roundTotal: undefined,
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
      case '--segments':
        args.segments = number(flag, value(), 1, true);
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
        // Empty only from the parent to a child whose group compares nothing (its reference runs alone).
        const list = (value() ?? '').split(',').filter((s) => s !== '');
        for (const v of list) {
          if (!(SELECTABLE as readonly string[]).includes(v)) usage(`unknown variant ${JSON.stringify(v)}; known: ${SELECTABLE.join(', ')}`);
        }
        if (new Set(list).size !== list.length) usage('--variants needs a list without repeats, e.g. default,owners');
        args.variants = list as SelectableName[];
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
      case '--group': {
        const group = value() ?? '';
        if (!(GROUPS as readonly string[]).includes(group)) usage(`--group needs one of ${GROUPS.join(', ')}`);
        args.group = group as GroupName;
        break;
      }
      case '--lib-dir':
        args.libDir = value();
        if (args.libDir === undefined || args.libDir === '') usage('--lib-dir needs a folder');
        break;
      case '--round-offset':
        args.roundOffset = number(flag, value(), 0, true);
        break;
      case '--round-total':
        args.roundTotal = number(flag, value(), 1, true);
        break;
      case '--help':
      case '-h':
        usage('help');
        break;
      default:
        usage(`unknown argument ${JSON.stringify(token)}`);
    }
  }
  if (args.group === undefined && args.variants.length === 0) usage(`--variants needs a list such as ${SELECTABLE.join(',')}`);
  if (args.group !== undefined) {
    const allowed = GROUP_COMPARED[args.group] as readonly string[];
    for (const v of args.variants) if (!allowed.includes(v)) usage(`variant ${v} is not in group ${args.group}`);
  }
  return args;
}

/**
 * The groups to run and the variants each compares with its reference. `als` needs both groups: it is the scoped
 * group's reference, and it is set against the plain group's `bare`.
 */
function groupPlan(selected: readonly SelectableName[]): Map<GroupName, ComparedName[]> {
  const plan = new Map<GroupName, ComparedName[]>();
  for (const group of GROUPS) {
    const compared = selected.filter((v): v is ComparedName => (GROUP_COMPARED[group] as readonly string[]).includes(v));
    if (compared.length > 0 || selected.includes('als')) plan.set(group, compared);
  }
  return plan;
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

// ---- time estimates ---------------------------------------------------------------------------------------------

/** In slice mode the warm-up lasts at least one full turn of the slots, so every pool is warm before counting. */
function sliceWarmupSeconds(args: Args, slots: number): number {
  return Math.max(args.warmup, (slots * args.sliceMs) / 1000);
}

/** Seconds one round of one cell takes in a group comparing `compared` with its reference. */
function roundSeconds(args: Args, compared: number): number {
  if (args.interleave === 'run') return compared === 0 ? args.warmup + args.seconds : 2 * compared * (args.warmup + args.seconds);
  return sliceWarmupSeconds(args, 1 + compared) + (1 + compared) * args.seconds;
}

/** Seconds one child of a group spends outside its rounds: start-up and priming every pool on every workload. */
function childFixedSeconds(args: Args, compared: number): number {
  return CHILD_START_SECONDS + (1 + compared) * args.workloads.length * (PRIME_SECONDS + 0.1);
}

function childEstimate(args: Args, compared: number, rounds: number): number {
  return childFixedSeconds(args, compared) + args.workloads.length * args.concurrency.length * rounds * roundSeconds(args, compared);
}

/** Splits `rounds` into `segments` runs, larger first (5 in 2: 3 then 2). */
function segmentRounds(rounds: number, segments: number): number[] {
  const n = Math.min(rounds, segments);
  return Array.from({ length: n }, (_, i) => Math.floor(rounds / n) + (i < rounds % n ? 1 : 0));
}

function totalEstimate(args: Args, plan: ReadonlyMap<GroupName, readonly ComparedName[]>, rounds: number): number {
  let total = 2;
  for (const segment of segmentRounds(rounds, args.segments)) {
    for (const compared of plan.values()) total += childEstimate(args, compared.length, segment);
  }
  return total;
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

// ---- what a child reports ---------------------------------------------------------------------------------------

/** One measured run of one variant (slice mode: its slices of one round, summed). */
interface RunRecord extends RunResult {
  /** Round number over the whole bench (0-based); the children of one segment share round numbers. */
  readonly round: number;
}

interface CellData {
  readonly workload: Workload;
  readonly concurrency: number;
  /** Per variant, the group's reference included. */
  readonly runs: Partial<Record<VariantName, RunRecord[]>>;
  /** Per compared variant, one per round: X / reference of the round (slice mode: the median of its slice ratios). */
  readonly ratios: Partial<Record<ComparedName, number[]>>;
  /** Per compared variant: the ratios the table's median is taken over (slice mode: every X slice / its neighbours). */
  readonly samples: Partial<Record<ComparedName, number[]>>;
  /** Per compared variant, paired like `samples`: its CPU per op minus the reference's, microseconds. */
  readonly cpuDeltas: Partial<Record<ComparedName, number[]>>;
}

interface TrackerReport {
  readonly name: TrackedName;
  readonly counters: Record<string, number>;
}

/** What one child prints on stdout, as one line of JSON. */
interface GroupResult {
  readonly group: GroupName;
  readonly poolscope: string;
  readonly cells: CellData[];
  readonly trackers: TrackerReport[];
  /** Whether AsyncLocalStorage's hooks were on at the end of the measurements (they must not be in `plain`). */
  readonly asyncHooks: boolean;
  /** Scoped group: whether a lease taken inside runAs() is held by that owner. */
  readonly ownerCheck: string | undefined;
  readonly firstRound: number;
  readonly rounds: number;
  readonly seconds: number;
}

function push<K extends string, V>(record: Partial<Record<K, V[]>>, key: K, value: V): void {
  (record[key] ??= []).push(value);
}

// ---- child: one group -------------------------------------------------------------------------------------------

interface Variant {
  readonly name: VariantName;
  readonly pool: pg.Pool;
  readonly inspector: Inspector | undefined;
  readonly tracker: PoolView | undefined;
  /** How the variant runs one operation: as it is, inside an empty scope, or inside an owner. */
  readonly wrap: (op: Operation) => Operation;
}

/** Progress goes to stderr (the parent shows it); stdout carries only the JSON result. */
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** One checkout inside runAs(): the snapshot must show the lease held by that owner, or `owners` measures nothing. */
async function checkOwner(v: Variant): Promise<string> {
  const inspector = v.inspector;
  if (inspector === undefined) return 'no inspector';
  try {
    const holders = await inspector.runAs(OWNER_LABEL, async () => {
      const client = await v.pool.connect();
      try {
        return inspector.snapshot(OWNERS_POOL_NAME).holders.map((h) => (h.owner === null ? 'no owner' : `${h.owner.kind} "${h.owner.label}"`));
      } finally {
        client.release();
      }
    });
    return holders.length === 1 && holders[0] !== 'no owner'
      ? `ok: a lease taken inside runAs() is held by ${holders[0]}`
      : `UNEXPECTED: the lease holders' owners are ${JSON.stringify(holders)}`;
  } catch (error) {
    return `could not check (${error instanceof Error ? error.message : String(error)})`;
  }
}

async function runGroup(args: Args, group: GroupName): Promise<void> {
  const url = loopbackUrl(process.env.DATABASE_URL ?? DEFAULT_URL);
  const started = performance.now();
  const baseline = GROUP_BASELINE[group];
  const compared = args.variants as ComparedName[];
  const rounds = args.rounds;
  const roundTotal = args.roundTotal ?? args.roundOffset + rounds;
  // Last resort against a stalled server: the child is bounded even if a query never returns.
  const limitSeconds = Math.ceil(childEstimate(args, compared.length, rounds) + 60);
  const watchdog = setTimeout(() => {
    log(`pg-overhead-bench [${group}]: still running ${limitSeconds}s after start; giving up (server stalled?)`);
    process.exit(1);
  }, limitSeconds * 1000);
  watchdog.unref();

  const poolscope = await loadChildLib(args.lib, args.libDir);
  const { lib } = poolscope;
  // Scoped group: one empty storage for `als` and `als-control`; each operation gets a fresh empty store, as a request
  // middleware would give each request.
  const storage = new AsyncLocalStorage<object>();
  const inEmptyScope = (op: Operation): Operation => () => storage.run({}, op);
  const makePool = () =>
    new pg.Pool({ connectionString: url, max: POOL_MAX, idleTimeoutMillis: 0, connectionTimeoutMillis: 10_000 });
  const variants: Variant[] = [];
  for (const name of [baseline, ...compared] as VariantName[]) {
    const pool = makePool();
    pool.on('error', (error) => log(`pool ${name}: idle client error: ${error.message}`));
    if (!isTracked(name)) {
      variants.push({ name, pool, inspector: undefined, tracker: undefined, wrap: group === 'scoped' ? inEmptyScope : (op) => op });
      continue;
    }
    const inspector = new lib.Inspector();
    const tracker = lib.trackPgPool(inspector, pool, TRACKING_OPTIONS[name]);
    const wrap = name === 'owners' ? (op: Operation): Operation => () => inspector.runAs(OWNER_LABEL, op) : (op: Operation) => op;
    variants.push({ name, pool, inspector, tracker, wrap });
  }

  try {
    // Prime: open every pool's connections and let V8 compile every path before anything is measured.
    for (const workload of args.workloads) {
      for (const v of variants) {
        await measure([v.wrap(operationFor(v.pool, workload, args.stackDepth))], POOL_MAX, PRIME_SECONDS * 1000, 100, 100);
      }
    }
    const ownersVariant = variants.find((v) => v.name === 'owners');
    const ownerCheck = ownersVariant === undefined ? undefined : await checkOwner(ownersVariant);

    const cells: CellData[] = [];
    const sliceWarmup = sliceWarmupSeconds(args, 1 + compared.length);
    for (const workload of args.workloads) {
      for (const concurrency of args.concurrency) {
        const cell: CellData = { workload, concurrency, runs: {}, ratios: {}, samples: {}, cpuDeltas: {} };
        const ops = new Map(variants.map((v) => [v.name, v.wrap(operationFor(v.pool, workload, args.stackDepth))] as const));
        const warmupMs = args.warmup * 1000;
        const measureMs = args.seconds * 1000;
        const opOf = (name: VariantName) => ops.get(name) as Operation;
        /** `run` mode: separate runs base X1 base X2 ...; each X against the reference run just before it. */
        const runRound = async (round: number, order: readonly ComparedName[]): Promise<Map<ComparedName, number>> => {
          const roundRatios = new Map<ComparedName, number>();
          if (order.length === 0) {
            const base = runResult((await measure([opOf(baseline)], concurrency, warmupMs, measureMs, measureMs)).totals);
            push(cell.runs, baseline, { round, ...base });
          }
          for (const name of order) {
            const base = runResult((await measure([opOf(baseline)], concurrency, warmupMs, measureMs, measureMs)).totals);
            const mine = runResult((await measure([opOf(name)], concurrency, warmupMs, measureMs, measureMs)).totals);
            push(cell.runs, baseline, { round, ...base });
            push(cell.runs, name, { round, ...mine });
            const ratio = mine.qps / base.qps;
            push(cell.samples, name, ratio);
            push(cell.cpuDeltas, name, mine.cpuMicros - base.cpuMicros);
            roundRatios.set(name, ratio);
          }
          return roundRatios;
        };
        /**
         * `slice` mode: one run whose slots go base X1 X2 ... round-robin every --slice-ms; each X slice against the
         * mean of the nearest reference slices before and after it. Every pool is used equally often (a pool used less
         * often than the reference reads slower: its server backends go cold between turns) and all share any
         * interference; the median over many slices shrugs off a stalled one.
         */
        const sliceRound = async (round: number, order: readonly ComparedName[]): Promise<Map<ComparedName, number>> => {
          const slots: readonly VariantName[] = [baseline, ...order];
          const { totals, slices } = await measure(
            slots.map(opOf),
            concurrency,
            sliceWarmup * 1000,
            slots.length * measureMs,
            args.sliceMs,
          );
          slots.forEach((name, i) => push(cell.runs, name, { round, ...runResult(totals.filter((_, j) => j === i)) }));
          const perRound = new Map<ComparedName, number[]>();
          const isBase = (s: Slice | undefined): s is Slice => s !== undefined && slots[s.slot] === baseline && s.count > 0;
          slices.forEach((slice, i) => {
            const name = slots[slice.slot];
            if (name === undefined || name === baseline || slice.count === 0) return;
            const neighbours = [[...slices.slice(0, i)].reverse().find(isBase), slices.slice(i + 1).find(isBase)].filter(isBase);
            if (neighbours.length === 0) return;
            const baseQps = neighbours.reduce((sum, s) => sum + s.count / s.millis, 0) / neighbours.length;
            const baseCpu = neighbours.reduce((sum, s) => sum + s.cpuMicros / s.count, 0) / neighbours.length;
            const ratio = slice.count / slice.millis / baseQps;
            const comparedName = name as ComparedName;
            push(cell.samples, comparedName, ratio);
            push(cell.cpuDeltas, comparedName, slice.cpuMicros / slice.count - baseCpu);
            append(perRound, comparedName, ratio);
          });
          return new Map(order.map((name) => [name, median(perRound.get(name) ?? [])] as const));
        };
        for (let r = 0; r < rounds; r++) {
          const round = args.roundOffset + r;
          const order = compared.map((_, i) => compared[(i + round) % compared.length] as ComparedName);
          const roundRatios = args.interleave === 'run' ? await runRound(round, order) : await sliceRound(round, order);
          const parts: string[] = [];
          for (const name of order) {
            const ratio = roundRatios.get(name) ?? Number.NaN;
            push(cell.ratios, name, ratio);
            parts.push(`${name} ${fmt(ratio, 3)}`);
          }
          const base = cell.runs[baseline]?.at(-1);
          parts.push(`(${baseline} ${fmtInt(base?.qps ?? Number.NaN)} q/s, ${fmt(base?.cpuMicros ?? Number.NaN, 1)} us/q)`);
          log(`  [${group}] ${WORKLOAD_LABEL[workload]} c=${concurrency} round ${round + 1}/${roundTotal}: ${parts.join(', ')}`);
        }
        cells.push(cell);
      }
    }

    // Before closing anything (closing an inspector disables its storage).
    const asyncHooks = asyncHooksActive();
    const trackers: TrackerReport[] = [];
    for (const v of variants) {
      const counters = v.tracker?.stats().counters;
      if (counters !== undefined && isTracked(v.name)) trackers.push({ name: v.name, counters: { ...counters } });
    }
    const result: GroupResult = {
      group,
      poolscope: poolscope.description,
      cells,
      trackers,
      asyncHooks,
      ownerCheck,
      firstRound: args.roundOffset,
      rounds,
      seconds: (performance.now() - started) / 1000,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const v of variants) v.inspector?.close();
    await Promise.allSettled(variants.map((v) => v.pool.end()));
    clearTimeout(watchdog);
  }
}

// ---- parent: both groups, one table -----------------------------------------------------------------------------

interface MergedCell {
  readonly workload: Workload;
  readonly concurrency: number;
  readonly runs: Map<VariantName, RunRecord[]>;
  readonly ratios: Map<ComparedName, number[]>;
  readonly samples: Map<ComparedName, number[]>;
  readonly cpuDeltas: Map<ComparedName, number[]>;
}

/** CPU per operation of each round, over all of that round's runs of one variant. */
function cpuByRound(runs: readonly RunRecord[]): Map<number, number> {
  const sums = new Map<number, { cpu: number; count: number }>();
  for (const run of runs) {
    const sum = sums.get(run.round) ?? { cpu: 0, count: 0 };
    sum.cpu += run.cpuMicros * run.count;
    sum.count += run.count;
    sums.set(run.round, sum);
  }
  return new Map([...sums].map(([round, sum]) => [round, sum.cpu / sum.count] as const));
}

/** `als` against `bare`: per round, bare's CPU per query / als's and als's minus bare's, from the two processes. */
function crossProcess(bare: readonly RunRecord[], als: readonly RunRecord[]): { ratios: number[]; deltas: number[] } {
  const bareCpu = cpuByRound(bare);
  const ratios: number[] = [];
  const deltas: number[] = [];
  for (const [round, alsCpu] of cpuByRound(als)) {
    const base = bareCpu.get(round);
    if (base === undefined) continue;
    ratios.push(base / alsCpu);
    deltas.push(alsCpu - base);
  }
  return { ratios, deltas };
}

const targetText = (name: ComparedName): string => (isTracked(name) ? `>= ${TARGETS[name].toFixed(2)}` : `~1 +-${CONTROL_MARGIN}`);

async function runAll(args: Args): Promise<void> {
  const url = loopbackUrl(process.env.DATABASE_URL ?? DEFAULT_URL);
  const plan = groupPlan(args.variants);
  const groups = [...plan.keys()];
  const cellCount = args.workloads.length * args.concurrency.length;
  let rounds = args.rounds;
  while (rounds > 1 && totalEstimate(args, plan, rounds) > args.budget) rounds -= 1;
  if (totalEstimate(args, plan, rounds) > args.budget) {
    usage(`one round of ${cellCount} cells needs ${totalEstimate(args, plan, 1).toFixed(0)}s, over --budget ${args.budget}s`);
  }
  if (rounds < args.rounds) {
    console.log(
      `note: --rounds ${args.rounds} would take ~${totalEstimate(args, plan, args.rounds).toFixed(0)}s, over --budget ` +
        `${args.budget}s; running ${rounds} rounds`,
    );
  }
  const estimate = totalEstimate(args, plan, rounds);
  const schedule: { group: GroupName; rounds: number; offset: number }[] = [];
  let offset = 0;
  segmentRounds(rounds, args.segments).forEach((count, s) => {
    // plain scoped | scoped plain | ...: drift over the run falls on both groups alike.
    for (const group of s % 2 === 0 ? groups : [...groups].reverse()) schedule.push({ group, rounds: count, offset });
    offset += count;
  });

  // Last resort: the parent gives up (and stops the child it started) if a child overruns.
  let current: ChildGroup<GroupResult> | undefined;
  const limitSeconds = Math.ceil(estimate + 90);
  const watchdog = setTimeout(() => {
    console.error(`pg-overhead-bench: still running ${limitSeconds}s after start; giving up`);
    current?.child.kill('SIGKILL');
    process.exit(1);
  }, limitSeconds * 1000);
  watchdog.unref();

  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await probe.connect();
  let version: string;
  try {
    version = (await probe.query<{ version: string }>('SELECT version() AS version')).rows[0]?.version ?? 'unknown';
  } finally {
    await probe.end();
  }

  const shared = shareLib(args.lib);
  const started = new Date();
  try {
    const slotsOf = (group: GroupName) => [GROUP_BASELINE[group], ...(plan.get(group) ?? [])];
    console.log('poolscope pg overhead bench');
    console.log(`date:        ${started.toISOString()}`);
    console.log(`node:        ${process.version} (${os.cpus().length} CPUs: ${os.cpus()[0]?.model ?? 'unknown'})`);
    console.log(`postgres:    ${version}`);
    console.log(`server:      ${new URL(url).host}`);
    console.log(`poolscope:   ${shared.description ?? `loaded by each child (--lib ${args.lib}), see below`}`);
    console.log(
      `method:      pool max ${POOL_MAX}; ${rounds} rounds per cell; ` +
        (args.interleave === 'slice'
          ? `each round one run whose workers switch pool every ${args.sliceMs} ms, round-robin over the group's pools ` +
            `(order of the X rotating per round), a warm-up of one turn at least (${args.warmup}s), then ${args.seconds}s ` +
            `measured per pool; ratio = X slice / nearest reference slices; `
          : `each round the runs base X1 base X2 ... (X rotating), ${args.warmup}s warm-up + ${args.seconds}s measured ` +
            'each; ratio = X / the reference run just before it; ') +
        `calls made ${args.stackDepth} frames deep`,
    );
    for (const group of groups) {
      console.log(
        `group:       ${group.padEnd(6)} ${slotsOf(group).join(' ')}` +
          (group === 'plain'
            ? ' (no AsyncLocalStorage ever runs in its process; reference bare)'
            : ` (each operation inside an AsyncLocalStorage scope: als/als-control new AsyncLocalStorage().run({}, op), owners inspector.runAs('${OWNER_LABEL}', op); reference als)`),
      );
    }
    console.log(
      `children:    ${schedule.map((s) => `${s.group} (rounds ${s.offset + 1}-${s.offset + s.rounds})`).join(', ')}; ` +
        'one process each, run one after another',
    );
    console.log(`load avg:    ${os.loadavg().map((n) => n.toFixed(2)).join(' ')} (start)`);
    console.log(`estimate:    ~${estimate.toFixed(0)}s`);
    console.log('');

    const results: GroupResult[] = [];
    for (const step of schedule) {
      const argv = [
        '--group', step.group,
        '--variants', (plan.get(step.group) ?? []).join(','),
        '--rounds', String(step.rounds),
        '--round-offset', String(step.offset),
        '--round-total', String(rounds),
        '--seconds', String(args.seconds),
        '--warmup', String(args.warmup),
        '--concurrency', args.concurrency.join(','),
        '--workloads', args.workloads.join(','),
        '--interleave', args.interleave,
        '--slice-ms', String(args.sliceMs),
        '--stack-depth', String(args.stackDepth),
        ...shared.childArgs,
      ];
      console.log(`child ${step.group}: rounds ${step.offset + 1}-${step.offset + step.rounds} of ${rounds}`);
      current = startChildGroup<GroupResult>(SCRIPT, argv, (line) => console.log(line));
      const result = await current.result;
      current = undefined;
      console.log(`child ${step.group}: done in ${result.seconds.toFixed(0)}s`);
      results.push(result);
    }

    // Merge the children's figures, cell by cell.
    const merged: MergedCell[] = [];
    for (const workload of args.workloads) {
      for (const concurrency of args.concurrency) {
        merged.push({ workload, concurrency, runs: new Map(), ratios: new Map(), samples: new Map(), cpuDeltas: new Map() });
      }
    }
    for (const result of results) {
      for (const cell of result.cells) {
        const into = merged.find((m) => m.workload === cell.workload && m.concurrency === cell.concurrency);
        if (into === undefined) continue;
        const mergeInto = <K>(map: Map<K, unknown[]>, record: Partial<Record<string, unknown[]>>) => {
          for (const [key, list] of Object.entries(record)) for (const value of list ?? []) append(map, key as K, value);
        };
        mergeInto(into.runs as Map<VariantName, unknown[]>, cell.runs);
        mergeInto(into.ratios as Map<ComparedName, unknown[]>, cell.ratios);
        mergeInto(into.samples as Map<ComparedName, unknown[]>, cell.samples);
        mergeInto(into.cpuDeltas as Map<ComparedName, unknown[]>, cell.cpuDeltas);
      }
    }

    console.log('');
    console.log(`load avg:    ${os.loadavg().map((n) => n.toFixed(2)).join(' ')} (end)`);
    if (shared.description === undefined) console.log(`poolscope:   ${[...new Set(results.map((r) => r.poolscope))].join('; ')}`);
    console.log('');
    const rows: string[][] = [
      ['workload', 'conc', 'variant', 'vs', 'median q/s', 'CPU us/q', 'dCPU us/q', 'median ratio', 'round min', 'round max', 'target', 'verdict'],
    ];
    const verdicts = new Map<ComparedName, { pass: number; total: number; ratios: number[] }>();
    const emptyScope: { ratios: number[]; deltas: number[] } = { ratios: [], deltas: [] };
    for (const cell of merged) {
      const label = WORKLOAD_LABEL[cell.workload];
      const conc = String(cell.concurrency);
      const qpsOf = (name: VariantName) => median((cell.runs.get(name) ?? []).map((r) => r.qps));
      const cpuOf = (name: VariantName) => median((cell.runs.get(name) ?? []).map((r) => r.cpuMicros));
      for (const group of groups) {
        const base = GROUP_BASELINE[group];
        if (group === 'scoped' && plan.has('plain')) {
          const cross = crossProcess(cell.runs.get('bare') ?? [], cell.runs.get('als') ?? []);
          const ratio = median(cross.ratios);
          emptyScope.ratios.push(ratio);
          emptyScope.deltas.push(median(cross.deltas));
          rows.push([
            label, conc, 'als', 'bare, CPU, x-proc', fmtInt(qpsOf(base)), fmt(cpuOf(base), 1), fmtSigned(median(cross.deltas), 2),
            fmt(ratio, 3), fmt(Math.min(...cross.ratios), 3), fmt(Math.max(...cross.ratios), 3), '(info)', '',
          ]);
        } else {
          rows.push([label, conc, base, '', fmtInt(qpsOf(base)), fmt(cpuOf(base), 1), '', '1 (ref)', '', '', '', '']);
        }
        for (const name of plan.get(group) ?? []) {
          const ratios = cell.ratios.get(name) ?? [];
          const med = median(cell.samples.get(name) ?? []);
          const control = !isTracked(name);
          // The controls are untracked: they should read ~1; anything else is the method's own bias or noise.
          const pass = control ? Math.abs(med - 1) <= CONTROL_MARGIN : med >= TARGETS[name];
          const summary = verdicts.get(name) ?? { pass: 0, total: 0, ratios: [] };
          summary.total += 1;
          if (pass) summary.pass += 1;
          summary.ratios.push(med);
          verdicts.set(name, summary);
          rows.push([
            label, conc, name, base, fmtInt(qpsOf(name)), fmt(cpuOf(name), 1), fmtSigned(median(cell.cpuDeltas.get(name) ?? []), 2),
            fmt(med, 3), fmt(Math.min(...ratios), 3), fmt(Math.max(...ratios), 3), targetText(name),
            control ? (pass ? 'ok' : 'BIASED') : pass ? 'PASS' : 'MISS',
          ]);
        }
      }
    }
    console.log(table(rows, new Set([1, 4, 5, 6, 7, 8, 9])));
    const firstCompared = [...plan.values()].flat()[0];
    const samplesPerVariant = firstCompared === undefined ? 0 : (merged[0]?.samples.get(firstCompared)?.length ?? 0);
    console.log(
      (args.interleave === 'slice'
        ? `median ratio: median over ${samplesPerVariant > 0 ? `~${samplesPerVariant}` : 'the'} slices per cell of (X slice q/s) / (mean q/s of the nearest ` +
          'reference slices before and after it, in the same process); round min/max: range of the per-round medians; ' +
          "dCPU: median of the same pairs' process CPU per query, X minus reference"
        : 'median ratio: median over rounds of X / the reference run just before it, in the same process; round min/max: ' +
          "range of those ratios; dCPU: median of the same pairs' process CPU per query, X minus reference") +
        '; median q/s and CPU us/q: medians of per-round totals',
    );
    if (plan.has('plain') && plan.has('scoped')) {
      console.log(
        'als row: the scoped group\'s reference against bare, by CPU per query of the same round number measured in the ' +
          'two child processes (x-proc: not interleaved, so drift between the two children counts): median ratio = ' +
          'median over rounds of bare CPU / als CPU, dCPU = als minus bare',
      );
    }
    console.log('');
    console.log('targets (median ratio per workload x concurrency cell; plain variants against bare, scoped ones against als):');
    for (const name of [...plan.values()].flat()) {
      const s = verdicts.get(name);
      if (s === undefined) continue;
      const base = (PLAIN_COMPARED as readonly string[]).includes(name) ? 'bare' : 'als';
      const what = isTracked(name) ? `${targetText(name)} of ${base}` : `${targetText(name)} of ${base} (A/A control, untracked${base === 'als' ? ', in the empty scope' : ''})`;
      const verdict = s.pass === s.total ? (isTracked(name) ? 'PASS' : 'ok') : isTracked(name) ? 'MISS' : 'BIASED';
      console.log(`  ${name.padEnd(11)} ${what}: ${verdict} (${s.pass}/${s.total} cells; cell medians ${s.ratios.map((r) => fmt(r, 3)).join(', ')})`);
    }
    if (emptyScope.ratios.length > 0) {
      console.log(
        `  ${'als'.padEnd(11)} the empty scope's own cost, against bare by CPU per query across the two processes: ` +
          `cell ratios ${emptyScope.ratios.map((r) => fmt(r, 3)).join(', ')}; dCPU ${emptyScope.deltas.map((d) => fmtSigned(d, 2)).join(', ')} us`,
      );
    }

    console.log('');
    console.log('tracker sanity (whole run, including warm-up; summed over the children of each group):');
    const counters = new Map<TrackedName, Record<string, number>>();
    for (const result of results) {
      for (const t of result.trackers) {
        const sum = counters.get(t.name) ?? {};
        for (const [key, value] of Object.entries(t.counters)) sum[key] = (sum[key] ?? 0) + value;
        counters.set(t.name, sum);
      }
    }
    for (const [name, c] of counters) {
      console.log(
        `  ${name.padEnd(8)} acquires ${c.acquires}, releases ${c.releases}, queries ${c.queries}, errors ${c.errors}, ` +
          `leaks ${c.leaksSuspected}, dirty ${c.dirtyReleases}, double ${c.doubleReleases}, foreign ${c.foreignReleases}, ` +
          `owner ended holding ${c.ownerEndedHolding}, saturation snapshots ${c.saturationSnapshots}`,
      );
    }
    console.log(
      `async hooks at the end of each child: ${results
        .map((r) => `${r.group} ${r.asyncHooks ? 'on' : 'off'}`)
        .join(', ')} (plain must be off, scoped on)`,
    );
    if (results.some((r) => r.group === 'plain' && r.asyncHooks)) {
      console.log('WARNING: AsyncLocalStorage hooks were on in a plain child: its bare reference paid for them');
    }
    for (const r of results) if (r.ownerCheck !== undefined) console.log(`owner check (scoped, rounds from ${r.firstRound + 1}): ${r.ownerCheck}`);
    console.log(`elapsed:     ${((Date.now() - started.getTime()) / 1000).toFixed(0)}s`);
  } finally {
    shared.dispose();
    clearTimeout(watchdog);
  }
}

// ---- main -------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.group !== undefined) await runGroup(args, args.group);
  else await runAll(args);
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
