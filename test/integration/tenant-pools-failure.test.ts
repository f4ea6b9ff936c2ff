/**
 * TenantPools failures on a real PostgreSQL: a tenant database dropped from outside, terminated sessions, an
 * unreachable server, invalid tenant ids, concurrent failures and cleanup of a partly failed state. Nothing may
 * crash the process (node:test fails the file on an uncaught exception or unhandled rejection).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { TestDatabase } from '../support/test-database.js';
import { isTenantError, TenantTestKit } from '../support/tenant-test-kit.js';
import { eventually } from '../support/pg-test-kit.js';
import { eventOnce, listenTo } from '../support/wait-for.js';
import { closedPort } from '../support/loopback-server.js';
import { TenantPoolError } from '../../src/errors.js';
import type { TenantPoolEvent } from '../../src/tenants/tenant-pool-events.js';

// ---- harness (each tenant-pools file has its own prefix, so the files can run in parallel) ----------------------

const kit = new TenantTestKit('tenant_failure', 'fl', { perTenantMax: 2, connectionBudget: 20, maxTenantPools: 10, connectionTimeoutMillis: 10_000 });
const PREFIX = kit.prefix;
let db: TestDatabase;
let admin: pg.Client;
const tenantPools = kit.tenantPools.bind(kit);
const tenantSessions = kit.tenantSessions.bind(kit);
const tenantError = isTenantError;





before(async () => {
  await kit.setup();
  db = kit.db;
  admin = kit.admin;
});

after(async () => {
  await kit.teardown();
});

// ---- tests ----------------------------------------------------------------------------------------------------

function pgCodeOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

async function terminateSessions(database: string): Promise<number> {
  const result = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
    database,
  ]);
  return result.rowCount ?? 0;
}

describe('TenantPools failures', () => {
  test('a tenant database dropped from outside: a clear error, then a fresh pool after ensureDatabase', async () => {
    const tenants = tenantPools();
    const events: TenantPoolEvent[] = [];
    tenants.on('tenant-broken', (event) => events.push(event));
    await tenants.ensureDatabase('gone');
    const original = await tenants.get('gone');
    await tenants.query('gone', 'SELECT 1');
    await admin.query(`DROP DATABASE "${PREFIX}gone" WITH (FORCE)`);

    // The first call may still meet the terminated connection (pg's error passes through) or already see the
    // pool as broken; either way it fails, and the next one says clearly that the database does not exist.
    await assert.rejects(tenants.query('gone', 'SELECT 1'));
    await assert.rejects(
      tenants.query('gone', 'SELECT 1'),
      tenantError('POOLSCOPE_ERR_TENANT_CONNECT_FAILED', (error) => {
        assert.equal(pgCodeOf(error.cause), '3D000');
        assert.match(error.message, /does not exist/);
        assert.match(error.message, /ensureDatabase\(\)/);
        assert.equal(error.tenantId, 'gone');
      }),
    );
    assert.equal(original.ended, true, 'the broken pool was closed');
    assert.ok(events.length >= 1);
    assert.ok(tenants.stats().counters.broken >= 1);
    assert.equal(tenants.stats().budgetUsed, 0);

    const recreated = await tenants.ensureDatabase('gone');
    assert.equal(recreated.changed, true);
    const fresh = await tenants.get('gone');
    assert.notEqual(fresh, original);
    assert.equal((await tenants.query<{ n: number }>('gone', 'SELECT 7 AS n')).rows[0]?.n, 7);
    await tenants.close();
  });

  test('pg_terminate_backend of idle sessions: no crash, the next query works on the same pool', async () => {
    const tenants = tenantPools({ perTenantMax: 2 });
    await tenants.ensureDatabase('term');
    const pool = await tenants.get('term');
    await Promise.all([tenants.query('term', 'SELECT pg_sleep(0.01)'), tenants.query('term', 'SELECT pg_sleep(0.01)')]);
    assert.ok((await terminateSessions(`${PREFIX}term`)) >= 1);
    await eventually(() => pool.totalCount === 0, 'pg removed the terminated idle clients');
    assert.equal(tenants.stats().tenants.find((tenant) => tenant.tenantId === 'term')?.suspect, true);
    assert.equal((await tenants.query<{ n: number }>('term', 'SELECT 8 AS n')).rows[0]?.n, 8);
    assert.equal(await tenants.get('term'), pool, 'a verified pool is kept');
    assert.equal(tenants.stats().tenants.find((tenant) => tenant.tenantId === 'term')?.suspect, false);
    assert.equal(tenants.stats().counters.broken, 0);
    await tenants.close();
  });

  test('pg_terminate_backend of a session in use: the caller gets the pg error, the next query works', async () => {
    const tenants = tenantPools({ perTenantMax: 2 });
    await tenants.ensureDatabase('term_busy');
    let pid = 0;
    let releaseGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      releaseGate = resolve;
    });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let ended!: Promise<void>;
    const work = tenants.withClient('term_busy', async (client) => {
      ended = eventOnce(listenTo(client, 'end'), 'the terminated client to end').then(() => undefined);
      pid = ((await client.query('SELECT pg_backend_pid() AS pid')) as pg.QueryResult<{ pid: number }>).rows[0]?.pid ?? 0;
      started();
      await gate;
      return client.query('SELECT 1');
    });
    try {
      await running;
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await ended; // the termination has reached the client: its connection ended
    } finally {
      releaseGate();
    }
    await assert.rejects(work, (error: unknown) => {
      assert.ok(!(error instanceof TenantPoolError), 'pg errors from queries pass through unchanged');
      assert.match(String((error as Error).message), /terminat|Connection/i);
      return true;
    });
    assert.equal((await tenants.query<{ n: number }>('term_busy', 'SELECT 9 AS n')).rows[0]?.n, 9);
    assert.equal(tenants.stats().usedConnections, 0);
    await tenants.close();
  });

  test('an unreachable server: CONNECT_FAILED with the pg error as cause, no crash, nothing left open', async () => {
    const port = await closedPort();
    const tenants = tenantPools({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 2000 });
    await assert.rejects(
      tenants.get('nowhere'),
      tenantError('POOLSCOPE_ERR_TENANT_CONNECT_FAILED', (error) => {
        assert.equal(pgCodeOf(error.cause), 'ECONNREFUSED');
        assert.match(error.message, /ECONNREFUSED/);
        assert.match(error.message, /server is reachable/);
      }),
    );
    await assert.rejects(
      tenants.ensureDatabase('nowhere'),
      tenantError('POOLSCOPE_ERR_TENANT_DATABASE_FAILED', (error) => assert.equal(pgCodeOf(error.cause), 'ECONNREFUSED')),
    );
    await assert.rejects(tenants.query('nowhere', 'SELECT 1'), tenantError('POOLSCOPE_ERR_TENANT_CONNECT_FAILED'));
    const stats = tenants.stats();
    assert.equal(stats.openPools + stats.openingPools + stats.closingPools, 0);
    assert.equal(stats.budgetUsed, 0);
    assert.equal(stats.counters.connectFailures, 2);
    assert.deepEqual(tenants.inspector.poolNames(), ['system']);
    await tenants.close();
  });

  test('a tenant whose database does not exist: concurrent callers share one failed attempt', async () => {
    const tenants = tenantPools();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => tenants.get('never_created')));
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      tenantError('POOLSCOPE_ERR_TENANT_CONNECT_FAILED', (error) => assert.equal(pgCodeOf(error.cause), '3D000'))(
        (result as PromiseRejectedResult).reason,
      );
    }
    assert.equal(tenants.stats().counters.connectFailures, 1);
    assert.equal(tenants.stats().budgetUsed, 0);
    await tenants.close();
  });

  test('invalid tenant ids are refused before anything reaches the server, each with a clear message', async () => {
    const tenants = tenantPools();
    const room = 63 - PREFIX.length;
    const cases: [string, unknown, RegExp][] = [
      ['empty', '', /empty/],
      ['too long', 'x'.repeat(room + 1), new RegExp(`at most ${room} characters`)],
      ['uppercase', 'Acme', /lowercase: try "acme"/],
      ['dash', 'acme-corp', /"-"/],
      ['quote and semicolon', 'x"; DROP DATABASE postgres; --', /outside a-z 0-9 _/],
      ['not a string', 12, /must be a string/],
    ];
    for (const [label, id, message] of cases) {
      for (const call of [
        () => tenants.get(id as string),
        () => tenants.ensureDatabase(id as string),
        () => tenants.dropDatabase(id as string),
        () => tenants.closeTenant(id as string),
        () => tenants.query(id as string, 'SELECT 1'),
      ]) {
        await assert.rejects(call(), (error: unknown) => {
          tenantError('POOLSCOPE_ERR_TENANT_INVALID_ID')(error);
          assert.match((error as Error).message, message, label);
          return true;
        });
      }
    }
    assert.equal(tenants.stats().system.total, 0, 'no statement was sent for an invalid id');
    const longest = 'x'.repeat(room);
    await tenants.ensureDatabase(longest);
    assert.equal((await tenants.query<{ db: string }>(longest, 'SELECT current_database() AS db')).rows[0]?.db, `${PREFIX}${longest}`);
    await tenants.dropDatabase(longest);
    await tenants.close();
  });

  test('close() cleans up a partly failed state; double cleanup is safe', async () => {
    const tenants = tenantPools();
    await tenants.ensureDatabase('part_ok');
    await tenants.ensureDatabase('part_gone');
    await tenants.query('part_ok', 'SELECT 1');
    await tenants.query('part_gone', 'SELECT 1');
    await admin.query(`DROP DATABASE "${PREFIX}part_gone" WITH (FORCE)`);
    await assert.rejects(tenants.get('part_missing'), tenantError('POOLSCOPE_ERR_TENANT_CONNECT_FAILED'));
    await Promise.all([tenants.close(), tenants.close(), tenants.closeTenant('part_ok')]);
    await tenants.close();
    await tenants.closeTenant('part_ok');
    await assert.rejects(tenants.dropDatabase('part_ok'), tenantError('POOLSCOPE_ERR_TENANT_POOLS_CLOSED'));
    await eventually(async () => (await tenantSessions()) === 0, 'no tenant sessions after close()');
    assert.equal(tenants.stats().budgetUsed, 0);
  });

  test('the system pool recovers after its connections are terminated', async () => {
    const tenants = tenantPools();
    await tenants.ensureDatabase('sys_a');
    const system = tenants.system;
    await system.query('SELECT 1');
    await terminateSessions(db.name);
    await eventually(() => system.totalCount === 0, 'pg removed the terminated system clients');
    const result = await tenants.ensureDatabase('sys_b');
    assert.equal(result.changed, true);
    await tenants.dropDatabase('sys_a');
    await tenants.dropDatabase('sys_b');
    await tenants.close();
  });
});
