import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase, testDatabaseServerKind, testDatabaseName, type TestDatabase } from '../support/test-database.js';
import type { EmbeddedSelfTestReport } from '../support/embedded-selftest-child.js';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('selftest');
});
after(async () => {
  await db?.drop();
});

async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

test('the test database is a fresh database of its own', async () => {
  assert.match(db.name, /^poolscope_test_selftest_\d+_[0-9a-f]{8}$/);
  assert.notEqual(db.url, db.adminUrl);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
    assert.equal(rows[0]?.name, db.name);
  } finally {
    await client.end();
  }
  assert.ok(['env', 'local', 'embedded'].includes(await testDatabaseServerKind()));
});

test('a second database gets another name, and drop() removes it even with open sessions', async () => {
  const second = await createTestDatabase('selftest');
  try {
    assert.notEqual(second.name, db.name);
    assert.equal(await databaseExists(second.adminUrl, second.name), true);
    // A session left open by a test must not block the drop.
    const straggler = new pg.Client({ connectionString: second.url });
    straggler.on('error', () => undefined);
    await straggler.connect();
    await second.drop();
    await straggler.end().catch(() => undefined);
    assert.equal(await databaseExists(db.adminUrl, second.name), false);
    await second.drop(); // idempotent
  } finally {
    await second.drop();
  }
});

test('database names are sanitised and fit in 63 characters', () => {
  const name = testDatabaseName('Leak Detector / ÄÖ ' + 'x'.repeat(100));
  assert.ok(name.length <= 63, name);
  assert.match(name, /^poolscope_test_leak_detector_x+_\d+_[0-9a-f]{8}$/);
  assert.match(testDatabaseName('!!!'), /^poolscope_test_db_\d+_[0-9a-f]{8}$/);
});

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

test('the embedded fallback starts a real server and leaves nothing behind', { timeout: 180_000 }, async (t) => {
  const script = fileURLToPath(new URL('../support/embedded-selftest-child.ts', import.meta.url));
  const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, POOLSCOPE_TEST_EMBEDDED: '1' };
  delete env.DATABASE_URL;
  delete env.NODE_TEST_CONTEXT;

  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
  assert.equal(result.code, 0, `child failed (signal ${result.signal}):\n${result.stderr}\n${result.stdout}`);

  const lastLine = result.stdout.trim().split('\n').at(-1) ?? '';
  const report = JSON.parse(lastLine) as EmbeddedSelfTestReport;
  assert.equal(report.kind, 'embedded');
  assert.equal(report.one, 1);
  assert.equal(report.currentDatabase, report.name);
  assert.match(report.version, /^PostgreSQL \d+/);
  assert.ok(report.port !== undefined && report.port !== 5432, `port ${String(report.port)}`);
  assert.ok(report.pid !== undefined, 'postmaster pid was read');
  assert.ok(report.rootDir !== undefined && report.dataDir !== undefined);
  t.diagnostic(`embedded ${report.version.split(' on ')[0] ?? ''}, started in ${Math.round(report.startMillis ?? 0)} ms`);

  // Nothing left behind: folder removed, port closed, postmaster gone.
  assert.equal(fs.existsSync(report.rootDir), false, `${report.rootDir} still exists`);
  assert.equal(await portRefuses(report.port), true, `port ${report.port} still accepts connections`);
  assert.equal(pidGone(report.pid), true, `postmaster ${report.pid} still runs`);
});
