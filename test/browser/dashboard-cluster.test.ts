// The dashboard's cluster panel in a real headless Chromium (Debian's `chromium`, driven by playwright-core): two
// ClusterNodes on a real PostgreSQL in this process, one holding a lease; the page served by the first node's ops
// routes asks the cluster and shows both nodes, the holder's file:line and the totals; a named node that is not in the
// cluster is shown missing (a partial result); a node that left answers 503 and the page says so. A second test feeds
// the page a result whose pools do not fit the server. Without chromium every test here reports itself skipped.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type pg from 'pg';
import { trackPgPool, type Inspector } from '../../src/index.js';
import { ClusterNode, type ClusterSnapshot } from '../../src/cluster/cluster-node.js';
import { clusterTotals } from '../../src/cluster/cluster-totals.js';
import { startOpsServer, type OpsServer } from '../../src/http/node-server.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { isAt, siteOf, TestResources } from '../support/pg-test-kit.js';
import {
  artifacts,
  findChromium,
  launchBrowser,
  openPage,
  runClosers,
  see,
  seeText,
  SKIP_REASON,
  TEST_TIMEOUT_MILLIS,
  withFailureScreenshot,
  type Closers,
} from '../support/browser-kit.js';

const here = import.meta.url;
const HELD_SITE = siteOf(here, '@cluster-held');
const chromiumPath = findChromium();
let db: TestDatabase | undefined;
const res = new TestResources();
/** Browser, servers, nodes and held connections of the current test, closed newest first. */
const closers: Closers = [];
let clusters = 0;

before(async () => {
  if (!chromiumPath) return;
  db = await createTestDatabase('browser_cluster');
});
afterEach(async () => {
  await runClosers(closers);
  await res.closeAll();
});
after(() => db?.drop());

async function startServer(...args: Parameters<typeof startOpsServer>): Promise<OpsServer> {
  const server = await startOpsServer(...args);
  closers.push(() => server.close());
  return server;
}

/** An instance: its own Inspector (instanceId = the node's name), pool `main` (max 2), and a joined ClusterNode. */
async function startNode(url: string, cluster: string, name: string): Promise<{ inspector: Inspector; pool: pg.Pool; node: ClusterNode }> {
  const inspector = res.inspector({ instanceId: name });
  // No idle timeout: the idle connection of node-a stays for the counts the page shows.
  const pool = res.pool(url, { max: 2, idleTimeoutMillis: 0 });
  trackPgPool(inspector, pool, { name: 'main', stackCapture: 'always' });
  await pool.query('SELECT 1');
  const node = new ClusterNode(inspector, { cluster, connectionString: url });
  closers.push(() => node.leave());
  await node.join();
  return { inspector, pool, node };
}

/** `file.ts:LINE` of a `path:line` site, as a regular expression that no further digit follows. */
function fileAndLine(site: string): RegExp {
  const colon = site.lastIndexOf(':');
  return new RegExp(`${path.basename(site.slice(0, colon)).replace(/\./g, '\\.')}:${site.slice(colon + 1)}(?!\\d)`);
}

/** Chromium logs each failed fetch ("Failed to load resource: ... 503"); those of the `allowed` statuses are expected. */
function unexpectedErrors(errors: readonly string[], allowed: readonly number[]): string[] {
  return errors.filter((text) => !allowed.some((status) => text.includes(`Failed to load resource: the server responded with a status of ${status}`)));
}

/** The requests the page made to the cluster route. */
function clusterRequests(urls: readonly string[]): string[] {
  return urls.filter((url) => new URL(url).pathname === '/api/cluster/snapshot');
}

