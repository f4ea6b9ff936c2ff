/**
 * The tests' embedded PostgreSQL: src/provisioning/embedded-server.ts (shared with the demo), started with its
 * child unref'ed (a test file that forgets drop() still ends), plus signal handling: on SIGINT/SIGTERM/SIGHUP every
 * server this process started is stopped before the process exits the way the signal would have. `restart()` is the
 * provisioned server's (same port and data directory; see there).
 */
import { EMBEDDED_STOP_TIMEOUT_MILLIS, startEmbeddedServer as startProvisioned } from '../../src/provisioning/embedded-server.js';
import { withTimeout } from '../../src/provisioning/embedded-server-process.js';
import type { EmbeddedServer } from '../../src/provisioning/embedded-server.js';

export type { EmbeddedRestartOptions, EmbeddedServer, EmbeddedShutdownMode } from '../../src/provisioning/embedded-server.js';

/** Servers started by this process and not yet stopped; stopped by the signal handlers. */
const running = new Set<EmbeddedServer>();
let handlersInstalled = false;

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const onSignal = (signal: NodeJS.Signals, code: number): void => {
    const stops = [...running].map((server) => server.stop().catch(() => undefined));
    void withTimeout(Promise.all(stops), EMBEDDED_STOP_TIMEOUT_MILLIS, `stopping embedded PostgreSQL on ${signal}`)
      .catch(() => undefined)
      .finally(() => process.exit(code));
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  process.once('SIGHUP', () => onSignal('SIGHUP', 129));
}

export interface StartEmbeddedServerOptions {
  /** Receives every log line of initdb/postgres (they are also kept for error messages). */
  onLog?: (message: string) => void;
}

/** Initialises and starts a fresh embedded PostgreSQL on a free 127.0.0.1 port. */
export async function startEmbeddedServer(options: StartEmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  installSignalHandlers();
  const server = await startProvisioned({ keepProcessAlive: false, ...(options.onLog ? { onLog: options.onLog } : {}) });
  running.add(server);
  // Not a spread: pid changes with each restart, so it is read through.
  return {
    url: server.url,
    port: server.port,
    rootDir: server.rootDir,
    dataDir: server.dataDir,
    startMillis: server.startMillis,
    get pid() {
      return server.pid;
    },
    restart: (restartOptions) => server.restart(restartOptions),
    async stop() {
      try {
        await server.stop();
      } finally {
        running.delete(server);
      }
    },
  };
}
