// What each pool adapter costs against its bare driver (issue 15): pg (trackPgPool), mysql2 (trackMysql2Pool), Knex
// on PostgreSQL (trackKnex), tarn alone (trackTarnPool) and generic-pool (trackGenericPool), each measured against
// an untracked pool of the same driver and settings, in the same process and the same run. Informational: no target
// is asserted; it exits 0 once it has printed (2 for bad flags, 1 if its watchdog fires).
//
//   node --import tsx bench/adapters-bench.ts [--rounds 8] [--seconds 0.5] [--warmup 0.3] [--slice-ms 100]
//        [--concurrency 8] [--pool-max 8] [--drivers pg,mysql2,knex,tarn,generic-pool]
//        [--variants default,always,off,control] [--stack-depth 12] [--budget 170] [--lib tsc|src]
//
// Method (the slice interleaving of pg-overhead-bench.ts, see bench/README.md):
// - per driver, one pool per variant, created once: `bare` (the reference, untracked), `default` (tracked with
//   `{ name }`), `always` (`stackCapture: 'always'`) and `control` (a second untracked pool: an A/A check, it should
//   read 1.00, and how far it strays is the method's own noise); `off` (`stackCapture: 'off'`) on request, to tell
//   the stack capture's share from the rest. Each tracked pool has its own Inspector;
// - each round is one run: --concurrency workers loop on the operation of the active pool, and the active pool
//   changes every --slice-ms, round-robin over `bare X1 X2 X3` (the X order rotating per round); after a warm-up of
//   at least one full turn, each pool gets --seconds of measured slices (every pool used equally often, so equally
//   warm, and all share whatever else the machine does);
// - per round and pool: completed operations per second, and process CPU (process.cpuUsage(), user + system) per
//   operation, summed over that pool's slices. Per round, X / bare for both; the table shows the medians over the
//   rounds (and the range of the throughput ratio), plus dCPU, the median per-round X - bare CPU per operation;
// - workloads: checkout + one trivial statement (`SELECT 1`) or ping + release, and the one-shot `pool.query` for pg
//   and mysql2 (promise API); Knex runs `knex.raw('SELECT 1')` (Knex's checkout, query, release); tarn and
//   generic-pool hold TCP sockets to a loopback echo server the bench starts in a child process (so its CPU is not
//   counted, as PostgreSQL's and MariaDB's is not), and ping it once per checkout (write 5 bytes, await the echo);
// - calls are made --stack-depth synchronous frames deep, so a captured stack walks as many frames as in an app.
// No AsyncLocalStorage runs here (no owners): the end of the output says whether the async hooks stayed off.
//
// Backends (loopback only): DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres; POOLSCOPE_TEST_MYSQL_URL,
// else mysql://root@127.0.0.1:3306/test. A driver whose backend does not answer is skipped with the reason.
// --lib tsc (default) measures the current src/ transpiled by TypeScript (what users run); --lib src through tsx.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import genericPool from 'generic-pool';
import knex from 'knex';
import mysqlPromise from 'mysql2/promise';
import pg from 'pg';
import { Pool as TarnPool } from 'tarn';
import type * as Root from '../src/index.js';
import type { Inspector, PoolTrackingOptions, PoolView } from '../src/index.js';
import type * as GenericPoolSubpath from '../src/adapters/generic-pool/index.js';
import type * as Mysql2Subpath from '../src/adapters/mysql2/index.js';
import type * as TarnSubpath from '../src/adapters/tarn/index.js';
import { asyncHooksActive } from './group-process.js';
import { transpileSources } from './load-poolscope.js';

