// What a cluster snapshot costs (issue 14): the time from `node.snapshot({ nodes: 'all' })` to the complete result,
// and the bytes NOTIFY'd for it, with 3 and then 10 app instances, each a real child process
// (test/support/cluster-app-child.ts: an Inspector, a tracked pg pool `main` holding one connection, a fake pool `bulk`
// holding --leases leases with captured stacks, and a ClusterNode), all on loopback, on a fresh database.
// Informational: no target is asserted, the exit code is 0 (2 for bad flags or a server that is not on loopback).
//
//   node --import tsx bench/cluster-bench.ts [--sizes 3,10] [--runs 30] [--warmup 5] [--leases 10] [--secret]
//   npm run bench:cluster
//
// --secret: every node shares a secret, so requests carry an HMAC and replies are AES-256-GCM sealed (base64url), and
// every node decrypts every reply on the channel (docs/reference/cluster.md, "Cost").
//
// Method. The children of the first size are started, then more for the next size (the same children stay). A
// requester in this process (a ClusterNode of its own, an Inspector with no pools) takes --warmup snapshots, then
// --runs timed ones, one after the other; every one must be complete (all children and the requester itself, which
// answers its own request through the database like the others). Each time covers the whole call: members() and the
// server-limits query, the request's NOTIFY, every node's snapshotAll(), JSON and reply NOTIFY, the requester's
// reassembly and JSON.parse of every reply, and the totals.
//
// Bytes are the requester's `node.traffic()` counters, read before and after each snapshot: every node LISTENs on
// the channel and receives every notification, its own included, so the requester's receivedBytes over one snapshot
// are the UTF-8 bytes of every NOTIFY payload sent for it (the request and each reply, chunk headers included, no
// protocol framing). PostgreSQL delivers each payload to each listener, so the bytes that leave the server are that
// many times the nodes (children + requester): shown as `delivered`.
//
// Server: DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/postgres, else an embedded PostgreSQL
// (test/support/test-database.ts). Only loopback hosts are accepted.

import os from 'node:os';
import pg from 'pg';
import { ClusterNode, type ClusterSnapshot, type ClusterTraffic } from '../src/cluster/cluster-node.js';
import { Inspector } from '../src/core/inspector.js';
import { ClusterAppGroup, type ClusterAppConfig } from '../test/support/cluster-app-process.js';
import { createTestDatabase, testDatabaseServerKind, type TestDatabase } from '../test/support/test-database.js';

interface Args {
  readonly sizes: readonly number[];
  readonly runs: number;
  readonly warmup: number;
  readonly leases: number;
  readonly secret: boolean;
}

const LIMITS = { nodes: 30, runs: 1000, warmup: 100, leases: 10_000 } as const;
const SNAPSHOT_TIMEOUT_MILLIS = 10_000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
/** With --secret (a bench's throw-away value, >= 16 bytes). */
const BENCH_SECRET = 'cluster-bench-shared-secret-0123';

function usage(problem: string): never {
  console.error(`cluster-bench: ${problem}`);
  console.error(
    `flags: --sizes 3,10 (increasing node counts, at most ${LIMITS.nodes}) --runs 30 (1-${LIMITS.runs}) --warmup 5 (0-${LIMITS.warmup}) ` +
      `--leases 10 (fake-pool leases per node, 0-${LIMITS.leases}) --secret (seal every message)`,
  );
  process.exit(2);
}

function whole(flag: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !Number.isInteger(value) || value < min || value > max) usage(`${flag} takes a whole number from ${min} to ${max}, got ${String(text)}`);
  return value;
}

function parseArgs(argv: readonly string[]): Args {
  let sizes: number[] = [3, 10];
  let runs = 30;
  let warmup = 5;
  let leases = 10;
  let secret = false;
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--secret') {
      secret = true;
      i -= 1; // takes no value
    } else if (flag === '--sizes') {
      sizes = (value ?? '').split(',').map((part) => whole('--sizes', part, 1, LIMITS.nodes));
      if (sizes.some((size, index) => index > 0 && size <= (sizes[index - 1] ?? 0))) usage('--sizes must increase (children are added, not removed)');
    } else if (flag === '--runs') runs = whole(flag, value, 1, LIMITS.runs);
    else if (flag === '--warmup') warmup = whole(flag, value, 0, LIMITS.warmup);
    else if (flag === '--leases') leases = whole(flag, value, 0, LIMITS.leases);
    else usage(`unknown flag ${String(flag)}`);
  }
  return { sizes, runs, warmup, leases, secret };
}

