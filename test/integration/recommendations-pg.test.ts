// The recommendation rules over real pg pools driven into each condition on a real PostgreSQL: the input is read
// from the inspector (poolRecommendationInputs) and the server's capacity from pg_stat_activity, as the CLI and the
// demo do. Each test checks the rule fires for the condition, names what it saw, and stays quiet otherwise.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { poolRecommendationInputs, recommend, trackPgPool, type Inspector, type Recommendation } from '../../src/index.js';
import { ActivityInspector } from '../../src/server/activity-inspector.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { eventually, siteOf, TestResources } from '../support/pg-test-kit.js';

const here = import.meta.url;
let db: TestDatabase;
const res = new TestResources();
const held: pg.PoolClient[] = [];

before(async () => {
  db = await createTestDatabase('recommendations');
});
afterEach(async () => {
  for (const client of held.splice(0)) client.release(true);
  await res.closeAll();
});
after(() => db?.drop());

function only(found: readonly Recommendation[], id: Recommendation['id']): Recommendation {
  const matching = found.filter((r) => r.id === id);
  assert.equal(matching.length, 1, `expected one ${id}, got: ${found.map((r) => r.id).join(', ') || 'none'}`);
  return matching[0] as Recommendation;
}

function rulesFor(inspector: Inspector, name: string): Recommendation[] {
  return recommend({ pools: poolRecommendationInputs(inspector, [name]) });
}

async function hold(pool: pg.Pool, count: number): Promise<pg.PoolClient[]> {
  const clients: pg.PoolClient[] = [];
  for (let i = 0; i < count; i += 1) clients.push(await pool.connect()); // @hold
  held.push(...clients);
  return clients;
}

