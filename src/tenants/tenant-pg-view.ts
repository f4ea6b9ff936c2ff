import type { PgEndablePool, PgSqlRunner } from '../postgres/pg-client-shapes.js';
import type { TenantPgPool } from './tenant-pools-config.js';

// ---- internal views of pg (structural; never imported): the shared shapes of src/postgres, plus what tenants use --

export interface ClientView extends PgSqlRunner {
  query(text: string, values?: readonly unknown[]): Promise<unknown>;
  release(err?: Error | boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

export interface PoolView extends PgSqlRunner, PgEndablePool {
  readonly idleCount: number;
  readonly waitingCount: number;
  query(text: string, values?: readonly unknown[]): Promise<unknown>;
  /** pg-pool's connect; called in its callback form only, through guardedCheckout. */
  connect(...args: never[]): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'remove', listener: (client: unknown) => void): unknown;
  on(event: 'acquire', listener: (client: unknown) => void): unknown;
  removeListener(event: 'remove' | 'acquire', listener: (client: unknown) => void): unknown;
}

export function view(pool: TenantPgPool): PoolView {
  return pool as unknown as PoolView;
}
