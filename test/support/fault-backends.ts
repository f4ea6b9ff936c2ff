/**
 * The real servers behind the fault scenarios (test/support/fault-scenarios.ts), each owned by one test file so that
 * it may be restarted while load runs:
 * - PostgreSQL: an embedded server of the file's own (test/support/embedded-server.ts) on a free port, restarted
 *   `fast` (SIGINT: sessions terminated with FATAL 57P01) or `immediate` (SIGQUIT: everything quits, WAL recovery).
 *   Never the shared server on 5432.
 * - MariaDB: a private mariadbd of the file's own in a temporary data directory (as test/support/mysql-test-kit.ts
 *   starts one), restarted `fast` (SIGTERM: a clean shutdown) or `immediate` (SIGKILL: a crash). Where no MariaDB
 *   binaries exist, the shared server on 127.0.0.1:3306 is used through the proxy only (no restarts; the restart
 *   scenarios skip, saying so), and where that is not reachable either, the scenarios skip with the reason.
 *
 * Each backend lists the sessions of the pools under test, terminates one from outside (as an operator or the server
 * would: `pg_terminate_backend` / `KILL CONNECTION`), and can do that from a worker thread while this thread's event
 * loop is blocked (`killWhileBlocked`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import mysqlPromise from 'mysql2/promise';
import { closedPort } from './loopback-server.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
import { mysqlSkipReason, mysqlTestUrl } from './mysql-test-kit.js';

export const BACKEND_KINDS = ['postgres', 'mysql'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];
export const RESTART_MODES = ['fast', 'immediate'] as const;
export type RestartMode = (typeof RESTART_MODES)[number];

/** A server session of the pools under test. */
export interface BackendSession {
  readonly id: number;
  /** `idle` (waiting for its client), `active` (running a statement), `other`. */
  readonly state: 'idle' | 'active' | 'other';
  readonly query: string;
}

export interface FaultBackend {
  readonly kind: BackendKind;
  /** The real server's port (the proxy forwards there). */
  readonly port: number;
  /** The URL of the database under test on the real server (the kits swap host and port for the proxy's). */
  readonly url: string;
  /** Why the backend cannot restart here (the restart scenarios skip with it), or undefined. */
  readonly restartUnavailable: string | undefined;
  /** Restarts the server (same port, data kept); resolves once it accepts connections again. */
  restart(mode: RestartMode): Promise<void>;
  /** Sessions of the database(s) under test, the backend's own admin session excluded. */
  sessions(): Promise<BackendSession[]>;
  /** Ends one session from outside; resolves once the server has ended it. */
  terminate(id: number): Promise<void>;
  /** A statement that runs for `seconds`. */
  sleepSql(seconds: number): string;
  /**
   * Blocks this thread's event loop for at least `blockMillis` while a worker thread ends session `id` (and waits
   * until the server has ended it). Throws if the worker could not.
   */
  killWhileBlocked(id: number, blockMillis: number): void;
  close(): Promise<void>;
}

// ---- the kill worker: ends a session while this thread is blocked --------------------------------------------------

