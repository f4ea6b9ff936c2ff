import { OptionsError, PoolTrackingError } from '../../errors.js';
import type { Inspector } from '../../core/inspector.js';
import type { PoolView } from '../../core/pool-view.js';
import type { PoolTrackingOptions } from '../../core/pool-tracker-options.js';
import { GENERIC_POOL_WRAPPED, GenericPoolAdapter } from './generic-pool-adapter.js';
import type { GenericPoolInternal, GenericPoolLike } from './generic-pool-types.js';

/** `trackGenericPool`'s options: the pool's tracking options, and what poolscope may ask of a resource. */
export interface GenericPoolTrackingOptions<R = unknown> extends PoolTrackingOptions {
  /**
   * The server-side session id of a resource (a database connection's backend pid or connection id), for the
   * server view's join; return null when there is none. Giving it sets the `sessionIds` capability. Called once per
   * checkout; a throw counts as null (and goes to the inspector's onError).
   */
  readonly sessionIdOf?: (resource: R) => number | null | undefined;
  /**
   * A cheap check of one resource for readiness probes (`view.probe()`, readyz): it gets a resource borrowed
   * without a lease and may return a promise; a throw or rejection means not ready. Without it the pool has no
   * ping and readiness relies on its counters.
   */
  readonly pingResource?: (resource: R) => unknown;
}

/**
 * Instruments one existing generic-pool Pool (generic-pool 3.x) without changing what it does: any resource, its
 * checkouts as leases (wait, hold, owner, the caller's file:line), leaks, double releases (`release` or `destroy` of
 * a resource not lent), `destroy` (the lease ends as destroyed), factory errors as connection errors, the pool's
 * counts, and generic-pool's acquire timeout explained. Queries and transactions are not seen (the capabilities say
 * so). See docs/reference/adapter-generic-pool.md.
 *
 * Throws POOLSCOPE_ERR_POOL_UNSUPPORTED for an object that is not a generic-pool Pool,
 * POOLSCOPE_ERR_POOL_ALREADY_TRACKED if poolscope already wraps it, POOLSCOPE_ERR_OPTIONS_INVALID for a bad
 * `sessionIdOf` or `pingResource`, and the option and name errors of `Inspector.registerPool`.
 *
 * ```ts
 * const pool = genericPool.createPool({ create: () => connect(), destroy: (s) => close(s) }, { max: 10 });
 * trackGenericPool(inspector, pool, { name: 'sockets' });
 * ```
 */
export function trackGenericPool<R>(inspector: Inspector, pool: GenericPoolLike<R>, options: GenericPoolTrackingOptions<R>): PoolView {
  const internal = asGenericPool(pool);
  if ((internal.acquire as unknown as Record<symbol, unknown>)[GENERIC_POOL_WRAPPED] === true) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_ALREADY_TRACKED',
      `This generic-pool pool is already tracked by poolscope (asked to track it as "${String(options?.name)}"). ` +
        'Track each pool once; to rename it, untrack it first.',
      options?.name,
    );
  }
  const adapter = new GenericPoolAdapter(internal, {
    sessionIdOf: functionOption('sessionIdOf', options?.sessionIdOf, '(resource) => number | null'),
    pingResource: functionOption('pingResource', options?.pingResource, '(resource) => unknown, e.g. (r) => r.ping()'),
  });
  const tracker = inspector.registerPool(adapter, options);
  adapter.attach(tracker);
  return tracker.view;
}

function asGenericPool(pool: unknown): GenericPoolInternal {
  const candidate = pool as Partial<Record<keyof GenericPoolInternal, unknown>> | null | undefined;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.acquire !== 'function' ||
    typeof candidate.release !== 'function' ||
    typeof candidate.destroy !== 'function' ||
    typeof candidate.isBorrowedResource !== 'function' ||
    typeof candidate.on !== 'function' ||
    typeof candidate.removeListener !== 'function' ||
    typeof candidate.size !== 'number' ||
    typeof candidate.available !== 'number' ||
    typeof candidate.pending !== 'number'
  ) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      'trackGenericPool() needs a generic-pool Pool (generic-pool 3.x, what createPool(factory, options) returns): an ' +
        'object with acquire(), release(), destroy(), isBorrowedResource(), on(), size, available and pending. For a ' +
        'tarn pool or a Knex instance use poolscope/tarn; for a pg.Pool, trackPgPool.',
    );
  }
  return candidate as GenericPoolInternal;
}

function functionOption(option: string, value: unknown, expected: string): ((resource: unknown) => unknown) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new OptionsError(option, value, `a function ${expected}`);
  return value as (resource: unknown) => unknown;
}
