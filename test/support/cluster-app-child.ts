/**
 * Child process for test/integration/cluster-processes.test.ts and bench/cluster-bench.ts: one instance of an app in
 * a cluster. Its Inspector (instanceId = the node name) tracks a pg.Pool `main`, holding `POOLSCOPE_TEST_PG_LEASES`
 * connections taken at the `@held-lease` line, and optionally a fake pool `bulk` (no connection behind it, so
 * thousands of holders cost no connection) holding `POOLSCOPE_TEST_FAKE_LEASES` leases taken at `@fake-lease`. Every
 * lease is taken inside one owner, the job `hold-leases <node>`, which runs until the child exits. The child joins a
 * ClusterNode and prints `{"type":"ready",...}`.
 *
 *     POOLSCOPE_TEST_DATABASE_URL=postgres://... POOLSCOPE_TEST_CLUSTER=orders POOLSCOPE_TEST_NODE=app-1 \
 *       node --import tsx test/support/cluster-app-child.ts
 *
 * The environment variables, the stdout lines (one JSON object each) and the driver of this process are in
 * cluster-app-process.ts. With `POOLSCOPE_TEST_LEAK=1` the pool `main` has a leak threshold of 50 ms, and the child
 * is ready only once each held lease was reported as a leak suspect.
 *
 * Commands on stdin, one per line:
 *   block <ms>   prints `blocking`, busy-loops for ms (nothing else runs: the node cannot answer), prints `unblocked`
 *   leases <n>   holds n leases of the fake pool `bulk` (taking or giving back the difference); prints `leases`
 *   rejected     prints the ClusterNode's `rejected()` counts
 *   state        prints the ClusterNode's state
 *   exit         leaves the cluster, gives every lease and connection back, and exits 0
 * The end of stdin, SIGTERM and SIGINT do what `exit` does. A child that cannot start prints `failed` and exits 3.
 */
import { AsyncResource } from 'node:async_hooks';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { trackPgPool } from '../../src/adapters/pg/pg-adapter.js';
import { ClusterNode } from '../../src/cluster/cluster-node.js';
import { Inspector } from '../../src/core/inspector.js';
import type { Lease } from '../../src/core/lease.js';
import type { PoolTracker } from '../../src/core/pool-tracker.js';
import { messageOf, PoolscopeError } from '../../src/errors.js';
import {
  CLUSTER_APP_ENV,
  CLUSTER_APP_FAKE_POOL,
  CLUSTER_APP_PG_POOL,
  clusterAppOwnerLabel,
  type ClusterAppLine,
} from './cluster-app-process.js';
import { FakePoolAdapter } from './fake-pool-adapter.js';

/** The leak threshold of `main` with POOLSCOPE_TEST_LEAK=1: short, so the held leases are suspects at once. */
const LEAK_THRESHOLD_MILLIS = 50;

function print(line: ClusterAppLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// ---- configuration ----------------------------------------------------------------------------------------------

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    print({ type: 'failed', message: `${name} is not set` });
    process.exit(3);
  }
  return value;
}

function wholeNumber(name: string, fallback: number | undefined): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    print({ type: 'failed', message: `${name} must be a whole number >= 0, got ${JSON.stringify(text)}` });
    process.exit(3);
  }
  return value;
}

const databaseUrl = required(CLUSTER_APP_ENV.databaseUrl);
const cluster = required(CLUSTER_APP_ENV.cluster);
const nodeName = required(CLUSTER_APP_ENV.node);
const secret = process.env[CLUSTER_APP_ENV.secret] || undefined;
const pgLeases = wholeNumber(CLUSTER_APP_ENV.pgLeases, 1) as number;
const initialFakeLeases = wholeNumber(CLUSTER_APP_ENV.fakeLeases, 0) as number;
const leak = process.env[CLUSTER_APP_ENV.leak] === '1';
const reconnectInitialDelayMillis = wholeNumber(CLUSTER_APP_ENV.reconnectInitialDelayMillis, undefined);

// ---- the app: an inspector, a tracked pg pool, an optional fake pool ----------------------------------------------

const inspector = new Inspector({
  instanceId: nodeName,
  historyIntervalMillis: 0,
  alerts: false,
  onError: (error) => print({ type: 'error', code: error instanceof PoolscopeError ? error.code : null, message: messageOf(error) }),
});

const pool = new pg.Pool({ connectionString: databaseUrl, max: pgLeases + 1 });
// An idle client whose session ends (a server restart) is dropped by pg-pool, which reports it here.
pool.on('error', () => undefined);
trackPgPool(inspector, pool, { name: CLUSTER_APP_PG_POOL, stackCapture: 'always', leakThresholdMillis: leak ? LEAK_THRESHOLD_MILLIS : 0 });

let leaksSuspected = 0;
let allLeaked: () => void = () => undefined;
const leaked = new Promise<void>((resolve) => {
  allLeaked = resolve;
});
inspector.on('leak-suspected', (event) => {
  if (event.poolName !== CLUSTER_APP_PG_POOL) return;
  leaksSuspected += 1;
  if (leaksSuspected >= pgLeases) allLeaked();
});

/** A connection held for the child's life. */
interface HeldClient {
  readonly client: pg.PoolClient;
  /** Set when its session ended while held (a server restart): it is then destroyed on release, not pooled. */
  sessionError: Error | undefined;
}
const heldClients: HeldClient[] = [];

function hold(client: pg.PoolClient): HeldClient {
  const held: HeldClient = { client, sessionError: undefined };
  // pg-pool listens for 'error' only on idle clients: without this, a held client whose session ends would crash us.
  client.on('error', (error) => {
    held.sessionError = error;
  });
  return held;
}

