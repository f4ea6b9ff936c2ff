import type { TarnPoolInternal } from './tarn-types.js';

/**
 * True when tarn lists `resource` among those it lent (its `used` list, which `release()` searches): read before tarn
 * runs its own check, to tell a resource lent before tracking began (or to poolscope's ping) from one it never lent.
 * A pool without that list (not tarn 3's) lends nothing poolscope did not see.
 */
export function tarnLends(pool: TarnPoolInternal, resource: unknown): boolean {
  const used = pool.used;
  if (!Array.isArray(used)) return false;
  for (const record of used as readonly { resource?: unknown }[]) if (record?.resource === resource) return true;
  return false;
}
