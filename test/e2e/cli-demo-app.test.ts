// The CLI end to end against the demo app (src/cli/demo/demo-app.ts: pools `main` and an expectFull `listen`, healthy,
// slow and leaky endpoints, ops routes on its own port) on a real PostgreSQL: inspect (text and parsed JSON, exit
// codes), stress (parsed JSON, its bound), db (naming the demo's application_name), recommendations.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoApp, type DemoApp } from '../../src/cli/demo/demo-app.js';
import { DEMO_APPLICATION_NAMES } from '../../src/cli/demo/demo-endpoints.js';
import { plantedSites } from '../../src/cli/demo/demo-leak-sites.js';
import type { InspectReport } from '../../src/cli/inspect-report.js';
import type { StressReport } from '../../src/cli/stress-report.js';
import type { ServerActivityReport } from '../../src/server/activity-inspector.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { eventually, isAt } from '../support/pg-test-kit.js';
import { runCliCaptured } from '../support/cli-capture.js';

let db: TestDatabase;
let app: DemoApp | undefined;

before(async () => {
  db = await createTestDatabase('cli_demo_app');
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
after(() => db?.drop());

async function start(mainMax = 4): Promise<DemoApp> {
  app = await startDemoApp({ databaseUrl: db.url, mainMax, leakThresholdMillis: 60_000 });
  return app;
}

function json<T>(text: string): T {
  return JSON.parse(text) as T;
}

describe('poolscope CLI against the demo app', () => {
  test('inspect: text and JSON name both pools; listen is full by design, not critical; exit 0', async () => {
    const demo = await start();
    const text = await runCliCaptured(['inspect', '--url', demo.url]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Pool main \(pg\)/);
    assert.match(text.stdout, /Pool listen \(pg\) .*expectFull: full by design/);

    const run = await runCliCaptured(['inspect', '--url', demo.url, '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const report = json<InspectReport>(run.stdout);
    assert.deepEqual(report.pools.map((pool) => pool.poolName), ['main', 'listen']);
    const listen = report.pools.find((pool) => pool.poolName === 'listen');
    assert.equal(listen?.stats.expectFull, true);
    assert.equal(listen?.critical, false);
    assert.equal(report.critical, false);
  });

  test('stress drives the healthy endpoint: every request counted, pool health read after each wave; the bound holds', async () => {
    const demo = await start();
    const run = await runCliCaptured(['stress', '--base-url', demo.url, '--endpoint', '/api/orders', '--requests', '6', '--waves', '2', '--delay', '0', '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const report = json<StressReport>(run.stdout);
    assert.equal(report.summary.totalRequests, 12);
    assert.equal(report.summary.succeeded, 12);
    assert.equal(report.waves.length, 2);
    for (const wave of report.waves) assert.deepEqual(wave.health?.pools.map((pool) => pool.poolName), ['main', 'listen']);

    const tooMany = await runCliCaptured(['stress', '--base-url', demo.url, '--requests', '1001']);
    assert.equal(tooMany.code, 2, 'over the bound is a usage error, nothing sent');
  });

  test('leaky endpoints: inspect --detailed names the planted line, recommends fixing it, and exits 1 once main is full', async () => {
    const demo = await start(3);
    const earlyReturn = plantedSites().find((site) => site.endpoint.path === '/api/customers/lookup');
    assert.ok(earlyReturn, 'the early-return leak is marked in the demo source');
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(`${demo.url}/api/customers/lookup?email=nobody-${i}@example.com`);
      await response.text();
    }
    await eventually(() => demo.inspector.stats('main').used === 3, 'the three leaked connections are out');
    await eventually(() => demo.inspector.stats('main').counters.ownerEndedHolding === 3, 'each request ended holding its connection');

    const run = await runCliCaptured(['inspect', '--url', demo.url, '--pool', 'main', '--detailed', '--recommendations', '--format', 'json']);
    assert.equal(run.code, 1, `a pool held full is critical: exit 1\n${run.stderr}`);
    const report = json<InspectReport>(run.stdout);
    assert.equal(report.critical, true);
    const holders = report.snapshot?.pools.find((pool) => pool.poolName === 'main')?.holders ?? [];
    assert.equal(holders.length, 3);
    for (const holder of holders) assert.ok(isAt(holder.location, earlyReturn.site), `holder at ${holder.location}, planted at ${earlyReturn.site}`);
    const fix = report.recommendations?.find((r) => r.id === 'fix-misuse' && r.poolName === 'main');
    assert.match(fix?.title ?? JSON.stringify(report.recommendations), /3 request\(s\)\/job\(s\) ended still holding a connection/);

    const text = await runCliCaptured(['inspect', '--url', demo.url, '--pool', 'main', '--detailed']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /CRITICAL/);
    assert.ok(text.stdout.includes(earlyReturn.site), text.stdout);
  });

  test("db groups the server's sessions under the demo's application_name", async () => {
    await start();
    const run = await runCliCaptured(['db', '--database-url', db.adminUrl, '--database', db.name, '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const report = json<ServerActivityReport>(run.stdout);
    const names = new Set(report.groups.map((group) => group.applicationName));
    assert.ok(names.has(DEMO_APPLICATION_NAMES.listen), `groups: ${[...names].join(', ')}`);
    const listening = report.groups.filter((group) => group.applicationName === DEMO_APPLICATION_NAMES.listen).reduce((sum, g) => sum + g.count, 0);
    assert.ok(listening >= 3, `the three LISTEN connections are the server's sessions of ${DEMO_APPLICATION_NAMES.listen}`);

    const text = await runCliCaptured(['db', '--database-url', db.adminUrl, '--application-name', DEMO_APPLICATION_NAMES.listen]);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.includes(DEMO_APPLICATION_NAMES.listen));
    assert.ok(!text.stdout.includes(DEMO_APPLICATION_NAMES.main), 'filtered to the listen pool');
  });
});
