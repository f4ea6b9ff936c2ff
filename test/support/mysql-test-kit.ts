/**
 * Integration tests on a real MySQL / MariaDB server, through mysql2. The server is POOLSCOPE_TEST_MYSQL_URL if set,
 * else mysql://root@127.0.0.1:3306/test (a MariaDB on this machine). It is probed once per test process; when it
 * does not answer, `mysqlSkipReason()` says why and the tests report themselves skipped with that reason (so
 * `.ci/run` works where no MariaDB is installed). Pools, admin connections, inspectors and tables a test creates are
 * closed and dropped by `closeAll()` in afterEach.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import type { Inspector, InspectorOptions } from '../../src/index.js';
import { Inspector as InspectorClass } from '../../src/index.js';

export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';
const PROBE_TIMEOUT_MILLIS = 2000;
/** How long closeAll waits for a pool's end() (a connection killed mid-test can leave it unanswered). */
const END_BOUND_MILLIS = 2000;

/** The test server's URL. */
export function mysqlTestUrl(): string {
  const url = process.env.POOLSCOPE_TEST_MYSQL_URL;
  return url !== undefined && url !== '' ? url : DEFAULT_MYSQL_URL;
}

/** host:port of the test server, for messages. */
export function mysqlTestAddress(): string {
  try {
    const url = new URL(mysqlTestUrl());
    return `${url.hostname}:${url.port === '' ? '3306' : url.port}`;
  } catch {
    return mysqlTestUrl();
  }
}

let probe: Promise<string | undefined> | undefined;

/**
 * undefined when the server answers `SELECT 1`, else the reason to skip (`MariaDB not reachable at host:port: ...`).
 * Probed once per process.
 */
