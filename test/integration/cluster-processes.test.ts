// The cluster bus with real child processes (test/support/cluster-app-child.ts: an app instance with its own Inspector,
// a tracked pg pool `main` holding leases inside a job owner, and a ClusterNode), on a real PostgreSQL, each test on a
// cluster name of its own: a snapshot of all and of named nodes from this process, a node killed mid-request and one
// whose event loop is blocked, 2,000 leases in one chunked reply, two requesters at once, a wrong secret, a server
// restart (on an embedded server this file owns), the CLI against the same children, and a child's clean exit.
// Children are started per test and stopped in afterEach (killed when they do not exit in time); every wait is on a
// child's line, a result or `eventually`, each bounded against hangs; the one timing check is a generous upper bound.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ClusterNode, type ClusterNodeOptions, type ClusterSnapshot } from '../../src/cluster/cluster-node.js';
import { clusterChannelName } from '../../src/cluster/cluster-messages.js';
import type { LeaseSnapshot } from '../../src/core/lease.js';
import type { PoolSnapshot } from '../../src/core/pool-snapshot.js';
import { messageOf } from '../../src/errors.js';
import { spawnCli } from '../support/cli-capture.js';
import {
  CLUSTER_APP_FAKE_POOL,
  CLUSTER_APP_PG_POOL,
  ClusterAppGroup,
  clusterAppOwnerLabel,
  clusterAppSite,
  type ClusterAppConfig,
  type ClusterAppProcess,
} from '../support/cluster-app-process.js';
import { useClusterTestKit } from '../support/cluster-test-kit.js';
import { startEmbeddedServer, type EmbeddedServer } from '../support/embedded-server.js';
import { isAt } from '../support/pg-test-kit.js';
import { eventOnce, eventually, listenTo } from '../support/wait-for.js';

const HELD_SITE = clusterAppSite('@held-lease');
const FAKE_SITE = clusterAppSite('@fake-lease');
const SECRET = 'a-shared-secret-of-32-characters';
/** A bound against hangs, never a timing assertion: a partial result must come within its timeout plus this. */
const SLACK_MILLIS = 10_000;

const kit = useClusterTestKit('cluster_processes', 'cluster-proc');
const { res, nodes, freshCluster } = kit;
const apps = new ClusterAppGroup();
afterEach(async () => {
  await apps.stopAll();
});

type AppSpec = Omit<ClusterAppConfig, 'databaseUrl' | 'cluster'> & { readonly databaseUrl?: string };

/** Starts the children (in parallel) on `cluster`, by default on the file's database. */
function startApps(cluster: string, specs: readonly AppSpec[]): Promise<ClusterAppProcess[]> {
  return apps.start(specs.map((spec) => ({ databaseUrl: kit.db.url, cluster, ...spec })));
}

interface Requester {
  readonly node: ClusterNode;
  readonly errors: unknown[];
}

/** A ClusterNode in this process (an Inspector with no pools) that asks; it leaves after the test. */
async function joinRequester(cluster: string, name: string, extra: Partial<ClusterNodeOptions> = {}): Promise<Requester> {
  const errors: unknown[] = [];
  const inspector = res.inspector({ instanceId: name, alerts: false, onError: (error) => errors.push(error) });
  const node = new ClusterNode(inspector, { cluster, connectionString: kit.db.url, pg, ...extra });
  nodes.push(node);
  await node.join();
  return { node, errors };
}

function answered(result: ClusterSnapshot): string[] {
  return result.nodes.map((entry) => entry.node).sort();
}

function poolOf(result: ClusterSnapshot, node: string, pool: string): PoolSnapshot {
  const entry = result.nodes.find((candidate) => candidate.node === node);
  assert.ok(entry, `${node} answered: ${answered(result).join(', ')}`);
  const found = entry.snapshot.pools.find((candidate) => candidate.poolName === pool);
  assert.ok(found, `${node} has pool ${pool}: ${entry.snapshot.pools.map((p) => p.poolName).join(', ')}`);
  return found;
}

/** Each holder was taken by the child's job owner at `site` (the child's file:line). */
function assertHeldBy(node: string, holders: readonly LeaseSnapshot[], site: string): void {
  for (const holder of holders) {
    assert.equal(holder.owner?.label, clusterAppOwnerLabel(node), `${node}: lease #${holder.id} owner`);
    assert.equal(holder.owner?.kind, 'job');
    assert.ok(isAt(holder.location, site), `${node}: lease #${holder.id} at ${String(holder.location)}, expected ${site}`);
  }
}

