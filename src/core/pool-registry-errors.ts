import { PoolNameError, PoolTrackingError } from '../errors.js';

/**
 * The errors of an inspector's registries (connection pools, worker pools): a name already taken, a name not
 * tracked. `kind` names the registry in the message (`pool`, `worker pool`), `untrack` the call that frees a name.
 */

/** POOLSCOPE_ERR_POOL_DUPLICATE_NAME for `name`. */
export function duplicatePoolNameError(kind: string, name: string, untrack: string): PoolNameError {
  return new PoolNameError(
    'POOLSCOPE_ERR_POOL_DUPLICATE_NAME',
    name,
    `A ${kind} named "${name}" is already tracked by this inspector. Give each ${kind} a unique name ` +
      `(e.g. "${name}-2"), or ${untrack}("${name}") first.`,
  );
}

/** POOLSCOPE_ERR_POOL_NOT_TRACKED for `name`, listing the names that are tracked. */
export function poolNotTrackedError(kind: string, name: string, tracked: readonly string[]): PoolTrackingError {
  return new PoolTrackingError(
    'POOLSCOPE_ERR_POOL_NOT_TRACKED',
    `No ${kind} named "${name}" is tracked. Tracked ${kind}s: ${tracked.join(', ') || 'none'}.`,
    name,
  );
}
