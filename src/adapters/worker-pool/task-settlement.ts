/**
 * Following a task's promise without changing it for the caller.
 */

/**
 * Returns a promise that settles like `promise`, after calling `onSettled(ok, error)`: the same value, the same
 * rejection (an unhandled rejection stays unhandled, as without poolscope). `onSettled` must not throw.
 */
export function followTask<T>(promise: Promise<T>, onSettled: (ok: boolean, error: unknown) => void): Promise<T> {
  return promise.then(
    (value) => {
      onSettled(true, undefined);
      return value;
    },
    (error: unknown) => {
      onSettled(false, error);
      throw error;
    },
  );
}
