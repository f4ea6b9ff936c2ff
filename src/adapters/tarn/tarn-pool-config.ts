import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import type { TarnPoolInternal } from './tarn-types.js';

/** tarn's settings as poolscope shows them (an allowlist of plain numbers and flags). */
export interface TarnConfigSnapshot extends PoolConfigSnapshot {
  readonly acquireTimeoutMillis?: number;
  readonly createTimeoutMillis?: number;
  readonly destroyTimeoutMillis?: number;
  readonly reapIntervalMillis?: number;
  readonly createRetryIntervalMillis?: number;
  readonly propagateCreateError?: boolean;
}

/** tarn's numeric settings shown (its own fields of the same names). */
const TARN_NUMBERS = [
  'max',
  'min',
  'idleTimeoutMillis',
  'acquireTimeoutMillis',
  'createTimeoutMillis',
  'destroyTimeoutMillis',
  'reapIntervalMillis',
  'createRetryIntervalMillis',
] as const;

/**
 * tarn's settings (its own fields, an allowlist) after `extra` (Knex's connection settings): `max`, `min`,
 * `idleTimeoutMillis`, `acquireTimeoutMillis` (also shown as `connectionTimeoutMillis`, the role pg's setting of that
 * name plays), `createTimeoutMillis`, `destroyTimeoutMillis`, `reapIntervalMillis`, `createRetryIntervalMillis`,
 * `propagateCreateError`.
 */
export function tarnConfigSnapshot(pool: TarnPoolInternal, extra: PoolConfigSnapshot = {}): TarnConfigSnapshot {
  const out: Record<string, unknown> = { ...extra };
  for (const key of TARN_NUMBERS) {
    const value = pool[key];
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  }
  if (typeof out.acquireTimeoutMillis === 'number') out.connectionTimeoutMillis = out.acquireTimeoutMillis;
  if (typeof pool.propagateCreateError === 'boolean') out.propagateCreateError = pool.propagateCreateError;
  return out as TarnConfigSnapshot;
}
