/**
 * The pool functions the mysql2 adapter replaces with its own (own properties of the one pool instance, never the
 * prototype), and how they are put back: mysql2's function restored if it was an own property, else the own one
 * deleted, and a function someone else installed since left in place.
 */
export class InstalledPoolFunctions<K extends string> {
  readonly #installed = new Map<K, { original: unknown; hadOwn: boolean; wrapper: unknown }>();
  readonly #target: Record<string, unknown>;

  constructor(pool: object) {
    this.#target = pool as Record<string, unknown>;
  }

  install(key: K, wrapper: (...args: never[]) => unknown): void {
    const target = this.#target;
    this.#installed.set(key, { original: target[key], hadOwn: Object.hasOwn(target, key), wrapper });
    target[key] = wrapper;
  }

  restoreAll(): void {
    const target = this.#target;
    for (const [key, { original, hadOwn, wrapper }] of this.#installed) {
      if (target[key] !== wrapper) continue; // someone replaced it since: leave theirs in place
      if (hadOwn) target[key] = original;
      else delete target[key];
    }
    this.#installed.clear();
  }
}

/**
 * A wrapper of mysql2's own `pool.query()` / `pool.execute()` that counts itself in while mysql2's function runs
 * (they call getConnection synchronously): the checkout made meanwhile is a one-shot, whose connection mysql2
 * releases itself.
 */
export function oneShotMarker(original: (...args: unknown[]) => unknown, depth: { value: number }): (...args: never[]) => unknown {
  return function poolscopeOneShot(this: unknown): unknown {
    depth.value += 1;
    try {
      // eslint-disable-next-line prefer-rest-params -- mysql2's exact arguments
      return Reflect.apply(original, this, arguments);
    } finally {
      depth.value -= 1;
    }
  };
}
