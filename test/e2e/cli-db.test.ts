// `poolscope db` on a real PostgreSQL: a pg.Pool with a known application_name holds a connection idle in a
// transaction, and the command (run in-process through runCli with captured streams) must name it, with its age.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ServerActivityReport } from '../../src/server/index.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TestResources, eventually } from '../support/pg-test-kit.js';
import { runCliCaptured, type CliRun } from '../support/cli-capture.js';
import { closedPort } from '../support/loopback-server.js';

let db: TestDatabase;
const res = new TestResources();
const held: pg.PoolClient[] = [];

before(async () => {
  db = await createTestDatabase('cli_db');
});
afterEach(async () => {
  for (const client of held.splice(0)) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
  await res.closeAll();
});
after(() => db?.drop());


function run(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return runCliCaptured(args, { env });
}

/** A pool whose sessions carry a unique application_name, with one connection left idle inside a transaction. */
async function holdIdleInTransaction(): Promise<{ appName: string; pid: number }> {
  const appName = `poolscope-cli-db-${randomBytes(3).toString('hex')}`;
  const pool = res.pool(db.url, { max: 2, application_name: appName });
  pool.on('error', () => undefined);
  const client = await pool.connect();
  held.push(client);
  await client.query('BEGIN');
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]?.pid ?? -1;
  // The server flips the state to 'idle in transaction' once the statement is done; wait until it shows.
  const watcher = await res.client(db.url);
  await eventually(async () => {
    const state = await watcher.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [pid]);
    return state.rows[0]?.state === 'idle in transaction';
  }, 'the held session to be idle in transaction');
  return { appName, pid };
}

describe('poolscope db', () => {
  test('--format json is the ServerActivityReport and names the application idle in a transaction, with its age', async () => {
    const { appName, pid } = await holdIdleInTransaction();
    const { code, stdout, stderr } = await run(['db', '--database-url', db.url, '--format', 'json']);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as ServerActivityReport;
    assert.equal(typeof report.maxConnections, 'number');
    assert.equal(report.headroom, report.maxConnections - report.reservedConnections - report.usedConnections);
    const group = report.groups.find((candidate) => candidate.applicationName === appName && candidate.state === 'idle in transaction');
    assert.equal(group?.count, 1, JSON.stringify(report.groups));
    const idle = report.idleInTransaction.find((session) => session.pid === pid);
    assert.ok(idle, 'the held session is listed as idle in transaction');
    assert.equal(idle.applicationName, appName);
    assert.equal(idle.state, 'idle in transaction');
    assert.equal(typeof idle.transactionAgeMillis, 'number');
    assert.ok((idle.transactionAgeMillis ?? -1) >= 0);
    assert.equal(report.filters.applicationName, null);
  });

  test('--application-name keeps only that application', async () => {
    const { appName, pid } = await holdIdleInTransaction();
    const { code, stdout, stderr } = await run(['db', '--database-url', db.url, '--application-name', appName, '--format=json']);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as ServerActivityReport;
    assert.equal(report.filters.applicationName, appName);
    assert.deepEqual(
      report.sessions.map((session) => session.pid),
      [pid],
    );
    assert.ok(report.groups.every((group) => group.applicationName === appName));
  });

  test('--database keeps only the sessions of that database', async () => {
    const { pid } = await holdIdleInTransaction();
    const { code, stdout, stderr } = await run(['db', '--database-url', db.adminUrl, '--database', db.name, '--format', 'json']);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as ServerActivityReport;
    assert.equal(report.filters.database, db.name);
    assert.ok(report.sessions.some((session) => session.pid === pid));
    assert.ok(report.sessions.every((session) => session.database === db.name));
  });

  test('text output groups by application and state and lists the idle transaction with its pid and age', async () => {
    const { appName, pid } = await holdIdleInTransaction();
    const { code, stdout, stderr } = await run(['db', '--database-url', db.url]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^PostgreSQL \d+/);
    assert.match(stdout, /Connections: \d+ in use of \d+ usable \(max_connections \d+ - \d+ reserved\); headroom -?\d+/);
    const groupLine = stdout.split('\n').find((line) => line.includes(appName) && line.includes('idle in transaction'));
    assert.ok(groupLine, `a group line for ${appName}:\n${stdout}`);
    assert.match(groupLine, /idle in transaction\s+1\s/);
    const section = stdout.slice(stdout.indexOf('Idle in transaction'), stdout.indexOf('Waiting on locks'));
    assert.match(section, new RegExp(`pid ${pid}  app ${appName}  idle in transaction for \\d+(\\.\\d)? m?s, transaction open \\d+(\\.\\d)? m?s`));
    assert.match(section, /last query: SELECT pg_backend_pid\(\) AS pid/);
    assert.match(stdout, /Oldest open transaction:\n {2}pid \d+/);
    assert.ok(!stdout.includes('\u001b['), 'no colour codes when stdout is not a terminal');
  });

  test('reads env DATABASE_URL when --database-url is not given', async () => {
    const { appName } = await holdIdleInTransaction();
    const { code, stdout, stderr } = await run(['db', '--application-name', appName, '--format', 'json'], { DATABASE_URL: db.url });
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as ServerActivityReport;
    assert.equal(report.sessions.length, 1);
  });

  test('an unreachable server exits 3 with a message naming the server (password masked)', async () => {
    const port = await closedPort();
    const { code, stdout, stderr } = await run(['db', '--database-url', `postgres://someone:secret@127.0.0.1:${port}/postgres`]);
    assert.equal(code, 3);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`cannot read pg_stat_activity at postgres://someone:\\*\\*\\*@127\\.0\\.0\\.1:${port}/postgres`));
    assert.match(stderr, /could not connect to PostgreSQL/);
    assert.doesNotMatch(stderr, /secret/);
  });

  test('bad usage exits 2', async () => {
    for (const args of [
      ['db', '--format', 'xml'],
      ['db', '--nope'],
      ['db', 'extra'],
      ['db', '--database-url', 'http://127.0.0.1/x'],
      ['db', '--database-url'],
    ]) {
      const { code, stderr } = await run(args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, /^poolscope db: .+\nRun `poolscope db --help` for usage\.\n$/);
    }
  });

  test('--help lists every flag', async () => {
    const { code, stdout } = await run(['db', '--help']);
    assert.equal(code, 0);
    for (const flag of ['--database-url URL', '--application-name NAME', '--database NAME', '--format text|json']) assert.ok(stdout.includes(flag), flag);
  });
});
