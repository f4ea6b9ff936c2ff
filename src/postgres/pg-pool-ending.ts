import { ConnectionDestroyedError } from '../errors.js';
import type { PgEndablePool } from './pg-client-shapes.js';

/** How long `endPool()` waits, after `end()`, for the closed clients' sockets to be gone before moving on. */
const SOCKET_CLOSE_WAIT_MILLIS = 2000;

export interface EndPoolOptions {
  /**
   * `pool.end()` waits for every checked-out client; a connection leaked on purpose (the CLI demo's planted leaks)
   * never comes back. After this many milliseconds the clients still out are released with an error, which makes
   * pg-pool destroy them (through pg-pool's private `_clients` list: cleanup of one's own leaks only). Default:
   * wait for them.
   */
  readonly destroyCheckedOutAfterMillis?: number;
  /** The clients still checked out, when the caller keeps count (pg-pool's 'acquire'/'release'). Default: `_clients`. */
  readonly checkedOut?: () => Iterable<ReleasableClient>;
  /** The message of the error they are released with. */
  readonly reason?: string;
}

/** A pg client as destroying it needs: `release(error)`. */
export interface ReleasableClient {
  release?: (error: Error) => void;
}

/**
 * `pool.end()`, then waits (bounded) until every client it closed has been removed: pg-pool resolves `end()` once its
 * clients are told to end, and emits `'remove'` only when a client's connection has actually closed.
 */
export async function endPool(pool: PgEndablePool, options: EndPoolOptions = {}): Promise<void> {
  const expected = pool.totalCount;
  let removed = 0;
  let wake: (() => void) | undefined;
  const onRemove = (): void => {
    removed += 1;
    if (removed >= expected) wake?.();
  };
  pool.on('remove', onRemove);
  try {
    const ended = pool.end();
    const destroyAfter = options.destroyCheckedOutAfterMillis;
    if (destroyAfter !== undefined && !(await settlesWithin(ended, destroyAfter))) destroyCheckedOut(pool, options);
    await ended;
    if (removed < expected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SOCKET_CLOSE_WAIT_MILLIS);
        timer.unref();
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    pool.removeListener('remove', onRemove);
  }
}

/** True when `promise` settles (either way) within `millis`. */
async function settlesWithin(promise: Promise<unknown>, millis: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), millis);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function destroyCheckedOut(pool: PgEndablePool, options: EndPoolOptions): void {
  const clients = options.checkedOut?.() ?? (pool as unknown as { _clients?: ReleasableClient[] })._clients ?? [];
  for (const client of [...clients]) {
    try {
      client.release?.(new ConnectionDestroyedError(options.reason ?? 'poolscope: connection still checked out when its pool ended'));
    } catch {
      // already released
    }
  }
}
