import { wholeNumberOption } from './notify-chunks.js';

/**
 * The delays between attempts to get a lost connection back: `initialDelayMillis` (default 1 s), doubling after each
 * failed attempt up to `maxDelayMillis` (default 30 s), back to the start after a success. One timer at a time,
 * unref'd (a reconnecting node never keeps the process alive); `cancel()` stops it.
 */
export class ReconnectBackoff {
  readonly #initial: number;
  readonly #max: number;
  #delay: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(initialDelayMillis: number | undefined, maxDelayMillis: number | undefined) {
    this.#initial = wholeNumberOption('reconnectInitialDelayMillis', initialDelayMillis, 1000, 1, 2 ** 31 - 1);
    this.#max = wholeNumberOption('reconnectMaxDelayMillis', maxDelayMillis, 30_000, this.#initial, 2 ** 31 - 1);
    this.#delay = this.#initial;
  }

  /** The delay the next `schedule()` will wait. */
  get nextDelayMillis(): number {
    return this.#delay;
  }

  /** Runs `attempt` after the current delay, and doubles the delay for the attempt after it. */
  schedule(attempt: () => void): void {
    this.cancel();
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#max);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      attempt();
    }, delay);
    this.#timer.unref();
  }

  /** An attempt succeeded: the next loss starts from the initial delay again. */
  reset(): void {
    this.#delay = this.#initial;
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
