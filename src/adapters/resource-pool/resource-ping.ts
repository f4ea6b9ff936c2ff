import { PoolPingError } from '../../errors.js';

/**
 * A readiness ping through a resource pool: borrows a resource without recording a lease (`checkout` goes around the
 * adapter's bookkeeping), runs `ping` on it and gives it back. Rejects when the pool or the ping does not answer
 * within `timeoutMillis`; a resource that arrives after that is given back at once, never leaked.
 */
export function pingThroughPool<R>(
  checkout: () => PromiseLike<R>,
  checkin: (resource: R, failed: boolean) => void,
  ping: (resource: R) => unknown,
  timeoutMillis: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new PoolPingError('POOLSCOPE_ERR_POOL_PING_FAILED', String(error), { cause: error }));
    };
    const timer = setTimeout(
      () => settle(new PoolPingError('POOLSCOPE_ERR_POOL_PING_TIMEOUT', `the pool's resource did not answer within ${timeoutMillis} ms`)),
      timeoutMillis,
    );
    timer.unref();
    const giveBack = (resource: R, failed: boolean): void => {
      try {
        checkin(resource, failed);
      } catch {
        // The pool refused it back: nothing more a ping can do.
      }
    };
    let borrowed: PromiseLike<R>;
    try {
      borrowed = checkout();
    } catch (error) {
      settle(error);
      return;
    }
    borrowed.then(
      (resource) => {
        if (settled) {
          giveBack(resource, false);
          return;
        }
        let answer: unknown;
        try {
          answer = ping(resource);
        } catch (error) {
          giveBack(resource, true);
          settle(error);
          return;
        }
        Promise.resolve(answer).then(
          () => {
            giveBack(resource, false);
            settle();
          },
          (error: unknown) => {
            giveBack(resource, true);
            settle(error ?? new PoolPingError('POOLSCOPE_ERR_POOL_PING_FAILED', 'the ping failed'));
          },
        );
      },
      (error: unknown) => settle(error ?? new PoolPingError('POOLSCOPE_ERR_POOL_PING_FAILED', 'the pool gave no resource')),
    );
  });
}
