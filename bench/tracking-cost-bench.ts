// The CPU cost of poolscope's per-checkout and per-query bookkeeping, without a network: a fake pool shaped like
// pg-pool 3.x (what trackPgPool reads and wraps) that hands out fake clients synchronously. Each case runs
// `--iterations` operations per sample, variants interleaved, `--repeats` samples; the median ns/op is reported.
//
// Two groups, each in a child process of its own (see bench/group-process.ts): `plain` (bare, off, default, always;
// no AsyncLocalStorage ever runs in it) and `scoped` (each operation inside a scope: `als`, the bare fake pool inside
// `new AsyncLocalStorage().run({}, op)`, and `owners`, poolscope default inside `inspector.runAs('job bench', op)`).
// On Node 20 the first AsyncLocalStorage run turns its promise hooks on for the whole process, so `owners` is set
// against `als` in its own process, and `als` against `bare` across the two.
//
//   node --import tsx bench/tracking-cost-bench.ts [--iterations 200000] [--repeats 7] [--stack-depth 12]
//        [--lib tsc|dist|src]
//
// See bench/README.md.

import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Inspector, PoolTrackingOptions } from '../src/index.js';
import { asyncHooksActive, GROUPS, loadChildLib, shareLib, startChildGroup } from './group-process.js';
import type { GroupName } from './group-process.js';
import { LIB_CHOICES } from './load-poolscope.js';
import type { LibChoice, LoadedPoolscope } from './load-poolscope.js';

const SCRIPT = fileURLToPath(import.meta.url);

// ---- a pg-pool look-alike ----------------------------------------------------------------------------------------

type ConnectCallback = (err: Error | undefined, client?: FakeClient, done?: (err?: unknown) => void) => void;
type QueryCallback = (err: Error | null, result?: unknown) => void;

const RESULT = Object.freeze({ command: 'SELECT', rowCount: 1, rows: [{ '?column?': 1 }] });
const RESOLVED: Promise<unknown> = Promise.resolve(RESULT);
const NOOP = (): void => undefined;

/** pg.Client's surface that poolscope touches: query (three forms), release, emit, processID, transaction status. */
class FakeClient extends EventEmitter {
  readonly processID: number;
  release: (err?: unknown) => void = NOOP;

  constructor(processID: number) {
    super();
    this.processID = processID;
  }

  query(_config: unknown, values?: unknown, callback?: unknown): unknown {
    const cb = (typeof values === 'function' ? values : callback) as QueryCallback | undefined;
    if (typeof cb === 'function') {
      cb(null, RESULT);
      return undefined;
    }
    return RESOLVED;
  }

  getTransactionStatus(): string {
    return 'I';
  }
}

/**
 * pg-pool's checkout bookkeeping without sockets: an idle list, a once-only release closure per checkout (as
 * pg-pool's `_releaseOnce`), the `connect`/`acquire`/`release` events, and the counters and options trackPgPool reads.
 * `connect(cb)` calls back synchronously; without a callback it returns a promise, as pg-pool does.
 */
class FakePool extends EventEmitter {
  readonly options = { max: 10, min: 0, idleTimeoutMillis: 10_000, maxUses: Infinity, allowExitOnIdle: false };
  readonly Promise = Promise;
  readonly #clients: FakeClient[] = [];
  readonly #idle: FakeClient[] = [];
  #nextPid = 1000;

