/**
 * Waiting in tests without fixed sleeps: for an event (`eventOnce`) or, where no event exists, for a state polled
 * until it holds (`eventually`). Both take a generous bound that fails the test with a message naming what was awaited;
 * the bound is a guard against hangs, never a timing assertion.
 */
import type { EventEmitter } from 'node:events';

/** Subscribes `listener` and returns the function that unsubscribes it (the shape of `inspector.on`, `tenants.on`). */
export type Listen<T> = (listener: (value: T) => void) => () => void;

/** What was awaited, for the failure message; a function is called at failure time (e.g. to show output so far). */
export type WaitedFor = string | (() => string);

export interface EventOnceOptions<T> {
  /** Bound in milliseconds (default 15 000). */
  readonly timeoutMillis?: number;
  /** Only a value that passes resolves (default: the first value). */
  readonly accept?: (value: T) => boolean;
}

/** Resolves with the first value `listen` delivers (that `accept` passes); rejects after the bound, naming `what`. */
export function eventOnce<T>(listen: Listen<T>, what: WaitedFor, options: EventOnceOptions<T> = {}): Promise<T> {
  const { timeoutMillis = 15_000, accept = () => true } = options;
  return new Promise((resolve, reject) => {
    const subscription: { off?: () => void; settled: boolean } = { settled: false };
    const timer = setTimeout(() => {
      subscription.settled = true;
      subscription.off?.();
      reject(new Error(`timed out after ${timeoutMillis} ms waiting for ${describe(what)}`));
    }, timeoutMillis);
    subscription.off = listen((value) => {
      if (subscription.settled || !accept(value)) return;
      subscription.settled = true;
      clearTimeout(timer);
      subscription.off?.();
      resolve(value);
    });
    // A listener called synchronously from inside listen() could not unsubscribe yet.
    if (subscription.settled) subscription.off();
  });
}

/** A `Listen` over an emitter's event (unlike `events.once`, an 'error' emitted meanwhile does not reject). */
export function listenTo(emitter: EventEmitter, name: string): Listen<unknown> {
  return (listener) => {
    emitter.on(name, listener);
    return () => emitter.off(name, listener);
  };
}

/** Polls `predicate` until it is true; rejects after the bound (default 10 000 ms), naming `what`. */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: WaitedFor, timeoutMillis = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${describe(what)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MILLIS));
  }
}

/** How often `eventually` looks again. */
const POLL_MILLIS = 20;

function describe(what: WaitedFor): string {
  return typeof what === 'function' ? what() : what;
}
