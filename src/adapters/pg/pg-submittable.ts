/**
 * Submittables: query objects pg runs itself (pg-cursor, pg-query-stream), followed to their end through the
 * handlers pg calls on them, as own properties of the instance for the time it runs (put back after).
 */

/** A query object pg runs itself (pg-cursor, pg-query-stream, pg's Query): it gets the protocol's messages. */
export interface Submittable {
  text?: unknown;
  submit?: unknown;
  cursor?: { text?: unknown };
  handleReadyForQuery?: (...args: unknown[]) => unknown;
  handleError?: (...args: unknown[]) => unknown;
}

export function isFollowable(submittable: Submittable): boolean {
  return typeof submittable.handleReadyForQuery === 'function' && typeof submittable.handleError === 'function';
}

/**
 * Calls `finish` when pg is done with `submittable`: at its ReadyForQuery (success, after the cursor was read to
 * its end or closed) or its error (a server error, or the connection dying). Before the submittable's own handler
 * runs, so a release in its 'end' listener sees nothing in flight. Its own properties are put back after.
 */
export function followSubmittable(submittable: Submittable, finish: (ok: boolean) => void): void {
  const target = submittable as Required<Pick<Submittable, 'handleReadyForQuery' | 'handleError'>>;
  const ready = target.handleReadyForQuery;
  const failed = target.handleError;
  const ownReady = Object.hasOwn(submittable, 'handleReadyForQuery');
  const ownError = Object.hasOwn(submittable, 'handleError');
  const end = (ok: boolean): void => {
    if (target.handleReadyForQuery === followedReady) {
      if (ownReady) target.handleReadyForQuery = ready;
      else delete (submittable as Partial<Submittable>).handleReadyForQuery;
    }
    if (target.handleError === followedError) {
      if (ownError) target.handleError = failed;
      else delete (submittable as Partial<Submittable>).handleError;
    }
    finish(ok);
  };
  const followedReady = function poolscopeSubmittableReady(this: unknown): unknown {
    end(true);
    // eslint-disable-next-line prefer-rest-params -- pg's exact arguments
    return Reflect.apply(ready, this, arguments);
  };
  const followedError = function poolscopeSubmittableError(this: unknown): unknown {
    end(false);
    // eslint-disable-next-line prefer-rest-params -- pg's exact arguments
    return Reflect.apply(failed, this, arguments);
  };
  target.handleReadyForQuery = followedReady;
  target.handleError = followedError;
}
