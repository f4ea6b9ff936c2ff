// What a Prometheus scrape of poolscope costs: the time of `exporter.metrics()` and the size of its text, plain and
// gzip-compressed as GET /metrics sends it, for 1, 100, 200 and 1,000 tracked pools. Informational: no target is
// asserted, the exit code is 0.
//
// Pools are registered on one Inspector through the fake adapter of the unit tests (no database, no network), each
// with --checkouts checkouts whose wait and hold times spread over every bucket (a fake clock moves between the
// calls). Variants, timed interleaved (A B C A B C ...) so that every variant sees the same machine noise:
//   default    `exporter.metrics()` with DEFAULT_DURATION_BUCKETS_SECONDS (10 bounds): what /metrics serves
//   12-bounds  `exporter.metrics()` with the previous default bounds (0.0001 .. 30 s, 12 bounds)
//   registry   `registry.metrics()` of the default exporter: prom-client's own serializer over poolscope's samples
//              (what a registry you serve yourself costs; the exporter's text is the same, byte for byte)
//   gzip       gzipExposition() of the default text (zlib level 1, in zlib's thread pool), as GET /metrics adds it
//
//   node --import tsx bench/metrics-bench.ts [--pools 1,100,200,1000] [--runs 15] [--warmup 3] [--checkouts 40]
//
// Runs through tsx: the scrape path creates a handful of closures per scrape, so tsx's keepNames (see bench/README.md,
// "Which code is measured") does not change these figures. See bench/README.md, "metrics-bench.ts".

import { gzipSync } from 'node:zlib';
import os from 'node:os';
import { Inspector } from '../src/core/inspector.js';
import { DEFAULT_DURATION_BUCKETS_SECONDS } from '../src/exporters/metric-catalog.js';
import { PrometheusExporter } from '../src/exporters/prometheus-exporter.js';
import { gzipExposition, METRICS_GZIP_LEVEL } from '../src/http/metrics-route.js';
import { FakeClock } from '../test/support/fake-clock.js';
import { FakePoolAdapter } from '../test/support/fake-pool-adapter.js';

/** The default bounds before issue 11 (0.1 ms .. 30 s). */
const PREVIOUS_DEFAULT_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30];

interface Args {
  readonly pools: number[];
  readonly runs: number;
  readonly warmup: number;
  readonly checkouts: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args = { pools: [1, 100, 200, 1000], runs: 15, warmup: 3, checkouts: 40 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    if (flag === '--pools') args.pools = value.split(',').map(Number);
    else if (flag === '--runs') args.runs = Number(value);
    else if (flag === '--warmup') args.warmup = Number(value);
    else if (flag === '--checkouts') args.checkouts = Number(value);
    else {
      console.error(`unknown flag ${String(flag)}; flags: --pools 1,100,1000 --runs 15 --warmup 3 --checkouts 40`);
      process.exit(2);
    }
  }
  if (args.pools.some((n) => !Number.isInteger(n) || n < 0) || !(args.runs >= 1) || !(args.warmup >= 0) || !(args.checkouts >= 0)) {
    console.error('--pools takes whole numbers; --runs >= 1; --warmup, --checkouts >= 0');
    process.exit(2);
  }
  return args;
}

function hide(): void {}

