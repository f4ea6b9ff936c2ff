// The live dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core), on a real
// PostgreSQL: what a person sees on /dashboard while a pool saturates and leaks, and the token prompt when the
// browser's address is not allowlisted. Without chromium every test here reports itself skipped, with the reason.
//
// Screenshots go to a temporary artifacts folder (test/support/browser-kit.ts; POOLSCOPE_ARTIFACTS_DIR overrides it).
// POOLSCOPE_UPDATE_SCREENSHOT=1 also writes the README's screenshot, docs/images/dashboard.png (1280x1060).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Page } from 'playwright-core';
import { trackPgPool } from '../../src/index.js';
import { ActivityInspector } from '../../src/server/activity-inspector.js';
import { startOpsServer, type OpsServer } from '../../src/http/node-server.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';
import { eventually } from '../support/wait-for.js';
import {
  artifacts,
  findChromium,
  launchBrowser,
  openPage,
  runClosers,
  see,
  seeGone,
  seeText,
  SKIP_REASON,
  TEST_TIMEOUT_MILLIS,
  VIEWPORT,
  WAIT_MILLIS,
  withFailureScreenshot,
  type Closers,
} from '../support/browser-kit.js';

const here = import.meta.url;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(here)), '../..');
const README_SCREENSHOT = path.join(REPO_ROOT, 'docs/images/dashboard.png');

const chromiumPath = findChromium();
let db: TestDatabase | undefined;
const res = new TestResources();
/** Everything of the current test that is not a pool or an inspector (browser, servers, held clients), newest first. */
const closers: Closers = [];

before(async () => {
  if (!chromiumPath) return;
  db = await createTestDatabase('browser_dashboard');
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

/** The number of points a chart has drawn: its container's `data-points` attribute (set by the page per redraw). */
async function chartPoints(page: Page, metric: string): Promise<number> {
  const value = await page.locator(`[data-chart="${metric}"]`).first().getAttribute('data-points', { timeout: 1000 }).catch(() => null);
  return value === null ? 0 : Number(value);
}

/** Checks out `count` connections at once. */
function holdAll(pool: pg.Pool, count: number): Promise<pg.PoolClient[]> {
  return Promise.all(Array.from({ length: count }, () => pool.connect()));
}

/** Connections a test holds on purpose (and a caller it queued), given back after the test so the pools can end. */
interface Held {
  readonly clients: pg.PoolClient[];
  waiter?: Promise<pg.PoolClient>;
}

function holdUntilAfterTest(): Held {
  const held: Held = { clients: [] };
  closers.push(async () => {
    for (const client of held.clients.splice(0)) {
      try {
        client.release();
      } catch {
        // already released
      }
    }
    if (held.waiter) {
      // Served by one of the connections just given back.
      const bound = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000).unref());
      const client = await Promise.race([held.waiter.catch(() => undefined), bound]);
      client?.release();
    }
  });
  return held;
}