/** Nearest-rank percentile of a non-empty list. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

function ms(millis: number): string {
  return millis < 10 ? millis.toFixed(2) : millis.toFixed(1);
}

function kb(bytes: number): string {
  return bytes < 10_240 ? `${(bytes / 1024).toFixed(1)} KB` : `${Math.round(bytes / 1024).toLocaleString('en-US')} KB`;
}

interface Measured {
  readonly millis: number;
  readonly notifications: number;
  readonly bytes: number;
  readonly requestBytes: number;
}

/** One snapshot of every node, timed, with the traffic it caused; throws when it is not complete. */
async function measure(requester: ClusterNode, expectedNodes: number): Promise<Measured> {
  const before: ClusterTraffic = requester.traffic();
  const started = performance.now();
  const result: ClusterSnapshot = await requester.snapshot({ timeoutMillis: SNAPSHOT_TIMEOUT_MILLIS });
  const millis = performance.now() - started;
  const after = requester.traffic();
  if (!result.complete || result.nodes.length !== expectedNodes) {
    throw new Error(`incomplete snapshot: ${result.nodes.length} of ${expectedNodes} answered; missing ${JSON.stringify(result.missing)}`);
  }
  return {
    millis,
    notifications: after.receivedNotifications - before.receivedNotifications,
    bytes: after.receivedBytes - before.receivedBytes,
    requestBytes: after.sentBytes - before.sentBytes,
  };
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string }>("SELECT current_setting('server_version') AS version");
    return rows[0]?.version ?? 'unknown';
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const kind = await testDatabaseServerKind();
  if (kind === 'env') {
    const host = new URL(process.env.DATABASE_URL ?? '').hostname;
    if (!LOOPBACK_HOSTS.has(host)) usage(`DATABASE_URL points at ${host}: this bench runs on loopback only (127.0.0.1, localhost, ::1)`);
  }
  const cpus = os.cpus();
  let db: TestDatabase | undefined;
  const group = new ClusterAppGroup();
  let requester: ClusterNode | undefined;
  let inspector: Inspector | undefined;
  try {
    db = await createTestDatabase('cluster_bench');
    const cluster = `bench-${process.pid}`;
    console.log('poolscope cluster bench: time to a complete cluster snapshot, and the bytes NOTIFY\'d for it');
    console.log(`date:      ${new Date().toISOString()}`);
    console.log(`node:      ${process.version} (${cpus.length} CPUs: ${cpus[0]?.model.trim() ?? 'unknown'})`);
    console.log(`server:    PostgreSQL ${await serverVersion(db.url)} (${kind}), loopback, fresh database ${db.name}`);
    console.log(`load avg:  ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (start)`);
    console.log(
      `method:    per size, ${args.warmup} warm-up + ${args.runs} timed snapshots of 'all', one at a time; each node (a child process) ` +
        `holds 1 pg lease and ${args.leases} fake-pool leases, stacks captured; ${args.secret ? 'a shared secret (requests HMAC, replies AES-256-GCM)' : 'no secret'}`,
    );
    console.log('bytes:     NOTIFY payloads (UTF-8, chunk headers included) per snapshot, from the requester\'s node.traffic(); delivered = bytes x listeners');
    console.log('');

    inspector = new Inspector({ instanceId: 'bench-requester', historyIntervalMillis: 0, alerts: false, onError: (error) => console.error('requester error:', error) });
    const secret = args.secret ? { secret: BENCH_SECRET } : {};
    requester = new ClusterNode(inspector, { cluster, connectionString: db.url, pg, ...secret });
    await requester.join();

    const header = [
      'nodes'.padStart(5),
      'median ms'.padStart(10),
      'p95 ms'.padStart(8),
      'min ms'.padStart(8),
      'max ms'.padStart(8),
      'payloads'.padStart(9),
      'bytes/snapshot'.padStart(15),
      'request'.padStart(8),
      'reply/node'.padStart(11),
      'delivered'.padStart(10),
    ].join('  ');
    console.log(header);
    console.log('-'.repeat(header.length));

    let started = 0;
    for (const size of args.sizes) {
      const configs: ClusterAppConfig[] = [];
      for (let index = started + 1; index <= size; index += 1) {
        configs.push({ databaseUrl: db.url, cluster, node: `app-${index}`, pgLeases: 1, fakeLeases: args.leases, ...secret });
      }
      await group.start(configs, 60_000);
      started = size;
      const listeners = size + 1; // the children and the requester
      for (let i = 0; i < args.warmup; i += 1) await measure(requester, listeners);
      const runs: Measured[] = [];
      for (let i = 0; i < args.runs; i += 1) runs.push(await measure(requester, listeners));
      const times = runs.map((run) => run.millis);
      const bytes = percentile(runs.map((run) => run.bytes), 50);
      const requestBytes = percentile(runs.map((run) => run.requestBytes), 50);
      console.log(
        [
          String(size).padStart(5),
          ms(percentile(times, 50)).padStart(10),
          ms(percentile(times, 95)).padStart(8),
          ms(Math.min(...times)).padStart(8),
          ms(Math.max(...times)).padStart(8),
          String(percentile(runs.map((run) => run.notifications), 50)).padStart(9),
          `${bytes.toLocaleString('en-US')} B`.padStart(15),
          `${requestBytes} B`.padStart(8),
          kb((bytes - requestBytes) / listeners).padStart(11),
          kb(bytes * listeners).padStart(10),
        ].join('  '),
      );
    }
    console.log('');
    console.log(`load avg:  ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (end)`);
    console.log('payloads, bytes/snapshot, request: medians over the timed runs. reply/node: (bytes - request) / (nodes + requester).');
  } finally {
    await requester?.leave();
    inspector?.close();
    const exits = await group.stopAll();
    const unclean = [...exits].filter(([, exit]) => exit.code !== 0);
    if (unclean.length > 0) console.error(`children that did not exit cleanly: ${unclean.map(([node, exit]) => `${node} ${JSON.stringify(exit)}`).join(', ')}`);
    await db?.drop();
  }
}

await main();
