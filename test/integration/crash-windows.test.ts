// Crash windows: a server session that ends (FATAL 57P01 from pg_terminate_backend) while poolscope lends its
// client out must never kill the process. Each scenario runs in a child process (test/support/crash-window-child.ts),
// because without the fix the unhandled 'error' emit kills the process that runs it; the test asserts the child's
// exit code and stderr, then what the caller saw (the JSON line the child prints).
//
// No timing luck: in the hand-over scenarios the child blocks its own event loop (spawnSync) from the moment its
// startup message (or a marked query) is written until the server has answered and the session is gone, so pg reads
// [... ReadyForQuery, FATAL] in one chunk and parses the hand-over and the FATAL in one synchronous pass. In the
// timer scenarios `fn` waits (no query) for the client's 'end' event after the termination.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { dropDatabase } from '../../src/postgres/database-drop.js';
import type { CrashWindowReport, CrashWindowScenario } from '../support/crash-window-child.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
/** Tenant databases of this file (the tenant scenarios create `<prefix>t1` and drop it; a crashed child cannot). */
const tenantPrefix = `pscw_${randomBytes(3).toString('hex')}_`;

before(async () => {
  db = await createTestDatabase('crash_windows');
});
after(async () => {
  if (db === undefined) return;
  const admin = new pg.Client({ connectionString: db.adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1', [
      tenantPrefix,
    ]);
    for (const { datname } of rows) await dropDatabase(admin, datname);
  } finally {
    await admin.end();
  }
  await db.drop();
});

const CHILD_BOUND_MILLIS = 120_000;

interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runChild(scenario: CrashWindowScenario): Promise<ChildResult> {
  const script = fileURLToPath(new URL('../support/crash-window-child.ts', import.meta.url));
  const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, scenario, db.url, db.adminUrl, tenantPrefix], { cwd: projectRoot, env });
    let stdout = '';
    let stderr = '';
    // A bound, not a timing assertion: a hung child fails the test instead of hanging the file.
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_BOUND_MILLIS);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs the scenario and asserts the child lived (no unhandled 'error' event) and reported. */
async function survived(scenario: CrashWindowScenario): Promise<CrashWindowReport> {
  const result = await runChild(scenario);
  assert.doesNotMatch(result.stderr, /Unhandled 'error' event/, `the child crashed:\n${result.stderr}`);
  assert.equal(result.code, 0, `child exited ${String(result.code)} (signal ${String(result.signal)}):\n${result.stderr}\n${result.stdout}`);
  const report = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as CrashWindowReport;
  assert.equal(report.scenario, scenario);
  assert.ok(typeof report.terminatedPid === 'number' && report.terminatedPid > 0, 'a session was terminated');
  return report;
}

const FATAL_57P01 = { status: 'rejected', message: 'terminating connection due to administrator command', code: '57P01' };
const NEXT_WORKS = { status: 'fulfilled', value: [{ n: 2 }] };

describe('TenantPools: the client listens for errors from the hand-over on', () => {
  test('withClient on a new connection terminated in the same read as its ReadyForQuery: rejects, the pool recovers', { timeout: CHILD_BOUND_MILLIS + 10_000 }, async () => {
    const report = await survived('tenants-with-client-new-connection');
    // fn ran on the dead client: its query failed, and that is what withClient rejects with.
    assert.deepEqual(report.outcome, { status: 'rejected', message: 'Client has encountered a connection error and is not queryable' });
    assert.deepEqual(report.facts.afterFailure, { total: 0, suspect: true }, 'the connection is destroyed, the pool suspect');
    assert.deepEqual(report.next, NEXT_WORKS);
    assert.deepEqual(report.facts.afterNext, { total: 1, suspect: false });
  });

  test('withClient queued behind a query, handed the connection by its callback, FATAL in the same read', { timeout: CHILD_BOUND_MILLIS + 10_000 }, async () => {
    const report = await survived('tenants-with-client-queued-handover');
    assert.deepEqual(report.others, [{ status: 'fulfilled', value: [{ crash_window_marker: 1 }] }], 'the query got its answer');
    // As before: fn's value is returned; the broken connection is destroyed and the pool checked on next use.
    assert.deepEqual(report.outcome, { status: 'fulfilled', value: 'value' });
    assert.deepEqual(report.facts.afterFailure, { total: 0, suspect: true });
    assert.deepEqual(report.next, NEXT_WORKS);
    assert.deepEqual(report.facts.afterNext, { total: 1, suspect: false });
  });

  test('verifyOnOpen: the first connection terminated at hand-over fails get() with CONNECT_FAILED; the next get() opens a fresh pool', { timeout: CHILD_BOUND_MILLIS + 10_000 }, async () => {
    const report = await survived('tenants-verify-on-open');
    assert.equal(report.outcome.status, 'rejected');
    assert.equal(report.outcome.code, 'POOLSCOPE_ERR_TENANT_CONNECT_FAILED');
    assert.equal(report.outcome.causeCode, '57P01');
    assert.deepEqual(report.next, NEXT_WORKS);
    assert.deepEqual(report.facts.afterNext, { total: 1, suspect: false });
  });
});