/** Plain CommonJS run in a worker (eval): pg or mysql2, a fresh admin connection per kill (it survives restarts). */
const KILL_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { kind, url } = workerData;
async function killPostgres(id) {
  const pg = require('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query('SELECT pg_terminate_backend($1, 10000) AS done', [id]);
    if (rows[0].done !== true) throw new Error('backend ' + id + ' did not end');
  } finally {
    await client.end().catch(() => undefined);
  }
}
async function killMysql(id) {
  const mysql = require('mysql2/promise');
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
  connection.on('error', () => undefined);
  try {
    await connection.query('KILL CONNECTION ' + Number(id));
    const deadline = Date.now() + 10000;
    for (;;) {
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [id]);
      if (Number(rows[0].n) === 0) break;
      if (Date.now() > deadline) throw new Error('connection ' + id + ' did not end');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    await connection.end().catch(() => undefined);
  }
}
parentPort.on('message', ({ id, signal }) => {
  (kind === 'postgres' ? killPostgres(id) : killMysql(id)).then(
    () => { Atomics.store(signal, 0, 1); Atomics.notify(signal, 0); },
    (error) => { console.error('kill worker: ' + (error && error.message)); Atomics.store(signal, 0, 2); Atomics.notify(signal, 0); },
  );
});
parentPort.postMessage('ready');
`;

/** Bound on the worker's kill (a guard: the worker reports failure long before). */
const KILL_BOUND_MILLIS = 20_000;

class KillWorker {
  readonly #worker: Worker;
  readonly #ready: Promise<void>;

  constructor(kind: BackendKind, url: string) {
    this.#worker = new Worker(KILL_WORKER_SOURCE, { eval: true, workerData: { kind, url } });
    this.#worker.unref();
    this.#ready = new Promise((resolve, reject) => {
      this.#worker.once('message', () => resolve());
      this.#worker.once('error', reject);
    });
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  /** Blocks this thread (Atomics.wait) until the worker has ended the session, and for at least `blockMillis`. */
  killWhileBlocked(id: number, blockMillis: number): void {
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const started = performance.now();
    this.#worker.postMessage({ id, signal });
    Atomics.wait(signal, 0, 0, KILL_BOUND_MILLIS);
    const rest = blockMillis - (performance.now() - started);
    if (rest > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, rest);
    if (Atomics.load(signal, 0) !== 1) throw new Error(`the kill worker could not end session ${id} (see its stderr)`);
  }

  close(): Promise<number> {
    return this.#worker.terminate();
  }
}

// ---- PostgreSQL -------------------------------------------------------------------------------------------------

/** Databases under test start with this (the main one and tenant databases alike). */
export const PG_DATABASE_PREFIX = 'faults_';

/**
 * Starts an embedded PostgreSQL of this file's own and creates `faults_main` in it. The admin connection is opened
 * per call (a restart ends every session).
 */
export async function startPostgresBackend(): Promise<FaultBackend> {
  const server: EmbeddedServer = await startEmbeddedServer();
  const database = `${PG_DATABASE_PREFIX}main`;
  const withAdmin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  await withAdmin((client) => client.query(`CREATE DATABASE ${database}`));
  const url = new URL(server.url);
  url.pathname = `/${database}`;
  const worker = new KillWorker('postgres', server.url);
  await worker.ready();
  return {
    kind: 'postgres',
    port: server.port,
    url: url.toString(),
    restartUnavailable: undefined,
    restart: (mode) => server.restart({ mode }),
    sessions: () =>
      withAdmin(async (client) => {
        const { rows } = await client.query<{ pid: number; state: string | null; query: string | null }>(
          `SELECT pid, state, query FROM pg_stat_activity
            WHERE left(datname, length($1)) = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
          [PG_DATABASE_PREFIX],
        );
        return rows.map((row) => ({
          id: row.pid,
          state: row.state === 'idle' ? 'idle' : row.state === 'active' ? 'active' : 'other',
          query: row.query ?? '',
        }));
      }),
    terminate: (id) =>
      withAdmin(async (client) => {
        await client.query('SELECT pg_terminate_backend($1, 10000)', [id]);
      }),
    sleepSql: (seconds) => `SELECT pg_sleep(${Number(seconds)})`,
    killWhileBlocked: (id, blockMillis) => worker.killWhileBlocked(id, blockMillis),
    async close() {
      await worker.close();
      await server.stop();
    },
  };
}

// ---- MariaDB ----------------------------------------------------------------------------------------------------

const MARIADB_SERVER_BINARIES = ['mariadbd', 'mysqld'];
const MARIADB_INSTALL_BINARIES = ['mariadb-install-db', 'mysql_install_db'];
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin'];
const MARIADB_READY_BOUND_MILLIS = 30_000;
const MARIADB_STOP_BOUND_MILLIS = 30_000;
const MYSQL_DATABASE = 'faults';

function findBinary(names: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''), ...SBIN_DIRS];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/** A mariadbd of this process's own that can be restarted on the same port and data directory. */
class RestartableMariadb {
  readonly port: number;
  readonly #binary: string;
  readonly #dir: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  readonly #onExit = (): void => {
    this.#child?.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  };

