// Regressions found by the fault scenarios (issue 17), each pinned down on its own: the fault made deterministic
// with the fault proxy (test/support/fault-proxy.ts), the invariant that broke asserted directly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import mysqlPromise from 'mysql2/promise';
import type mysql from 'mysql2';
import { Inspector } from '../../src/core/inspector.js';
import { trackPgPool } from '../../src/adapters/pg/pg-adapter.js';
import { trackMysql2Pool } from '../../src/adapters/mysql2/index.js';
import { ClusterNode } from '../../src/cluster/cluster-node.js';
import { ClusterError } from '../../src/errors.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { bounded, FaultInvariants } from '../support/fault-invariants.js';
import { isMysql2Error, isPgError } from '../support/fault-kits.js';
import { driverCounts, mysqlSkipReason, mysqlTestUrl } from '../support/mysql-test-kit.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { eventually } from '../support/wait-for.js';

let db: TestDatabase;
let proxy: FaultProxy;
before(async () => {
  db = await createTestDatabase('faults_regressions');
  proxy = await FaultProxy.start({ targetPort: Number(new URL(db.url).port || 5432) });
});
after(async () => {
  await proxy?.close();
  await db?.drop();
});
const mysqlSkip = await mysqlSkipReason();

describe('readiness ping on a connection that breaks under it', () => {
  test('pg: a ping that borrows an idle connection whose socket was just reset reports unreachable, never throws', async () => {
    proxy.pass();
    const pool = new pg.Pool({ connectionString: proxy.urlThrough(db.url), max: 2 });
    pool.on('error', () => undefined);
    const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false });
    const view = trackPgPool(inspector, pool, { name: 'main' });
    const inv = FaultInvariants.begin({
      label: 'pg: ping after reset',
      isDriverError: isPgError,
      pools: () => [{ name: 'main', view, counts: () => ({ total: pool.totalCount, idle: pool.idleCount, used: pool.totalCount - pool.idleCount, waiting: pool.waitingCount }) }],
    });
    try {
      await pool.query('SELECT 1'); // one idle connection
      assert.equal(pool.idleCount, 1);
      proxy.cutAll('rst');
      // Same tick: pg has not read the reset yet; the ping takes that idle client and its write fails.
      const report = await view.probe(2000);
      assert.equal(report.reachable, false, JSON.stringify(report));
      await inv.healed('a query', () => pool.query('SELECT 1'));
      await inv.atRest();
      inv.finish();
    } finally {
      inv.abandon();
      inspector.close();
      await pool.end();
    }
  });
});

describe('mysql2: a one-shot pool.query() whose connection is lost', { skip: mysqlSkip }, () => {
  let mysqlProxy: FaultProxy;
  before(async () => {
    mysqlProxy = await FaultProxy.start({ targetPort: Number(new URL(mysqlTestUrl()).port || 3306) });
  });
  after(() => mysqlProxy?.close());

  // mysql2's pool.query() releases its connection on the command's 'end', which a lost connection never emits: mysql2
  // drops the connection from the pool instead. The lease must end then, or it stays held forever.
  for (const when of ['reset while idle, before the query', 'reset in the middle of the query'] as const) {
    test(`${when}: the lease ends with the connection; the tracker agrees with mysql2 at rest`, async () => {
      mysqlProxy.pass();
      const url = new URL(mysqlTestUrl());
      url.hostname = mysqlProxy.host;
      url.port = String(mysqlProxy.port);
      const pool = mysqlPromise.createPool({ uri: url.toString(), connectionLimit: 2 });
      const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false });
      const view = trackMysql2Pool(inspector, pool, { name: 'mysql' });
      const inv = FaultInvariants.begin({
        label: `mysql2: one-shot query, ${when}`,
        isDriverError: isMysql2Error,
        pools: () => [
          {
            name: 'mysql',
            view,
            counts: () => {
              const counts = driverCounts(pool.pool as unknown as mysql.Pool);
              return { ...counts, used: counts.total - counts.idle };
            },
          },
        ],
      });
      try {
        await pool.query('SELECT 1'); // one idle connection
        let running: Promise<unknown>;
        if (when === 'reset while idle, before the query') {
          mysqlProxy.cutAll('rst');
          running = pool.query('SELECT 1');
        } else {
          running = pool.query('SELECT SLEEP(2)');
          await new Promise((resolve) => setTimeout(resolve, 100));
          mysqlProxy.cutAll('rst');
        }
        const outcome = await inv.attempt('the one-shot query', () => running);
        assert.equal(outcome.ok, false, 'the query on a reset connection fails');
        await inv.atRest(5000);
        assert.deepEqual(view.snapshot().holders, []);
        await inv.healed('a query', () => pool.query('SELECT 1'));
        await inv.atRest();
        inv.finish();
      } finally {
        inv.abandon();
        inspector.close();
        await pool.end().catch(() => undefined);
      }
    });
  }
});

describe('cluster: snapshot() when the node cannot ask', () => {
  /** A node joined through the proxy (its own inspector), left and closed after `fn`. */
  async function withNode(fn: (node: ClusterNode, reported: unknown[]) => Promise<void>): Promise<void> {
    proxy.pass();
    const reported: unknown[] = [];
    const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false, onError: (error) => reported.push(error) });
    const node = new ClusterNode(inspector, { cluster: `faults-regression-${process.pid}`, node: 'node-r', connectionString: proxy.urlThrough(db.url), pg, reconnectInitialDelayMillis: 50 });
    try {
      await node.join();
      await fn(node, reported);
    } finally {
      proxy.pass();
      await node.leave();
      inspector.close();
    }
  }

  test('its connection stalled: rejects with SEND_FAILED instead of waiting for the connection', () =>
    withNode(async (node) => {
      proxy.stall();
      // Bounded against a hang (not a timing assertion): without the fix it waits for the stall to end (never, here).
      await assert.rejects(
        bounded(node.snapshot({ timeoutMillis: 300 }), 10_000, 'snapshot() on a stalled connection'),
        (error: unknown) => error instanceof ClusterError && error.code === 'POOLSCOPE_ERR_CLUSTER_SEND_FAILED',
      );
      proxy.pass();
      const result = await node.snapshot({ timeoutMillis: 5000 });
      assert.deepEqual(result.nodes.map((entry) => entry.node), ['node-r']);
    }));

  test('its connection reset under its members() query: rejects with a coded ClusterError, the driver error as cause', () =>
    withNode(async (node, reported) => {
      // Slow enough to cut while members() is on the wire: the server-limits query goes first, then members().
      proxy.latency(150, 150);
      const base = proxy.stats();
      const asking = bounded(node.snapshot({ timeoutMillis: 5000 }), 10_000, 'snapshot() on a reset connection').then(
        () => assert.fail('a snapshot through a reset connection cannot succeed'),
        (e: unknown) => e,
      );
      await eventually(() => proxy.stats().bytesToClient > base.bytesToClient, 'the answer to the first query');
      const sent = proxy.stats().bytesToServer;
      await eventually(() => proxy.stats().bytesToServer > sent, 'members() to be on its way');
      proxy.cutAll('rst');
      const error = await asking;
      assert.ok(error instanceof ClusterError, `a ClusterError, got ${String(error)}`);
      assert.equal(error.code, 'POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST');
      assert.ok(error.cause instanceof Error, 'the driver error is kept as cause');
      proxy.pass();
      await eventually(() => node.state === 'joined' && reported.length > 0, () => `the node to rejoin (state ${node.state})`, 15_000);
    }));
});
