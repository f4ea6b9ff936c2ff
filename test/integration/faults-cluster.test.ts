// Issue 17's faults on the cluster bus (src/cluster): node A's LISTEN connection (and its app pool) go through the
// fault proxy (test/support/fault-proxy.ts) to an embedded PostgreSQL of this file's own; node B connects directly
// and asks for snapshots. The LISTEN connection is cut (reset, orderly close), terminated by the server, cut while
// new connections are refused or blackholed, stalled, and the server restarted (fast, immediate); each time A must
// report the loss (coded, to onError, never thrown), come back by itself once the fault heals, and answer B again.
// During each fault A's GET /readyz and GET /api/cluster/snapshot and B's snapshot() must answer within their bounds.
// The invariant checker (test/support/fault-invariants.ts) watches A's tracked pool and the whole process.
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { Inspector } from '../../src/core/inspector.js';
import { trackPgPool } from '../../src/adapters/pg/pg-adapter.js';
import { ClusterNode } from '../../src/cluster/cluster-node.js';
import { createOpsHandler, type OpsHandler } from '../../src/http/ops-handler.js';
import type { OpsRequest } from '../../src/http/ops-request.js';
import { startPostgresBackend, type FaultBackend } from '../support/fault-backends.js';
import { bounded, describeError, FaultInvariants, settle } from '../support/fault-invariants.js';
import { isPgError } from '../support/fault-kits.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { eventually } from '../support/wait-for.js';

let backend: FaultBackend;
let proxy: FaultProxy;
before(async () => {
  backend = await startPostgresBackend();
  proxy = await FaultProxy.start({ targetPort: backend.port });
});
after(async () => {
  await proxy?.close();
  await backend?.close();
});

const RECONNECT = { reconnectInitialDelayMillis: 50, reconnectMaxDelayMillis: 200 } as const;
/** How long B waits for answers, and A's route's `timeout` (both short: A may be unreachable on purpose). */
const ASK_MILLIS = 500;
const ROUTE_BOUND_MILLIS = ASK_MILLIS + 5000;
const READYZ: OpsRequest = { method: 'GET', path: '/readyz', query: {}, headers: {}, remoteAddress: '127.0.0.1' };
const CLUSTER_SNAPSHOT: OpsRequest = { method: 'GET', path: '/api/cluster/snapshot', query: { timeout: String(ASK_MILLIS) }, headers: {}, remoteAddress: '127.0.0.1' };
let clusters = 0;

interface Cluster {
  readonly a: ClusterNode;
  readonly b: ClusterNode;
  readonly pool: pg.Pool;
  readonly ops: OpsHandler;
  readonly inv: FaultInvariants;
  /** What reached A's onError (its lost connection, failed reconnections). */
  readonly lost: unknown[];
  close(): Promise<void>;
}