describe('cluster snapshots across child processes', () => {
  test("a snapshot of 'all' returns every instance with its owners and file:lines, and the leaking lease as a suspect", async () => {
    const cluster = freshCluster();
    await startApps(cluster, [{ node: 'app-1' }, { node: 'app-2', pgLeases: 2 }, { node: 'app-3', leak: true }]);
    const asker = await joinRequester(cluster, 'requester');

    const result = await asker.node.snapshot({ timeoutMillis: 10_000 });
    assert.equal(result.complete, true, JSON.stringify(result.missing));
    assert.deepEqual(answered(result), ['app-1', 'app-2', 'app-3', 'requester']);
    for (const [node, count] of [['app-1', 1], ['app-2', 2], ['app-3', 1]] as const) {
      const main = poolOf(result, node, CLUSTER_APP_PG_POOL);
      assert.equal(main.holders.length, count, node);
      assertHeldBy(node, main.holders, HELD_SITE);
      for (const holder of main.holders) assert.equal(holder.leakSuspected, node === 'app-3', `${node}: lease #${holder.id} leak suspected`);
    }
    assert.equal(poolOf(result, 'app-3', CLUSTER_APP_PG_POOL).stats.counters.leaksSuspected, 1);
    assert.deepEqual(result.nodes.find((entry) => entry.node === 'requester')?.snapshot.pools, []);
    assert.deepEqual(asker.errors, []);
  });

  test('named nodes only: the others are not asked, a name that is not a member is missing at once', async () => {
    const cluster = freshCluster();
    await startApps(cluster, [{ node: 'app-1' }, { node: 'app-2' }, { node: 'app-3' }]);
    const asker = await joinRequester(cluster, 'requester');

    const result = await asker.node.snapshot({ nodes: ['app-1', 'app-3'], timeoutMillis: 10_000 });
    assert.equal(result.complete, true, JSON.stringify(result.missing));
    assert.deepEqual(answered(result), ['app-1', 'app-3']);
    assertHeldBy('app-3', poolOf(result, 'app-3', CLUSTER_APP_PG_POOL).holders, HELD_SITE);

    const withGhost = await asker.node.snapshot({ nodes: ['app-2', 'ghost-9'], timeoutMillis: 10_000 });
    assert.equal(withGhost.complete, false);
    assert.deepEqual(answered(withGhost), ['app-2']);
    assert.deepEqual(withGhost.missing, [{ node: 'ghost-9', reason: 'not-in-cluster' }]);
  });

  test('a node killed mid-request and a node whose event loop is blocked: a partial result naming both, within the timeout', async () => {
    const cluster = freshCluster();
    const [, , killed, blocked] = await startApps(cluster, [{ node: 'app-1' }, { node: 'app-2' }, { node: 'app-3' }, { node: 'app-4' }]);
    assert.ok(killed && blocked);
    const asker = await joinRequester(cluster, 'requester');
    // Another session on the channel sees the request go out: the moment to kill app-3, which is expected by then.
    const watcher = await res.client(kit.db.url);
    await watcher.query(`LISTEN ${clusterChannelName(cluster)}`);
    const requestSent = eventOnce(listenTo(watcher, 'notification'), 'the request on the channel');
    // app-3 cannot answer before it is killed; app-4 stays blocked well past the request's timeout.
    await killed.block(60_000);
    await blocked.block(8000);

    const timeoutMillis = 3000;
    const started = performance.now();
    const pending = asker.node.snapshot({ timeoutMillis });
    await requestSent;
    const exit = await killed.kill('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    const result = await pending;
    const elapsed = performance.now() - started;

    assert.equal(result.complete, false);
    assert.deepEqual(answered(result), ['app-1', 'app-2', 'requester']);
    const missing = new Map(result.missing.map((entry) => [entry.node, entry.reason]));
    assert.deepEqual([...missing.keys()].sort(), ['app-3', 'app-4']);
    assert.ok(['timeout', 'left'].includes(missing.get('app-3') ?? ''), `killed app-3 is missing as ${missing.get('app-3')}`);
    assert.equal(missing.get('app-4'), 'timeout', 'blocked app-4 is still connected: it did not answer in time');
    assert.ok(elapsed < timeoutMillis + SLACK_MILLIS, `the partial result came after ${Math.round(elapsed)} ms (bound ${timeoutMillis + SLACK_MILLIS})`);

    // Once its event loop is free, app-4 answers again (its late reply to the old request is ignored); app-3 is gone.
    if (!blocked.lines.some((line) => line.type === 'unblocked')) await blocked.next('unblocked');
    const later = await asker.node.snapshot({ timeoutMillis: 10_000 });
    assert.equal(later.complete, true, JSON.stringify(later.missing));
    assert.deepEqual(answered(later), ['app-1', 'app-2', 'app-4', 'requester']);
  });

  test('2,000 leases on one node: every holder arrives in one chunked reply, with its owner and file:line', async () => {
    const cluster = freshCluster();
    const [bulky] = await startApps(cluster, [{ node: 'app-1' }, { node: 'app-2' }]);
    assert.ok(bulky);
    await bulky.setFakeLeases(2000); // taken inside the child's owner, at @fake-lease
    const asker = await joinRequester(cluster, 'requester');
    const before = asker.node.traffic();

    const result = await asker.node.snapshot({ timeoutMillis: 30_000 });
    assert.equal(result.complete, true, JSON.stringify(result.missing));
    assert.deepEqual(answered(result), ['app-1', 'app-2', 'requester']);
    const bulk = poolOf(result, 'app-1', CLUSTER_APP_FAKE_POOL);
    assert.equal(bulk.holders.length, 2000);
    assert.equal(new Set(bulk.holders.map((holder) => holder.id)).size, 2000);
    assertHeldBy('app-1', bulk.holders, FAKE_SITE);
    assertHeldBy('app-1', poolOf(result, 'app-1', CLUSTER_APP_PG_POOL).holders, HELD_SITE);
    // That reply cannot fit one NOTIFY payload (< 8000 bytes): it came in chunks, reassembled.
    const replyBytes = Buffer.byteLength(JSON.stringify(result.nodes.find((entry) => entry.node === 'app-1')?.snapshot));
    const notifications = asker.node.traffic().receivedNotifications - before.receivedNotifications;
    assert.ok(notifications >= Math.ceil(replyBytes / 8000), `${notifications} notifications for a reply of ${replyBytes} bytes`);
    assert.deepEqual(asker.errors, []);
  });

  test('two requesters asking at once both get complete answers', async () => {
    const cluster = freshCluster();
    await startApps(cluster, [{ node: 'app-1' }, { node: 'app-2', pgLeases: 2 }, { node: 'app-3' }]);
    const a = await joinRequester(cluster, 'requester-a');
    const b = await joinRequester(cluster, 'requester-b');

    const results = await Promise.all([a.node.snapshot({ timeoutMillis: 10_000 }), b.node.snapshot({ timeoutMillis: 10_000 })]);
    assert.notEqual(results[0].requestId, results[1].requestId);
    for (const result of results) {
      assert.equal(result.complete, true, JSON.stringify(result.missing));
      assert.deepEqual(answered(result), ['app-1', 'app-2', 'app-3', 'requester-a', 'requester-b']);
      assert.equal(poolOf(result, 'app-2', CLUSTER_APP_PG_POOL).holders.length, 2);
      for (const node of ['app-1', 'app-2', 'app-3']) assertHeldBy(node, poolOf(result, node, CLUSTER_APP_PG_POOL).holders, HELD_SITE);
    }
  });

  test('with a secret: a requester with the wrong secret gets no other node, the right one gets all; the nodes count the rejection', async () => {
    const cluster = freshCluster();
    const children = await startApps(cluster, [
      { node: 'app-1', secret: SECRET },
      { node: 'app-2', secret: SECRET },
      { node: 'app-3', secret: SECRET },
    ]);
    const right = await joinRequester(cluster, 'requester', { secret: SECRET });
    const wrong = await joinRequester(cluster, 'intruder', { secret: 'not-the-shared-secret-at-all-xx' });

    const [fromWrong, fromRight] = await Promise.all([
      wrong.node.snapshot({ timeoutMillis: 3000 }),
      right.node.snapshot({ nodes: ['app-1', 'app-2', 'app-3', 'requester'], timeoutMillis: 10_000 }),
    ]);
    // The intruder hears only itself (its own request comes back through the database, sealed with its own key).
    assert.deepEqual(answered(fromWrong), ['intruder']);
    assert.deepEqual(
      [...fromWrong.missing].sort((x, y) => x.node.localeCompare(y.node)),
      ['app-1', 'app-2', 'app-3', 'requester'].map((node) => ({ node, reason: 'timeout' })),
    );
    assert.equal(fromRight.complete, true, JSON.stringify(fromRight.missing));
    assert.deepEqual(answered(fromRight), ['app-1', 'app-2', 'app-3', 'requester']);
    for (const node of ['app-1', 'app-2', 'app-3']) assertHeldBy(node, poolOf(fromRight, node, CLUSTER_APP_PG_POOL).holders, HELD_SITE);

    // Each child rejected the intruder's request (its MAC does not verify under the shared secret).
    for (const child of children) {
      await eventually(async () => (await child.rejected())['bad-mac'] === 1, () => `${child.node} to count one bad-mac rejection`);
    }
    await eventually(() => right.node.rejected()['bad-mac'] === 1, "the right requester's own node to count one bad-mac rejection");
  });

  test('a server restart: the children reconnect with backoff and a snapshot answers every node again', async (t) => {
    // Never the shared server: an embedded PostgreSQL of this test's own, restarted on the same port and data.
    let server: EmbeddedServer;
    try {
      server = await startEmbeddedServer();
    } catch (error) {
      t.skip(`no embedded PostgreSQL could be started on this machine: ${messageOf(error).split('\n')[0]}`);
      return;
    }
    const cluster = freshCluster();
    let asker: Requester | undefined;
    try {
      const names = ['app-1', 'app-2', 'app-3'];
      const children = await startApps(
        cluster,
        names.map((node) => ({ node, databaseUrl: server.url, reconnectInitialDelayMillis: 100 })),
      );
      const errors: unknown[] = [];
      const inspector = res.inspector({ instanceId: 'requester', alerts: false, onError: (error) => errors.push(error) });
      const node = new ClusterNode(inspector, { cluster, connectionString: server.url, pg, reconnectInitialDelayMillis: 100, reconnectMaxDelayMillis: 1000 });
      asker = { node, errors };
      await node.join();
      const before = await node.snapshot({ timeoutMillis: 10_000 });
      assert.equal(before.complete, true, JSON.stringify(before.missing));

      const lost = children.map((child) => child.next('error', (line) => line.code === 'POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST'));
      const pidBefore = server.pid;
      await server.restart();
      assert.notEqual(server.pid, pidBefore, 'a new postmaster');
      await Promise.all(lost); // every child saw its LISTEN connection go

      let after: ClusterSnapshot | undefined;
      await eventually(
        async () => {
          try {
            after = await node.snapshot({ timeoutMillis: 2000 });
          } catch {
            return false; // the requester itself is still reconnecting
          }
          return after.complete && answered(after).join() === [...names, 'requester'].join();
        },
        () => `a complete snapshot of every node after the restart; last: ${JSON.stringify(after && { nodes: answered(after), missing: after.missing })}`,
        30_000,
      );
      // The leases are still held (their sessions ended with the restart; the app has not given them back).
      for (const name of names) assertHeldBy(name, poolOf(after as ClusterSnapshot, name, CLUSTER_APP_PG_POOL).holders, HELD_SITE);
      assert.ok(
        errors.some((error) => (error as { code?: unknown }).code === 'POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST'),
        'the requester reported its lost connection',
      );
    } finally {
      await apps.stopAll();
      await asker?.node.leave();
      await server.stop();
    }
  });

  test('the CLI against the same cluster lists the children and their holders (json)', async () => {
    const cluster = freshCluster();
    await startApps(cluster, [{ node: 'app-1' }, { node: 'app-2', pgLeases: 2 }]);
    const run = await spawnCli(['cluster', '--database-url', kit.db.url, '--cluster', cluster, '--format', 'json', '--timeout', '10000']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const result = JSON.parse(run.stdout) as ClusterSnapshot;
    assert.equal(result.complete, true, JSON.stringify(result.missing));
    const children = answered(result).filter((name) => !/^cli-\d+$/.test(name));
    assert.deepEqual(children, ['app-1', 'app-2']);
    for (const [node, count] of [['app-1', 1], ['app-2', 2]] as const) {
      const main = poolOf(result, node, CLUSTER_APP_PG_POOL);
      assert.equal(main.holders.length, count, node);
      assertHeldBy(node, main.holders, HELD_SITE);
    }
  });

  test("a child asked to exit ('exit', end of stdin, SIGTERM) leaves the cluster and exits 0 after closing its connections", async () => {
    const cluster = freshCluster();
    const [first, second, third] = await startApps(cluster, [{ node: 'app-1' }, { node: 'app-2', pgLeases: 2 }, { node: 'app-3', fakeLeases: 5 }]);
    assert.ok(first && second && third);
    const asker = await joinRequester(cluster, 'requester');
    assert.deepEqual(await asker.node.members(), ['app-1', 'app-2', 'app-3', 'requester']);

    const exits = await Promise.all([first.requestExit(), second.stop(), third.kill('SIGTERM')]);
    // Exit code 0 only once leave(), the releases and pool.end() have all resolved (see cluster-app-child.ts).
    for (const [index, child] of [first, second, third].entries()) {
      assert.deepEqual(exits[index], { code: 0, signal: null }, `${child.node}: ${child.stderr}`);
    }
    assert.deepEqual(first.lines.at(-1), { type: 'exiting', reason: 'exit' });
    assert.deepEqual(second.lines.at(-1), { type: 'exiting', reason: 'stdin-end' });
    assert.deepEqual(third.lines.at(-1), { type: 'exiting', reason: 'SIGTERM' });
    await eventually(async () => (await asker.node.members()).join() === 'requester', 'the children to leave pg_stat_activity');
  });
});
