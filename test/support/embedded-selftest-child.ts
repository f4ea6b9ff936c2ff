/**
 * Child process for test/integration/test-database.test.ts: run with POOLSCOPE_TEST_EMBEDDED=1, it creates a
 * database on an embedded server, queries it, drops it (which stops the server), and prints one JSON line.
 */
import pg from 'pg';
import { createTestDatabase, runningEmbeddedServer, testDatabaseServerKind } from './test-database.js';

export interface EmbeddedSelfTestReport {
  kind: string;
  name: string;
  currentDatabase: string;
  one: number;
  version: string;
  serverVersionNum: number;
  port: number | undefined;
  pid: number | undefined;
  rootDir: string | undefined;
  dataDir: string | undefined;
  startMillis: number | undefined;
}

const db = await createTestDatabase('embedded_child');
let report: EmbeddedSelfTestReport;
try {
  const server = await runningEmbeddedServer();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ one: number; version: string; num: string; db: string }>(
      `SELECT 1 AS one, version() AS version, current_setting('server_version_num') AS num, current_database() AS db`,
    );
    const row = rows[0];
    if (!row) throw new Error('SELECT returned no row');
    report = {
      kind: await testDatabaseServerKind(),
      name: db.name,
      currentDatabase: row.db,
      one: row.one,
      version: row.version,
      serverVersionNum: Number(row.num),
      port: server?.port,
      pid: server?.pid,
      rootDir: server?.rootDir,
      dataDir: server?.dataDir,
      startMillis: server?.startMillis,
    };
  } finally {
    await client.end();
  }
} finally {
  await db.drop();
}
process.stdout.write(`${JSON.stringify(report)}\n`);
