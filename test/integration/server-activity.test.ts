// The database's own view (pg_stat_activity) on a real PostgreSQL: idle-in-transaction sessions, lock waits with
// their blockers, the join of leases to server sessions by backend PID, inspection of an exhausted pool, the
// connection budget, and the inspector's own session kept out of its reports.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { trackPgPool } from '../../src/index.js';
import { ActivityInspector, type ActivityClientLike, type ServerActivityReport } from '../../src/server/activity-inspector.js';
import { pidJoin } from '../../src/server/pid-join.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { eventually, isAt, siteOf, TestResources } from '../support/pg-test-kit.js';

let db: TestDatabase;
const res = new TestResources();
const inspectors: ActivityInspector[] = [];
const here = import.meta.url;

before(async () => {
  db = await createTestDatabase('activity');
  const setup = await res.client(db.url);
  await setup.query('CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)');
  await setup.query('INSERT INTO t VALUES (1, 0)');
  await res.closeAll();
});
afterEach(async () => {
  for (const inspector of inspectors.splice(0)) await inspector.close();
  await res.closeAll();
});
after(() => db?.drop());

function activityInspector(options: ConstructorParameters<typeof ActivityInspector>[0] = { connectionString: db.url }): ActivityInspector {
  const inspector = new ActivityInspector(options);
  inspectors.push(inspector);
  return inspector;
}

/** The test database's URL with an application_name, so sessions are recognisable. */
function urlWithApp(applicationName: string): string {
  const url = new URL(db.url);
  url.searchParams.set('application_name', applicationName);
  return url.toString();
}

async function pidOf(client: { query(text: string): Promise<{ rows: unknown[] }> }): Promise<number> {
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  return Number((rows[0] as { pid: unknown }).pid);
}

/** pg.Client's backend PID (set by the server's BackendKeyData; not in @types/pg). */
function backendPidOf(client: pg.Client): number {
  return (client as unknown as { processID: number }).processID;
}

function sessionOf(report: ServerActivityReport, pid: number) {
  const session = report.sessions.find((s) => s.pid === pid);
  assert.ok(session, `pid ${pid} in ${JSON.stringify(report.sessions.map((s) => s.pid))}`);
  return session;
}

