import { systemClock, type Clock } from '../core/monotonic-clock.js';
import { OptionsError } from '../errors.js';
import { rejection, type ClusterRejection, type SnapshotRequest } from './cluster-messages.js';

/** Default: a request's `sentAt` may differ from this node's wall clock by at most 60 s, either way. */
export const DEFAULT_REPLAY_WINDOW_MILLIS = 60_000;
/** Default: at most this many request ids remembered (those older than the window are forgotten first). */
export const DEFAULT_MAX_REMEMBERED_REQUESTS = 10_000;

/** Bounds of a `RequestReplayGuard`. */
export interface RequestReplayGuardOptions {
  /** Largest difference between a request's `sentAt` and this node's wall clock, either way. Default 60000. */
  readonly windowMillis?: number;
  /** Request ids remembered at most. Default 10000. */
  readonly maxRemembered?: number;
  /** Time source (`toWallMillis(now())` is compared with `sentAt`); default the system clock. */
  readonly clock?: Clock;
}

/**
 * Refuses a request seen before (`replayed`) or sent outside the window (`stale`): the window bounds how long an id
 * must be remembered, since an older copy is refused as stale anyway. Memory is bounded: ids older than the window
 * are forgotten; when `maxRemembered` ids inside the window are held, new requests are refused
 * (`replay-memory-full`, failing closed) until some age out. Call it only after a request is authenticated, so a
 * forged request cannot spend an id.
 */
export class RequestReplayGuard {
  readonly #windowMillis: number;
  readonly #maxRemembered: number;
  readonly #clock: Clock;
  /** Request id -> sentAt, in arrival order. */
  readonly #seen = new Map<string, number>();

  constructor(options: RequestReplayGuardOptions = {}) {
    this.#windowMillis = positiveWhole('windowMillis', options.windowMillis, DEFAULT_REPLAY_WINDOW_MILLIS);
    this.#maxRemembered = positiveWhole('maxRemembered', options.maxRemembered, DEFAULT_MAX_REMEMBERED_REQUESTS);
    const clock = options.clock ?? systemClock;
    if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function' || typeof clock.toWallMillis !== 'function') {
      throw new OptionsError('clock', clock, 'an object with now() and toWallMillis()');
    }
    this.#clock = clock;
  }

  /** Ids remembered now. */
  get remembered(): number {
    return this.#seen.size;
  }

  /** Accepts (and remembers) a request, or says why not. Never throws. */
  check(request: SnapshotRequest): ClusterRejection | undefined {
    const now = this.#clock.toWallMillis(this.#clock.now());
    const skew = request.sentAt - now;
    if (Math.abs(skew) > this.#windowMillis) {
      return rejection(
        'stale',
        `request ${request.requestId} was sent ${Math.round(Math.abs(skew))} ms ${skew < 0 ? 'ago' : 'in the future'}, outside the ${this.#windowMillis} ms window (are the nodes' clocks in sync?)`,
      );
    }
    if (this.#seen.has(request.requestId)) return rejection('replayed', `request ${request.requestId} was seen before`);
    this.#forgetOld(now, false);
    if (this.#seen.size >= this.#maxRemembered) {
      this.#forgetOld(now, true);
      if (this.#seen.size >= this.#maxRemembered) {
        return rejection('replay-memory-full', `${this.#maxRemembered} requests inside the ${this.#windowMillis} ms window are remembered already`);
      }
    }
    this.#seen.set(request.requestId, request.sentAt);
    return undefined;
  }

  /** Forgets ids sent before the window: from the front only (cheap, per call), or all of them (when full). */
  #forgetOld(now: number, all: boolean): void {
    const oldest = now - this.#windowMillis;
    for (const [id, sentAt] of this.#seen) {
      if (sentAt < oldest) this.#seen.delete(id);
      else if (!all) return;
    }
  }
}

function positiveWhole(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw new OptionsError(name, value, 'a whole number from 1 to 2147483647');
  }
  return value;
}
