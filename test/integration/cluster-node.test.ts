// The cluster bus on a real PostgreSQL, several ClusterNodes in one process (each with its own Inspector and a
// tracked pg pool holding known leases): snapshots of all / named nodes, a node that left, a node that never answers,
// a shared secret against a wrong one, the name clash, a reply too large for one NOTIFY, and a lost LISTEN connection.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { trackPgPool } from '../../src/adapters/pg/pg-adapter.js';
import { ClusterNode, type ClusterNodeOptions } from '../../src/cluster/cluster-node.js';
import { clusterApplicationName, membersFromRows } from '../../src/cluster/cluster-application-name.js';
import { clusterChannelName } from '../../src/cluster/cluster-messages.js';
import { ClusterError, PoolscopeError } from '../../src/errors.js';
import { useClusterTestKit } from '../support/cluster-test-kit.js';
import { eventually, isAt, siteOf } from '../support/pg-test-kit.js';

const THIS_FILE = 'cluster-node.test.ts';
const HELD_SITE = siteOf(import.meta.url, '@held-lease');
const SECRET = 'a-shared-secret-of-32-characters';

const kit = useClusterTestKit('cluster_node', 'cluster-test');
const { res, nodes, held, freshCluster } = kit;

interface StartedNode {
  node: ClusterNode;
  errors: unknown[];
}

/** An instance: its own Inspector, a tracked pool `main` with `leases` connections held, and a joined ClusterNode. */
async function startNode(
  cluster: string,
  name: string,
  leases = 1,
  extra: Partial<ClusterNodeOptions> = {},
): Promise<StartedNode> {
  const errors: unknown[] = [];
  const inspector = res.inspector({ instanceId: name, onError: (error) => errors.push(error) });
  const pool = res.pool(kit.db.url, { max: Math.max(leases, 1) });
  trackPgPool(inspector, pool, { name: 'main', stackCapture: 'always' });
  for (let i = 0; i < leases; i += 1) held.push(await pool.connect()); // @held-lease
  const node = new ClusterNode(inspector, { cluster, connectionString: kit.db.url, pg, ...extra });
  nodes.push(node);
  await node.join();
  return { node, errors };
}

function names(result: { nodes: readonly { node: string }[] }): string[] {
  return result.nodes.map((entry) => entry.node).sort();
}