/** Node A (through the proxy, with a tracked pool) and node B (direct), joined; the invariants watching A's pool. */
async function startCluster(label: string): Promise<Cluster> {
  proxy.pass();
  const cluster = `faults-${process.pid}-${(clusters += 1)}`;
  const holder: { pool?: pg.Pool; inspector?: Inspector } = {};
  const inv = FaultInvariants.begin({
    label: `cluster: ${label}`,
    isDriverError: isPgError,
    pools: () => {
      const view = holder.inspector?.pool('main');
      const pool = holder.pool;
      if (view === undefined || pool === undefined) return [];
      return [{ name: 'main', view, counts: () => ({ total: pool.totalCount, idle: pool.idleCount, used: pool.totalCount - pool.idleCount, waiting: pool.waitingCount }) }];
    },
  });
  const lost: unknown[] = [];
  const inspectorA = new Inspector({
    historyIntervalMillis: 0,
    alerts: false,
    instanceId: 'node-a',
    onError: (error) => {
      lost.push(error);
      inv.internalError(error);
    },
  });
  const inspectorB = new Inspector({ historyIntervalMillis: 0, alerts: false, instanceId: 'node-b', onError: (error) => inv.internalError(error) });
  holder.inspector = inspectorA;
  const pool = new pg.Pool({ connectionString: proxy.urlThrough(backend.url), max: 2, connectionTimeoutMillis: 800 });
  pool.on('error', () => undefined);
  holder.pool = pool;
  trackPgPool(inspectorA, pool, { name: 'main' });
  const a = new ClusterNode(inspectorA, { cluster, node: 'node-a', connectionString: proxy.urlThrough(backend.url), pg, ...RECONNECT });
  const b = new ClusterNode(inspectorB, { cluster, node: 'node-b', connectionString: backend.url, pg, ...RECONNECT });
  const ops = createOpsHandler(inspectorA, { probeTimeoutMillis: 500, cluster: a });
  const close = async (): Promise<void> => {
    proxy.pass();
    await settle(() => bounded(Promise.all([a.leave(), b.leave()]), 15_000, 'the nodes to leave'));
    await settle(() => bounded(pool.end(), 15_000, 'the pool to end'));
    inspectorA.close();
    inspectorB.close();
  };
  try {
    await a.join();
    await b.join();
    await pool.query('SELECT 1');
  } catch (error) {
    inv.abandon();
    await close();
    throw error;
  }
  return { a, b, pool, ops, inv, lost, close };
}

/** During a fault: A's /readyz and /api/cluster/snapshot, and B's snapshot(), answer within their bounds. */
async function askDuringFault(c: Cluster, when: string): Promise<void> {
  const [readyz, route, fromB] = await Promise.all([
    settle(() => bounded(c.ops.handle(READYZ), ROUTE_BOUND_MILLIS, 'GET /readyz')),
    settle(() => bounded(c.ops.handle(CLUSTER_SNAPSHOT), ROUTE_BOUND_MILLIS, 'GET /api/cluster/snapshot')),
    settle(() => bounded(c.b.snapshot({ timeoutMillis: ASK_MILLIS }), ROUTE_BOUND_MILLIS, "B's snapshot()")),
  ]);
  if (!readyz.ok) c.inv.fail(`${when}: ${describeError(readyz.error)}`);
  else if (![200, 503].includes(readyz.value.status)) c.inv.fail(`${when}: /readyz answered ${readyz.value.status}`);
  if (!route.ok) c.inv.fail(`${when}: ${describeError(route.error)}`);
  else if (![200, 503].includes(route.value.status)) c.inv.fail(`${when}: /api/cluster/snapshot answered ${route.value.status} ${String(route.value.body).slice(0, 300)}`);
  // B may fail to ask while the server restarts (its own connection is lost too): a coded error, never a hang.
  if (!fromB.ok) c.inv.callerError(fromB.error, `${when}: B's snapshot()`);
}

/** After the fault: A is joined again, B gets A's snapshot, A gets B's, the pool works, all at rest. */
async function healedAndAtRest(c: Cluster): Promise<void> {
  proxy.pass();
  try {
    await eventually(() => c.a.state === 'joined', () => `node-a to rejoin (state ${c.a.state}; onError: ${c.lost.map(describeError).join(' | ')})`, 20_000);
  } catch (error) {
    c.inv.fail((error as Error).message);
  }
  await c.inv.healed("B's snapshot to include node-a", async () => {
    const result = await c.b.snapshot({ timeoutMillis: 2000 });
    if (!result.nodes.some((node) => node.node === 'node-a')) throw new Error(`node-a missing: ${JSON.stringify(result.missing)}`);
  });
  await c.inv.healed("A's snapshot to include node-b", async () => {
    const result = await c.a.snapshot({ timeoutMillis: 2000 });
    if (!result.nodes.some((node) => node.node === 'node-b')) throw new Error(`node-b missing: ${JSON.stringify(result.missing)}`);
  });
  await c.inv.healed('a query on the pool', () => c.pool.query('SELECT 1'));
  await c.inv.atRest();
}