describe('idle in transaction', () => {
  test('a session that ran BEGIN and a query, then sits, is reported with its pid, state, ages and last query', async () => {
    const idler = await res.client(urlWithApp('ps-idle-tx'));
    const aborted = await res.client(urlWithApp('ps-idle-tx'));
    const plain = await res.client(urlWithApp('ps-idle-tx'));
    const [idlerPid, abortedPid, plainPid] = [await pidOf(idler), await pidOf(aborted), await pidOf(plain)];
    const user = String((await plain.query('SELECT current_user AS u')).rows[0].u);
    await idler.query('BEGIN');
    await idler.query("SELECT 'idle-tx-marker' AS m");
    await aborted.query('BEGIN');
    await assert.rejects(aborted.query('SELECT 1 / 0'));

    const report = await activityInspector().activity({ database: db.name });
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(report)));

    const idle = report.idleInTransaction.find((e) => e.pid === idlerPid);
    assert.ok(idle, JSON.stringify(report.idleInTransaction));
    assert.equal(idle.state, 'idle in transaction');
    assert.equal(idle.applicationName, 'ps-idle-tx');
    assert.equal(idle.database, db.name);
    assert.equal(idle.user, user);
    assert.equal(idle.query, "SELECT 'idle-tx-marker' AS m");
    assert.ok(idle.transactionAgeMillis !== null && idle.transactionAgeMillis >= 0, `age ${idle.transactionAgeMillis}`);
    assert.ok(idle.stateAgeMillis !== null && idle.stateAgeMillis >= 0, `state age ${idle.stateAgeMillis}`);

    const failed = report.idleInTransaction.find((e) => e.pid === abortedPid);
    assert.equal(failed?.state, 'idle in transaction (aborted)');

    // Not in a transaction: a session, not an idle-in-transaction one.
    assert.ok(!report.idleInTransaction.some((e) => e.pid === plainPid));
    assert.equal(sessionOf(report, plainPid).state, 'idle');
    assert.equal(sessionOf(report, plainPid).transactionAgeMillis, null);
    assert.equal(sessionOf(report, plainPid).transactionStart, null);

    // The oldest transaction is one of the two open ones, and the oldest of all sessions.
    assert.ok(report.oldestTransaction);
    assert.ok([idlerPid, abortedPid].includes(report.oldestTransaction.pid));
    const ages = report.sessions.map((s) => s.transactionAgeMillis ?? -1);
    assert.equal(report.oldestTransaction.transactionAgeMillis, Math.max(...ages));

    const group = (state: string) =>
      report.groups.find((g) => g.applicationName === 'ps-idle-tx' && g.state === state && g.database === db.name)?.count;
    assert.equal(group('idle in transaction'), 1);
    assert.equal(group('idle in transaction (aborted)'), 1);
    assert.equal(group('idle'), 1);

    await idler.query('ROLLBACK');
    await aborted.query('ROLLBACK');
    const after = await activityInspector().activity({ database: db.name, applicationName: 'ps-idle-tx' });
    assert.deepEqual(after.idleInTransaction, []);
    assert.equal(after.oldestTransaction, null);
  });

  test('filters keep only matching sessions; the server-wide numbers ignore them', async () => {
    const mine = await res.client(urlWithApp('ps-filter-a'));
    const theirs = await res.client(urlWithApp('ps-filter-b'));
    const [minePid, theirsPid] = [await pidOf(mine), await pidOf(theirs)];
    const activity = activityInspector();
    const filtered = await activity.activity({ database: db.name, applicationName: 'ps-filter-a' });
    assert.deepEqual(filtered.filters, { applicationName: 'ps-filter-a', database: db.name, user: null });
    assert.deepEqual(filtered.sessions.map((s) => s.pid), [minePid]);
    assert.ok(!filtered.sessions.some((s) => s.pid === theirsPid));
    const none = await activity.activity({ database: db.name, user: 'no_such_user_poolscope' });
    assert.deepEqual(none.sessions, []);
    assert.deepEqual(none.groups, []);
    assert.ok(none.usedConnections >= 3, 'two clients and the inspector are connected');
    await assert.rejects(activity.activity({ database: 42 as unknown as string }), { code: 'POOLSCOPE_ERR_OPTIONS_INVALID' });
  });
});

describe('lock waits', () => {
  test('a session blocked on a row lock shows its blocker; once the blocker commits it completes', async () => {
    const a = await res.client(urlWithApp('ps-locker'));
    const b = await res.client(urlWithApp('ps-waiter'));
    const [aPid, bPid] = [await pidOf(a), await pidOf(b)];
    const activity = activityInspector();

    await a.query('BEGIN');
    await a.query('UPDATE t SET v = v + 1 WHERE id = 1');
    // B blocks on A's row lock: not awaited until A is done.
    const bDone = b.query('UPDATE t SET v = v + 10 WHERE id = 1').then(
      () => 'done',
      (error: unknown) => error,
    );
    let aOpen = true;
    try {
      let report: ServerActivityReport | undefined;
      await eventually(async () => {
        report = await activity.activity({ database: db.name });
        return report.waitingOnLocks.some((w) => w.pid === bPid);
      }, 'B waits on a lock');
      assert.ok(report);
      const wait = report.waitingOnLocks.find((w) => w.pid === bPid);
      assert.ok(wait);
      assert.ok(wait.blockedBy.includes(aPid), `blockedBy ${JSON.stringify(wait.blockedBy)}, A is ${aPid}`);
      assert.equal(wait.applicationName, 'ps-waiter');
      assert.equal(wait.state, 'active');
      assert.equal(wait.query, 'UPDATE t SET v = v + 10 WHERE id = 1');
      assert.ok(wait.waitingMillis !== null && wait.waitingMillis >= 0, `waiting ${wait.waitingMillis}`);
      assert.equal(sessionOf(report, bPid).waitEventType, 'Lock');
      // A holds the lock idle in its transaction; it waits on nothing.
      assert.ok(report.idleInTransaction.some((e) => e.pid === aPid));
      assert.ok(!report.waitingOnLocks.some((w) => w.pid === aPid));
      assert.deepEqual(sessionOf(report, aPid).blockedBy, []);

      await a.query('COMMIT');
      aOpen = false;
      assert.equal(await bDone, 'done');
      const later = await activity.activity({ database: db.name });
      assert.ok(!later.waitingOnLocks.some((w) => w.pid === bPid));
      assert.equal(Number((await a.query('SELECT v FROM t WHERE id = 1')).rows[0].v) % 11, 0);
    } finally {
      if (aOpen) await a.query('ROLLBACK').catch(() => undefined);
      await bDone;
    }
  });
});

