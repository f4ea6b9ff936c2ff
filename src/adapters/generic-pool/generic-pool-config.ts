import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import type { GenericPoolConfigInternal } from './generic-pool-types.js';

/** generic-pool's settings as poolscope shows them (an allowlist of plain numbers and flags). */
export interface GenericPoolConfigSnapshot extends PoolConfigSnapshot {
  readonly acquireTimeoutMillis?: number;
  readonly destroyTimeoutMillis?: number;
  readonly maxWaitingClients?: number;
  readonly softIdleTimeoutMillis?: number;
  readonly evictionRunIntervalMillis?: number;
  readonly numTestsPerEvictionRun?: number;
  readonly priorityRange?: number;
  readonly testOnBorrow?: boolean;
  readonly testOnReturn?: boolean;
  readonly fifo?: boolean;
  readonly autostart?: boolean;
}

const NUMBERS = [
  'acquireTimeoutMillis',
  'destroyTimeoutMillis',
  'maxWaitingClients',
  'idleTimeoutMillis',
  'softIdleTimeoutMillis',
  'evictionRunIntervalMillis',
  'numTestsPerEvictionRun',
  'priorityRange',
] as const;
const FLAGS = ['testOnBorrow', 'testOnReturn', 'fifo', 'autostart'] as const;

/**
 * generic-pool's resolved options (`pool._config`, an allowlist): `max`, `min`, `acquireTimeoutMillis` (also shown as
 * `connectionTimeoutMillis`, the role pg's setting of that name plays), `destroyTimeoutMillis`, `maxWaitingClients`,
 * `idleTimeoutMillis`, `softIdleTimeoutMillis`, `evictionRunIntervalMillis`, `numTestsPerEvictionRun`,
 * `priorityRange`, `testOnBorrow`, `testOnReturn`, `fifo`, `autostart`.
 */
export function genericPoolConfigSnapshot(config: GenericPoolConfigInternal | undefined, max: number, min: number): GenericPoolConfigSnapshot {
  const out: Record<string, unknown> = { max, min };
  if (config === null || typeof config !== 'object') return out as GenericPoolConfigSnapshot;
  for (const key of NUMBERS) {
    const value = config[key];
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  }
  if (typeof out.acquireTimeoutMillis === 'number') out.connectionTimeoutMillis = out.acquireTimeoutMillis;
  for (const key of FLAGS) {
    const value = config[key];
    if (typeof value === 'boolean') out[key] = value;
  }
  return out as GenericPoolConfigSnapshot;
}
