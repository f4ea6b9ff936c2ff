import type { TenantPgPool } from './tenant-pools-config.js';

// ---- internal views of pg (structural; never imported) ----------------------------------------------------------

export interface ClientView {
  query(text: string, values?: readonly unknown[]): Promise<unknown>;
  release(err?: Error | boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

export interface PoolView {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  /** pg-pool's connect; called in its callback form only, through guardedCheckout. */
  connect(...args: never[]): unknown;
  query(text: string, values?: readonly unknown[]): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'remove', listener: (client: unknown) => void): unknown;
  removeListener(event: 'remove', listener: (client: unknown) => void): unknown;
}

export function view(pool: TenantPgPool): PoolView {
  return pool as unknown as PoolView;
}
