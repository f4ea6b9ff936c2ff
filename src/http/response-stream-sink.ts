import type { OpsStreamSink } from './ops-response.js';

/**
 * The stream sink over a node:http ServerResponse, shared by the three adapters (node:http's `res`, Express's
 * `res`, Fastify's `reply.raw` after `reply.hijack()`).
 */

/** What the sink uses of a node:http ServerResponse. */
export interface WritableResponseLike {
  write(chunk: string): boolean;
  end(): unknown;
  destroy(): unknown;
  on(event: 'close' | 'error', listener: (...args: unknown[]) => void): unknown;
  readonly writableLength: number;
  readonly destroyed?: boolean;
}

/** True when `res` can carry a stream (a real node:http response, not a framework's stand-in). */
export function isWritableResponse(res: unknown): res is WritableResponseLike {
  const candidate = res as Partial<Record<keyof WritableResponseLike, unknown>> | null;
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.write === 'function' &&
    typeof candidate.end === 'function' &&
    typeof candidate.destroy === 'function' &&
    typeof candidate.on === 'function'
  );
}

/**
 * A sink writing to `res`. The client's going away is seen through the response's `'close'` (emitted when the
 * connection closes before the end, and after a normal end); the request's `'close'` is not used, as node:http
 * emits it as soon as the (empty) request body has been read.
 */
export function responseStreamSink(res: WritableResponseLike): OpsStreamSink {
  let closed = res.destroyed === true;
  let listeners: (() => void)[] = [];
  const close = (): void => {
    if (closed && listeners.length === 0) return;
    closed = true;
    const called = listeners;
    listeners = [];
    for (const fn of called) {
      try {
        fn();
      } catch {
        // A close listener's failure must not stop the others; the stream reports its own errors.
      }
    }
  };
  res.on('close', close);
  // A write racing a reset socket emits 'error' on the response; without a listener it would crash the process.
  res.on('error', close);
  return {
    write(text) {
      if (closed) return false;
      try {
        return res.write(text);
      } catch {
        close();
        return false;
      }
    },
    end() {
      if (closed) return;
      try {
        res.end();
      } catch {
        close();
      }
    },
    abort() {
      try {
        res.destroy();
      } finally {
        close();
      }
    },
    onClose(fn) {
      if (closed) queueMicrotask(fn);
      else listeners.push(fn);
    },
    get bufferedBytes() {
      return closed ? 0 : res.writableLength;
    },
    get closed() {
      return closed;
    },
  };
}