describe('the dashboard cluster panel in Chromium', () => {
  test('two nodes, one holding a lease: both listed, the holder at its file:line, the totals; a named absent node; a node that left', { timeout: TEST_TIMEOUT_MILLIS }, async (t) => {
    if (!chromiumPath || !db) {
      t.skip(SKIP_REASON);
      return;
    }
    const cluster = `browser-cluster-${process.pid}-${(clusters += 1)}`;
    const a = await startNode(db.url, cluster, 'node-a');
    const b = await startNode(db.url, cluster, 'node-b');
    const heldClient = await b.pool.connect(); // @cluster-held
    closers.push(async () => heldClient.release());
    const lease = b.inspector.snapshotAll().pools[0]?.holders[0];
    assert.ok(lease && isAt(lease.location, HELD_SITE), `poolscope located the held lease at ${lease?.location}, expected ${HELD_SITE}`);
    // The route's 503 goes to the ops routes' onError; kept here so that it does not reach the inspector's warning.
    const routeErrors: unknown[] = [];
    const server = await startServer(a.inspector, { port: 0, streamIntervalMillis: 250, cluster: a.node, onError: (error) => routeErrors.push(error) });
    const context = await launchBrowser(chromiumPath, closers);
    const { page, record } = await openPage(context);

    await withFailureScreenshot(t, page, record, 'dashboard-cluster', async () => {
      const opened = await page.goto(`${server.url}/dashboard`);
      assert.equal(opened?.status(), 200, 'GET /dashboard');
      await seeText(page.locator('#connection'), 'live', '#connection');
      const section = page.locator('#cluster-view');
      await see(section, 'the cluster panel (#cluster-view)');
      await see(page.locator('#pools [data-pool="main"]'), 'pool "main" in #pools (a tick arrived)');
      assert.deepEqual(clusterRequests(record.requestUrls), [], 'the page does not ask the cluster by itself');
      assert.equal(await page.locator('#cluster-auto').isChecked(), false, 'auto-refresh is off by default');

      // Every node.
      await page.locator('#cluster-ask').click();
      const result = page.locator('#cluster-result');
      await see(page.locator('#cluster-result[data-state="complete"]'), 'a complete result (#cluster-result[data-state="complete"])');
      const nodeA = result.locator('article[data-node="node-a"]');
      const nodeB = result.locator('article[data-node="node-b"]');
      await see(nodeA, 'node-a in the cluster result');
      await see(nodeB, 'node-b in the cluster result');
      await seeText(nodeB.locator('tr[data-pool="main"] [data-field="counts"]'), '1 / 0 / 2', "node-b's pool main: used / idle / max");
      await seeText(nodeA.locator('tr[data-pool="main"] [data-field="counts"]'), '0 / 1 / 2', "node-a's pool main: used / idle / max");
      const holder = nodeB.locator(`tr[data-lease-id="${lease.id}"]`);
      await see(holder, `node-b's holder #${lease.id}`);
      await see(holder.locator('[data-field="location"]').filter({ hasText: fileAndLine(HELD_SITE) }), `${HELD_SITE} in the location of node-b's holder`);
      assert.ok((await holder.locator('details').count()) > 0, 'the holder row has a <details> with the stack');
      assert.match((await holder.locator('[data-field="held"]').textContent()) ?? '', /\d/, 'held for is shown');
      assert.equal(await nodeA.locator('tr[data-lease-id]').count(), 0, 'node-a holds nothing');
      // The totals: pool main across the two nodes, all pools, and the server's capacity sentence.
      const totals = result.locator('#cluster-totals');
      await seeText(totals.locator('tr[data-pool="main"] [data-field="nodes"]'), '2', 'nodes with pool main in the totals');
      await seeText(totals.locator('tr[data-pool="main"] [data-field="used"]'), '1', 'used of pool main across the nodes');
      await seeText(totals.locator('tr[data-pool="main"] [data-field="max"]'), '4', 'max of pool main across the nodes');
      await seeText(totals.locator('tr[data-pool="all pools"] [data-field="max"]'), '4', 'max of all pools');
      const capacity = result.locator('.cluster-server');
      await see(capacity, 'the server capacity line');
      // Two more connections fit any test server with room for this test; the server is shared, so read its verdict.
      const fits = await capacity.getAttribute('data-fits');
      assert.match(fits ?? '', /^(true|false)$/);
      assert.match((await capacity.textContent()) ?? '', fits === 'true' ? /^fits The cluster's pools may open 2 connections more .*max_connections \d+/ : /^does not fit /);
      assert.equal(await result.locator('.cluster-missing').count(), 0, 'nobody is missing');
      await section.screenshot({ path: path.join(artifacts(t), 'dashboard-cluster.png') });

      // Named nodes, one of them not in the cluster: a partial result that names it, with the reason in words.
      await page.locator('#cluster-nodes').fill('node-b, ghost-node');
      await page.locator('#cluster-ask').click();
      await see(page.locator('#cluster-result[data-state="partial"]'), 'a partial result');
      const ghost = result.locator('.cluster-missing li[data-node="ghost-node"]');
      await see(ghost, 'ghost-node among the missing');
      assert.equal(await ghost.getAttribute('data-reason'), 'not-in-cluster');
      assert.match((await ghost.textContent()) ?? '', /not in the cluster/);
      await see(page.locator('#cluster-status').filter({ hasText: /^Partial, missing ghost-node/ }), 'the status naming the missing node');
      await see(result.locator('.cluster-partial').filter({ hasText: 'ghost-node' }), 'the partial mark naming the missing node');
      await see(result.locator('article[data-node="node-b"]'), 'node-b, named, in the result');
      assert.equal(await result.locator('article[data-node="node-a"]').count(), 0, 'node-a was not asked');
      assert.ok(
        clusterRequests(record.requestUrls).some((url) => new URL(url).searchParams.get('nodes') === 'node-b,ghost-node'),
        `the page asked for the named nodes: ${clusterRequests(record.requestUrls).join(', ')}`,
      );
      await section.screenshot({ path: path.join(artifacts(t), 'dashboard-cluster-partial.png') });

      // The node behind these routes left: the route answers 503 with a code, and the page shows it.
      await a.node.leave();
      await page.locator('#cluster-ask').click();
      const failure = result.locator('.cluster-error[data-error="POOLSCOPE_ERR_CLUSTER_NOT_JOINED"]');
      await see(failure, 'the 503 answer with its code');
      assert.match((await failure.textContent()) ?? '', /^503 POOLSCOPE_ERR_CLUSTER_NOT_JOINED: .*could not ask the cluster/);
      assert.equal(await result.locator('article[data-node]').count(), 0, 'no stale result is shown under the error');
      assert.equal(routeErrors.length, 1, 'the failure went to onError');

      assert.deepEqual(unexpectedErrors(record.errors, [503]), [], 'no console errors (but the refused request), CSP violations or page errors');
      assert.deepEqual(
        record.failedResponses.map((line) => `${line.split(' ')[0]} ${new URL(line.slice(4)).pathname}`),
        ['503 /api/cluster/snapshot'],
        'only the ask after the node left failed',
      );
    });
  });

  test('pools that do not fit the server: the capacity line says so and is marked', { timeout: TEST_TIMEOUT_MILLIS }, async (t) => {
    if (!chromiumPath || !db) {
      t.skip(SKIP_REASON);
      return;
    }
    // A source that answers a fixed result: two nodes whose pools may open 48 more connections on a server with 2 left.
    const inspector = res.inspector({ instanceId: 'api-1' });
    const pool = res.pool(db.url, { max: 25 });
    trackPgPool(inspector, pool, { name: 'main' });
    await pool.query('SELECT 1');
    const snapshot = inspector.snapshotAll();
    const nodes = [
      { node: 'api-1', snapshot },
      { node: 'api-2', snapshot },
    ];
    const limits = { serverVersionNumber: 170000, maxConnections: 20, superuserReservedConnections: 3, reservedConnections: 0, usedConnections: 15 };
    const departed = [{ node: 'api-9', leftAt: Date.now() - 60_000 }];
    const answer: ClusterSnapshot = { requestId: 'fixed', complete: true, nodes, missing: [], totals: clusterTotals(nodes, limits), departed };
    assert.equal(answer.totals.server?.fits, false);
    const server = await startServer(inspector, { port: 0, streamIntervalMillis: 250, cluster: { snapshot: () => Promise.resolve(answer) } });
    const context = await launchBrowser(chromiumPath, closers);
    const { page, record } = await openPage(context);

    await withFailureScreenshot(t, page, record, 'dashboard-cluster-no-fit', async () => {
      await page.goto(`${server.url}/dashboard`);
      await see(page.locator('#cluster-view'), 'the cluster panel (#cluster-view)');
      await page.locator('#cluster-ask').click();
      const capacity = page.locator('#cluster-result .cluster-server[data-fits="false"]');
      await see(capacity, 'the capacity line marked data-fits="false"');
      assert.match((await capacity.textContent()) ?? '', /^does not fit .*too many clients already/);
      await see(capacity.locator('.badge-critical'), 'the critical badge on the capacity line');
      await seeText(page.locator('#cluster-totals tr[data-pool="main"] [data-field="max"]'), '50', 'max of pool main across the two nodes');
      await see(page.locator('#cluster-result .cluster-departed li[data-node="api-9"]'), 'the departed node api-9');
      await page.locator('#cluster-view').screenshot({ path: path.join(artifacts(t), 'dashboard-cluster-no-fit.png') });
      assert.deepEqual(record.errors, [], 'no console errors, CSP violations or page errors');
      assert.deepEqual(record.failedResponses, [], 'every request of the page succeeded');
    });
  });
});