interface FakePool {
  readonly adapter: FakePoolAdapter;
  readonly tracker: PoolTracker;
  readonly leases: Lease[];
}
let fakePool: FakePool | undefined;

/** A checkout of the fake pool, as an adapter's connect wrapper reports it (the stack is hidden from here up). */
function fakeCheckout(tracker: PoolTracker): Lease {
  const lease = tracker.checkoutStarted(fakeCheckout);
  tracker.checkoutSucceeded(lease, {}, null, false, 'idle');
  return lease;
}

function fakeRelease(tracker: PoolTracker, lease: Lease): void {
  tracker.releaseStarted(lease, 'idle', false, fakeRelease);
}

/** Holds `count` leases of the fake pool `bulk` (registered on first use). */
function holdFakeLeases(count: number): void {
  if (count > 0 && fakePool === undefined) {
    const adapter = new FakePoolAdapter();
    const tracker = inspector.registerPool(adapter, { name: CLUSTER_APP_FAKE_POOL, stackCapture: 'always', leakThresholdMillis: 0 });
    fakePool = { adapter, tracker, leases: [] };
  }
  if (fakePool === undefined) return;
  const { adapter, tracker, leases } = fakePool;
  // max twice the leases: the pool is never saturated, so no automatic snapshot of thousands of holders is taken.
  adapter.set({ max: Math.max(2 * count, 1), total: count, idle: 0 });
  while (leases.length < count) leases.push(fakeCheckout(tracker)); // @fake-lease
  while (leases.length > count) fakeRelease(tracker, leases.pop() as Lease);
}

let released = false;
/** Gives back every lease (idempotent): the healthy connections to the pool, the ones whose session ended destroyed. */
function releaseAll(): void {
  if (released) return;
  released = true;
  for (const held of heldClients.splice(0)) held.client.release(held.sessionError);
  holdFakeLeases(0);
}

// ---- the owner that holds the leases ------------------------------------------------------------------------------

let stopHolding: () => void = () => undefined;
const holdingStopped = new Promise<void>((resolve) => {
  stopHolding = resolve;
});
let leasesTaken: (error?: unknown) => void = () => undefined;
const taken = new Promise<void>((resolve, reject) => {
  leasesTaken = (error) => (error === undefined ? resolve() : reject(error));
});
/** Runs a function inside the owner (set once the owner runs): later `leases` commands are attributed to it too. */
let inOwner: (fn: () => void) => void = (fn) => fn();

const holding = inspector.runAs({ label: clusterAppOwnerLabel(nodeName), kind: 'job' }, async () => {
  try {
    for (let i = 0; i < pgLeases; i += 1) heldClients.push(hold(await pool.connect())); // @held-lease
    holdFakeLeases(initialFakeLeases);
    inOwner = AsyncResource.bind((fn: () => void) => fn());
    leasesTaken();
  } catch (error) {
    leasesTaken(error);
    return;
  }
  await holdingStopped;
  releaseAll(); // inside the owner: it ends holding nothing
});

// ---- the cluster node, commands, shutdown ---------------------------------------------------------------------------

let node: ClusterNode | undefined;
let shuttingDown: Promise<void> | undefined;

function shutdown(reason: string, code: number): Promise<void> {
  shuttingDown ??= (async () => {
    print({ type: 'exiting', reason });
    let exitCode = code;
    try {
      await node?.leave();
      stopHolding();
      await holding;
      releaseAll();
      await pool.end();
      inspector.close();
    } catch (error) {
      process.stderr.write(`cluster-app-child ${nodeName}: cleanup failed: ${messageOf(error)}\n`);
      if (exitCode === 0) exitCode = 4;
    }
    process.exit(exitCode);
  })();
  return shuttingDown;
}

function handle(command: string): void {
  const [verb = '', argument] = command.split(/\s+/);
  const count = Number(argument);
  if (verb === 'block' && Number.isInteger(count) && count >= 0) {
    print({ type: 'blocking', millis: count });
    const until = performance.now() + count;
    while (performance.now() < until) {
      // a busy loop: no timer, no I/O, no notification is handled meanwhile
    }
    print({ type: 'unblocked', millis: count });
  } else if (verb === 'leases' && Number.isInteger(count) && count >= 0) {
    inOwner(() => holdFakeLeases(count));
    print({ type: 'leases', fakeLeases: fakePool?.leases.length ?? 0 });
  } else if (verb === 'rejected') {
    print({ type: 'rejected', rejected: node?.rejected() ?? {} });
  } else if (verb === 'state') {
    print({ type: 'state', state: node?.state ?? 'new' });
  } else if (verb === 'exit') {
    void shutdown('exit', 0);
  } else if (verb !== '') {
    print({ type: 'error', code: null, message: `unknown command ${JSON.stringify(command)}` });
  }
}

createInterface({ input: process.stdin })
  .on('line', (line) => handle(line.trim()))
  .on('close', () => void shutdown('stdin-end', 0));
process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
process.once('SIGINT', () => void shutdown('SIGINT', 0));

try {
  await taken;
  if (leak && pgLeases > 0) await leaked;
  node = new ClusterNode(inspector, {
    cluster,
    connectionString: databaseUrl,
    node: nodeName,
    pg,
    ...(secret === undefined ? {} : { secret }),
    ...(reconnectInitialDelayMillis === undefined
      ? {}
      : { reconnectInitialDelayMillis, reconnectMaxDelayMillis: Math.max(reconnectInitialDelayMillis, 1000) }),
  });
  await node.join();
} catch (error) {
  print({ type: 'failed', message: messageOf(error) });
  await shutdown('failed', 3);
}
if (shuttingDown === undefined) {
  print({ type: 'ready', node: nodeName, pid: process.pid, pgLeases: heldClients.length, fakeLeases: fakePool?.leases.length ?? 0, leaksSuspected });
}