describe('join by backend PID', () => {
  test('each lease shows the server state of its connection; idle pooled and outside sessions show as unheld', async () => {
    const app = `ps-join-${process.pid}`;
    const pool = res.pool(db.url, { max: 4, application_name: app });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const activity = activityInspector();

    const inTx = await pool.connect();
    const running = await pool.connect();
    const spare = await pool.connect();
    const [inTxPid, runningPid, sparePid] = [await pidOf(inTx), await pidOf(running), await pidOf(spare)];
    spare.release(); // idle in the pool: no lease holds it
    const outsider = await res.client(urlWithApp(app)); // same application_name, opened outside poolscope
    const other = await res.client(urlWithApp('ps-not-this-pool'));
    const [outsiderPid, otherPid] = [await pidOf(outsider), await pidOf(other)];
    const user = String((await other.query('SELECT current_user AS u')).rows[0].u);

    await inTx.query('BEGIN');
    await inTx.query('SELECT 1');
    // Runs until cancelled below (no timing assumption on how long the report takes).
    const sleeping = running.query('SELECT pg_sleep(60)').then(
      () => 'finished',
      (error: unknown) => error,
    );
    try {
      let report: ServerActivityReport | undefined;
      await eventually(async () => {
        report = await activity.activity({ database: db.name });
        const session = report.sessions.find((s) => s.pid === runningPid);
        return session?.state === 'active' && (session.query ?? '').includes('pg_sleep');
      }, 'the pg_sleep query is running');
      assert.ok(report);

      const joined = pidJoin(inspector.snapshot('main'), report);
      assert.doesNotThrow(() => JSON.parse(JSON.stringify(joined)));
      assert.equal(joined.pools.length, 1);
      const view = joined.pools[0];
      assert.ok(view);
      assert.equal(view.poolName, 'main');
      assert.deepEqual(view.scope, { applicationName: app, database: db.name, user });
      assert.equal(view.leases.length, 2);

      const byPid = (pid: number) => view.leases.find((l) => l.backendPid === pid);
      const txLease = byPid(inTxPid);
      assert.ok(txLease, JSON.stringify(view.leases.map((l) => l.backendPid)));
      assert.equal(txLease.match, 'found');
      assert.equal(txLease.server?.state, 'idle in transaction');
      assert.equal(txLease.lease.transaction.status, 'in-transaction');
      assert.ok(txLease.server?.transactionAgeMillis !== null && (txLease.server?.transactionAgeMillis ?? -1) >= 0);
      assert.deepEqual(txLease.blockedBy, []);

      const runLease = byPid(runningPid);
      assert.ok(runLease);
      assert.equal(runLease.match, 'found');
      assert.equal(runLease.server?.state, 'active');
      assert.equal(runLease.server?.query, 'SELECT pg_sleep(60)');
      assert.equal(runLease.lease.queriesInFlight, 1);

      const unheld = view.unheldSessions.map((s) => s.pid).sort((x, y) => x - y);
      assert.deepEqual(unheld, [sparePid, outsiderPid].sort((x, y) => x - y));
      assert.equal(view.unheldSessions.find((s) => s.pid === sparePid)?.state, 'idle');
      assert.ok(!unheld.includes(otherPid), 'another application is not in the pool scope');
    } finally {
      await other.query('SELECT pg_cancel_backend($1)', [runningPid]);
      await sleeping;
      await inTx.query('ROLLBACK').catch(() => undefined);
      inTx.release();
      running.release();
    }
  });

  test('a lease idle in transaction and a lease blocked by it: both reported, joined to their leases by PID', async () => {
    const app = `ps-join-lock-${process.pid}`;
    const pool = res.pool(db.url, { max: 2, application_name: app });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'locks', stackCapture: 'always' });
    const activity = activityInspector();

    const holder = await pool.connect(); // @holder-lease
    const waiter = await pool.connect(); // @waiter-lease
    const [holderPid, waiterPid] = [await pidOf(holder), await pidOf(waiter)];
    await holder.query('BEGIN');
    await holder.query('UPDATE t SET v = v + 1 WHERE id = 1');
    // Blocks on the holder's row lock until the holder rolls back below (v stays a multiple of 11).
    const blocked = waiter.query('UPDATE t SET v = v + 11 WHERE id = 1').then(
      () => 'done',
      (error: unknown) => error,
    );
    let holderOpen = true;
    try {
      let report: ServerActivityReport | undefined;
      await eventually(async () => {
        report = await activity.activity({ database: db.name, applicationName: app });
        return report.waitingOnLocks.some((w) => w.pid === waiterPid);
      }, 'the waiter lease waits on the holder lease\'s lock');
      assert.ok(report);
      // The server's view: one session idle in transaction, one waiting on its lock.
      assert.deepEqual(report.idleInTransaction.map((e) => e.pid), [holderPid]);
      assert.deepEqual(report.waitingOnLocks.map((w) => [w.pid, w.blockedBy]), [[waiterPid, [holderPid]]]);

      const joined = pidJoin(inspector.snapshot('locks'), report);
      const view = joined.pools[0];
      assert.ok(view);
      const holderView = view.leases.find((l) => l.backendPid === holderPid);
      const waiterView = view.leases.find((l) => l.backendPid === waiterPid);
      assert.ok(holderView && waiterView, JSON.stringify(view.leases.map((l) => l.backendPid)));

      // The idle-in-transaction session, joined to the lease that holds it (and its file:line).
      assert.equal(holderView.match, 'found');
      assert.equal(holderView.server?.state, 'idle in transaction');
      assert.equal(holderView.lease.transaction.status, 'in-transaction');
      assert.ok(isAt(holderView.lease.location, siteOf(here, '@holder-lease')), `holder at ${holderView.lease.location}`);
      assert.deepEqual(holderView.blockedBy, []);

      // The blocked session, joined to its lease, and its blocker resolved to the holder's lease and session.
      assert.equal(waiterView.match, 'found');
      assert.equal(waiterView.server?.state, 'active');
      assert.equal(waiterView.server?.waitEventType, 'Lock');
      assert.equal(waiterView.server?.query, 'UPDATE t SET v = v + 11 WHERE id = 1');
      assert.equal(waiterView.lease.queriesInFlight, 1);
      assert.ok(isAt(waiterView.lease.location, siteOf(here, '@waiter-lease')), `waiter at ${waiterView.lease.location}`);
      assert.equal(waiterView.blockedBy.length, 1);
      const blocker = waiterView.blockedBy[0];
      assert.equal(blocker?.pid, holderPid);
      assert.equal(blocker?.heldBy?.poolName, 'locks');
      assert.equal(blocker?.heldBy?.leaseId, holderView.leaseId);
      assert.equal(blocker?.heldBy?.location, holderView.lease.location);
      assert.equal(blocker?.session?.state, 'idle in transaction');
      assert.deepEqual(view.unheldSessions, []);

      await holder.query('ROLLBACK');
      holderOpen = false;
      assert.equal(await blocked, 'done');
    } finally {
      if (holderOpen) await holder.query('ROLLBACK').catch(() => undefined);
      await blocked;
      holder.release();
      waiter.release();
    }
  });

  test('an exhausted pool (max 1, held, a caller queued) is inspected over the inspector\'s own connection', async () => {
    const pool = res.pool(db.url, { max: 1, application_name: 'ps-exhausted' });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'tiny' });
    const activity = activityInspector();

    const held = await pool.connect();
    const heldPid = await pidOf(held);
    const queued = pool.connect();
    try {
      await eventually(() => pool.waitingCount === 1, 'a caller queued');
      const report = await activity.activity({ database: db.name });
      assert.equal(sessionOf(report, heldPid).applicationName, 'ps-exhausted');
      assert.equal(pool.waitingCount, 1, 'the inspection took nothing from the pool');
      const snapshot = inspector.snapshot('tiny');
      assert.equal(snapshot.waiters.length, 1);
      const joined = pidJoin(snapshot, report);
      assert.equal(joined.pools[0]?.leases[0]?.match, 'found');
      assert.equal(joined.pools[0]?.leases[0]?.server?.state, 'idle');
      assert.deepEqual(joined.pools[0]?.unheldSessions, []);
    } finally {
      held.release();
      (await queued).release();
    }
  });
});