describe('withClient / withTransaction: crash-safe while the client is lent out', () => {
  for (const scenario of ['with-client-new-connection', 'with-client-new-connection-untracked'] as const) {
    test(`${scenario}: terminated in the same read as the hand-over: rejects with the FATAL, connection destroyed`, { timeout: CHILD_BOUND_MILLIS + 10_000 }, async () => {
      const report = await survived(scenario);
      assert.deepEqual(report.outcome, FATAL_57P01);
      assert.equal(report.facts.totalAfterFailure, 0, 'released with the error: pg-pool destroyed it');
      assert.deepEqual(report.next, NEXT_WORKS);
      if (!scenario.endsWith('-untracked')) assert.equal(report.facts.used, 0, 'no lease left out');
    });
  }

  test('withTransaction, terminated in the same read as the hand-over: rejects with the FATAL (not BEGIN\'s "not queryable")', { timeout: CHILD_BOUND_MILLIS + 10_000 }, async () => {
    const report = await survived('with-transaction-new-connection');
    assert.deepEqual(report.outcome, FATAL_57P01);
    assert.equal(report.facts.totalAfterFailure, 0);
    assert.deepEqual(report.next, NEXT_WORKS);
  });

  for (const scenario of ['with-client-timer', 'with-client-timer-untracked'] as const) {
    test(`${scenario}: terminated while fn awaits (no query): rejects with 57P01, the pool opens a new connection`, { timeout: CHILD_BOUND_MILLIS + 10_000 }, async () => {
      const report = await survived(scenario);
      assert.deepEqual(report.outcome, FATAL_57P01);
      assert.equal(report.facts.totalAfterFailure, 0);
      assert.deepEqual(report.next, NEXT_WORKS);
      assert.equal(report.facts.samePid, false, 'a new server session');
      if (!scenario.endsWith('-untracked')) assert.equal(report.facts.used, 0);
    });
  }

  test("fn rejects on its own after the session ended: withClient keeps fn's error, the connection is still destroyed", { timeout: CHILD_BOUND_MILLIS + 10_000 }, async () => {
    const report = await survived('with-client-timer-fn-rejects');
    assert.deepEqual(report.outcome, { status: 'rejected', message: 'fn failed on its own' });
    assert.equal(report.facts.totalAfterFailure, 0);
    assert.deepEqual(report.next, NEXT_WORKS);
  });

  test("fn's own query ends the session (FATAL as the query's error): withClient rejects with it and destroys the connection", { timeout: CHILD_BOUND_MILLIS + 10_000 }, async () => {
    const report = await survived('with-client-fatal-query');
    assert.deepEqual(report.outcome, FATAL_57P01);
    assert.equal(report.facts.totalAfterFailure, 0, 'not returned idle, where the later socket error would reach the pool');
    assert.deepEqual(report.next, NEXT_WORKS);
  });

  test('withTransaction terminated while fn awaits: rejects with 57P01, nothing committed, the next transaction commits', { timeout: CHILD_BOUND_MILLIS + 10_000 }, async () => {
    const report = await survived('with-transaction-timer');
    assert.deepEqual(report.outcome, FATAL_57P01);
    assert.equal(report.facts.totalAfterFailure, 0);
    assert.deepEqual(report.next, { status: 'fulfilled', value: 'committed' });
    assert.deepEqual(report.facts.committed, ['kept'], "the killed transaction's row is not there");
    assert.equal(report.facts.used, 0);
  });
});