const DRIVERS = ['pg', 'mysql2', 'knex', 'tarn', 'generic-pool'] as const;
type Driver = (typeof DRIVERS)[number];
const COMPARED = ['default', 'always', 'off', 'control'] as const;
type Compared = (typeof COMPARED)[number];
type Slot = 'bare' | Compared;
/** What runs unless --variants says otherwise (`off` is there to split a cost into stack capture and the rest). */
const DEFAULT_VARIANTS: readonly Compared[] = ['default', 'always', 'control'];
const TRACKED: readonly Compared[] = ['default', 'always', 'off'];
const isTracked = (slot: Slot): boolean => (TRACKED as readonly Slot[]).includes(slot);
const trackingOptions = (driver: Driver, slot: Compared): PoolTrackingOptions =>
  slot === 'always' || slot === 'off' ? { name: `bench-${driver}-${slot}`, stackCapture: slot } : { name: `bench-${driver}-${slot}` };

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const PROBE_TIMEOUT_MILLIS = 3000;
/** Opening each pool's connections and compiling its paths before anything is measured, per pool and workload. */
const PRIME_SECONDS = 0.3;
/** Estimated start-up (transpile, probes, echo server) and per-driver setup/teardown, for the up-front estimate. */
const SETUP_SECONDS = 4;
const DRIVER_SETUP_SECONDS = 0.5;
const PING = Buffer.from('ping\n');

// ---- arguments --------------------------------------------------------------------------------------------------

interface Args {
  rounds: number;
  seconds: number;
  warmup: number;
  sliceMs: number;
  concurrency: number;
  poolMax: number;
  drivers: Driver[];
  variants: Compared[];
  stackDepth: number;
  budget: number;
  lib: 'tsc' | 'src';
}

function usage(problem: string): never {
  process.stderr.write(`adapters-bench: ${problem}\n`);
  process.exit(2);
}

function listOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').filter((s) => s !== '');
  if (items.length === 0) usage(`${flag} needs at least one of ${allowed.join(', ')}`);
  for (const item of items) if (!(allowed as readonly string[]).includes(item)) usage(`${flag}: unknown ${item} (${allowed.join(', ')})`);
  return [...new Set(items)] as T[];
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    rounds: 8,
    seconds: 0.5,
    warmup: 0.3,
    sliceMs: 100,
    concurrency: 8,
    poolMax: 8,
    drivers: [...DRIVERS],
    variants: [...DEFAULT_VARIANTS],
    stackDepth: 12,
    budget: 170,
    lib: 'tsc',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] ?? '';
    const value = argv[i + 1];
    if (value === undefined) usage(`${flag} needs a value`);
    const num = (min: number, integer: boolean): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) usage(`${flag} must be ${integer ? 'a whole number' : 'a number'} >= ${min}`);
      return n;
    };
    switch (flag) {
      case '--rounds': args.rounds = num(1, true); break;
      case '--seconds': args.seconds = num(0.05, false); break;
      case '--warmup': args.warmup = num(0, false); break;
      case '--slice-ms': args.sliceMs = num(10, true); break;
      case '--concurrency': args.concurrency = num(1, true); break;
      case '--pool-max': args.poolMax = num(1, true); break;
      case '--stack-depth': args.stackDepth = num(0, true); break;
      case '--budget': args.budget = num(10, false); break;
      case '--drivers': args.drivers = listOf(flag, value, DRIVERS); break;
      case '--variants': args.variants = listOf(flag, value, COMPARED); break;
      case '--lib':
        if (value !== 'tsc' && value !== 'src') usage('--lib must be tsc or src');
        args.lib = value;
        break;
      default: usage(`unknown flag ${flag}`);
    }
  }
  return args;
}

/** `raw` if its host is a loopback address; the bench saturates the server it is pointed at. */
function loopbackUrl(raw: string, what: string): string {
  let host: string;
  try {
    host = new URL(raw).hostname;
  } catch {
    usage(`${what}: not a URL`);
  }
  if (!LOOPBACK_HOSTS.has(host)) usage(`${what}: only loopback hosts are accepted (got ${host})`);
  return raw;
}

// ---- poolscope --------------------------------------------------------------------------------------------------

interface Libs {
  readonly root: typeof Root;
  readonly mysql2: typeof Mysql2Subpath;
  readonly tarn: typeof TarnSubpath;
  readonly genericPool: typeof GenericPoolSubpath;
  readonly description: string;
  dispose(): void;
}

