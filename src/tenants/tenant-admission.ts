import { TenantPoolError } from '../errors.js';
import { systemClock } from '../core/monotonic-clock.js';
import type { EvictionCandidate } from './eviction-policy.js';
import { planEviction } from './eviction-policy.js';
import type { TenantPgPool } from './tenant-pools-config.js';
import type { TenantEntry } from './tenant-pool-entry.js';
import { evictionCandidate } from './tenant-pool-entry.js';
import type { TenantPoolsContext } from './tenant-pools-context.js';
import { assertOpen, noop } from './tenant-pools-context.js';
import { retire } from './tenant-pool-closing.js';

/**
 * Admission of new tenant pools against `maxTenantPools` and the connection budget, one at a time, evicting least
 * recently used idle pools to make room.
 */
export class TenantAdmission<P extends TenantPgPool> {
  readonly #ctx: TenantPoolsContext<P>;
  #admissionTail: Promise<void> = Promise.resolve();

  constructor(ctx: TenantPoolsContext<P>) {
    this.#ctx = ctx;
  }

  /**
   * Reserves the new pool's `max` in the budget, one admission at a time: evicts least recently used idle pools
   * as needed and waits until their connections have ended, so the sum of the `max` of every pool whose
   * connections may exist never passes `connectionBudget`.
   */
  admit(entry: TenantEntry<P>): Promise<void> {
    const ctx = this.#ctx;
    const run = async (): Promise<void> => {
      const { perTenantMax: need, connectionBudget: budget, maxTenantPools } = ctx.options;
      for (;;) {
        assertOpen(ctx, entry.tenantId);
        let openPools = 0;
        const candidates: EvictionCandidate[] = [];
        for (const other of ctx.entries.values()) {
          if (other === entry || other.state === 'admitting') continue;
          openPools += 1;
          if (other.state === 'open') candidates.push(evictionCandidate(other));
        }
        let closingConnections = 0;
        for (const closing of ctx.closing) closingConnections += closing.reserved;
        const plan = planEviction(candidates, {
          openPools,
          maxPools: maxTenantPools,
          reservedConnections: ctx.reserved,
          closingConnections,
          connectionBudget: budget,
          needConnections: need,
        });
        if (!plan.ok) throw this.#refusal(entry.tenantId, plan.failure, openPools);
        const t = systemClock.now();
        for (const tenantId of plan.evict) {
          const victim = ctx.entries.get(tenantId);
          if (victim === undefined) continue;
          ctx.counters.evictions += 1;
          ctx.bus.emit({
            type: 'tenant-evicted',
            tenantId,
            poolName: victim.poolName,
            reason: plan.reason ?? 'pool-limit',
            forTenantId: entry.tenantId,
            idleMillis: Math.round(t - victim.lastUsedAt),
          });
          retire(ctx, victim, 'evicted').catch(ctx.onError);
        }
        // Wait for the ended pools' connections to be gone (bounded: a closing pool with a lease out may take long).
        const deadline = systemClock.now() + Math.max(ctx.options.connectionTimeoutMillis, 1000);
        while (ctx.reserved + need > budget && ctx.closing.size > 0 && systemClock.now() < deadline) {
          await this.#anyClosingEnded(deadline - systemClock.now());
        }
        if (ctx.reserved + need > budget) {
          if (ctx.closing.size > 0) throw this.#refusal(entry.tenantId, 'connection-budget', openPools);
          continue; // plan again (not expected: admissions are serialised)
        }
        assertOpen(ctx, entry.tenantId);
        entry.reserved = need;
        ctx.reserved += need;
        entry.state = 'opening';
        return;
      }
    };
    const result = this.#admissionTail.then(run);
    this.#admissionTail = result.then(noop, noop);
    return result;
  }

  #anyClosingEnded(timeoutMillis: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, timeoutMillis));
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      for (const entry of this.#ctx.closing) entry.closing?.then(done, done);
    });
  }

  #refusal(tenantId: string, failure: 'pool-limit' | 'connection-budget', openPools: number): TenantPoolError {
    const ctx = this.#ctx;
    const { maxTenantPools, connectionBudget, perTenantMax } = ctx.options;
    if (failure === 'pool-limit') {
      ctx.counters.limitRejections += 1;
      return new TenantPoolError(
        'POOLSCOPE_ERR_TENANT_LIMIT_REACHED',
        tenantId,
        `Cannot open a pool for tenant "${tenantId}": ${openPools} of maxTenantPools ${maxTenantPools} tenant pools are open and ` +
          'every one has a connection checked out or a caller waiting, so none can be evicted. Raise maxTenantPools, ' +
          'release connections sooner, or retry.',
      );
    }
    ctx.counters.budgetRejections += 1;
    return new TenantPoolError(
      'POOLSCOPE_ERR_TENANT_BUDGET_EXHAUSTED',
      tenantId,
      `Cannot open a pool for tenant "${tenantId}": it needs ${perTenantMax} connections and ${ctx.reserved} of ` +
        `connectionBudget ${connectionBudget} are held by tenant pools that are busy or still closing, so none can be ` +
        'evicted to make room. Raise connectionBudget, lower perTenantMax, or retry when pools go idle.',
    );
  }
}