  get totalCount(): number {
    return this.#clients.length;
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  get waitingCount(): number {
    return 0;
  }

  connect(cb?: ConnectCallback): unknown {
    if (cb === undefined) {
      return new Promise<FakeClient>((resolve, reject) => {
        this.connect((err, client) => (err ? reject(err) : resolve(client as FakeClient)));
      });
    }
    let client = this.#idle.pop();
    const isNew = client === undefined;
    if (client === undefined) {
      if (this.#clients.length >= this.options.max) {
        cb(new Error('FakePool: every client is checked out (the bench releases before the next checkout)'));
        return undefined;
      }
      client = new FakeClient(this.#nextPid++);
      this.#clients.push(client);
    }
    if (isNew) this.emit('connect', client);
    this.emit('acquire', client);
    const leased = client;
    let released = false;
    client.release = (err?: unknown) => {
      if (released) throw new Error('Release called on client which has already been released to the pool.');
      released = true;
      this.emit('release', err, leased);
      this.#idle.push(leased);
    };
    cb(undefined, client, client.release);
    return undefined;
  }

  async end(): Promise<void> {
    this.#idle.length = 0;
    this.#clients.length = 0;
  }
}


// ---- arguments --------------------------------------------------------------------------------------------------

interface Args {
  iterations: number;
  repeats: number;
  stackDepth: number;
  lib: LibChoice;
  /** Internal (parent to child): run only this group and print its samples as JSON. */
  group: GroupName | undefined;
  /** Internal: the folder of the parent's shared transpile of src/. */
  libDir: string | undefined;
}

function usage(message: string): never {
  console.error(`tracking-cost-bench: ${message}`);
  console.error(
    'usage: node --import tsx bench/tracking-cost-bench.ts [--iterations N] [--repeats N] [--stack-depth N] [--lib tsc|dist|src]',
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { iterations: 200_000, repeats: 7, stackDepth: 12, lib: 'tsc', group: undefined, libDir: undefined };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    const eq = token.indexOf('=');
    const flag = eq === -1 ? token : token.slice(0, eq);
    const text = eq === -1 ? argv[++i] : token.slice(eq + 1);
    if (flag === '--lib') {
      if (!(LIB_CHOICES as readonly string[]).includes(text ?? '')) usage(`--lib needs one of ${LIB_CHOICES.join(', ')}`);
      args.lib = text as LibChoice;
      continue;
    }
    if (flag === '--group') {
      if (!(GROUPS as readonly string[]).includes(text ?? '')) usage(`--group needs one of ${GROUPS.join(', ')}`);
      args.group = text as GroupName;
      continue;
    }
    if (flag === '--lib-dir') {
      if (text === undefined || text === '') usage('--lib-dir needs a folder');
      args.libDir = text;
      continue;
    }
    const value = Number(text);
    const key = ({ '--iterations': 'iterations', '--repeats': 'repeats', '--stack-depth': 'stackDepth' } as const)[
      flag as '--iterations' | '--repeats' | '--stack-depth'
    ];
    if (key === undefined) usage(`unknown argument ${JSON.stringify(token)}`);
    const min = key === 'stackDepth' ? 0 : 1;
    if (text === undefined || !Number.isInteger(value) || value < min) usage(`${flag} needs a whole number >= ${min}`);
    args[key] = value;
  }
  return args;
}

// ---- cases ------------------------------------------------------------------------------------------------------

const PLAIN_VARIANTS = ['bare', 'off', 'default', 'always'] as const;
const SCOPED_VARIANTS = ['als', 'owners'] as const;
type VariantName = (typeof PLAIN_VARIANTS)[number] | (typeof SCOPED_VARIANTS)[number];
/** Each group's reference: the variant the others are set against in the same process. */
const GROUP_BASELINE: Record<GroupName, VariantName> = { plain: 'bare', scoped: 'als' };
const OWNER_LABEL = 'job bench';

const TRACKING_OPTIONS: Record<Exclude<VariantName, 'bare' | 'als'>, PoolTrackingOptions> = {
  off: { name: 'cost-off', stackCapture: 'off' },
  default: { name: 'cost-default' },
  always: { name: 'cost-always', stackCapture: 'always' },
  owners: { name: 'cost-owners' },
};

interface Setup {
  readonly pool: FakePool;
  /** A client held for the whole bench (for the query cases); checked out before timing. */
  readonly held: FakeClient;
  readonly inspector: Inspector | undefined;
  /** Scoped group: runs one operation inside the variant's scope (an empty AsyncLocalStorage scope, or an owner). */
  readonly scope: <T>(fn: () => T) => T;
}

/** One timed sample: runs `iterations` operations, returns elapsed nanoseconds (async cases await the last). */
type Sample = (setup: Setup, iterations: number) => Promise<number> | number;

/** Calls `fn` under `depth` extra frames, so a captured stack walks the full frame limit as in an application. */
function atDepth<T>(depth: number, fn: () => T): T {
  return depth <= 0 ? fn() : atDepth(depth - 1, fn);
}

let sink = 0;

const releaseIt: ConnectCallback = (err, client) => {
  if (err) throw err;
  (client as FakeClient).release();
};

const afterQuery = (client: FakeClient): QueryCallback => {
  return () => {
    client.release();
  };
};

function caseCheckoutCallback(depth: number): Sample {
  return ({ pool }, n) =>
    atDepth(depth, () => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) pool.connect(releaseIt);
      return Number(process.hrtime.bigint() - t0);
    });
}

