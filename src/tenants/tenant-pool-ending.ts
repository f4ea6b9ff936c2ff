import type { PoolView } from './tenant-pg-view.js';

/** How long `endPool()` waits, after `end()`, for the closed clients' sockets to be gone before moving on. */
const SOCKET_CLOSE_WAIT_MILLIS = 2000;

/**
 * `pool.end()`, then waits until every client it closed has been removed: pg-pool resolves `end()` once its clients
 * are told to end, and emits `'remove'` only when a client's connection has actually closed.
 */
export async function endPool(pool: PoolView): Promise<void> {
  const expected = pool.totalCount;
  let removed = 0;
  let wake: (() => void) | undefined;
  const onRemove = (): void => {
    removed += 1;
    if (removed >= expected) wake?.();
  };
  pool.on('remove', onRemove);
  try {
    await pool.end();
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