describe('recommendations on real pools', () => {
  test('raise-max: a pool held full with a caller waiting, sampled over time; a concrete new max', async () => {
    const inspector = res.inspector({ historyIntervalMillis: 20 });
    const pool = res.pool(db.url, { max: 2 });
    trackPgPool(inspector, pool, { name: 'busy' });
    assert.deepEqual(rulesFor(inspector, 'busy'), [], 'an idle pool gets nothing');

    await hold(pool, 2);
    const waiter = pool.connect();
    await eventually(
      () => inspector.history('busy').filter((point) => point.pending > 0 && point.utilizationPercent === 100).length >= 3,
      'three samples of the full pool with a caller waiting',
    );
    const found = only(rulesFor(inspector, 'busy'), 'raise-max');
    assert.equal(found.severity, 'critical', 'a caller is waiting now');
    assert.deepEqual(found.change, { option: 'max', from: 2, to: 3 });
    assert.ok(found.evidence.some((line) => /1 caller\(s\) waiting now/.test(line)), found.evidence.join('\n'));

    for (const client of held.splice(0)) client.release();
    (await waiter).release();
  });

  test('investigate-long-holders names this file:line and the query it runs; without a query it suspects a missing release', async () => {
    const inspector = res.inspector();
    const pool = res.pool(db.url, { max: 4 });
    trackPgPool(inspector, pool, { name: 'slow' });
    const slow = await pool.connect(); // @slow-holder
    held.push(slow);
    const sleeping = slow.query('SELECT pg_sleep(30)').catch((error: unknown) => error);
    await eventually(() => (inspector.snapshot('slow').holders[0]?.heldMillis ?? 0) > 1000, 'the holder passes 1 s');

    const found = only(rulesFor(inspector, 'slow'), 'investigate-long-holders');
    assert.ok(found.title.includes(siteOf(here, '@slow-holder')), found.title);
    assert.match(found.evidence[0] ?? '', /running "SELECT pg_sleep\(30\)"/);
    assert.match(found.fixes[1] ?? '', /EXPLAIN ANALYZE/);

    const admin = await res.client(db.url);
    await admin.query('SELECT pg_cancel_backend($1)', [inspector.snapshot('slow').holders[0]?.backendPid]);
    assert.match(String(await sleeping), /cancel/i);
    await eventually(() => inspector.snapshot('slow').holders[0]?.queriesInFlight === 0, 'the cancelled query ends');
    const idle = only(rulesFor(inspector, 'slow'), 'investigate-long-holders');
    assert.match(idle.fixes[1] ?? '', /run no query: a missing release\(\)/);
  });

  test('fix-misuse: a dirty release and a suspected leak, each counted; critical', async () => {
    const inspector = res.inspector();
    const pool = res.pool(db.url, { max: 3 });
    trackPgPool(inspector, pool, { name: 'misused', leakThresholdMillis: 100 });
    const dirty = await pool.connect();
    await dirty.query('BEGIN');
    dirty.release();
    const [leaked] = await hold(pool, 1);
    assert.ok(leaked !== undefined);
    await eventually(() => inspector.stats('misused').counters.leaksSuspected === 1, 'the leak is suspected');

    const found = only(rulesFor(inspector, 'misused'), 'fix-misuse');
    assert.equal(found.severity, 'critical');
    assert.match(found.title, /1 suspected leak\(s\)/);
    assert.match(found.title, /1 dirty release\(s\)/);
    assert.ok(found.fixes.some((fix) => /COMMIT or ROLLBACK before release\(\)/.test(fix)));
  });

  test('lower-min: min connections kept open but never used', async () => {
    const pool = res.pool(db.url, { max: 6, min: 3, idleTimeoutMillis: 60_000 });
    // Open three connections before tracking, so the history only sees the quiet time after.
    for (const client of await Promise.all([pool.connect(), pool.connect(), pool.connect()])) client.release();
    const inspector = res.inspector({ historyIntervalMillis: 20 });
    trackPgPool(inspector, pool, { name: 'roomy' });
    await pool.query('SELECT 1');
    await eventually(() => inspector.history('roomy').length >= 5, 'five history samples');

    const found = only(rulesFor(inspector, 'roomy'), 'lower-min');
    assert.equal(found.severity, 'info');
    assert.equal(found.change?.option, 'min');
    assert.equal(found.change?.from, 3);
    assert.ok((found.change?.to ?? 3) < 3, `lower than 3: ${JSON.stringify(found.change)}`);
  });

  test("server-connection-budget: judged against the server's own max_connections and reserved slots", async () => {
    const activity = new ActivityInspector({ connectionString: db.url });
    let report;
    try {
      report = await activity.activity();
    } finally {
      await activity.close();
    }
    const usable = report.maxConnections - report.reservedConnections;
    assert.ok(usable > 20, `this test needs a server with more than 20 usable connections (has ${usable})`);
    const inspector = res.inspector();
    trackPgPool(inspector, res.pool(db.url, { max: 10 }), { name: 'api' });
    const pools = poolRecommendationInputs(inspector);
    const server = { maxConnections: report.maxConnections, reservedConnections: report.reservedConnections };

    assert.deepEqual(recommend({ pools, server: { ...server, instances: 1 } }).filter((r) => r.id === 'server-connection-budget'), []);
    const instances = Math.ceil(usable / 10) + 1;
    const found = only(recommend({ pools, server: { ...server, instances } }), 'server-connection-budget');
    assert.equal(found.severity, 'critical');
    assert.equal(found.poolName, null);
    assert.ok(found.evidence.some((line) => line.includes(`max_connections ${report.maxConnections} minus ${report.reservedConnections} reserved = ${usable}`)));
  });

  test('split-pool: LISTEN connections take most of a pool while short work waits', async () => {
    const inspector = res.inspector();
    const pool = res.pool(db.url, { max: 4 });
    trackPgPool(inspector, pool, { name: 'shared' });
    const listeners = await hold(pool, 3);
    for (const [index, client] of listeners.entries()) await client.query(`LISTEN channel_${index}`);
    assert.equal(rulesFor(inspector, 'shared').filter((r) => r.id === 'split-pool').length, 0, 'nobody waits yet');

    await hold(pool, 1);
    const waiter = pool.connect();
    await eventually(() => inspector.stats('shared').pending > 0, 'a caller waits');
    const found = only(rulesFor(inspector, 'shared'), 'split-pool');
    assert.match(found.evidence[0] ?? '', /^3 LISTEN connection\(s\)/);
    assert.ok(found.evidence[2]?.includes(siteOf(here, '@hold')), `parked connections named where they were acquired: ${found.evidence[2]}`);
    assert.match(found.fixes[0] ?? '', /expectFull: true/);

    for (const client of held.splice(0)) client.release();
    (await waiter).release();
  });
});