/** An inspector with `count` pools, each with `checkouts` released checkouts and one still held. */
function inspectorWithPools(count: number, checkouts: number): Inspector {
  const clock = new FakeClock();
  const inspector = new Inspector({ clock, historyIntervalMillis: 0, alerts: false });
  // Waits from 20 us to 45 s and holds up to 3 s: every default bucket gets observations.
  const waits = [0.02, 0.05, 0.3, 0.9, 2, 4, 7, 20, 40, 90, 300, 900, 2000, 8000, 20_000, 45_000];
  for (let p = 0; p < count; p++) {
    const tracker = inspector.registerPool(new FakePoolAdapter({ max: 10, min: 2, total: 4, idle: 3, waiting: p % 3 }), {
      name: `tenant-${String(p).padStart(4, '0')}`,
      stackCapture: 'off',
      leakThresholdMillis: 0,
    });
    for (let i = 0; i < checkouts; i++) {
      const lease = tracker.checkoutStarted(hide);
      clock.advance(waits[(p + i) % waits.length] ?? 1);
      tracker.checkoutSucceeded(lease, {}, 1000 + i, i % 7 === 0, 'idle');
      clock.advance(((p * 31 + i * 17) % 3000) + 0.25);
      tracker.releaseStarted(lease, 'idle', false, hide);
    }
    const held = tracker.checkoutStarted(hide);
    tracker.checkoutSucceeded(held, {}, 999, false, 'idle');
  }
  return inspector;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function kb(bytes: number): string {
  return bytes < 10_240 ? `${(bytes / 1024).toFixed(1)} KB` : `${Math.round(bytes / 1024).toLocaleString('en-US')} KB`;
}

function ms(millis: number): string {
  return millis < 10 ? millis.toFixed(2) : millis.toFixed(1);
}

function pad(text: string, width: number, left = false): string {
  return left ? text.padEnd(width) : text.padStart(width);
}

interface Variant {
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

async function timeInterleaved(variants: readonly Variant[], runs: number, warmup: number): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < warmup + runs; round++) {
    // Rotate the order each round so no variant always runs first (after a GC, or cold).
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(round + k) % variants.length];
      if (variant === undefined) continue;
      const started = performance.now();
      await variant.run();
      const elapsed = performance.now() - started;
      if (round >= warmup) times.get(variant.name)?.push(elapsed);
    }
  }
  return times;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cpus = os.cpus();
  console.log('poolscope metrics bench: exporter.metrics() time and size');
  console.log(`date:      ${new Date().toISOString()}`);
  console.log(`node:      ${process.version} (${cpus.length} CPUs: ${cpus[0]?.model.trim() ?? 'unknown'})`);
  console.log(`load avg:  ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (start)`);
  console.log(
    `method:    per pool count, variants interleaved (order rotating), ${args.warmup} warm-up + ${args.runs} timed runs each; ` +
      `median ms; ${args.checkouts} checkouts per pool; gzip level ${METRICS_GZIP_LEVEL}`,
  );
  console.log(`buckets:   default ${DEFAULT_DURATION_BUCKETS_SECONDS.join(', ')}; 12-bounds ${PREVIOUS_DEFAULT_BUCKETS.join(', ')}`);
  console.log('');

  const header = [
    pad('pools', 6),
    pad('variant', 10, true),
    pad('median ms', 10),
    pad('min', 8),
    pad('max', 8),
    pad('lines', 8),
    pad('plain', 10),
    pad('gzip l1', 9),
    pad('gzip l6', 9),
    pad('bytes/pool', 11),
  ].join('  ');
  console.log(header);
  console.log('-'.repeat(header.length));

  for (const count of args.pools) {
    const inspector = inspectorWithPools(count, args.checkouts);
    const exporter = new PrometheusExporter(inspector);
    const previous = new PrometheusExporter(inspector, { buckets: PREVIOUS_DEFAULT_BUCKETS });
    const defaultText = await exporter.metrics();
    const previousText = await previous.metrics();
    const registryText = await exporter.registry.metrics();
    if (registryText !== defaultText) console.log(`  WARNING: registry.metrics() differs from exporter.metrics() at ${count} pools`);
    const variants: Variant[] = [
      { name: 'default', run: () => exporter.metrics() },
      { name: '12-bounds', run: () => previous.metrics() },
      { name: 'registry', run: () => exporter.registry.metrics() },
      { name: 'gzip', run: () => gzipExposition(defaultText) },
    ];
    const times = await timeInterleaved(variants, args.runs, args.warmup);
    const texts: Record<string, string | undefined> = { default: defaultText, '12-bounds': previousText, registry: registryText };
    for (const variant of variants) {
      const samples = times.get(variant.name) ?? [];
      const text = texts[variant.name];
      const bytes = text === undefined ? undefined : Buffer.byteLength(text);
      const cells = [
        pad(String(count), 6),
        pad(variant.name, 10, true),
        pad(ms(median(samples)), 10),
        pad(ms(Math.min(...samples)), 8),
        pad(ms(Math.max(...samples)), 8),
        pad(text === undefined ? '' : String(text.split('\n').length - 1), 8),
        pad(bytes === undefined ? '' : kb(bytes), 10),
        pad(text === undefined ? '' : kb(gzipSync(text, { level: METRICS_GZIP_LEVEL }).length), 9),
        pad(text === undefined ? '' : kb(gzipSync(text).length), 9),
        pad(bytes === undefined || count === 0 ? '' : String(Math.round(bytes / count)), 11),
      ];
      console.log(cells.join('  '));
    }
    exporter.close();
    previous.close();
    inspector.close();
  }
  console.log('');
  console.log(`load avg:  ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (end)`);
  console.log('time of exporter.metrics() / registry.metrics() / gzipExposition(); sizes of the text each variant returns');
  console.log('(gzip l1: as GET /metrics sends it; gzip l6: zlib\'s default level, for comparison); lines: samples + HELP/TYPE.');
}

await main();