async function loadLibs(choice: 'tsc' | 'src'): Promise<Libs> {
  if (choice === 'src') {
    return {
      root: await import('../src/index.js'),
      mysql2: await import('../src/adapters/mysql2/index.js'),
      tarn: await import('../src/adapters/tarn/index.js'),
      genericPool: await import('../src/adapters/generic-pool/index.js'),
      description: "src/ through tsx (--lib src): tsx's keepNames adds a defineProperty per closure, overstating the cost",
      dispose: () => undefined,
    };
  }
  const started = performance.now();
  const dir = transpileSources();
  try {
    const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(path.join(dir, file)).href)) as T;
    const libs = {
      root: await load<typeof Root>('index.js'),
      mysql2: await load<typeof Mysql2Subpath>('adapters/mysql2/index.js'),
      tarn: await load<typeof TarnSubpath>('adapters/tarn/index.js'),
      genericPool: await load<typeof GenericPoolSubpath>('adapters/generic-pool/index.js'),
    };
    const millis = Math.round(performance.now() - started);
    return {
      ...libs,
      description: `current src/ transpiled by TypeScript (ES2022, as tsc emits it; --lib tsc) in ${millis} ms`,
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

// ---- the echo server (tarn, generic-pool) -----------------------------------------------------------------------

/** Runs in a plain `node -e` child: echoes every byte back; exits when the parent closes its stdin (or dies). */
const ECHO_SERVER_SOURCE = `
const net = require('node:net');
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.pipe(socket);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

interface EchoServer {
  readonly port: number;
  close(): Promise<void>;
}

async function startEchoServer(): Promise<EchoServer> {
  const child: ChildProcess = spawn(process.execPath, ['-e', ECHO_SERVER_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the echo server did not start within 5 s')), 5000);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the echo server exited (code ${String(code)})`)));
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.once('line', (line) => {
        clearTimeout(timer);
        lines.close();
        resolve(Number(line));
      });
    });
    return { port, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A pooled resource: a socket to the echo server, pinged once per checkout. */
class EchoConnection {
  readonly socket: net.Socket;
  #pending: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', () => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.resolve();
    });
    const fail = (error?: Error): void => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(error ?? new Error('echo socket closed'));
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  /** Writes 5 bytes and resolves on their echo. */
  ping(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.socket.write(PING);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function connectEcho(port: number): Promise<EchoConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new EchoConnection(socket));
    });
  });
}

// ---- drivers ----------------------------------------------------------------------------------------------------

type Operation = () => Promise<unknown>;

/**
 * Calls `fn` under `depth` extra synchronous frames, so a stack captured at checkout walks as many frames as it would
 * in an application (route handler, service, repository...) instead of the two or three of a bench loop.
 */
function atDepth<T>(depth: number, fn: () => T): T {
  return depth <= 0 ? fn() : atDepth(depth - 1, fn);
}

/** One pool of a driver: its operation per workload, how to track it, how to end it. */
interface BenchPool {
  readonly ops: readonly Operation[];
  track(inspector: Inspector, options: PoolTrackingOptions): PoolView;
  end(): Promise<unknown>;
}

/** A reachable driver: what it runs against, its workloads, and how to make one more pool of it. */
interface DriverPlan {
  readonly driver: Driver;
  readonly backend: string;
  readonly workloads: readonly string[];
  create(): BenchPool;
}