  private constructor(binary: string, dir: string, port: number) {
    this.#binary = binary;
    this.#dir = dir;
    this.port = port;
    process.on('exit', this.#onExit);
  }

  static async start(): Promise<RestartableMariadb> {
    const binary = findBinary(MARIADB_SERVER_BINARIES);
    const install = findBinary(MARIADB_INSTALL_BINARIES);
    if (binary === undefined || install === undefined) throw new Error('no MariaDB binaries');
    const dir = await mkdtemp(path.join(tmpdir(), 'poolscope-faults-mariadb-'));
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--user=root'] : [];
    await promisify(execFile)(install, ['--no-defaults', `--datadir=${path.join(dir, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot]);
    const server = new RestartableMariadb(binary, dir, await closedPort());
    await server.#launch();
    return server;
  }

  /** Admin URL (no database). */
  get adminUrl(): string {
    return `mysql://root@127.0.0.1:${this.port}/`;
  }

  async restart(mode: RestartMode): Promise<void> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(mode === 'fast' ? 'SIGTERM' : 'SIGKILL');
    await withBound(this.#exited, MARIADB_STOP_BOUND_MILLIS, 'the private MariaDB to stop');
    await this.#launch();
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await withBound(this.#exited, MARIADB_STOP_BOUND_MILLIS, 'the private MariaDB to stop').catch(() => this.#child?.kill('SIGKILL'));
    process.off('exit', this.#onExit);
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #launch(): Promise<void> {
    const dir = this.#dir;
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--user=root'] : [];
    const child = spawn(
      this.#binary,
      [
        '--no-defaults',
        `--datadir=${path.join(dir, 'data')}`,
        `--socket=${path.join(dir, 'sock')}`,
        `--pid-file=${path.join(dir, 'pid')}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        '--skip-log-bin',
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=16M',
        ...asRoot,
      ],
      { stdio: 'ignore' },
    );
    child.unref();
    this.#child = child;
    this.#exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + MARIADB_READY_BOUND_MILLIS;
    for (;;) {
      try {
        const connection = await mysqlPromise.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', connectTimeout: 1000 });
        connection.on('error', () => undefined);
        await connection.query(`CREATE DATABASE IF NOT EXISTS ${MYSQL_DATABASE}`);
        await connection.end();
        return;
      } catch (error) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(`the private MariaDB did not start on port ${this.port}: ${error instanceof Error ? error.message : String(error)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
}

function withBound<T>(promise: Promise<T>, millis: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${millis} ms waiting for ${what}`)), millis);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Why MariaDB scenarios cannot run at all here, or undefined; and the backend when they can. */
export type MysqlBackendStart = { readonly backend: FaultBackend; readonly skip?: undefined } | { readonly backend?: undefined; readonly skip: string };

/**
 * A private restartable MariaDB when its binaries exist; else the shared test server (POOLSCOPE_TEST_MYSQL_URL or
 * 127.0.0.1:3306) through the proxy only, with a database of this process's own; else a skip reason.
 * POOLSCOPE_FAULTS_SHARED_MYSQL=1 takes the shared server even where a private one could be started.
 */
export async function startMysqlBackend(): Promise<MysqlBackendStart> {
  let adminUrl: string;
  let restartUnavailable: string | undefined;
  let server: RestartableMariadb | undefined;
  let database = MYSQL_DATABASE;
  const privateAllowed = process.env.POOLSCOPE_FAULTS_SHARED_MYSQL !== '1';
  if (privateAllowed && findBinary(MARIADB_SERVER_BINARIES) !== undefined && findBinary(MARIADB_INSTALL_BINARIES) !== undefined) {
    server = await RestartableMariadb.start();
    adminUrl = server.adminUrl;
  } else {
    const reason = await mysqlSkipReason();
    if (reason !== undefined) return { skip: `${privateAllowed ? 'no MariaDB binaries to start a private server' : 'POOLSCOPE_FAULTS_SHARED_MYSQL=1'}, and ${reason}` };
    const shared = new URL(mysqlTestUrl());
    shared.pathname = '/';
    adminUrl = shared.toString();
    database = `faults_${process.pid}`;
    restartUnavailable = privateAllowed
      ? 'no MariaDB binaries on this machine to start a private, restartable server (the shared one is never restarted): proxy faults only'
      : 'POOLSCOPE_FAULTS_SHARED_MYSQL=1: the shared MariaDB is never restarted: proxy faults only';
  }
  const withAdmin = async <T>(fn: (connection: mysqlPromise.Connection) => Promise<T>): Promise<T> => {
    const connection = await mysqlPromise.createConnection({ uri: adminUrl, connectTimeout: 10_000 });
    connection.on('error', () => undefined);
    try {
      return await fn(connection);
    } finally {
      await connection.end().catch(() => undefined);
    }
  };
  await withAdmin((connection) => connection.query(`CREATE DATABASE IF NOT EXISTS ${database}`));
  const parsed = new URL(adminUrl);
  const port = Number(parsed.port === '' ? '3306' : parsed.port);
  parsed.pathname = `/${database}`;
  const worker = new KillWorker('mysql', adminUrl);
  await worker.ready();
  const backend: FaultBackend = {
    kind: 'mysql',
    port,
    url: parsed.toString(),
    restartUnavailable,
    async restart(mode) {
      if (server === undefined) throw new Error(restartUnavailable);
      await server.restart(mode);
    },
    sessions: () =>
      withAdmin(async (connection) => {
        const [rows] = await connection.query(
          'SELECT ID AS id, COMMAND AS command, INFO AS info FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
          [database],
        );
        return (rows as { id: number; command: string; info: string | null }[]).map((row) => ({
          id: Number(row.id),
          state: row.command === 'Sleep' ? 'idle' : row.command === 'Query' || row.command === 'Execute' ? 'active' : 'other',
          query: row.info ?? '',
        }));
      }),
    terminate: (id) =>
      withAdmin(async (connection) => {
        await connection.query(`KILL CONNECTION ${Number(id)}`);
      }),
    sleepSql: (seconds) => `SELECT SLEEP(${Number(seconds)})`,
    killWhileBlocked: (id, blockMillis) => worker.killWhileBlocked(id, blockMillis),
    async close() {
      await worker.close();
      if (server !== undefined) await server.stop();
      else await withAdmin((connection) => connection.query(`DROP DATABASE IF EXISTS ${database}`)).catch(() => undefined);
    },
  };
  return { backend };
}
