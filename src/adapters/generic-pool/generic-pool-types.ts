/**
 * Structural types for generic-pool 3.x. poolscope never imports generic-pool: any object of this shape can be
 * tracked, and generic-pool stays an optional peer dependency.
 */

/** The events generic-pool emits (the only ones: there is no event for a checkout or a release). */
export type GenericPoolEvent = 'factoryCreateError' | 'factoryDestroyError';

/** What `trackGenericPool` accepts: a generic-pool `Pool` (what `createPool(factory, options)` returns). */
export interface GenericPoolLike<R = unknown> {
  acquire(priority?: number): PromiseLike<R>;
  release(resource: R): PromiseLike<void>;
  destroy(resource: R): PromiseLike<void>;
  isBorrowedResource(resource: R): boolean;
  readonly size: number;
  readonly available: number;
  readonly borrowed: number;
  readonly pending: number;
  readonly max: number;
  readonly min: number;
  on(event: GenericPoolEvent, listener: (error: unknown) => void): unknown;
  removeListener(event: GenericPoolEvent, listener: (error: unknown) => void): unknown;
}

// ---- internal views (what the adapter reads and wraps) -----------------------------------------------------------

/** The factory generic-pool keeps (`pool._factory`): it calls `create`, `destroy` and `validate` on it each time. */
export interface GenericPoolFactoryInternal {
  create(): unknown;
  destroy(resource: unknown): unknown;
  validate?(resource: unknown): unknown;
}

/** generic-pool's resolved options (`pool._config`), read through an allowlist. */
export interface GenericPoolConfigInternal {
  readonly max?: number;
  readonly min?: number;
  readonly acquireTimeoutMillis?: number;
  readonly destroyTimeoutMillis?: number;
  readonly maxWaitingClients?: number;
  readonly idleTimeoutMillis?: number;
  readonly softIdleTimeoutMillis?: number;
  readonly evictionRunIntervalMillis?: number;
  readonly numTestsPerEvictionRun?: number;
  readonly priorityRange?: number;
  readonly testOnBorrow?: boolean;
  readonly testOnReturn?: boolean;
  readonly fifo?: boolean;
  readonly autostart?: boolean;
}

export interface GenericPoolInternal {
  acquire: (priority?: number) => PromiseLike<unknown>;
  release: (resource: unknown) => PromiseLike<void>;
  destroy: (resource: unknown) => PromiseLike<void>;
  isBorrowedResource(resource: unknown): boolean;
  readonly size: number;
  readonly available: number;
  readonly borrowed: number;
  readonly pending: number;
  readonly max: number;
  readonly min: number;
  on(event: GenericPoolEvent, listener: (error: unknown) => void): unknown;
  removeListener(event: GenericPoolEvent, listener: (error: unknown) => void): unknown;
  _factory?: GenericPoolFactoryInternal;
  readonly _config?: GenericPoolConfigInternal;
}
