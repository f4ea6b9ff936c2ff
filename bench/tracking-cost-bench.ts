// The CPU cost of poolscope's per-checkout and per-query bookkeeping, without a network: a fake pool shaped like
// pg-pool 3.x (what trackPgPool reads and wraps) that hands out fake clients synchronously. Each case runs
// `--iterations` operations per sample, variants interleaved, `--repeats` samples; the median ns/op is reported.
//
//   node --import tsx bench/tracking-cost-bench.ts [--iterations 200000] [--repeats 7] [--stack-depth 12]
//        [--lib tsc|dist|src]
//
// See bench/README.md.

import { EventEmitter } from 'node:events';
import type { Inspector, PoolTrackingOptions } from '../src/index.js';
import { LIB_CHOICES, loadPoolscope } from './load-poolscope.js';
import type { LibChoice, LoadedPoolscope } from './load-poolscope.js';

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
}

function usage(message: string): never {
  console.error(`tracking-cost-bench: ${message}`);
  console.error(
    'usage: node --import tsx bench/tracking-cost-bench.ts [--iterations N] [--repeats N] [--stack-depth N] [--lib tsc|dist|src]',
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { iterations: 200_000, repeats: 7, stackDepth: 12, lib: 'tsc' };
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

const VARIANTS = ['bare', 'off', 'default', 'always'] as const;
type VariantName = (typeof VARIANTS)[number];

const TRACKING_OPTIONS: Record<Exclude<VariantName, 'bare'>, PoolTrackingOptions> = {
  off: { name: 'cost-off', stackCapture: 'off' },
  default: { name: 'cost-default' },
  always: { name: 'cost-always', stackCapture: 'always' },
};

interface Setup {
  readonly pool: FakePool;
  /** A client held for the whole bench (for the query cases); checked out before timing. */
  readonly held: FakeClient;
  readonly inspector: Inspector | undefined;
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

function casePoolQueryShape(depth: number): Sample {
  // What pg-pool's pool.query() does per call: connect(cb), client.query(text, values, cb), release in the callback.
  const onClient: ConnectCallback = (err, client) => {
    if (err) throw err;
    const c = client as FakeClient;
    c.query('SELECT 1', undefined, afterQuery(c));
  };
  return ({ pool }, n) =>
    atDepth(depth, () => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) pool.connect(onClient);
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

interface Case {
  readonly title: string;
  readonly sample: Sample;
  readonly variants: readonly VariantName[];
}

// ---- statistics and output --------------------------------------------------------------------------------------

function median(values: readonly number[]): number {
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

const us = (ns: number, digits = 3) => (ns / 1000).toFixed(digits);
const signedUs = (ns: number) => `${ns >= 0 ? '+' : ''}${(ns / 1000).toFixed(3)}`;

// ---- main -------------------------------------------------------------------------------------------------------

async function setUp({ lib }: LoadedPoolscope, variant: VariantName): Promise<Setup> {
  const pool = new FakePool();
  let inspector: Inspector | undefined;
  if (variant !== 'bare') {
    inspector = new lib.Inspector();
    lib.trackPgPool(inspector, pool, TRACKING_OPTIONS[variant]);
  }
  const held = (await pool.connect()) as FakeClient;
  return { pool, held, inspector };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const poolscope = await loadPoolscope(args.lib);
  const cases: Case[] = [
    { title: 'checkout+release, connect(cb)', sample: caseCheckoutCallback(args.stackDepth), variants: VARIANTS },
    { title: 'pool.query shape: connect(cb)+query(cb)+release', sample: casePoolQueryShape(args.stackDepth), variants: VARIANTS },
    { title: 'checkout+release, await connect()', sample: caseCheckoutPromise, variants: VARIANTS },
    { title: "held client: await query('SELECT 1')", sample: caseQueryPromise, variants: ['bare', 'default'] },
    { title: "held client: query('SELECT 1', undefined, cb)", sample: caseQueryCallback, variants: ['bare', 'default'] },
  ];

  console.log('poolscope tracking cost bench (fake pg-pool, no network)');
  console.log(`date:        ${new Date().toISOString()}`);
  console.log(`node:        ${process.version}`);
  console.log(`poolscope:   ${poolscope.description}`);
  console.log(
    `method:      ${args.iterations.toLocaleString('en-US')} ops per sample, ${args.repeats} samples per variant (plus one ` +
      `discarded warm-up), variants interleaved; median ns/op; connect(cb) cases called ${args.stackDepth} frames deep`,
  );
  console.log('');

  const setups = new Map<VariantName, Setup>();
  for (const v of VARIANTS) setups.set(v, await setUp(poolscope, v));

  const rows: string[][] = [['case', 'variant', 'us/op (median)', 'min', 'max', 'vs bare us/op']];
  const checkoutMedians = new Map<VariantName, number>();
  try {
    for (const c of cases) {
      const samples = new Map<VariantName, number[]>(c.variants.map((v) => [v, []]));
      for (let r = 0; r <= args.repeats; r++) {
        // Rotate the order each repeat so no variant always runs right after a GC-heavy one.
        const order = c.variants.map((_, i) => c.variants[(i + r) % c.variants.length] as VariantName);
        for (const v of order) {
          const ns = await c.sample(setups.get(v) as Setup, args.iterations);
          if (r > 0) samples.get(v)?.push(ns / args.iterations);
        }
      }
      const bare = median(samples.get('bare') ?? []);
      for (const v of c.variants) {
        const list = samples.get(v) ?? [];
        const med = median(list);
        if (c === cases[0]) checkoutMedians.set(v, med);
        rows.push([c.title, v, us(med), us(Math.min(...list)), us(Math.max(...list)), v === 'bare' ? '' : signedUs(med - bare)]);
      }
      console.log(`  done: ${c.title}`);
    }
  } finally {
    for (const s of setups.values()) {
      s.held.release();
      s.inspector?.close();
      await s.pool.end();
    }
  }

  console.log('');
  console.log(table(rows, new Set([2, 3, 4, 5])));

  // The adaptive default captures at most stackCaptureBudgetPerSecond (1000) stacks a second; in this tight loop that
  // is a negligible share of checkouts, at a real pool's rate it is not. Estimate the default's cost at such rates.
  const off = checkoutMedians.get('off');
  const always = checkoutMedians.get('always');
  const bare = checkoutMedians.get('bare');
  if (off !== undefined && always !== undefined && bare !== undefined) {
    console.log('');
    console.log('adaptive default at a real pool rate (budget 1000 stacks/s): est. us/checkout over bare');
    for (const rate of [1_000, 5_000, 10_000, 30_000]) {
      const share = Math.min(1, 1000 / rate);
      console.log(
        `  ${rate.toLocaleString('en-US').padStart(6)} checkouts/s: ${(share * 100).toFixed(1).padStart(5)}% captured, ` +
          `~${signedUs(off + share * (always - off) - bare)} us`,
      );
    }
  }
  if (sink < 0) console.log(sink);
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
