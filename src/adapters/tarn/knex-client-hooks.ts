import type { ResolvedPoolTrackingOptions } from '../../core/pool-tracker-options.js';
import type { StackHolder } from '../../core/stack-capture.js';
import { acquireTimeoutReportOf, enrichTimeoutError } from '../../core/acquire-timeout-report.js';
import type { KnexClientInternal, KnexRunnerInternal, KnexTransactionInternal } from './tarn-types.js';

/**
 * The user's line for Knex's checkouts, and Knex's timeout error explained.
 *
 * Knex runs a builder when it is awaited: `await knex('t').select()` calls the builder's `then()` from a microtask,
 * and `knex.transaction(fn)` checks its connection out from one; by then no frame of the caller is on the stack (V8
 * keeps no async frames for a thenable), so a stack taken at tarn's `acquire()` names only Knex. The caller's frame
 * is on the stack when the builder or the transaction is made, so the site is taken there:
 * - `knex.client`'s `queryBuilder`, `raw` and `schemaBuilder` (own properties of that client instance; `knex('t')`,
 *   `knex.select()`, `knex.raw()`, `knex.schema` all go through them) take the site and keep it for the builder (a
 *   WeakMap; the builder is not touched). Sites are taken by the tracker's `captureSite()`: the pool's stack
 *   capture mode, budget, learned depth and frame rules, as for its own checkouts;
 * - `knex.client.runner(builder)` gives the runner of such a builder an own `run` that offers the site (or "not
 *   captured", when the budget skipped it) while its synchronous part (where Knex calls tarn's `acquire()`) runs;
 * - `knex.client.transaction(...)` takes the site and gives the new transaction an own `acquireConnection` that
 *   does the same;
 * - `knex.client.acquireConnection` (own property) appends poolscope's explanation to Knex's KnexTimeoutError
 *   when tarn's TimeoutError (its `cause`) was explained.
 * A transaction's own client (`trx`) is made from Knex's prototype, so queries inside a transaction, which borrow
 * nothing, are not touched. Every wrapper leaves Knex's arguments, `this` and results as they were.
 */
export class KnexClientHooks {
  readonly #client: KnexClientInternal;
  /** Takes a site per the pool's capture policy (the tracker's captureSite); undefined with stackCapture 'off'. */
  readonly #captureSite: ((hideAbove: (...args: never[]) => unknown) => StackHolder | undefined) | undefined;
  readonly #report: (error: unknown) => void;
  /** The site of each builder made through the client, or null when the capture policy skipped it. */
  readonly #sites = new WeakMap<object, StackHolder | null>();
  readonly #installed: { key: HookedKey; wrapper: unknown; original: unknown; hadOwn: boolean }[] = [];
  #pending: StackHolder | null | undefined;
  #detached = false;

  /**
   * @param captureSite the tracker's `captureSite` (the pool's capture policy)
   * @param report where poolscope's own errors go (the inspector's onError); never thrown into Knex
   */
  constructor(
    client: KnexClientInternal,
    options: ResolvedPoolTrackingOptions,
    captureSite: (hideAbove: (...args: never[]) => unknown) => StackHolder | undefined,
    report: (error: unknown) => void,
  ) {
    this.#client = client;
    this.#captureSite = options.stackCapture === 'off' ? undefined : captureSite;
    this.#report = report;
  }

  /**
   * The site of the checkout Knex is making right now (synchronously): a stack of the user's call; null when it is
   * a checkout for a builder or transaction whose site the capture policy skipped (the stack tarn's acquire could
   * give holds no user frame, so the checkout is "not captured"); undefined when Knex offers none (a checkout made
   * straight from the user's code, whose own stack has the user's line).
   */
  get pending(): StackHolder | null | undefined {
    return this.#detached ? undefined : this.#pending;
  }