/** Runs one cluster scenario with the invariants finished (or abandoned) and everything closed. */
async function scenario(label: string, body: (c: Cluster) => Promise<void>): Promise<void> {
  const c = await startCluster(label);
  try {
    await body(c);
    await healedAndAtRest(c);
    c.inv.finish();
  } catch (error) {
    c.inv.abandon();
    throw error;
  } finally {
    await c.close();
  }
}

/** Waits (bounded) until A has noticed its LISTEN connection is gone. */
async function aLost(c: Cluster): Promise<void> {
  try {
    await eventually(() => c.a.state === 'reconnecting' || c.lost.length > 0, 'node-a to notice its lost LISTEN connection');
  } catch (error) {
    c.inv.fail((error as Error).message);
  }
}

describe('faults: cluster bus', () => {
  for (const kind of ['rst', 'fin'] as const) {
    test(`the LISTEN connection cut (${kind === 'rst' ? 'reset' : 'orderly close'}) and restored`, () =>
      scenario(`listen-cut-${kind}`, async (c) => {
        proxy.cutAll(kind);
        await aLost(c);
        await askDuringFault(c, `just after the cut (${kind})`);
      }));
  }

  test('the LISTEN connection terminated by the server and restored', () =>
    scenario('listen-terminated', async (c) => {
      const sessions = await backend.sessions();
      const admin = new pg.Client({ connectionString: backend.url });
      admin.on('error', () => undefined);
      await admin.connect();
      try {
        await admin.query('SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = $1', [c.a.applicationName]);
      } finally {
        await admin.end();
      }
      if (sessions.length === 0) c.inv.fail('no session of the cluster database was seen');
      await aLost(c);
      await askDuringFault(c, 'just after the termination');
    }));

  for (const mode of ['refuse', 'blackhole'] as const) {
    test(`the LISTEN connection cut while new connections are ${mode}d, then restored`, () =>
      scenario(`listen-cut-${mode}`, async (c) => {
        if (mode === 'refuse') proxy.refuseNew();
        else proxy.blackholeNew();
        proxy.cutAll('rst');
        await aLost(c);
        const before = proxy.stats();
        // A few reconnection attempts meet the fault (refused at once, or hanging in the blackhole).
        try {
          await eventually(() => {
            const now = proxy.stats();
            return mode === 'refuse' ? now.refused >= before.refused + 2 : now.blackholed >= before.blackholed + 1;
          }, `node-a to try to reconnect into the ${mode}d port`);
        } catch (error) {
          c.inv.fail((error as Error).message);
        }
        await askDuringFault(c, `new connections ${mode}d`);
      }));
  }

  test('the LISTEN connection stalled (nothing passes), then healed', () =>
    scenario('listen-stalled', async (c) => {
      proxy.stall();
      await askDuringFault(c, 'during the stall');
      // A's own snapshot() asks through its stalled connection: it must not outlive the stall by more than its bound.
      const own = c.a.snapshot({ timeoutMillis: ASK_MILLIS }).then(
        () => undefined,
        (error: unknown) => c.inv.callerError(error, "A's snapshot() during the stall"),
      );
      await new Promise((resolve) => setTimeout(resolve, ASK_MILLIS * 2));
      proxy.pass();
      const settled = await settle(() => bounded(own, 15_000, "A's snapshot() asked during the stall, once it healed"));
      if (!settled.ok) c.inv.fail(describeError(settled.error));
    }));

  for (const mode of ['fast', 'immediate'] as const) {
    test(`the server restarted (${mode}) under the cluster: both nodes come back`, () =>
      scenario(`restart-${mode}`, async (c) => {
        const restarting = backend.restart(mode);
        await askDuringFault(c, `while the server restarts (${mode})`);
        await restarting;
        try {
          await eventually(() => c.b.state === 'joined', () => `node-b to rejoin (state ${c.b.state})`, 20_000);
        } catch (error) {
          c.inv.fail((error as Error).message);
        }
      }));
  }
});
