import { systemClock } from '../core/monotonic-clock.js';
import { isBusy } from './eviction-policy.js';
import type { TenantPgPool } from './tenant-pools-config.js';
import { acquiresOf, evictionCandidate } from './tenant-pool-entry.js';
import type { TenantPoolsContext } from './tenant-pools-context.js';
import { retire } from './tenant-pool-closing.js';

/**
 * Closes tenant pools unused for `idleTenantTimeoutMillis` that have no lease out (`TenantPools.sweepIdle()`).
 * Returns the tenant ids closed. Never throws.
 */
export function sweepIdleTenants<P extends TenantPgPool>(ctx: TenantPoolsContext<P>): string[] {
  const closed: string[] = [];
  if (ctx.closed) return closed;
  const timeout = ctx.options.idleTenantTimeoutMillis;
  if (timeout <= 0) return closed;
  try {
    const t = systemClock.now();
    for (const entry of [...ctx.entries.values()]) {
      if (entry.state !== 'open' || entry.pool === undefined) continue;
      const acquires = acquiresOf(entry);
      if (isBusy(evictionCandidate(entry)) || acquires !== entry.lastAcquires) {
        entry.lastUsedAt = t;
        entry.lastAcquires = acquires;
        continue;
      }
      const idleMillis = t - entry.lastUsedAt;
      if (idleMillis < timeout) continue;
      ctx.counters.idleClosed += 1;
      ctx.bus.emit({
        type: 'tenant-evicted',
        tenantId: entry.tenantId,
        poolName: entry.poolName,
        reason: 'idle-timeout',
        forTenantId: null,
        idleMillis: Math.round(idleMillis),
      });
      retire(ctx, entry, 'idle-timeout').catch(ctx.onError);
      closed.push(entry.tenantId);
    }
  } catch (error) {
    ctx.onError(error);
  }
  return closed;
}