describe('connection budget', () => {
  test('headroom = max_connections - reserved - used, as the server reports them', async (t) => {
    const check = await res.client(db.url);
    const checkPid = await pidOf(check);
    const show = async (name: string) => String((await check.query(`SHOW ${name}`)).rows[0][name]);
    const versionNumber = Number(await show('server_version_num'));
    const max = Number(await show('max_connections'));
    const reserved =
      Number(await show('superuser_reserved_connections')) + (versionNumber >= 160000 ? Number(await show('reserved_connections')) : 0);

    const report = await activityInspector().activity();
    t.diagnostic(`server ${report.version}: max ${report.maxConnections}, reserved ${report.reservedConnections}, used ${report.usedConnections}`);
    assert.equal(report.versionNumber, versionNumber);
    assert.match(report.version, /^\d+/);
    assert.equal(report.maxConnections, max);
    assert.equal(report.reservedConnections, reserved);
    assert.equal(report.hiddenBackends, 0, 'the test role sees every backend');
    // One statement: every client backend but the inspector's own session is listed, and counted as used.
    assert.equal(report.usedConnections, report.sessions.length + 1);
    assert.ok(report.sessions.some((s) => s.pid === checkPid));
    assert.equal(report.headroom, max - reserved - report.usedConnections);
    assert.ok(!Number.isNaN(Date.parse(report.takenAt)));
  });
});

