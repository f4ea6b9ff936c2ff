import { OptionsError, PoolTrackingError } from '../../errors.js';
import type { Inspector } from '../../core/inspector.js';
import type { PoolView } from '../../core/pool-view.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import type { PoolTrackingOptions } from '../../core/pool-tracker-options.js';
import type { TarnAdapterSetup } from './tarn-adapter-setup.js';
import { TARN_TRACKED, TarnPoolAdapter } from './tarn-pool-adapter.js';
import type { TarnPoolInternal, TarnPoolLike } from './tarn-types.js';

/** What a tarn pool's resources are, for what poolscope can follow on them. */
export const TARN_RESOURCE_KINDS = ['opaque', 'pg'] as const;
/**
 * - `opaque` (default): anything (sockets, clients of any kind): checkouts, waits, holds, leaks, double and foreign
 *   releases, counts; no queries, transactions or session ids (the capabilities say so);
 * - `pg`: `pg.Client`s: their queries, transaction status and depth, backend pids and errors are followed as the pg
 *   adapter follows a pg.Pool's clients, and readiness pings run `SELECT 1`.
 */
export type TarnResourceKind = (typeof TARN_RESOURCE_KINDS)[number];

/** `trackTarnPool`'s options: the pool's tracking options, and what its resources are. */
export interface TarnTrackingOptions<R = unknown> extends PoolTrackingOptions {
  /** What the resources are (default `opaque`); see TarnResourceKind. */
  readonly resourceKind?: TarnResourceKind;
  /**
   * A cheap check of one resource for readiness probes (`view.probe()`, readyz): it gets a resource borrowed
   * without a lease and may return a promise; a throw or rejection means not ready. Default: none for `opaque`
   * (readiness then relies on the pool's counters), `SELECT 1` for `pg`.
   */
  readonly pingResource?: (resource: R) => unknown;
}

/**
 * Instruments one existing tarn Pool (tarn 3.x) without changing what it does: poolscope listens to the pool's own
 * events (`acquireRequest`, `acquireSuccess`, `acquireFail`, `release`, `createSuccess`, `createFail`,
 * `destroyRequest`, `destroyFail`) and replaces nothing of it. Every `acquire()` is a lease with its wait, owner and
 * (per the capture policy) the caller's file:line; `release(resource)` ends it; a release of a resource no lease
 * holds is reported as a double release (tarn still returns `false`, as without poolscope). See
 * docs/reference/adapter-tarn.md.
 *
 * Throws POOLSCOPE_ERR_POOL_UNSUPPORTED for an object that is not a tarn Pool, POOLSCOPE_ERR_POOL_ALREADY_TRACKED
 * if poolscope already tracks it, POOLSCOPE_ERR_OPTIONS_INVALID for a bad `resourceKind` or `pingResource`, and the
 * option and name errors of `Inspector.registerPool`.
 *
 * ```ts
 * const pool = new Pool({ create: () => connect(), destroy: (s) => s.end(), min: 0, max: 10 });
 * trackTarnPool(inspector, pool, { name: 'sockets' });
 * ```
 */
export function trackTarnPool<R>(inspector: Inspector, pool: TarnPoolLike<R>, options: TarnTrackingOptions<R>): PoolView {
  const internal = asTarnPool(pool, 'trackTarnPool() needs a tarn Pool (tarn 3.x)');
  refuseTracked(internal, options);
  const kind = resourceKindOf(options?.resourceKind);
  const pingResource = pingOf(options?.pingResource);
  const tracker = attachTarn(inspector, internal, options, { pgResources: kind === 'pg', pingResource });
  return tracker.view;
}

/** Registers `pool` with `inspector` through a TarnPoolAdapter and starts listening; returns the tracker. */
export function attachTarn(
  inspector: Inspector,
  pool: TarnPoolInternal,
  options: PoolTrackingOptions,
  setup: TarnAdapterSetup,
): PoolTracker {
  const adapter = new TarnPoolAdapter(pool, setup);
  const tracker = inspector.registerPool(adapter, options);
  adapter.attach(tracker);
  return tracker;
}

/** True when `pool` has tarn's public API (tarn 3.x `Pool`, or Knex's `KnexPool`). */
export function isTarnPool(pool: unknown): pool is TarnPoolInternal {
  const candidate = pool as Partial<Record<keyof TarnPoolInternal, unknown>> | null | undefined;
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.acquire === 'function' &&
    typeof candidate.release === 'function' &&
    typeof candidate.numUsed === 'function' &&
    typeof candidate.numFree === 'function' &&
    typeof candidate.numPendingAcquires === 'function' &&
    typeof candidate.numPendingCreates === 'function' &&
    typeof candidate.on === 'function' &&
    typeof candidate.removeListener === 'function'
  );
}

/** `pool` as a tarn Pool, or POOLSCOPE_ERR_POOL_UNSUPPORTED starting with `what`. */
export function asTarnPool(pool: unknown, what: string): TarnPoolInternal {
  if (isTarnPool(pool)) return pool;
  throw new PoolTrackingError(
    'POOLSCOPE_ERR_POOL_UNSUPPORTED',
    `${what}: an object with acquire(), release(), numUsed(), numFree(), numPendingAcquires(), numPendingCreates() ` +
      'and on(). For a Knex instance use trackKnex(inspector, knex, options); for a pg.Pool, trackPgPool; for a ' +
      'generic-pool pool, trackGenericPool (poolscope/generic-pool).',
  );
}

/** POOLSCOPE_ERR_POOL_ALREADY_TRACKED when poolscope listens to `pool` already. */
export function refuseTracked(pool: TarnPoolInternal, options: PoolTrackingOptions | undefined): void {
  if ((pool as unknown as Record<symbol, unknown>)[TARN_TRACKED] !== true) return;
  throw new PoolTrackingError(
    'POOLSCOPE_ERR_POOL_ALREADY_TRACKED',
    `This tarn pool is already tracked by poolscope (asked to track it as "${String(options?.name)}"). ` +
      'Track each pool once; to rename it, untrack it first.',
    options?.name,
  );
}

function resourceKindOf(value: unknown): TarnResourceKind {
  if (value === undefined) return 'opaque';
  if (typeof value === 'string' && (TARN_RESOURCE_KINDS as readonly string[]).includes(value)) return value as TarnResourceKind;
  throw new OptionsError('resourceKind', value, `one of ${TARN_RESOURCE_KINDS.map((k) => `'${k}'`).join(', ')}`);
}

function pingOf(value: unknown): ((resource: unknown) => unknown) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new OptionsError('pingResource', value, 'a function (resource) => unknown, e.g. (r) => r.ping()');
  return value as (resource: unknown) => unknown;
}
