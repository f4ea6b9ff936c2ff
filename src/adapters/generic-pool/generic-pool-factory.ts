import type { GenericPoolFactoryInternal, GenericPoolInternal } from './generic-pool-types.js';

/** What the factory delegate reports: a resource created, one about to be destroyed. Neither may throw. */
export interface FactoryObserver {
  created(resource: unknown): void;
  destroying(resource: unknown): void;
}

/** A factory delegation in place; `undo()` puts the pool's own factory back (unless someone replaced it since). */
export interface FactoryDelegation {
  undo(): void;
}

/**
 * generic-pool calls `this._factory.create()` / `.destroy(r)` / `.validate(r)` each time: a delegate in its place
 * calls the same factory (as the receiver, as generic-pool would) and tells `observer`. `validate` is delegated only
 * if the factory has one (generic-pool checks for it). A factory that is not there as expected is left alone
 * (undefined: no create or destroy counts then).
 */
export function delegateFactory(pool: GenericPoolInternal, observer: FactoryObserver): FactoryDelegation | undefined {
  const original = pool._factory;
  if (original === null || typeof original !== 'object' || typeof original.create !== 'function' || typeof original.destroy !== 'function') {
    return undefined;
  }
  const delegate: GenericPoolFactoryInternal = {
    create: () => {
      const made = original.create();
      // A native promise only: a thenable of another kind might run again on a second then().
      if (made instanceof Promise) made.then(observer.created, noop);
      return made;
    },
    destroy: (resource) => {
      observer.destroying(resource);
      return original.destroy(resource);
    },
  };
  if (typeof original.validate === 'function') {
    const validate = original.validate;
    delegate.validate = (resource) => validate.call(original, resource);
  }
  const hadOwn = Object.hasOwn(pool, '_factory');
  pool._factory = delegate;
  return {
    undo: () => {
      if (pool._factory !== delegate) return;
      if (hadOwn) pool._factory = original;
      else delete pool._factory;
    },
  };
}

function noop(): void {
  // the pool handles the factory's failure (factoryCreateError)
}