describe('the inspector itself', () => {
  test('its own session is named poolscope-activity and kept out of the report; close() is idempotent', async () => {
    const activity = new ActivityInspector({ connectionString: db.url });
    inspectors.push(activity);
    // Concurrent first calls share one connect.
    const [report, concurrent] = await Promise.all([activity.activity({ database: db.name }), activity.activity()]);
    assert.equal(concurrent.inspectorPid, report.inspectorPid);
    const check = await res.client(db.url);
    const own = await check.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'poolscope-activity' AND datname = $1",
      [db.name],
    );
    assert.deepEqual(own.rows.map((r) => r.pid), [report.inspectorPid]);
    assert.ok(!report.sessions.some((s) => s.pid === report.inspectorPid));
    assert.ok(!report.groups.some((g) => g.applicationName === 'poolscope-activity'));

    // A second report reuses the same session.
    assert.equal((await activity.activity()).inspectorPid, report.inspectorPid);

    assert.equal(activity.closed, false);
    await Promise.all([activity.close(), activity.close()]);
    await activity.close();
    assert.equal(activity.closed, true);
    await assert.rejects(activity.activity(), { code: 'POOLSCOPE_ERR_INSPECTOR_CLOSED' });
    await eventually(async () => {
      const left = await check.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [report.inspectorPid]);
      return left.rowCount === 0;
    }, 'the inspector session ended');
  });

  test('close() before any use resolves without connecting', async () => {
    const activity = new ActivityInspector({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    await activity.close();
    await activity.close();
    await assert.rejects(activity.activity(), { code: 'POOLSCOPE_ERR_INSPECTOR_CLOSED' });
  });

  test('{ client }: a pg.Client of its own, with statement_timeout set on it, ended by close()', async () => {
    const client = new pg.Client({ connectionString: db.url, application_name: 'ps-own-client' });
    const asLike: ActivityClientLike = client; // a pg.Client fits the structural type
    const activity = activityInspector({ client: asLike, statementTimeoutMillis: 1234 });
    const report = await activity.activity({ database: db.name });
    assert.equal(report.inspectorPid, backendPidOf(client));
    assert.ok(!report.sessions.some((s) => s.applicationName === 'ps-own-client'));
    assert.equal((await client.query('SHOW statement_timeout')).rows[0].statement_timeout, '1234ms');
    assert.equal((await client.query('SHOW application_name')).rows[0].application_name, 'ps-own-client', 'left as given');
    await activity.close();
    await assert.rejects(client.query('SELECT 1'));
  });

  test('the default statement_timeout is 5 s', async () => {
    const client = new pg.Client({ connectionString: db.url });
    const activity = activityInspector({ client });
    await activity.activity({ database: db.name });
    assert.equal((await client.query('SHOW statement_timeout')).rows[0].statement_timeout, '5s');
  });

  test('a failed connect rejects saying so, with the driver error as cause; the next call tries again', async () => {
    const activity = activityInspector({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await activity.activity().then(
        () => assert.fail('connected to port 1'),
        (e: unknown) => e as Error,
      );
      assert.match(error.message, /^ActivityInspector could not connect to PostgreSQL: /);
      assert.ok(error.cause instanceof Error);
    }
  });

  test('a query failure rejects naming the read; the session survives a SQL error', async () => {
    let failNext = true;
    const queries: string[] = [];
    const real = new pg.Client({ connectionString: db.url });
    const flaky: ActivityClientLike = {
      connect: () => real.connect(),
      end: () => real.end(),
      query: async (text, values) => {
        queries.push(text);
        if (text.includes('pg_stat_activity') && failNext) {
          failNext = false;
          // What a statement_timeout looks like (SQLSTATE 57014).
          throw Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
        }
        return real.query(text, values);
      },
    };
    const activity = activityInspector({ client: flaky });
    const error = await activity.activity().then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e as Error,
    );
    assert.equal(error.message, 'ActivityInspector could not read pg_stat_activity: canceling statement due to statement timeout');
    assert.equal((error.cause as { code?: string }).code, '57014');
    const report = await activity.activity({ database: db.name });
    assert.equal(report.inspectorPid, backendPidOf(real));
    assert.equal(queries.filter((q) => q.includes('set_config')).length, 1, 'one session setup');
  });

  test('with { client }, a dropped connection makes later calls reject clearly (it cannot reconnect)', async () => {
    const client = new pg.Client({ connectionString: db.url });
    const activity = activityInspector({ client });
    const { inspectorPid } = await activity.activity({ database: db.name });
    const admin = await res.client(db.url);
    await admin.query('SELECT pg_terminate_backend($1)', [inspectorPid]);
    // The next read fails (terminated), and so does every later one, with the reason.
    await assert.rejects(activity.activity(), /ActivityInspector/);
    await assert.rejects(activity.activity(), /cannot reopen it/);
  });

  test('with { connectionString }, a dropped connection is replaced on the next call', async () => {
    const activity = activityInspector();
    const first = await activity.activity({ database: db.name });
    const admin = await res.client(db.url);
    await admin.query('SELECT pg_terminate_backend($1)', [first.inspectorPid]);
    await eventually(async () => {
      try {
        const next = await activity.activity({ database: db.name });
        return next.inspectorPid !== first.inspectorPid;
      } catch {
        return false; // the call that finds the connection dead
      }
    }, 'a new session');
  });

  test('bad options throw OptionsError', () => {
    assert.throws(() => new ActivityInspector({}), { code: 'POOLSCOPE_ERR_OPTIONS_INVALID' });
    assert.throws(() => new ActivityInspector({ connectionString: db.url, client: new pg.Client() }), {
      code: 'POOLSCOPE_ERR_OPTIONS_INVALID',
    });
    assert.throws(() => new ActivityInspector({ connectionString: '' }), { code: 'POOLSCOPE_ERR_OPTIONS_INVALID' });
    assert.throws(() => new ActivityInspector({ connectionString: db.url, statementTimeoutMillis: 0 }), {
      code: 'POOLSCOPE_ERR_OPTIONS_INVALID',
    });
    assert.throws(() => new ActivityInspector({ client: new pg.Client(), applicationName: 'x' }), {
      code: 'POOLSCOPE_ERR_OPTIONS_INVALID',
    });
    assert.throws(() => new ActivityInspector({ client: {} as ActivityClientLike }), { code: 'POOLSCOPE_ERR_OPTIONS_INVALID' });
  });
});