export function mysqlSkipReason(): Promise<string | undefined> {
  probe ??= (async () => {
    let connection: mysqlPromise.Connection | undefined;
    try {
      connection = await mysqlPromise.createConnection({ uri: mysqlTestUrl(), connectTimeout: PROBE_TIMEOUT_MILLIS });
      await connection.query('SELECT 1');
      return undefined;
    } catch (error) {
      return `MariaDB not reachable at ${mysqlTestAddress()}: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      await connection?.end().catch(() => undefined);
    }
  })();
  return probe;
}

/** Everything a test created, closed by `closeAll()` in afterEach. */
export class MysqlResources {
  readonly #pools: mysql.Pool[] = [];
  readonly #inspectors: Inspector[] = [];
  readonly #admins: mysqlPromise.Connection[] = [];
  readonly #tables: string[] = [];

  /** A callback pool (`mysql.createPool`) on the test server. */
  pool(config: mysql.PoolOptions = {}): mysql.Pool {
    const pool = mysql.createPool({ uri: mysqlTestUrl(), ...config });
    this.#pools.push(pool);
    return pool;
  }

  /** A promise pool (`mysql2/promise` createPool) on the test server. */
  promisePool(config: mysql.PoolOptions = {}): mysqlPromise.Pool {
    const pool = mysqlPromise.createPool({ uri: mysqlTestUrl(), ...config });
    this.#pools.push(pool.pool);
    return pool;
  }

  inspector(options: InspectorOptions = {}): Inspector {
    const inspector = new InspectorClass({ historyIntervalMillis: 0, ...options });
    this.#inspectors.push(inspector);
    return inspector;
  }

  /** A connection of the test's own, outside every pool (to KILL sessions, read the processlist). */
  async admin(): Promise<mysqlPromise.Connection> {
    const connection = await mysqlPromise.createConnection({ uri: mysqlTestUrl() });
    connection.on('error', () => undefined);
    this.#admins.push(connection);
    return connection;
  }

  /** Creates a table with a unique name (`poolscope_<label>_<pid>_<hex>`, dropped by closeAll) and returns the name. */
  async table(label: string, columns = 'id INT PRIMARY KEY, note VARCHAR(100)'): Promise<string> {
    const name = `poolscope_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
    const admin = await this.admin();
    await admin.query(`CREATE TABLE ${mysql.escapeId(name)} (${columns}) ENGINE=InnoDB`);
    this.#tables.push(name);
    return name;
  }

  async closeAll(): Promise<void> {
    for (const inspector of this.#inspectors.splice(0)) inspector.close();
    for (const pool of this.#pools.splice(0)) {
      // mysql2's end() closes every connection, held or not; one killed by a test may never answer its QUIT.
      await Promise.race([
        new Promise<void>((resolve) => pool.end(() => resolve())),
        new Promise<void>((resolve) => setTimeout(resolve, END_BOUND_MILLIS).unref()),
      ]);
    }
    for (const admin of this.#admins.splice(0)) await admin.end().catch(() => undefined);
    const tables = this.#tables.splice(0);
    if (tables.length === 0) return;
    const dropper = await mysqlPromise.createConnection({ uri: mysqlTestUrl() });
    try {
      for (const table of tables) await dropper.query(`DROP TABLE IF EXISTS ${mysql.escapeId(table)}`);
    } finally {
      await dropper.end().catch(() => undefined);
    }
  }
}

/** Kills the session `connectionId` from `admin` (KILL CONNECTION: the server closes it). */
export async function killSession(admin: mysqlPromise.Connection, connectionId: number): Promise<void> {
  await admin.query(`KILL CONNECTION ${Number(connectionId)}`);
}

/** What mysql2's own lists say about `pool` (a callback pool, or a promise pool's `.pool`). */
export function driverCounts(pool: mysql.Pool): { total: number; idle: number; waiting: number } {
  const internal = pool as unknown as {
    _allConnections: { length: number };
    _freeConnections: { length: number };
    _connectionQueue: { length: number };
  };
  return { total: internal._allConnections.length, idle: internal._freeConnections.length, waiting: internal._connectionQueue.length };
}

// ---- a private MariaDB (performance_schema ON) ------------------------------------------------------------------

/** A MariaDB server of the test's own, on a free local port, in a temporary data directory. */
export interface PrivateMariadb {
  readonly url: string;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

const SERVER_BINARIES = ['mariadbd', 'mysqld'];
const INSTALL_BINARIES = ['mariadb-install-db', 'mysql_install_db'];
/** Where Debian and others put the server binary when the PATH (of a non-root user) lacks it. */
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin'];
const PRIVATE_START_BOUND_MILLIS = 20_000;

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

/** Why a private MariaDB cannot be started here (no server or install binary), or undefined. */
export function privateMariadbSkipReason(): string | undefined {
  if (findBinary(SERVER_BINARIES) === undefined) return `no MariaDB server binary (${SERVER_BINARIES.join(', ')}) on this machine`;
  if (findBinary(INSTALL_BINARIES) === undefined) return `no ${INSTALL_BINARIES.join(' or ')} on this machine`;
  return undefined;
}

/**
 * Starts a MariaDB with `performance_schema=ON` (which the shared server may not have: it is a start-up option) in
 * a fresh data directory, with a `test` database and root without a password, on 127.0.0.1 only.
 */
export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const server = findBinary(SERVER_BINARIES);
  const install = findBinary(INSTALL_BINARIES);
  if (server === undefined || install === undefined) throw new Error(privateMariadbSkipReason());
  const dir = await mkdtemp(path.join(tmpdir(), 'poolscope-mariadb-'));
  const data = path.join(dir, 'data');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--user=root'] : [];
  await promisify(execFile)(install, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot]);
  const port = await freePort();
  const child = spawn(
    server,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${path.join(dir, 'sock')}`,
      `--pid-file=${path.join(dir, 'pid')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--performance_schema=ON',
      '--skip-log-bin',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=16M',
      ...asRoot,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const url = `mysql://root@127.0.0.1:${port}/test`;
  const deadline = Date.now() + PRIVATE_START_BOUND_MILLIS;
  for (;;) {
    try {
      const connection = await mysqlPromise.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
      await connection.query('CREATE DATABASE IF NOT EXISTS test');
      await connection.end();
      return { url, stop };
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw new Error(`the private MariaDB did not start: ${error instanceof Error ? error.message : String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
