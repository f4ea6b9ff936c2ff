// What a snapshot of a very busy pool costs: `inspector.snapshot(name)` over 10,000 held leases (issue 11's goal:
// <= 20 ms), with `stackCapture: 'always'` (every lease has a captured stack to format) and `'off'` (none).
// Informational: no target is asserted, the exit code is 0.
//
// One pool is registered through the fake adapter of the unit tests (no database), with `max` above the lease count
// so no automatic saturation snapshot runs. The checkouts are made --stack-depth synchronous frames deep (as under a
// route handler, service and repository) through a `connect` function the capture hides, as an adapter does. A fake
// clock moves 0.01 ms per checkout, so holders are ordered by age as in a real pool. Each round builds a fresh
// inspector per mode (modes interleaved, order rotating) and times:
//   first     the first snapshot: V8 formats each captured stack's text on its first read
//   repeat    the median of --repeats further snapshots (the stack text is cached by V8 on each holder; poolscope
//             parses it again for every snapshot)
//   json      JSON.stringify of one snapshot (what GET /api/snapshot adds), and its size
//
//   node --import tsx bench/snapshot-bench.ts [--leases 10000] [--rounds 5] [--repeats 5] [--stack-depth 12]
//
// Runs through tsx (src/ compiled by esbuild with keepNames; see bench/README.md, "Which code is measured"). A CPU
// profile of the same work: `node --cpu-prof --import tsx bench/snapshot-bench.ts --rounds 3`. See bench/README.md,
// "snapshot-bench.ts".

import os from 'node:os';
import { Inspector } from '../src/core/inspector.js';
import type { PoolTracker } from '../src/core/pool-tracker.js';
import type { StackCaptureMode } from '../src/core/stack-capture.js';
import { FakeClock } from '../test/support/fake-clock.js';
import { FakePoolAdapter } from '../test/support/fake-pool-adapter.js';

interface Args {
  readonly leases: number;
  readonly rounds: number;
  readonly repeats: number;
  readonly stackDepth: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args = { leases: 10_000, rounds: 5, repeats: 5, stackDepth: 12 };
  const flags: Record<string, keyof typeof args> = { '--leases': 'leases', '--rounds': 'rounds', '--repeats': 'repeats', '--stack-depth': 'stackDepth' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = flags[argv[i] ?? ''];
    const value = Number(argv[i + 1]);
    if (key === undefined || !Number.isInteger(value) || value < 1) {
      console.error('flags: --leases 10000 --rounds 5 --repeats 5 --stack-depth 12 (whole numbers >= 1)');
      process.exit(2);
    }
    args[key] = value;
  }
  return args;
}

const MODES: readonly StackCaptureMode[] = ['always', 'off'];

/** Stands in for an adapter's connect wrapper: the stack capture hides it and everything above it. */
function poolConnect(tracker: PoolTracker, clock: FakeClock, pid: number): void {
  const lease = tracker.checkoutStarted(poolConnect);
  clock.advance(0.01);
  tracker.checkoutSucceeded(lease, {}, pid, false, 'idle');
}

/** Calls `poolConnect` `depth` frames deep (application frames above the checkout). */
function applicationFrames(depth: number, tracker: PoolTracker, clock: FakeClock, pid: number): void {
  if (depth <= 1) poolConnect(tracker, clock, pid);
  else applicationFrames(depth - 1, tracker, clock, pid);
}

interface Pool {
  readonly inspector: Inspector;
  readonly name: string;
  readonly checkoutMillis: number;
}

function busyPool(mode: StackCaptureMode, args: Args): Pool {
  const clock = new FakeClock();
  const inspector = new Inspector({ clock, historyIntervalMillis: 0, alerts: false, snapshotBufferSize: 1 });
  const name = `bench-${mode}`;
  const tracker = inspector.registerPool(new FakePoolAdapter({ max: args.leases * 2, total: args.leases, idle: 0 }), {
    name,
    stackCapture: mode,
    leakThresholdMillis: 0,
  });
  const started = performance.now();
  for (let i = 0; i < args.leases; i++) applicationFrames(args.stackDepth, tracker, clock, 10_000 + i);
  return { inspector, name, checkoutMillis: performance.now() - started };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function timed<T>(fn: () => T): { value: T; millis: number } {
  const started = performance.now();
  const value = fn();
  return { value, millis: performance.now() - started };
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const cpus = os.cpus();
  console.log(`poolscope snapshot bench: inspector.snapshot() of ${args.leases.toLocaleString('en-US')} held leases`);
  console.log(`date:      ${new Date().toISOString()}`);
  console.log(`node:      ${process.version} (${cpus.length} CPUs: ${cpus[0]?.model.trim() ?? 'unknown'})`);
  console.log(`load avg:  ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (start)`);
  console.log(
    `method:    ${args.rounds} rounds, each a fresh inspector per mode (interleaved, order rotating); checkouts ${args.stackDepth} frames deep; ` +
      `first snapshot once per round, then the median of ${args.repeats} repeats; medians over rounds`,
  );
  console.log('');

  const results = new Map<StackCaptureMode, { checkout: number[]; first: number[]; repeat: number[]; json: number[]; bytes: number; holders: number }>();
  for (const mode of MODES) results.set(mode, { checkout: [], first: [], repeat: [], json: [], bytes: 0, holders: 0 });
  for (let round = 0; round < args.rounds; round++) {
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(round + k) % MODES.length] ?? 'off';
      const result = results.get(mode);
      if (result === undefined) continue;
      const pool = busyPool(mode, args);
      const first = timed(() => pool.inspector.snapshot(pool.name));
      const repeats: number[] = [];
      for (let r = 0; r < args.repeats; r++) repeats.push(timed(() => pool.inspector.snapshot(pool.name)).millis);
      const json = timed(() => JSON.stringify(first.value));
      result.checkout.push((pool.checkoutMillis * 1000) / args.leases);
      result.first.push(first.millis);
      result.repeat.push(median(repeats));
      result.json.push(json.millis);
      result.bytes = Buffer.byteLength(json.value);
      result.holders = first.value.holders.length;
      pool.inspector.close();
    }
  }

  const header = ['mode    ', 'holders', 'checkout us', 'first ms', 'repeat ms', 'JSON ms', 'JSON size', 'per lease (repeat)'].join('  ');
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const mode of MODES) {
    const r = results.get(mode);
    if (r === undefined) continue;
    console.log(
      [
        mode.padEnd(8),
        String(r.holders).padStart(7),
        median(r.checkout).toFixed(2).padStart(11),
        median(r.first).toFixed(1).padStart(8),
        median(r.repeat).toFixed(1).padStart(9),
        median(r.json).toFixed(1).padStart(7),
        `${(r.bytes / 1024 / 1024).toFixed(1)} MB`.padStart(9),
        `${((median(r.repeat) * 1000) / Math.max(1, r.holders)).toFixed(2)} us`.padStart(18),
      ].join('  '),
    );
  }
  console.log('');
  console.log(`load avg:  ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (end)`);
  console.log('checkout us: checkout cost per lease while filling the pool (stack capture included); first/repeat: inspector.snapshot();');
  console.log('JSON: JSON.stringify of one snapshot; per lease: repeat / holders. Goal (issue 11): a snapshot of 10,000 leases <= 20 ms.');
}

main();
