import type { ChildProcess } from 'node:child_process';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { EmbeddedServerError } from '../errors.js';
import type { EmbeddedPostgresInstance } from './embedded-postgres-loader.js';

/** The embedded server's process plumbing: free ports, the postmaster pid, liveness, timeouts, keeping the loop alive. */

/** Asks the OS for a free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close((error) => {
        if (error) reject(error);
        else if (port === undefined) reject(new EmbeddedServerError('POOLSCOPE_ERR_EMBEDDED_START_FAILED', 'could not read the port of a probe listener'));
        else resolve(port);
      });
    });
  });
}

/**
 * The postmaster child and its stdio pipes keep the event loop alive. `process` is a private field of the beta
 * package; if it is renamed this nicety is lost, nothing else.
 */
export function setChildRef(instance: EmbeddedPostgresInstance, ref: boolean): void {
  const child = (instance as unknown as { process?: ChildProcess }).process;
  if (!child || typeof child.ref !== 'function') return;
  for (const handle of [child, child.stdout, child.stderr]) {
    const target = handle as { ref?: () => void; unref?: () => void } | null | undefined;
    if (ref) target?.ref?.();
    else target?.unref?.();
  }
}

export async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const text = await fsp.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
    const pid = Number.parseInt(text.split('\n', 1)[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Rejects after `millis`. The timer keeps the process alive: it also guards waits on unref'd handles. */
export function withTimeout<T>(promise: Promise<T>, millis: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EmbeddedServerError('POOLSCOPE_ERR_EMBEDDED_TIMEOUT', `${what} timed out after ${millis} ms`)), millis);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