describe('the dashboard in Chromium', () => {
  test('a saturating, leaking pool: critical level, the leak with its file:line, charts, a pool added live', { timeout: TEST_TIMEOUT_MILLIS }, async (t) => {
    if (!chromiumPath || !db) {
      t.skip(SKIP_REASON);
      return;
    }
    const { url } = db;
    // History every 200 ms so the charts have points to draw within the first seconds; the app name is what the
    // page's header (and the README's screenshot) shows.
    const inspector = res.inspector({ historyIntervalMillis: 200, appName: 'orders-api' });
    const pool = res.pool(url, { max: 3 });
    const view = trackPgPool(inspector, pool, { name: 'orders', leakThresholdMillis: 300, stackCapture: 'always' });
    await pool.query('SELECT 1');
    // Default allowlist: loopback may read every route without a token.
    const server = await startServer(inspector, { port: 0, streamIntervalMillis: 250 });
    const context = await launchBrowser(chromiumPath, closers);
    const { page, record } = await openPage(context);

    await withFailureScreenshot(t, page, record, 'dashboard-main', async () => {
      const opened = await page.goto(`${server.url}/dashboard`);
      assert.equal(opened?.status(), 200, 'GET /dashboard');
      assert.match(opened?.headers()['content-security-policy'] ?? '', /script-src 'self'/, 'the page is served with its CSP');

      await seeText(page.locator('#connection'), 'live', '#connection');
      assert.equal(await page.locator('#token-form').isVisible(), false, 'no token is asked from an allowlisted address');
      assert.equal(await page.locator('#server-view').isVisible(), false, 'no database panel without the serverView option');
      assert.equal(await page.locator('#cluster-view').isVisible(), false, 'no cluster panel without the cluster option');

      const row = page.locator('#pools [data-pool="orders"]');
      await see(row, 'the row of pool "orders" in #pools');
      await seeText(row.locator('[data-field="level"]'), 'normal', 'the level of an idle pool');

      // Plant a leak: a checkout held past the threshold; the sweep (the timer's, run now) reports it.
      const leakReported = nextEvent(inspector, 'leak-suspected', WAIT_MILLIS);
      leakReported.catch(() => undefined); // awaited below; no unhandled rejection if the test fails before
      const held = holdUntilAfterTest();
      const leaked = await pool.connect(); // @leak
      held.clients.push(leaked);
      await leaked.query('SELECT pg_backend_pid()');
      await eventually(
        async () => {
          view.sweepLeaks();
          return inspector.stats('orders').counters.leaksSuspected > 0;
        },
        'the held checkout to pass its leak threshold',
        WAIT_MILLIS,
      );
      const leak = await leakReported;
      const site = siteOf(here, '@leak');
      assert.ok(leak.lease.location?.startsWith(`${site}:`), `poolscope located the leak at ${leak.lease.location}, expected ${site}`);

      await see(page.locator('#events [data-event-type="leak-suspected"]'), 'a leak-suspected row in the event feed (#events)');
      const holder = page.locator(`#holders [data-pool="orders"][data-lease-id="${leak.lease.id}"]`);
      await see(holder, `the leaking lease #${leak.lease.id} in #holders`);
      const fileAndLine = `${path.basename(site.slice(0, site.lastIndexOf(':')))}:${site.slice(site.lastIndexOf(':') + 1)}`;
      const location = holder.locator('[data-field="location"]');
      await see(location.filter({ hasText: new RegExp(`${fileAndLine.replace(/\./g, '\\.')}(?!\\d)`) }), `${fileAndLine} in the location cell of lease #${leak.lease.id}`);
      // The stack is one click away, in a <details> element of the holder's row.
      assert.ok((await holder.locator('details').count()) > 0, 'the holder row has a <details> with the stack');

      // Saturate: the other two connections out and a fourth caller queued.
      held.clients.push(...(await holdAll(pool, 2)));
      held.waiter = pool.connect();
      await eventually(() => inspector.stats('orders').pending === 1, 'the fourth connect() to queue');
      await seeText(row.locator('[data-field="level"]'), 'critical', 'the level of pool "orders" with 3 of 3 out and a caller waiting');
      await see(
        page.locator('#pools [data-pool="orders"].level-critical, #pools [data-pool="orders"] .level-critical'),
        'the critical pool marked with class level-critical',
      );
      await see(page.locator('#waiters [data-lease-id]'), 'the queued caller in #waiters');

      // The utilization chart: a uPlot canvas with more than one point drawn.
      await see(page.locator('[data-chart="utilization"] canvas'), 'a uPlot canvas in the utilization chart ([data-chart="utilization"])');
      let points = 0;
      await eventually(
        async () => (points = await chartPoints(page, 'utilization')) > 1,
        () => `more than one point in the utilization chart ([data-chart="utilization"] data-points=${points})`,
        WAIT_MILLIS,
      );
      // The wait-time chart (p50/p95/p99 of each history interval's waits) has points from the checkouts above.
      await see(page.locator('[data-chart="wait-time"] canvas'), 'a uPlot canvas in the wait-time chart ([data-chart="wait-time"])');
      let waitPoints = 0;
      await eventually(
        async () => (waitPoints = await chartPoints(page, 'wait-time')) > 0,
        () => `a point in the wait-time chart ([data-chart="wait-time"] data-points=${waitPoints})`,
        WAIT_MILLIS,
      );

      // A pool tracked after the page opened appears without a reload.
      const reports = res.pool(url, { max: 2 });
      trackPgPool(inspector, reports, { name: 'reports' });
      await reports.query('SELECT 1');
      await see(page.locator('#pools [data-pool="reports"]'), 'the pool "reports", tracked after the page opened, in #pools');
      assert.equal(record.navigations, 1, 'the page was never reloaded');

      const dir = artifacts(t);
      await page.screenshot({ path: path.join(dir, 'dashboard-main.png'), fullPage: true });
      await page.screenshot({ path: path.join(dir, 'dashboard-main-1280x800.png') });
      if (process.env.POOLSCOPE_UPDATE_SCREENSHOT === '1') {
        // A few more seconds of history make the README's charts worth looking at.
        await eventually(async () => (await chartPoints(page, 'utilization')) >= 10, 'ten points in the utilization chart', WAIT_MILLIS);
        // Only the saturated pool's charts (the page's pool selector, when it has one), in a frame tall enough for
        // the holders with their file:line below the five charts.
        const chartPool = page.locator('#chart-pool');
        if ((await chartPool.count()) > 0) await chartPool.selectOption('orders');
        mkdirSync(path.dirname(README_SCREENSHOT), { recursive: true });
        await page.setViewportSize({ width: VIEWPORT.width, height: 1060 });
        await page.screenshot({ path: README_SCREENSHOT });
        await page.setViewportSize(VIEWPORT);
        t.diagnostic(`README screenshot written: ${README_SCREENSHOT}`);
      }
      // The other theme, for a person to look at (the console checks below cover it too).
      await page.locator('#theme-toggle').click();
      await page.screenshot({ path: path.join(dir, 'dashboard-main-dark.png'), fullPage: true });

      assert.deepEqual(record.errors, [], 'no console errors, CSP violations or page errors');
      assert.deepEqual(record.failedResponses, [], 'every request of the page succeeded');
    });
  });

  test('with a token and loopback not allowlisted: the token is asked for, a wrong one refused, kept out of URLs', { timeout: TEST_TIMEOUT_MILLIS }, async (t) => {
    if (!chromiumPath || !db) {
      t.skip(SKIP_REASON);
      return;
    }
    const token = `tok-${randomBytes(16).toString('hex')}`;
    const wrong = `wrong-${randomBytes(16).toString('hex')}`;
    const inspector = res.inspector({ historyIntervalMillis: 200 });
    const pool = res.pool(db.url, { max: 2 });
    trackPgPool(inspector, pool, { name: 'orders' });
    await pool.query('SELECT 1');
    // An empty allowlist admits no address: only the token opens the data routes.
    const server = await startServer(inspector, { port: 0, allowlist: [], token, streamIntervalMillis: 250 });
    const context = await launchBrowser(chromiumPath, closers);
    const { page, record } = await openPage(context);

    await withFailureScreenshot(t, page, record, 'dashboard-token', async () => {
      const opened = await page.goto(`${server.url}/dashboard`);
      assert.equal(opened?.status(), 200, 'the page shell is public');

      const form = page.locator('#token-form');
      await see(form, 'the token form (#token-form)');
      await seeText(page.locator('#connection'), 'token needed', '#connection before a token is given');
      await page.screenshot({ path: path.join(artifacts(t), 'dashboard-token-form.png') });

      // A wrong token: the server refuses it, the form stays and the page still needs a token.
      const refused = page.waitForResponse(
        async (response) => response.status() === 403 && (await response.request().headerValue('authorization')) === `Bearer ${wrong}`,
        { timeout: WAIT_MILLIS },
      );
      refused.catch(() => undefined); // awaited below; no unhandled rejection if the test fails before
      await form.locator('input[name="token"]').fill(wrong);
      await form.locator('input[name="token"]').press('Enter');
      await refused.catch((error: unknown) => {
        throw new Error(`no request carrying the wrong token was refused with 403 within ${WAIT_MILLIS} ms`, { cause: error });
      });
      await see(form, 'the token form after a wrong token');
      await seeText(page.locator('#connection'), 'token needed', '#connection after a wrong token');
      assert.equal(await page.locator('#pools [data-pool="orders"]').count(), 0, 'no pool data shown with a wrong token');

      // The right token: live, the form gone, the data shown.
      await form.locator('input[name="token"]').fill(token);
      await form.locator('button[type="submit"], input[type="submit"], button:not([type])').first().click();
      await seeText(page.locator('#connection'), 'live', '#connection after the right token');
      await seeGone(form, 'the token form after the right token');
      await see(page.locator('#pools [data-pool="orders"]'), 'the row of pool "orders" once the token is accepted');

      // Kept for the session: a reload goes live without asking again.
      await page.reload();
      await seeText(page.locator('#connection'), 'live', '#connection after a reload in the same tab');
      assert.equal(await form.isVisible(), false, 'the token is not asked for again in the same session');
      await page.screenshot({ path: path.join(artifacts(t), 'dashboard-token-live.png') });

      for (const secret of [token, wrong]) {
        const leakedInto = record.requestUrls.filter((url) => url.includes(secret) || decodeURIComponent(url).includes(secret));
        assert.deepEqual(leakedInto, [], 'a token never appears in a requested URL');
      }
      // Chromium logs each refused fetch ("Failed to load resource: ... 403"); those are expected here, nothing else.
      const unexpected = record.errors.filter((text) => !/Failed to load resource: the server responded with a status of 403/.test(text));
      assert.deepEqual(unexpected, [], 'no console errors (other than the refused requests), CSP violations or page errors');
      assert.ok(
        record.failedResponses.every((line) => line.startsWith('403 ') && new URL(line.slice(4)).pathname.startsWith('/api/')),
        `only data routes were refused: ${record.failedResponses.join(', ')}`,
      );
    });
  });
  test("with serverView: the database's view (sessions by application and state, idle in transaction, headroom)", { timeout: TEST_TIMEOUT_MILLIS }, async (t) => {
    if (!chromiumPath || !db) {
      t.skip(SKIP_REASON);
      return;
    }
    const { url } = db;
    // The whole server's sessions are shown (other test files' too): a pool name of its own to look for.
    const poolName = `ledger-${randomBytes(4).toString('hex')}`;
    const inspector = res.inspector({ historyIntervalMillis: 200, appName: 'orders-api' });
    const pool = res.pool(url, { max: 3 });
    trackPgPool(inspector, pool, { name: poolName, queryComments: true });
    await pool.query('SELECT 1');
    // A session idle inside a transaction, rolled back and given back after the test; its statements carry a query
    // comment naming the owner and this line, which the panel shows.
    const inTransaction = await inspector.runAs('job ledger-close', () => pool.connect()); // @ledger-checkout
    closers.push(async () => {
      await inTransaction.query('ROLLBACK').catch(() => undefined);
      inTransaction.release();
    });
    await inTransaction.query('BEGIN');
    await inTransaction.query("SELECT 'poolscope-idle-in-transaction'");
    const activity = new ActivityInspector({ connectionString: url });
    closers.push(() => activity.close());
    const server = await startServer(inspector, { port: 0, streamIntervalMillis: 250, serverView: activity });
    const admin = res.pool(url, { max: 1 });
    const maxConnections = Number(((await admin.query('SHOW max_connections')).rows[0] as { max_connections: string }).max_connections);
    const context = await launchBrowser(chromiumPath, closers);
    const { page, record } = await openPage(context);

    await withFailureScreenshot(t, page, record, 'dashboard-server-view', async () => {
      const opened = await page.goto(`${server.url}/dashboard`);
      assert.equal(opened?.status(), 200, 'GET /dashboard');
      await seeText(page.locator('#connection'), 'live', '#connection');
      const section = page.locator('#server-view');
      await see(section, 'the database panel (#server-view)');

      // A group row for the pool's connections: trackPgPool names them <appName>/<instanceId>/<pool>.
      const group = section.locator(`#server-groups tr[data-application*="${poolName}"]`);
      await see(group, `a row of #server-groups for the application_name of pool "${poolName}"`);
      const application = (await group.first().getAttribute('data-application')) ?? '';
      assert.ok(application.includes(poolName), `the row names the pool: ${application}`);
      assert.match((await group.first().locator('[data-field="application"]').textContent()) ?? '', new RegExp(poolName));
      assert.match((await group.first().locator('[data-field="count"]').textContent()) ?? '', /^\d+$/);

      const idle = section.locator(`#server-idle-in-transaction tr[data-application*="${poolName}"]`);
      await see(idle, 'the session idle in a transaction in #server-idle-in-transaction');
      assert.match((await idle.first().locator('[data-field="query"]').textContent()) ?? '', /poolscope-idle-in-transaction/);
      const sentBy = (await idle.first().locator('[data-field="sent-by"]').textContent()) ?? '';
      assert.match(sentBy, /^by "job ledger-close" at /, `who sent the last query: ${sentBy}`);
      assert.ok(sentBy.includes(`${siteOf(import.meta.url, '@ledger-checkout')}:`), `at the checkout's line: ${sentBy}`);
      assert.match(sentBy, new RegExp(`lease #\\d+ of ${poolName}$`));
      assert.notEqual((await idle.first().locator('[data-field="transaction-age"]').textContent())?.trim(), '-', 'its transaction age is shown');
      await see(section.locator('#server-oldest-transaction [data-pid]'), 'the oldest open transaction');

      // The headroom: max_connections as the server says, and the figures add up.
      const figure = async (field: string): Promise<number> =>
        Number((await section.locator(`#server-headroom [data-field="${field}"] dd`).textContent())?.trim());
      await seeText(section.locator('#server-headroom [data-field="max"] dd'), String(maxConnections), 'max_connections in #server-headroom');
      const [used, reserved, headroom] = [await figure('used'), await figure('reserved'), await figure('headroom')];
      assert.ok(Number.isInteger(used) && used >= 2, `used connections shown: ${used}`);
      assert.ok(Number.isInteger(reserved) && reserved >= 0, `reserved shown: ${reserved}`);
      assert.equal(used + reserved + headroom, maxConnections, `used ${used} + reserved ${reserved} + headroom ${headroom} = max_connections`);
      await see(page.locator('#server-status').filter({ hasText: /^Updated / }), 'the "Updated" status of the database panel');

      await section.screenshot({ path: path.join(artifacts(t), 'dashboard-server-view.png') });
      assert.deepEqual(record.errors, [], 'no console errors, CSP violations or page errors');
      assert.deepEqual(record.failedResponses, [], 'every request of the page succeeded');
    });
  });
});
