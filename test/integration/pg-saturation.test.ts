// Seed 000's scenarios on a real PostgreSQL: saturation triggers an automatic snapshot whose holders carry stacks
// pointing at this file and the right transaction depths; one owner holds a main and a LISTEN pool at once;
// history follows the pool.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { trackPgPool, withTransaction } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { eventually, isAt, nextEvent, siteOf, TestResources } from '../support/pg-test-kit.js';

let db: TestDatabase;
const res = new TestResources();
const here = import.meta.url;

before(async () => {
  db = await createTestDatabase('saturation');
});
afterEach(() => res.closeAll());
after(() => db?.drop());

/** Holds a connection in a transaction of `depth` levels until `done` resolves. */
async function holdAtDepth(pool: pg.Pool, depth: number, ready: () => void, done: Promise<void>): Promise<void> {
  await withTransaction(pool, async (client) => { // @holder-site
    const descend = async (level: number): Promise<void> => {
      if (level >= depth) {
        ready();
        await done;
        return;
      }
      await withTransaction(client, () => descend(level + 1));
    };
    await descend(1);
  });
}

describe('scenario 1: pool saturation', () => {
  test('reaching 80% takes a snapshot: holders with stacks at this file, depths, and the waiters after', async () => {
    const pool = res.pool(db.url, { max: 5 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' }); // default (adaptive) stack capture
    const snapshotTaken = nextEvent(inspector, 'snapshot-taken');

    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    let readyCount = 0;
    const allReady = new Promise<void>((resolve) => {
      const ready = () => {
        readyCount += 1;
        if (readyCount === 4) resolve();
      };
      const holders = [1, 2, 3, 1].map((depth) => holdAtDepth(pool, depth, ready, done));
      void Promise.all(holders);
    });
    await allReady;

    const { snapshot } = await snapshotTaken;
    assert.equal(snapshot.reason, 'saturation');
    assert.equal(snapshot.poolName, 'main');
    assert.ok(snapshot.stats.utilizationPercent >= 80, `utilization ${snapshot.stats.utilizationPercent}`);
    assert.ok(snapshot.holders.length >= 4);
    for (const holder of snapshot.holders) {
      assert.ok(isAt(holder.location, siteOf(here, '@holder-site')), `holder at ${holder.location}`);
      assert.ok(holder.stack.length > 0);
      assert.ok(holder.backendPid !== null && holder.backendPid > 0);
    }
    assert.equal(inspector.recentSnapshots('main').length, 1);

    // By the time all four are inside their transactions, the depths are exact.
    const now = inspector.snapshot('main');
    assert.deepEqual(
      now.holders.map((h) => h.transaction.depth).sort(),
      [1, 1, 2, 3],
      JSON.stringify(now.holders.map((h) => h.transaction)),
    );
    assert.ok(now.holders.every((h) => h.transaction.status === 'in-transaction'));
    assert.ok(now.holders.every((h, i, all) => i === 0 || (all[i - 1]?.heldMillis ?? 0) >= h.heldMillis), 'longest first');
    assert.equal(now.stats.level, 'warning');

    // Fill the pool and queue two callers: the waiters show up with their own stacks.
    const fifth = await pool.connect();
    const waiting = [pool.connect(), pool.connect()]; // @waiter-site
    await eventually(() => pool.waitingCount === 2, 'two callers queued');
    const full = inspector.snapshot('main');
    assert.equal(full.stats.level, 'critical');
    assert.equal(full.stats.pending, 2);
    assert.equal(full.waiters.length, 2);
    for (const waiter of full.waiters) {
      assert.equal(waiter.state, 'waiting');
      assert.ok(isAt(waiter.location, siteOf(here, '@waiter-site')), `waiter at ${waiter.location}`);
    }
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(inspector.snapshotAll())));

    fifth.release();
    release();
    for (const client of await Promise.all(waiting)) client.release();
    await eventually(() => inspector.stats('main').used === 0, 'all released');
    assert.equal(inspector.stats('main').counters.dirtyReleases, 0);
  });

  test('below the threshold no snapshot is taken', async () => {
    const pool = res.pool(db.url, { max: 10 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(inspector.recentSnapshots().length, 0);
    assert.equal(inspector.stats('main').level, 'normal');
    for (const client of clients) client.release();
  });
});

describe('pending counts only real waiting', () => {
  test('a burst served by idle connections and free slots is not saturation', async () => {
    const pool = res.pool(db.url, { max: 10 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const warm = await Promise.all([1, 2, 3].map(() => pool.connect()));
    for (const client of warm) client.release();
    // pg-pool queues all five (it has idle clients) and serves them on the next tick: 3 idle + 2 new.
    const burst = [1, 2, 3, 4, 5].map(() => pool.connect());
    assert.equal(pool.waitingCount, 5, "pg-pool's own queue");
    assert.equal(inspector.stats('main').pending, 0, 'nobody really waits');
    const clients = await Promise.all(burst);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(inspector.recentSnapshots().length, 0);
    for (const client of clients) client.release();
  });
});

describe('multi-pool owner (one owner holding main and listen pools)', () => {
  test('the snapshot shows the owner holding leases on both pools; the full LISTEN pool stays healthy', async () => {
    const main = res.pool(db.url, { max: 4 });
    const listen = res.pool(db.url, { max: 2 });
    const inspector = res.inspector();
    trackPgPool(inspector, main, { name: 'main' });
    trackPgPool(inspector, listen, { name: 'listen', expectFull: true });

    // Outbox handlers hold LISTEN connections by design (seed 001).
    const listeners = await Promise.all([listen.connect(), listen.connect()]);
    for (const [i, client] of listeners.entries()) await client.query(`LISTEN outbox_${i}`);

    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let queued!: () => void;
    const isQueued = new Promise<void>((resolve) => (queued = resolve));
    const job = inspector.runAs({ label: 'job outbox-dispatch#7', kind: 'job' }, async () => {
      const a = await main.connect();
      const pending = listen.connect(); // the listen pool is full: this caller queues
      queued();
      const b = await pending;
      await finished;
      b.release();
      a.release();
    });
    await isQueued;
    // A handler hands its LISTEN connection back; the job's queued connect() gets it, inside the job's scope.
    listeners[0]?.release();
    await eventually(
      () => inspector.snapshot('listen').holders.some((h) => h.owner?.label === 'job outbox-dispatch#7'),
      'the job holds a listen connection',
    );

    const all = inspector.snapshotAll();
    const entry = all.multiPoolOwners.find((o) => o.owner.label === 'job outbox-dispatch#7');
    assert.ok(entry, JSON.stringify(all.multiPoolOwners));
    assert.equal(entry.owner.kind, 'job');
    assert.deepEqual(Object.keys(entry.leases).sort(), ['listen', 'main']);
    assert.equal(entry.leases.main?.length, 1);
    assert.equal(entry.leases.listen?.length, 1);

    const listenStats = inspector.stats('listen');
    assert.equal(listenStats.utilizationPercent, 100);
    assert.equal(listenStats.level, 'normal', 'a LISTEN pool full by design is healthy');
    assert.equal(listenStats.expectFull, true);

    finish();
    await job;
    listeners[1]?.release();
    assert.equal(inspector.stats('main').used + inspector.stats('listen').used, 0);
  });
});

describe('history', () => {
  test('samples the pool on the inspector timer; utilization follows the holders', async () => {
    const pool = res.pool(db.url, { max: 4 });
    const inspector = res.inspector({ historyIntervalMillis: 20, historyRetentionMillis: 60_000 });
    trackPgPool(inspector, pool, { name: 'main' });
    const held = await Promise.all([pool.connect(), pool.connect()]);
    await eventually(() => inspector.history('main').some((p) => p.used === 2), 'a sample with 2 used');
    const point = inspector.history('main').find((p) => p.used === 2);
    assert.ok(point);
    assert.equal(point.max, 4);
    assert.equal(point.utilizationPercent, 50);
    assert.ok(!Number.isNaN(Date.parse(point.timestamp)));
    for (const client of held) client.release();
    await eventually(() => inspector.history('main').at(-1)?.used === 0, 'a sample after release');
    const total = inspector.history('main').reduce((sum, p) => sum + p.acquires, 0);
    assert.equal(total, 2, 'acquires are per-interval deltas that add up');
  });
});