  /** Installs the wrappers on the client instance. */
  install(): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrappers keep Knex's `this`
    const hooks = this;
    const client = this.#client;
    if (this.#captureSite !== undefined) {
      for (const key of ['queryBuilder', 'raw', 'schemaBuilder'] as const) {
        const original = client[key];
        if (typeof original !== 'function') continue;
        const wrapper = function poolscopeKnexBuilder(this: unknown): unknown {
          // eslint-disable-next-line prefer-rest-params -- Knex's exact arguments, no array made
          const builder: unknown = Reflect.apply(original, this, arguments);
          hooks.#tag(builder, wrapper);
          return builder;
        };
        this.#install(key, wrapper);
      }
      const runner = client.runner;
      if (typeof runner === 'function') {
        this.#install('runner', function poolscopeKnexRunner(this: unknown, builder: unknown): KnexRunnerInternal {
          // eslint-disable-next-line prefer-rest-params -- Knex's exact arguments
          const made = Reflect.apply(runner, this, arguments) as KnexRunnerInternal;
          const site = hooks.#siteOf(builder);
          if (site !== undefined) hooks.#offerDuring(made, 'run', site);
          return made;
        });
      }
      const transaction = client.transaction;
      if (typeof transaction === 'function') {
        const wrapper = function poolscopeKnexTransaction(this: unknown): unknown {
          // eslint-disable-next-line prefer-rest-params -- Knex's exact arguments
          const trx: unknown = Reflect.apply(transaction, this, arguments);
          if (isTransaction(trx)) hooks.#offerDuring(trx, 'acquireConnection', hooks.#capture(wrapper) ?? null);
          return trx;
        };
        this.#install('transaction', wrapper);
      }
    }
    const acquireConnection = client.acquireConnection;
    if (typeof acquireConnection === 'function') {
      this.#install('acquireConnection', function poolscopeKnexAcquireConnection(this: unknown): Promise<unknown> {
        // eslint-disable-next-line prefer-rest-params -- Knex's exact arguments
        const acquired = Reflect.apply(acquireConnection, this, arguments) as Promise<unknown>;
        // Registered before Knex awaits it, so it runs first: Knex's runner sees the explained error.
        if (!hooks.#detached && typeof acquired?.then === 'function') acquired.then(undefined, hooks.#explainTimeout);
        return acquired;
      });
    }
  }

  /** Puts back the client's own methods (those someone else replaced since are left alone). */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#pending = undefined;
    const client = this.#client as unknown as Record<string, unknown>;
    for (const { key, wrapper, original, hadOwn } of this.#installed.splice(0)) {
      if (client[key] !== wrapper) continue;
      if (hadOwn) client[key] = original;
      else delete client[key];
    }
  }

  #install(key: HookedKey, wrapper: unknown): void {
    const client = this.#client as unknown as Record<string, unknown>;
    this.#installed.push({ key, wrapper, original: client[key], hadOwn: Object.hasOwn(client, key) });
    client[key] = wrapper;
  }

  /**
   * Knex turns tarn's TimeoutError into a KnexTimeoutError ("Knex: Timeout acquiring a connection...") with tarn's
   * error as `cause`; poolscope explained the cause already (the tarn adapter), and the same explanation goes on
   * Knex's error, the one the caller sees. An arrow field: handed to `then` as it is.
   */
  readonly #explainTimeout = (error: unknown): void => {
    try {
      if (!(error instanceof Error) || acquireTimeoutReportOf(error) !== undefined) return;
      const report = acquireTimeoutReportOf(error.cause);
      if (report !== undefined) enrichTimeoutError(error, report);
    } catch (failure) {
      this.#report(failure);
    }
  };

  /** Takes the site of a builder being made (per the capture policy; null when it skips this one). */
  #tag(builder: unknown, hideAbove: (...args: never[]) => unknown): void {
    if (this.#detached || typeof builder !== 'object' || builder === null) return;
    this.#sites.set(builder, this.#capture(hideAbove) ?? null);
  }

  /** The site of a builder made through the client (null: skipped by the policy), or undefined for any other. */
  #siteOf(builder: unknown): StackHolder | null | undefined {
    return typeof builder === 'object' && builder !== null ? this.#sites.get(builder) : undefined;
  }

  /** A stack of the user's call, or undefined when the policy skips this one (like the pool's own checkouts). */
  #capture(hideAbove: (...args: never[]) => unknown): StackHolder | undefined {
    const captureSite = this.#captureSite;
    if (captureSite === undefined || this.#detached) return undefined;
    try {
      return captureSite(hideAbove);
    } catch (error) {
      this.#report(error);
      return undefined;
    }
  }

  /** Gives `target` an own `key` that offers `site` while the original's synchronous part runs. */
  #offerDuring<K extends string>(target: { [key in K]: (...args: unknown[]) => unknown }, key: K, site: StackHolder | null): void {
    const original = target[key];
    if (typeof original !== 'function') return;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper keeps Knex's `this`
    const hooks = this;
    target[key] = function poolscopeKnexCheckout(this: unknown): unknown {
      const previous = hooks.#pending;
      hooks.#pending = site;
      try {
        // eslint-disable-next-line prefer-rest-params -- Knex's exact arguments
        return Reflect.apply(original, this, arguments);
      } finally {
        hooks.#pending = previous;
      }
    };
  }
}

/** The client methods poolscope wraps. */
type HookedKey = 'queryBuilder' | 'raw' | 'schemaBuilder' | 'runner' | 'transaction' | 'acquireConnection';

function isTransaction(value: unknown): value is KnexTransactionInternal {
  return typeof value === 'object' && value !== null && typeof (value as Partial<KnexTransactionInternal>).acquireConnection === 'function';
}

