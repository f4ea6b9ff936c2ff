import type { Lease } from '../../core/lease.js';

/**
 * The leases of a pool that takes the resource itself back (`pool.release(resource)`: tarn, generic-pool), unlike
 * pg-pool, whose every checkout has a release function of its own. A release is matched to its lease by the
 * resource; the last lease of each resource tells a double release (of a resource lent before) from the release of
 * something this pool never lent. Shared by the tarn and generic-pool adapters (src/adapters/tarn, generic-pool).
 */
export class ResourceLeases {
  /** The lease holding each lent resource (a Map: resources may in principle be any value). */
  readonly #held = new Map<unknown, Lease>();
  /** The last lease of each object resource, once released. */
  readonly #last = new WeakMap<object, Lease>();
  /** Resources the pool created that no lease has had yet. */
  readonly #fresh = new WeakSet<object>();

  /** Leases held now. */
  get size(): number {
    return this.#held.size;
  }

  /** `lease` got `resource`. */
  lent(resource: unknown, lease: Lease): void {
    this.#held.set(resource, lease);
  }

  /** The lease holding `resource` now, if any. */
  holderOf(resource: unknown): Lease | undefined {
    return this.#held.get(resource);
  }

  /** `resource` came back: forgets its holder (returned) and remembers it as the resource's last lease. */
  returned(resource: unknown): Lease | undefined {
    const lease = this.#held.get(resource);
    if (lease === undefined) return undefined;
    this.#held.delete(resource);
    if (isObject(resource)) this.#last.set(resource, lease);
    return lease;
  }

  /** The last lease that held `resource` and released it (for a release of a resource not lent now). */
  lastLeaseOf(resource: unknown): Lease | undefined {
    return isObject(resource) ? this.#last.get(resource) : undefined;
  }

  /** The pool created `resource`. */
  created(resource: unknown): void {
    if (isObject(resource)) this.#fresh.add(resource);
  }

  /** True (once) when `resource` was created by the pool and not lent before. */
  takeFresh(resource: unknown): boolean {
    return isObject(resource) && this.#fresh.delete(resource);
  }

  /** Forgets every lease (at detach). */
  clear(): void {
    this.#held.clear();
  }
}

/** The identity a lease keeps of its resource (`Lease.connection` is an object). Resources are objects in practice. */
export function connectionOf(resource: unknown): object {
  return isObject(resource) ? resource : Object(resource);
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
