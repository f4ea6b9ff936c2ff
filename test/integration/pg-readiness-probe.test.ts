// Readiness probes on a real PostgreSQL: the ping borrows a connection without recording a lease, is skipped when
// no connection is free (it must never queue behind the app), and reports an unreachable server with pg's message.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { trackPgPool } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { collect, TestResources } from '../support/pg-test-kit.js';
import { closedPort, listenOnLoopback } from '../support/loopback-server.js';

let db: TestDatabase;
const res = new TestResources();

before(async () => {
  db = await createTestDatabase('probe');
});
afterEach(() => res.closeAll());
after(() => db?.drop());

describe('PoolTracker.probe on pg', () => {
  test('pings through the pool without recording a lease, and returns the connection', async () => {
    const inspector = res.inspector();
    const pool = res.pool(db.url, { max: 2 });
    const tracker = trackPgPool(inspector, pool, { name: 'main' });
    const acquired = collect(inspector, 'lease-acquired');
    const report = await tracker.probe(5000);
    assert.equal(report.reachable, true);
    assert.equal(report.error, null);
    assert.equal(report.skipped, null);
    assert.equal(report.poolName, 'main');
    assert.equal(typeof report.latencyMillis, 'number');
    const stats = tracker.stats();
    assert.equal(stats.counters.acquires, 0, 'the ping is not an app checkout');
    assert.equal(stats.used, 0);
    assert.equal(acquired.length, 0);
    assert.equal(pool.totalCount, 1, 'the ping opened one connection');
    assert.equal(pool.idleCount, 1, 'and gave it back');
    // The app's own work is tracked as before, on the connection the ping warmed.
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    assert.equal(rows[0]?.one, 1);
    assert.equal(tracker.stats().counters.acquires, 1);
  });

  test('concurrent probes share one ping', async () => {
    const inspector = res.inspector();
    const pool = res.pool(db.url, { max: 3 });
    const tracker = trackPgPool(inspector, pool, { name: 'main' });
    const [a, b, c] = await Promise.all([tracker.probe(), tracker.probe(), tracker.probe()]);
    assert.equal(a, b);
    assert.equal(b, c);
    assert.equal(pool.totalCount, 1, 'one connection for the three probes');
  });

  test('is skipped (reachable null) when every connection is checked out, and does not queue', async () => {
    const inspector = res.inspector();
    const pool = res.pool(db.url, { max: 1 });
    const tracker = trackPgPool(inspector, pool, { name: 'main' });
    const client = await pool.connect();
    try {
      const report = await tracker.probe(5000);
      assert.equal(report.reachable, null);
      assert.equal(report.skipped, 'no-free-connection');
      assert.equal(pool.waitingCount, 0, 'the probe did not join the queue');
    } finally {
      client.release();
    }
  });

  test('reports an unreachable server as reachable: false with the driver message', async () => {
    const inspector = res.inspector();
    const port = await closedPort();
    const pool = res.pool(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 2 });
    pool.on('error', () => undefined);
    const tracker = trackPgPool(inspector, pool, { name: 'down' });
    const report = await tracker.probe(5000);
    assert.equal(report.reachable, false);
    assert.match(report.error ?? '', /ECONNREFUSED|connect/i);
    assert.equal(report.skipped, null);
    assert.equal(tracker.stats().counters.acquires, 0);
  });

  test('a server that accepts but never answers times out as unreachable', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    const { port, close } = await listenOnLoopback(silent);
    try {
      const inspector = res.inspector();
      const pool = res.pool(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1 });
      pool.on('error', () => undefined);
      const tracker = trackPgPool(inspector, pool, { name: 'silent' });
      const report = await tracker.probe(200);
      assert.equal(report.reachable, false);
      assert.equal(report.error, 'the database did not answer within 200 ms');
    } finally {
      for (const socket of sockets) socket.destroy();
      await close();
    }
  });

  test('a closed tracker reports skipped: closed', async () => {
    const inspector = res.inspector();
    const tracker = trackPgPool(inspector, res.pool(db.url), { name: 'main' });
    inspector.close();
    const report = await tracker.probe();
    assert.equal(report.reachable, null);
    assert.equal(report.skipped, 'closed');
  });
});