interface Backends {
  readonly pgUrl: string;
  readonly mysqlUrl: string;
  readonly echo: () => Promise<EchoServer>;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function probePg(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MILLIS });
  try {
    await client.connect();
    const row = (await client.query<{ v: string }>("SELECT split_part(version(), ' ', 2) AS v")).rows[0];
    return `PostgreSQL ${row?.v ?? '?'} at ${new URL(url).host}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function probeMysql(url: string): Promise<string> {
  const connection = await mysqlPromise.createConnection({ uri: url, connectTimeout: PROBE_TIMEOUT_MILLIS });
  try {
    const [rows] = await connection.query('SELECT VERSION() AS v');
    const version = (rows as { v?: string }[])[0]?.v ?? '?';
    return `MySQL/MariaDB ${version} at ${new URL(url).host}`;
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** The plan for `driver`, or why it is skipped. */
async function planFor(driver: Driver, args: Args, backends: Backends, libs: Libs): Promise<DriverPlan | string> {
  const depth = args.stackDepth;
  const max = args.poolMax;
  switch (driver) {
    case 'pg': {
      let backend: string;
      try {
        backend = await probePg(backends.pgUrl);
      } catch (error) {
        return `PostgreSQL not reachable at ${new URL(backends.pgUrl).host}: ${errorText(error)}`;
      }
      return {
        driver,
        backend,
        workloads: ['connect+query+release', "pool.query('SELECT 1')"],
        create: () => {
          const pool = new pg.Pool({ connectionString: backends.pgUrl, max, idleTimeoutMillis: 0, connectionTimeoutMillis: 10_000 });
          pool.on('error', (error) => process.stderr.write(`pg pool: idle client error: ${error.message}\n`));
          const connect = () => pool.connect();
          const query = () => pool.query('SELECT 1');
          return {
            ops: [
              async () => {
                const client = await atDepth(depth, connect);
                try {
                  await client.query('SELECT 1');
                } catch (error) {
                  client.release(error as Error);
                  throw error;
                }
                client.release();
              },
              () => atDepth(depth, query),
            ],
            track: (inspector, options) => libs.root.trackPgPool(inspector, pool, options),
            end: () => pool.end(),
          };
        },
      };
    }
    case 'mysql2': {
      let backend: string;
      try {
        backend = await probeMysql(backends.mysqlUrl);
      } catch (error) {
        return `MariaDB not reachable at ${new URL(backends.mysqlUrl).host}: ${errorText(error)}`;
      }
      return {
        driver,
        backend: `${backend} (mysql2/promise pool)`,
        workloads: ['getConnection+query+release', "pool.query('SELECT 1')"],
        create: () => {
          const pool = mysqlPromise.createPool({ uri: backends.mysqlUrl, connectionLimit: max, maxIdle: max, idleTimeout: 600_000 });
          const getConnection = () => pool.getConnection();
          const query = () => pool.query('SELECT 1');
          return {
            ops: [
              async () => {
                const connection = await atDepth(depth, getConnection);
                try {
                  await connection.query('SELECT 1');
                } finally {
                  connection.release();
                }
              },
              () => atDepth(depth, query),
            ],
            track: (inspector, options) => libs.mysql2.trackMysql2Pool(inspector, pool, options),
            end: () => pool.end(),
          };
        },
      };
    }
    case 'knex': {
      let backend: string;
      try {
        backend = await probePg(backends.pgUrl);
      } catch (error) {
        return `PostgreSQL (Knex's pg client) not reachable at ${new URL(backends.pgUrl).host}: ${errorText(error)}`;
      }
      return {
        driver,
        backend: `${backend} (Knex, client pg)`,
        workloads: ["knex.raw('SELECT 1')"],
        create: () => {
          const db = knex({
            client: 'pg',
            connection: backends.pgUrl,
            pool: { min: 0, max, idleTimeoutMillis: 600_000 },
            acquireConnectionTimeout: 10_000,
          });
          const raw = () => db.raw('SELECT 1');
          return {
            ops: [async () => await atDepth(depth, raw)],
            track: (inspector, options) => libs.tarn.trackKnex(inspector, db, options),
            end: () => db.destroy(),
          };
        },
      };
    }
    case 'tarn':
    case 'generic-pool': {
      let echo: EchoServer;
      try {
        echo = await backends.echo();
      } catch (error) {
        return `the loopback echo server did not start: ${errorText(error)}`;
      }
      const backend = `TCP echo server on 127.0.0.1:${echo.port} (child process), a 5-byte ping per checkout`;
      if (driver === 'tarn') {
        return {
          driver,
          backend,
          workloads: ['acquire+ping+release'],
          create: () => {
            const pool = new TarnPool<EchoConnection>({
              create: () => connectEcho(echo.port),
              destroy: (connection) => connection.destroy(),
              min: 0,
              max,
              idleTimeoutMillis: 600_000,
              acquireTimeoutMillis: 10_000,
            });
            const acquire = () => pool.acquire().promise;
            return {
              ops: [
                async () => {
                  const connection = await atDepth(depth, acquire);
                  try {
                    await connection.ping();
                  } finally {
                    pool.release(connection);
                  }
                },
              ],
              track: (inspector, options) => libs.tarn.trackTarnPool(inspector, pool, options),
              end: () => pool.destroy(),
            };
          },
        };
      }
      return {
        driver,
        backend,
        workloads: ['acquire+ping+release'],
        create: () => {
          const pool = genericPool.createPool<EchoConnection>(
            { create: () => connectEcho(echo.port), destroy: async (connection) => connection.destroy() },
            { min: 0, max, acquireTimeoutMillis: 10_000 },
          );
          const acquire = () => pool.acquire();
          return {
            ops: [
              async () => {
                const connection = await atDepth(depth, acquire);
                try {
                  await connection.ping();
                } finally {
                  await pool.release(connection);
                }
              },
            ],
            track: (inspector, options) => libs.genericPool.trackGenericPool(inspector, pool, options),
            end: async () => {
              await pool.drain();
              await pool.clear();
            },
          };
        },
      };
    }
  }
}