describe('ClusterNode', () => {
  test("a snapshot of 'all' returns every node with its holders and their file:line", async () => {
    const cluster = freshCluster();
    const a = await startNode(cluster, 'node-a');
    await startNode(cluster, 'node-b', 2);
    await startNode(cluster, 'node-c');
    assert.deepEqual(await a.node.members(), ['node-a', 'node-b', 'node-c']);

    const result = await a.node.snapshot({ timeoutMillis: 10_000 });
    assert.equal(result.complete, true, JSON.stringify(result.missing));
    assert.deepEqual(result.missing, []);
    assert.deepEqual(names(result), ['node-a', 'node-b', 'node-c']);
    for (const entry of result.nodes) {
      const pool = entry.snapshot.pools.find((p) => p.poolName === 'main');
      assert.ok(pool, `${entry.node} has pool main`);
      assert.equal(pool.holders.length, entry.node === 'node-b' ? 2 : 1, entry.node);
      for (const holder of pool.holders) {
        assert.ok(holder.location?.includes(THIS_FILE), `${entry.node}: ${holder.location}`);
        assert.ok(isAt(holder.location, HELD_SITE), `${entry.node}: ${holder.location} is at ${HELD_SITE}`);
      }
    }
    assert.deepEqual(a.errors, []);
  });

  test('named nodes only, and only the requested pools', async () => {
    const cluster = freshCluster();
    const a = await startNode(cluster, 'node-a');
    await startNode(cluster, 'node-b');
    await startNode(cluster, 'node-c');
    const result = await a.node.snapshot({ nodes: ['node-b'], pools: ['main'], timeoutMillis: 10_000 });
    assert.equal(result.complete, true);
    assert.deepEqual(names(result), ['node-b']);
    assert.deepEqual(result.nodes[0]?.snapshot.pools.map((p) => p.poolName), ['main']);

    const none = await a.node.snapshot({ nodes: ['node-c'], pools: ['no-such-pool'], timeoutMillis: 10_000 });
    assert.deepEqual(names(none), ['node-c']);
    assert.deepEqual(none.nodes[0]?.snapshot.pools, []);
  });

  test("a node that left: missing as 'not-in-cluster' when named, not expected for 'all'", async () => {
    const cluster = freshCluster();
    const a = await startNode(cluster, 'node-a');
    await startNode(cluster, 'node-b');
    const c = await startNode(cluster, 'node-c');
    await c.node.leave();
    await c.node.leave(); // idempotent
    assert.equal(c.node.state, 'left');
    await eventually(async () => !(await a.node.members()).includes('node-c'), 'node-c to leave pg_stat_activity');

    const named = await a.node.snapshot({ nodes: ['node-b', 'node-c'], timeoutMillis: 10_000 });
    assert.equal(named.complete, false);
    assert.deepEqual(names(named), ['node-b']);
    assert.deepEqual(named.missing, [{ node: 'node-c', reason: 'not-in-cluster' }]);

    const all = await a.node.snapshot({ timeoutMillis: 10_000 });
    assert.equal(all.complete, true);
    assert.deepEqual(names(all), ['node-a', 'node-b']);
    await assert.rejects(c.node.snapshot(), (error: unknown) => error instanceof ClusterError && error.code === 'POOLSCOPE_ERR_CLUSTER_NOT_JOINED');
  });

  test("a member that never answers is missing as 'timeout'; its name cannot be joined again", async () => {
    const cluster = freshCluster();
    const a = await startNode(cluster, 'node-a');
    await startNode(cluster, 'node-b');
    // A session carrying a node's application_name that LISTENs but never replies (a node whose loop is stuck).
    const silent = new pg.Client({ connectionString: kit.db.url, application_name: clusterApplicationName(cluster, 'silent') });
    silent.on('error', () => undefined);
    await silent.connect();
    try {
      await silent.query(`LISTEN ${clusterChannelName(cluster)}`);
      assert.deepEqual(await a.node.members(), ['node-a', 'node-b', 'silent']);

      const result = await a.node.snapshot({ timeoutMillis: 500 });
      assert.equal(result.complete, false);
      assert.deepEqual(names(result), ['node-a', 'node-b']);
      assert.deepEqual(result.missing, [{ node: 'silent', reason: 'timeout' }]);

      const inspector = res.inspector({ instanceId: 'silent' });
      const clash = new ClusterNode(inspector, { cluster, connectionString: kit.db.url, pg });
      nodes.push(clash);
      await assert.rejects(clash.join(), (error: unknown) => {
        assert.ok(error instanceof ClusterError);
        assert.equal(error.code, 'POOLSCOPE_ERR_CLUSTER_NODE_NAME_TAKEN');
        assert.match(error.message, /Node name 'silent' is taken in cluster/);
        assert.match(error.message, /pg_terminate_backend/);
        return true;
      });
      assert.equal(clash.state, 'left');
    } finally {
      await silent.end();
    }
  });

  test("a member whose session ends before it answers is missing as 'left'", async () => {
    const cluster = freshCluster();
    const a = await startNode(cluster, 'node-a');
    const silent = new pg.Client({ connectionString: kit.db.url, application_name: clusterApplicationName(cluster, 'gone') });
    silent.on('error', () => undefined);
    await silent.connect();
    await silent.query(`LISTEN ${clusterChannelName(cluster)}`);
    // It hears the request and goes away instead of answering (a node stopped or killed while asked).
    silent.on('notification', () => void silent.end());
    const result = await a.node.snapshot({ timeoutMillis: 1500 });
    assert.equal(result.complete, false);
    assert.deepEqual(names(result), ['node-a']);
    assert.deepEqual(result.missing, [{ node: 'gone', reason: 'left' }]);
  });

  test('totals: per pool across nodes, per node, in all, and against the server; traffic is counted', async () => {
    const cluster = freshCluster();
    const a = await startNode(cluster, 'node-a', 1);
    await startNode(cluster, 'node-b', 2);
    const result = await a.node.snapshot({ timeoutMillis: 10_000 });
    assert.equal(result.complete, true);
    const { totals } = result;
    assert.deepEqual(
      totals.pools.map((pool) => [pool.poolName, pool.nodes.map((entry) => [entry.node, entry.used, entry.max]).sort(), pool.all.used, pool.all.max]),
      [['main', [['node-a', 1, 1], ['node-b', 2, 2]], 3, 3]],
    );
    assert.deepEqual(totals.nodes.map((entry) => [entry.node, entry.pools, entry.used]).sort(), [['node-a', 1, 1], ['node-b', 1, 2]]);
    assert.equal(totals.all.used, 3);
    assert.equal(totals.all.idle, 0);
    const server = totals.server;
    assert.ok(server, 'the server limits were read');
    const { rows } = await res.pool(kit.db.url, { max: 1 }).query<{ max: number }>("SELECT current_setting('max_connections')::int AS max");
    assert.equal(server.maxConnections, rows[0]?.max);
    assert.ok(server.usedConnections >= 5, `the pools' 3 connections and the 2 LISTEN connections are counted (${server.usedConnections})`);
    assert.equal(server.headroom, server.maxConnections - server.reservedConnections - server.usedConnections);
    assert.equal(server.poolsCanStillOpen, 0, 'every pool is at its max');
    assert.equal(server.fits, true);
    assert.match(server.summary, /may open 0 connections more/);

    const traffic = a.node.traffic();
    assert.equal(traffic.sentMessages, 2, 'the request and its own reply');
    assert.ok(traffic.sentBytes > 0 && traffic.sentNotifications >= 2);
    assert.ok(traffic.receivedNotifications >= 3, 'its request and both replies came back on the channel');
    assert.ok(traffic.receivedBytes >= traffic.sentBytes);
  });

  test('a node stopped after it was seen is named as departed to a requester that never saw it; back again, it is not', async () => {
    const cluster = freshCluster();
    await startNode(cluster, 'node-a');
    await startNode(cluster, 'node-b');
    const c = await startNode(cluster, 'node-c');
    const first = await startNode(cluster, 'cli-1', 0);
    assert.equal((await first.node.snapshot({ timeoutMillis: 10_000 })).complete, true, 'every node sees every other');
    await first.node.leave();
    await c.node.leave();

    const fresh = await startNode(cluster, 'cli-2', 0);
    await eventually(async () => !(await fresh.node.members()).includes('node-c'), 'node-c to leave pg_stat_activity');
    const result = await fresh.node.snapshot({ timeoutMillis: 10_000 });
    assert.equal(result.complete, true, 'a departed node is not expected');
    assert.deepEqual(result.missing, []);
    assert.deepEqual(result.departed.map((entry) => entry.node), ['node-c'], 'node-c named; the first requester (cli-1) is transient');
    assert.ok(result.departed[0] !== undefined && result.departed[0].leftAt <= Date.now());

    await startNode(cluster, 'node-c');
    const again = await fresh.node.snapshot({ timeoutMillis: 10_000 });
    assert.deepEqual(again.departed, [], 'node-c is back');
    assert.deepEqual(names(again), ['cli-2', 'node-a', 'node-b', 'node-c']);
  });

  test('with a secret: a node with the wrong secret is not answered, and its replies are ignored', async () => {
    const cluster = freshCluster();
    const a = await startNode(cluster, 'node-a', 1, { secret: SECRET });
    await startNode(cluster, 'node-b', 1, { secret: SECRET });
    const wrong = await startNode(cluster, 'node-w', 1, { secret: 'not-the-shared-secret-at-all-xx' });

    const fromA = await a.node.snapshot({ timeoutMillis: 1000 });
    assert.deepEqual(names(fromA), ['node-a', 'node-b']);
    assert.deepEqual(fromA.missing, [{ node: 'node-w', reason: 'timeout' }]);
    await eventually(() => (wrong.node.rejected()['bad-mac'] ?? 0) >= 1, () => `node-w to reject a's request: ${JSON.stringify(wrong.node.rejected())}`);

    const fromWrong = await wrong.node.snapshot({ timeoutMillis: 1000 });
    assert.deepEqual(names(fromWrong), ['node-w']); // only itself: the others refuse its request
    assert.deepEqual(fromWrong.missing.map((m) => m.node).sort(), ['node-a', 'node-b']);
    // node-a could not open node-w's reply (nor would it take it: the request is not its own).
    await eventually(() => (a.node.rejected()['decrypt-failed'] ?? 0) >= 1, () => `node-a to reject node-w's reply: ${JSON.stringify(a.node.rejected())}`);
    assert.ok((a.node.rejected()['bad-mac'] ?? 0) >= 1, JSON.stringify(a.node.rejected()));
  });

  test('a reply larger than one NOTIFY arrives chunked and complete', async () => {
    const cluster = freshCluster();
    const a = await startNode(cluster, 'node-a', 1, { secret: SECRET });
    await startNode(cluster, 'node-big', 40, { secret: SECRET });
    const result = await a.node.snapshot({ nodes: ['node-big'], timeoutMillis: 10_000 });
    assert.equal(result.complete, true);
    const snapshot = result.nodes[0]?.snapshot;
    assert.ok(snapshot);
    assert.ok(JSON.stringify(snapshot).length > 8000, 'the reply is larger than one NOTIFY payload');
    const pool = snapshot.pools.find((p) => p.poolName === 'main');
    assert.equal(pool?.holders.length, 40);
    assert.ok(pool.holders.every((holder) => holder.location?.includes(THIS_FILE) === true));
  });

  test('losing the LISTEN connection is reported, never thrown; the node reconnects and answers again', async () => {
    const cluster = freshCluster();
    const a = await startNode(cluster, 'node-a');
    const b = await startNode(cluster, 'node-b', 1, { reconnectInitialDelayMillis: 50 });
    const admin = await res.client(kit.db.url);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [b.node.applicationName]);

    await eventually(() => b.errors.length > 0, 'node-b to report its lost connection');
    const lost = b.errors[0];
    assert.ok(lost instanceof PoolscopeError && lost.code === 'POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST', String(lost));
    await eventually(() => b.node.state === 'joined', () => `node-b to rejoin (state ${b.node.state}, errors ${b.errors.map(String).join('; ')})`);

    const result = await a.node.snapshot({ timeoutMillis: 10_000 });
    assert.equal(result.complete, true, JSON.stringify(result.missing));
    assert.deepEqual(names(result), ['node-a', 'node-b']);
  });
});

describe('cluster application_name', () => {
  test('fits in 63 bytes without cutting the node name; long or non-ASCII cluster names are hashed', () => {
    assert.equal(clusterApplicationName('orders-prod', 'api-1'), 'poolscope-cluster/orders-prod/api-1');
    const hashed = clusterApplicationName('bestellungen-größe', 'api-1');
    assert.match(hashed, /^poolscope-cluster\/~[0-9a-f]{12}\/api-1$/);
    const longNode = 'n'.repeat(31);
    const long = clusterApplicationName('a-cluster-name-that-is-rather-long', longNode);
    assert.ok(Buffer.byteLength(long) <= 63 && long.endsWith(`/${longNode}`), long);
    assert.throws(() => clusterApplicationName('c', 'n'.repeat(64)), (error: unknown) => error instanceof ClusterError && error.code === 'POOLSCOPE_ERR_CLUSTER_INVALID_NAME');
    const rows = [long, hashed, 'poolscope-cluster/other/api-2', 'psql'].map((application_name) => ({ application_name }));
    assert.deepEqual(membersFromRows('a-cluster-name-that-is-rather-long', rows), [longNode]);
    assert.deepEqual(membersFromRows('bestellungen-größe', rows), ['api-1']);
  });
});