// What pg-pool's pool.query() does per call: connect(cb), client.query(text, values, cb), release in the callback.
const onClientQuery: ConnectCallback = (err, client) => {
  if (err) throw err;
  const c = client as FakeClient;
  c.query('SELECT 1', undefined, afterQuery(c));
};

function casePoolQueryShape(depth: number): Sample {
  return ({ pool }, n) =>
    atDepth(depth, () => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) pool.connect(onClientQuery);
      return Number(process.hrtime.bigint() - t0);
    });
}

const caseCheckoutPromise: Sample = async ({ pool }, n) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const client = (await pool.connect()) as FakeClient;
    client.release();
  }
  return Number(process.hrtime.bigint() - t0);
};

const caseQueryPromise: Sample = async ({ held }, n) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await held.query('SELECT 1');
  // Let the wrapper's completion callbacks of the last query run inside the timed window.
  await new Promise((resolve) => setImmediate(resolve));
  return Number(process.hrtime.bigint() - t0);
};

const caseQueryCallback: Sample = ({ held }, n) => {
  const onResult: QueryCallback = (_err, result) => {
    if (result !== undefined) sink += 1;
  };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) held.query('SELECT 1', undefined, onResult);
  return Number(process.hrtime.bigint() - t0);
};

// The scoped group's cases: the same operations, each one inside the variant's scope (one scope per checkout, as one
// request or job per checkout). `als` and `owners` run the very same code; only the scope differs.

function caseScopedCheckoutCallback(depth: number): Sample {
  return ({ pool, scope }, n) =>
    atDepth(depth, () => {
      const op = () => pool.connect(releaseIt);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) scope(op);
      return Number(process.hrtime.bigint() - t0);
    });
}

function caseScopedPoolQueryShape(depth: number): Sample {
  return ({ pool, scope }, n) =>
    atDepth(depth, () => {
      const op = () => pool.connect(onClientQuery);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) scope(op);
      return Number(process.hrtime.bigint() - t0);
    });
}

const caseScopedCheckoutPromise: Sample = async ({ pool, scope }, n) => {
  const op = async () => {
    const client = (await pool.connect()) as FakeClient;
    client.release();
  };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await scope(op);
  return Number(process.hrtime.bigint() - t0);
};

interface Case {
  readonly title: string;
  /** Per group: the sample function and the variants it runs (a group absent here does not run the case). */
  readonly groups: Partial<Record<GroupName, { readonly sample: Sample; readonly variants: readonly VariantName[] }>>;
}

function casesFor(depth: number): Case[] {
  const scoped = (sample: Sample) => ({ sample, variants: SCOPED_VARIANTS });
  return [
    {
      title: 'checkout+release, connect(cb)',
      groups: { plain: { sample: caseCheckoutCallback(depth), variants: PLAIN_VARIANTS }, scoped: scoped(caseScopedCheckoutCallback(depth)) },
    },
    {
      title: 'pool.query shape: connect(cb)+query(cb)+release',
      groups: { plain: { sample: casePoolQueryShape(depth), variants: PLAIN_VARIANTS }, scoped: scoped(caseScopedPoolQueryShape(depth)) },
    },
    {
      title: 'checkout+release, await connect()',
      groups: { plain: { sample: caseCheckoutPromise, variants: PLAIN_VARIANTS }, scoped: scoped(caseScopedCheckoutPromise) },
    },
    { title: "held client: await query('SELECT 1')", groups: { plain: { sample: caseQueryPromise, variants: ['bare', 'default'] } } },
    { title: "held client: query('SELECT 1', undefined, cb)", groups: { plain: { sample: caseQueryCallback, variants: ['bare', 'default'] } } },
  ];
}