// ---- measuring --------------------------------------------------------------------------------------------------

/** What one pool accumulated over its slices of one round. */
interface Totals {
  count: number;
  millis: number;
  /** Process CPU (user + system), microseconds. */
  cpuMicros: number;
}

/**
 * `concurrency` workers loop on the operation of the active slot; the slots take turns every `sliceMs`. The first
 * `warmupMs` are not counted (the slots rotate during it too); then each slot gets `perSlotMs` of measured slices,
 * its completions, wall time and process CPU summed over them. A completion counts for the slot whose operation it
 * was. A failing operation fails the measurement.
 */
async function measure(ops: readonly Operation[], concurrency: number, warmupMs: number, perSlotMs: number, sliceMs: number): Promise<Totals[]> {
  const n = ops.length;
  const toMeasure = n * Math.max(1, Math.round(perSlotMs / sliceMs));
  const totals: Totals[] = ops.map(() => ({ count: 0, millis: 0, cpuMicros: 0 }));
  let active = 0;
  let measuring = warmupMs <= 0;
  let stopped = false;
  let measured = 0;
  let timer: NodeJS.Timeout | undefined;
  const startedAt = performance.now();
  let sliceStart = startedAt;
  let cpuStart = process.cpuUsage();
  const boundary = (): void => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (measuring) {
      const t = totals[active] as Totals;
      t.millis += now - sliceStart;
      t.cpuMicros += cpu.user - cpuStart.user + (cpu.system - cpuStart.system);
      measured += 1;
    }
    sliceStart = now;
    cpuStart = cpu;
    if (measured >= toMeasure) {
      stopped = true;
      return;
    }
    active = (active + 1) % n;
    if (!measuring && now - startedAt >= warmupMs - 1) measuring = true;
    timer = setTimeout(boundary, sliceMs);
  };
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const slot = active;
      await (ops[slot] as Operation)();
      if (measuring && !stopped) (totals[slot] as Totals).count += 1;
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < concurrency; i++) workers.push(worker());
  timer = setTimeout(boundary, sliceMs);
  try {
    await Promise.all(workers);
  } catch (error) {
    stopped = true;
    clearTimeout(timer);
    await Promise.allSettled(workers);
    throw error;
  }
  return totals;
}

