// The dashboard's "Worker pools" panel in a real headless Chromium, with a real Piscina pool running real tasks in
// worker threads (test/fixtures/workers/): hidden without worker pools, then the pool's row (profile, capacity used,
// level, queue, tasks) and a row per worker with its status, load and memory. Tasks that must stay running while the
// page looks are held until the test creates a file, so nothing depends on timing. Without chromium every test here
// reports itself skipped, with the reason.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { Inspector } from '../../src/core/inspector.js';
import { trackPiscina } from '../../src/adapters/piscina/index.js';
import { startOpsServer } from '../../src/http/node-server.js';
import { eventually } from '../support/wait-for.js';
import {
  findChromium,
  launchBrowser,
  openPage,
  runClosers,
  see,
  seeText,
  SKIP_REASON,
  TEST_TIMEOUT_MILLIS,
  WAIT_MILLIS,
  withFailureScreenshot,
  type Closers,
} from '../support/browser-kit.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/workers/', import.meta.url));
const PISCINA_WORKER = pathToFileURL(path.join(FIXTURES, 'piscina-worker.mjs')).href;

const chromiumPath = findChromium();
const closers: Closers = [];
afterEach(() => runClosers(closers));

describe('the Worker pools panel in Chromium', () => {
  test('a Piscina pool: its row (profile, capacity used, level, queue, tasks) and its workers with load and memory', { timeout: TEST_TIMEOUT_MILLIS }, async (t) => {
    if (!chromiumPath) {
      t.skip(SKIP_REASON);
      return;
    }
    const errors: unknown[] = [];
    const inspector = new Inspector({ alerts: false, historyIntervalMillis: 0, onError: (error) => errors.push(error) });
    closers.push(async () => inspector.close());
    const server = await startOpsServer(inspector, { port: 0, streamIntervalMillis: 250 });
    closers.push(() => server.close());
    const context = await launchBrowser(chromiumPath, closers);
    const { page, record } = await openPage(context);
    const gateDir = mkdtempSync(path.join(os.tmpdir(), 'poolscope-dashboard-gate-'));
    const gate = path.join(gateDir, 'open');
    closers.push(async () => rmSync(gateDir, { recursive: true, force: true }));

    await withFailureScreenshot(t, page, record, 'dashboard-worker-pools', async () => {
      await page.goto(`${server.url}/dashboard`);
      await seeText(page.locator('#connection'), 'live', '#connection');
      assert.equal(await page.locator('#worker-pools').isVisible(), false, 'no Worker pools panel without worker pools');

      // 2 threads x 2 tasks each = capacity 4; 5 held tasks fill it and queue one.
      const pool = new Piscina({ filename: PISCINA_WORKER, minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 2, atomics: 'async' });
      closers.push(async () => {
        writeFileSync(gate, '');
        await pool.destroy();
      });
      const view = trackPiscina(inspector, pool, { name: 'images' });
      const held = Array.from({ length: 5 }, () => pool.run(gate, { name: 'holdUntilFile' }));
      await eventually(() => view.stats().capacityUsed === 4 && view.stats().queueSize === 1, () => JSON.stringify(view.stats()));
      await view.sampleMemory();

      const row = page.locator('#worker-pools [data-worker-pool="images"]');
      await see(row, 'the row of worker pool "images" in #worker-pools');
      await see(row.filter({ hasText: 'piscina thread' }), 'the profile "piscina thread"');
      await see(row.filter({ hasText: '4 / 4' }), 'capacity used 4 / 4');
      await see(row.locator('td.level-critical').filter({ hasText: 'CRITICAL' }), 'the CRITICAL level marker');
      const workers = page.locator('#worker-pools [data-workers-of="images"] tr[data-worker]');
      await eventually(async () => (await workers.count()) === 2, 'two worker rows', WAIT_MILLIS);
      for (const worker of await workers.all()) {
        await see(worker.filter({ hasText: 'busy' }), 'a busy worker');
        await see(worker.filter({ hasText: '2 / 2' }), 'a worker at load 2 / 2');
        await see(worker.filter({ hasText: /thread \d+/ }), "a worker's thread id");
        await see(worker.filter({ hasText: /\d+(\.\d+)? MB/ }), "a worker's memory in MB (poolscope/worker answers)");
      }

      writeFileSync(gate, '');
      assert.deepEqual(await Promise.all(held), Array(5).fill('released'));
      await see(row.filter({ hasText: '5 done, 0 failed, 0 rejected' }), 'the five tasks done');
      await see(row.locator('td.level-normal').filter({ hasText: 'LOW' }), 'the LOW level once idle');
      await see(page.locator('#worker-pools [data-workers-of="images"] tr[data-worker]').filter({ hasText: 'available' }), 'an available worker');
      assert.deepEqual(record.errors, [], 'no console error, no CSP violation');
      assert.deepEqual(errors, []);
    });
  });
});