// ---- statistics and output --------------------------------------------------------------------------------------

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function table(rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const us = (ns: number, digits = 3) => (Number.isFinite(ns) ? (ns / 1000).toFixed(digits) : '-');
const signedUs = (ns: number) => (Number.isFinite(ns) ? `${ns >= 0 ? '+' : ''}${(ns / 1000).toFixed(3)}` : '-');

// ---- child: one group -------------------------------------------------------------------------------------------

/** What one child prints on stdout, as one line of JSON. */
interface GroupResult {
  readonly group: GroupName;
  readonly poolscope: string;
  /** Per case title, per variant: ns/op of each kept sample. */
  readonly samples: Record<string, Partial<Record<VariantName, number[]>>>;
  /** Whether AsyncLocalStorage's hooks were on at the end (they must not be in `plain`). */
  readonly asyncHooks: boolean;
  readonly seconds: number;
}

async function setUp({ lib }: LoadedPoolscope, variant: VariantName, storage: AsyncLocalStorage<object>): Promise<Setup> {
  const pool = new FakePool();
  let inspector: Inspector | undefined;
  let scope: <T>(fn: () => T) => T = (fn) => fn();
  if (variant === 'als') {
    // A fresh empty store per operation, as a request middleware would give each request.
    scope = (fn) => storage.run({}, fn);
  } else if (variant !== 'bare') {
    const tracking = new lib.Inspector();
    inspector = tracking;
    lib.trackPgPool(tracking, pool, TRACKING_OPTIONS[variant]);
    if (variant === 'owners') scope = (fn) => tracking.runAs(OWNER_LABEL, fn);
  }
  const held = (await pool.connect()) as FakeClient;
  return { pool, held, inspector, scope };
}

async function runGroup(args: Args, group: GroupName): Promise<void> {
  const started = performance.now();
  const poolscope = await loadChildLib(args.lib, args.libDir);
  const storage = new AsyncLocalStorage<object>();
  const cases = casesFor(args.stackDepth);
  const variants = group === 'plain' ? PLAIN_VARIANTS : SCOPED_VARIANTS;
  const setups = new Map<VariantName, Setup>();
  for (const v of variants) setups.set(v, await setUp(poolscope, v, storage));
  const samples: Record<string, Partial<Record<VariantName, number[]>>> = {};
  let asyncHooks: boolean;
  try {
    for (const c of cases) {
      const mine = c.groups[group];
      if (mine === undefined) continue;
      const perVariant: Partial<Record<VariantName, number[]>> = {};
      for (let r = 0; r <= args.repeats; r++) {
        // Rotate the order each repeat so no variant always runs right after a GC-heavy one.
        const order = mine.variants.map((_, i) => mine.variants[(i + r) % mine.variants.length] as VariantName);
        for (const v of order) {
          const ns = await mine.sample(setups.get(v) as Setup, args.iterations);
          if (r > 0) (perVariant[v] ??= []).push(ns / args.iterations);
        }
      }
      samples[c.title] = perVariant;
      process.stderr.write(`  [${group}] done: ${c.title}\n`);
    }
    // Before closing anything (closing an inspector disables its storage).
    asyncHooks = asyncHooksActive();
  } finally {
    for (const s of setups.values()) {
      s.held.release();
      s.inspector?.close();
      await s.pool.end();
    }
  }
  const result: GroupResult = { group, poolscope: poolscope.description, samples, asyncHooks, seconds: (performance.now() - started) / 1000 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (sink < 0) process.stderr.write(`${sink}\n`);
}

// ---- parent: both groups, one table -----------------------------------------------------------------------------

async function runAll(args: Args): Promise<void> {
  const shared = shareLib(args.lib);
  try {
    console.log('poolscope tracking cost bench (fake pg-pool, no network)');
    console.log(`date:        ${new Date().toISOString()}`);
    console.log(`node:        ${process.version}`);
    console.log(`poolscope:   ${shared.description ?? `loaded by each child (--lib ${args.lib}), see below`}`);
    console.log(
      `method:      ${args.iterations.toLocaleString('en-US')} ops per sample, ${args.repeats} samples per variant (plus one ` +
        `discarded warm-up), variants interleaved; median ns/op; connect(cb) cases called ${args.stackDepth} frames deep`,
    );
    console.log(
      `groups:      plain (${PLAIN_VARIANTS.join(' ')}; no AsyncLocalStorage ever runs) and scoped (${SCOPED_VARIANTS.join(' ')}; ` +
        `each operation inside new AsyncLocalStorage().run({}, op) or inspector.runAs('${OWNER_LABEL}', op)), each in its own child process`,
    );
    console.log('');

    const childArgs = ['--iterations', String(args.iterations), '--repeats', String(args.repeats), '--stack-depth', String(args.stackDepth), ...shared.childArgs];
    const results = new Map<GroupName, GroupResult>();
    for (const group of GROUPS) {
      const child = startChildGroup<GroupResult>(SCRIPT, ['--group', group, ...childArgs], (line) => console.log(line));
      const result = await child.result;
      console.log(`  child ${group}: done in ${result.seconds.toFixed(0)}s`);
      results.set(group, result);
    }
    if (shared.description === undefined) console.log(`poolscope:   ${[...new Set([...results.values()].map((r) => r.poolscope))].join('; ')}`);

    const rows: string[][] = [['case', 'variant', 'vs', 'us/op (median)', 'min', 'max', 'vs ref us/op']];
    const medians = new Map<string, Partial<Record<VariantName, number>>>();
    for (const c of casesFor(args.stackDepth)) {
      const perVariant: Partial<Record<VariantName, number>> = {};
      medians.set(c.title, perVariant);
      for (const group of GROUPS) {
        const mine = c.groups[group];
        const samples = results.get(group)?.samples[c.title];
        if (mine === undefined || samples === undefined) continue;
        for (const v of mine.variants) perVariant[v] = median(samples[v] ?? []);
        for (const v of mine.variants) {
          const list = samples[v] ?? [];
          const med = perVariant[v] ?? Number.NaN;
          const base = GROUP_BASELINE[group];
          let vs = '';
          let delta = '';
          if (v === 'als' && perVariant.bare !== undefined) {
            // The scoped reference against plain's bare: two processes, not interleaved.
            vs = 'bare, x-proc';
            delta = signedUs(med - perVariant.bare);
          } else if (v !== base) {
            vs = base;
            delta = signedUs(med - (perVariant[base] ?? Number.NaN));
          }
          rows.push([c.title, v, vs, us(med), us(Math.min(...list)), us(Math.max(...list)), delta]);
        }
      }
    }
    console.log('');
    console.log(table(rows, new Set([3, 4, 5, 6])));
    console.log(
      'vs ref: the median minus its reference\'s median, in the same process; "bare, x-proc": als (the scoped group\'s ' +
        'reference) minus bare, measured in the two child processes',
    );

    // Owner tracking on top of default tracking, from the two processes: (owners - als) - (default - bare).
    console.log('');
    console.log('owners beyond default tracking, est. us/op: (owners - als) - (default - bare), across the two processes');
    for (const [title, m] of medians) {
      if (m.owners === undefined || m.als === undefined || m.default === undefined || m.bare === undefined) continue;
      console.log(`  ${title.padEnd(48)} ${signedUs(m.owners - m.als - (m.default - m.bare))}`);
    }

    // The adaptive default captures at most stackCaptureBudgetPerSecond (200 by default) stacks a second; in this tight loop that
    // is a negligible share of checkouts, at a real pool's rate it is not. Estimate the default's cost at such rates.
    const checkout = medians.get(casesFor(args.stackDepth)[0]?.title ?? '') ?? {};
    const { off, always, bare } = checkout;
    if (off !== undefined && always !== undefined && bare !== undefined) {
      console.log('');
      console.log('adaptive default at a real pool rate (budget 200 stacks/s): est. us/checkout over bare');
      for (const rate of [200, 1_000, 5_000, 10_000, 30_000]) {
        const share = Math.min(1, 200 / rate);
        console.log(
          `  ${rate.toLocaleString('en-US').padStart(6)} checkouts/s: ${(share * 100).toFixed(1).padStart(5)}% captured, ` +
            `~${signedUs(off + share * (always - off) - bare)} us`,
        );
      }
    }
    console.log('');
    console.log(
      `async hooks at the end of each child: ${[...results.values()].map((r) => `${r.group} ${r.asyncHooks ? 'on' : 'off'}`).join(', ')} ` +
        '(plain must be off, scoped on)',
    );
    if (results.get('plain')?.asyncHooks === true) console.log('WARNING: AsyncLocalStorage hooks were on in the plain child: its bare reference paid for them');
  } finally {
    shared.dispose();
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
    console.error('tracking-cost-bench failed:', error);
    process.exitCode = 1;
  },
);