/** Runs `op` with `concurrency` workers for `ms` (opens the pool's connections, compiles the paths). */
async function drive(op: Operation, concurrency: number, ms: number): Promise<void> {
  const until = performance.now() + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) await op();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
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

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const fmtSigned = (n: number, digits: number) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(digits)}` : '-');
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** One workload of one driver: per slot, its per-round figures. */
interface CaseResult {
  readonly driver: Driver;
  readonly workload: string;
  readonly qps: Map<Slot, number[]>;
  readonly cpu: Map<Slot, number[]>;
  readonly qpsRatio: Map<Compared, number[]>;
  readonly cpuRatio: Map<Compared, number[]>;
  readonly cpuDelta: Map<Compared, number[]>;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** What a tracked pool counted over the whole driver run (warm-up included): a sanity check of the tracking. */
interface TrackerReport {
  readonly driver: Driver;
  readonly slot: Slot;
  readonly counters: Readonly<Record<string, number>>;
}

/** Every pool of one driver: primed, measured round by round, then closed. */
async function runDriver(plan: DriverPlan, args: Args, libs: Libs, rounds: number, trackers: TrackerReport[]): Promise<CaseResult[]> {
  const slots: Slot[] = ['bare', ...args.variants];
  const pools: { slot: Slot; pool: BenchPool; inspector?: Inspector; view?: PoolView }[] = [];
  const results: CaseResult[] = [];
  try {
    for (const slot of slots) {
      const entry: (typeof pools)[number] = { slot, pool: plan.create() };
      // In the list before tracking, so a failed track still ends the pool.
      pools.push(entry);
      if (slot === 'bare' || !isTracked(slot)) continue;
      entry.inspector = new libs.root.Inspector();
      entry.view = entry.pool.track(entry.inspector, trackingOptions(plan.driver, slot));
    }
    for (let w = 0; w < plan.workloads.length; w++) {
      for (const p of pools) await drive(p.pool.ops[w] as Operation, args.concurrency, PRIME_SECONDS * 1000);
    }
    const warmupMs = Math.max(args.warmup * 1000, slots.length * args.sliceMs);
    for (let w = 0; w < plan.workloads.length; w++) {
      const workload = plan.workloads[w] as string;
      const result: CaseResult = { driver: plan.driver, workload, qps: new Map(), cpu: new Map(), qpsRatio: new Map(), cpuRatio: new Map(), cpuDelta: new Map() };
      const opOf = (slot: Slot) => pools.find((p) => p.slot === slot)?.pool.ops[w] as Operation;
      for (let r = 0; r < rounds; r++) {
        const order = args.variants.map((_, i) => args.variants[(i + r) % args.variants.length] as Compared);
        const roundSlots: Slot[] = ['bare', ...order];
        const totals = await measure(roundSlots.map(opOf), args.concurrency, warmupMs, args.seconds * 1000, args.sliceMs);
        const figures = new Map<Slot, { qps: number; cpu: number }>();
        roundSlots.forEach((slot, i) => {
          const t = totals[i] as Totals;
          const f = { qps: t.count / (t.millis / 1000), cpu: t.count > 0 ? t.cpuMicros / t.count : Number.NaN };
          figures.set(slot, f);
          push(result.qps, slot, f.qps);
          push(result.cpu, slot, f.cpu);
        });
        const bare = figures.get('bare') as { qps: number; cpu: number };
        const parts: string[] = [];
        for (const slot of order) {
          const x = figures.get(slot) as { qps: number; cpu: number };
          push(result.qpsRatio, slot, x.qps / bare.qps);
          push(result.cpuRatio, slot, x.cpu / bare.cpu);
          push(result.cpuDelta, slot, x.cpu - bare.cpu);
          parts.push(`${slot} ${fmt(x.qps / bare.qps, 3)} (${fmtSigned(x.cpu - bare.cpu, 1)} us)`);
        }
        log(`  ${plan.driver} ${workload} round ${r + 1}/${rounds}: ${parts.join(', ')}; bare ${fmtInt(bare.qps)} ops/s, ${fmt(bare.cpu, 1)} us/op`);
      }
      results.push(result);
    }
    for (const p of pools) {
      const counters = p.view?.stats().counters;
      if (counters !== undefined) trackers.push({ driver: plan.driver, slot: p.slot, counters: { ...counters } });
    }
    return results;
  } finally {
    for (const p of pools) {
      try {
        p.inspector?.close();
      } catch (error) {
        log(`${plan.driver} ${p.slot}: inspector.close() failed: ${errorText(error)}`);
      }
    }
    const ended = await Promise.allSettled(pools.map((p) => p.pool.end()));
    ended.forEach((e, i) => {
      if (e.status === 'rejected') log(`${plan.driver} ${pools[i]?.slot ?? '?'}: ending the pool failed: ${errorText(e.reason)}`);
    });
  }
}

// ---- main -------------------------------------------------------------------------------------------------------

function estimateSeconds(args: Args, plans: readonly DriverPlan[], rounds: number): number {
  const slots = 1 + args.variants.length;
  const round = Math.max(args.warmup, (slots * args.sliceMs) / 1000) + slots * Math.max(args.seconds, args.sliceMs / 1000);
  let total = SETUP_SECONDS;
  for (const plan of plans) total += DRIVER_SETUP_SECONDS + plan.workloads.length * (slots * PRIME_SECONDS + rounds * round);
  return total;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const pgUrl = loopbackUrl(process.env.DATABASE_URL || DEFAULT_PG_URL, 'DATABASE_URL');
  const mysqlUrl = loopbackUrl(process.env.POOLSCOPE_TEST_MYSQL_URL || DEFAULT_MYSQL_URL, 'POOLSCOPE_TEST_MYSQL_URL');
  const started = performance.now();
  const libs = await loadLibs(args.lib);
  let echoServer: Promise<EchoServer> | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    const backends: Backends = { pgUrl, mysqlUrl, echo: () => (echoServer ??= startEchoServer()) };
    const plans: DriverPlan[] = [];
    const skipped: string[] = [];
    for (const driver of args.drivers) {
      const plan = await planFor(driver, args, backends, libs);
      if (typeof plan === 'string') skipped.push(`${driver}: ${plan}`);
      else plans.push(plan);
    }
    let rounds = args.rounds;
    while (rounds > 2 && estimateSeconds(args, plans, rounds) > args.budget) rounds -= 1;
    const estimate = estimateSeconds(args, plans, rounds);
    // Last resort against a stalled server: the bench is bounded even if an operation never returns.
    const limitSeconds = Math.ceil(estimate + 60);
    watchdog = setTimeout(() => {
      console.error(`adapters-bench: still running ${limitSeconds}s after start; giving up (a server stalled?)`);
      process.exit(1);
    }, limitSeconds * 1000);
    watchdog.unref();

    const slots: Slot[] = ['bare', ...args.variants];
    console.log('poolscope adapters overhead bench (issue 15)');
    console.log(`date:        ${new Date().toISOString()}`);
    console.log(`node:        ${process.version} (${os.cpus().length} CPUs: ${os.cpus()[0]?.model ?? 'unknown'})`);
    console.log(`poolscope:   ${libs.description}`);
    for (const plan of plans) console.log(`${`${plan.driver}:`.padEnd(12)} ${plan.backend}`);
    for (const skip of skipped) console.log(`skipped:     ${skip}`);
    console.log(
      `method:      per driver one pool per variant (${slots.join(', ')}), pool max ${args.poolMax}, ${args.concurrency} workers; ` +
        `${rounds} rounds per workload, each one run whose workers switch pool every ${args.sliceMs} ms round-robin ` +
        `(X order rotating per round), ${fmt(Math.max(args.warmup, (slots.length * args.sliceMs) / 1000), 2)}s warm-up, ` +
        `then ${args.seconds}s measured per pool; calls made ${args.stackDepth} frames deep`,
    );
    const variantText: Record<Compared, string> = {
      default: 'default = { name }',
      always: "always = { name, stackCapture: 'always' }",
      off: "off = { name, stackCapture: 'off' }",
      control: 'control = a second untracked pool (A/A)',
    };
    console.log(`variants:    bare = untracked (the reference); ${args.variants.map((v) => variantText[v]).join('; ')}`);
    if (rounds < args.rounds) console.log(`note:        --rounds ${args.rounds} would take ~${fmt(estimateSeconds(args, plans, args.rounds), 0)}s, over --budget ${args.budget}s; running ${rounds}`);
    console.log(`load avg:    ${os.loadavg().map((n) => n.toFixed(2)).join(' ')} (start)`);
    console.log(`estimate:    ~${fmt(estimate, 0)}s`);
    console.log('');

    const results: CaseResult[] = [];
    const trackers: TrackerReport[] = [];
    const failed: string[] = [];
    const hooks: string[] = [];
    for (const plan of plans) {
      const t0 = performance.now();
      log(`${plan.driver}: ${plan.workloads.join(', ')}`);
      try {
        results.push(...(await runDriver(plan, args, libs, rounds, trackers)));
      } catch (error) {
        failed.push(`${plan.driver}: ${errorText(error)}`);
        log(`${plan.driver}: FAILED: ${errorText(error)}`);
      }
      hooks.push(`${plan.driver} ${asyncHooksActive() ? 'ON' : 'off'}`);
      log(`${plan.driver}: done in ${fmt((performance.now() - t0) / 1000, 0)}s`);
    }

    console.log(`load avg:    ${os.loadavg().map((n) => n.toFixed(2)).join(' ')} (end)`);
    console.log('');
    const rows: string[][] = [['driver', 'workload', 'variant', 'ops/s', 'CPU us/op', 'thr ratio', 'rounds min-max', 'CPU ratio', 'dCPU us/op']];
    for (const c of results) {
      rows.push([c.driver, c.workload, 'bare', fmtInt(median(c.qps.get('bare') ?? [])), fmt(median(c.cpu.get('bare') ?? []), 1), '1 (ref)', '', '1 (ref)', '']);
      for (const slot of args.variants) {
        const ratios = c.qpsRatio.get(slot) ?? [];
        rows.push([
          '',
          '',
          slot,
          fmtInt(median(c.qps.get(slot) ?? [])),
          fmt(median(c.cpu.get(slot) ?? []), 1),
          fmt(median(ratios), 3),
          `${fmt(Math.min(...ratios), 2)}-${fmt(Math.max(...ratios), 2)}`,
          fmt(median(c.cpuRatio.get(slot) ?? []), 3),
          fmtSigned(median(c.cpuDelta.get(slot) ?? []), 2),
        ]);
      }
    }
    console.log(table(rows, new Set([3, 4, 5, 6, 7, 8])));
    console.log(`thr ratio:  median over the ${rounds} rounds of X ops/s / bare ops/s of the same round (1.000 = free, lower = slower)`);
    console.log('            rounds min-max: the range of those per-round ratios');
    console.log('CPU ratio:  median over the rounds of X CPU us/op / bare CPU us/op (1.000 = free, higher = costlier)');
    console.log('dCPU:       median over the rounds of X CPU us/op minus bare CPU us/op');
    console.log('ops/s, CPU: medians over the rounds; CPU is process.cpuUsage() of the bench process (driver, poolscope, event');
    console.log('            loop), not the servers\'');
    console.log('control:    untracked; its distance from 1.000 is the noise of the method in this run');
    for (const skip of skipped) console.log(`skipped: ${skip}`);
    for (const fail of failed) console.log(`FAILED:  ${fail}`);
    console.log('');
    console.log('tracker sanity (whole run per driver, priming and warm-ups included):');
    for (const t of trackers) {
      const c = t.counters;
      console.log(
        `  ${`${t.driver} ${t.slot}`.padEnd(22)} acquires ${c.acquires}, releases ${c.releases}, queries ${c.queries}, errors ${c.errors}, ` +
          `leaks ${c.leaksSuspected}, double ${c.doubleReleases}, foreign ${c.foreignReleases}, dirty ${c.dirtyReleases}, ` +
          `saturation snapshots ${c.saturationSnapshots}`,
      );
    }
    console.log(`async hooks after each driver: ${hooks.join(', ')} (no AsyncLocalStorage runs here: all should be off)`);
    console.log(`elapsed:     ${fmt((performance.now() - started) / 1000, 0)}s`);
  } finally {
    clearTimeout(watchdog);
    if (echoServer !== undefined) await (await echoServer.catch(() => undefined))?.close();
    libs.dispose();
  }
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (error: unknown) => {
    console.error('adapters-bench failed:', error);
    process.exitCode = 1;
  },
);
