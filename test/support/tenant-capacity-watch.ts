/**
 * For callers refused LIMIT_REACHED / BUDGET_EXHAUSTED: waits for the next event after which a retry may succeed
 * (a tenant lease released, a tenant pool closed or broken) instead of sleeping a fixed backoff, and retries.
 */
import type pg from 'pg';
import { TenantPoolError } from '../../src/errors.js';
import type { TenantPools } from '../../src/tenants/tenant-pools.js';
import { eventOnce } from './wait-for.js';

export class TenantCapacityWatch {
  #freed = 0;
  readonly #waiters = new Set<(value: void) => void>();

  constructor(tenants: TenantPools<pg.Pool>) {
    const freed = (): void => {
      this.#freed += 1;
      for (const wake of [...this.#waiters]) wake();
    };
    tenants.inspector.on('lease-released', freed);
    tenants.on('tenant-closed', freed);
    tenants.on('tenant-broken', freed);
  }

  /** Take it before an attempt: `freedSince(mark)` then also counts what was freed while the attempt ran. */
  mark(): number {
    return this.#freed;
  }

  /** Resolves once something was freed after `mark` (at once if it already was); rejects after the bound. */
  async freedSince(mark: number, timeoutMillis = 10_000): Promise<void> {
    if (this.#freed > mark) return;
    const listen = (listener: (value: void) => void): (() => void) => {
      this.#waiters.add(listener);
      return () => this.#waiters.delete(listener);
    };
    await eventOnce<void>(listen, 'a tenant lease released or a tenant pool closed', { timeoutMillis });
  }

  /**
   * Runs `fn`, retrying while the tenant limits refuse it (LIMIT_REACHED, BUDGET_EXHAUSTED), each retry once a lease
   * was released or a pool closed: what a caller does with those errors. Counts the refusals in `counter`.
   */
  async retryWhileBusy<T>(fn: () => Promise<T>, counter: { refusals: number }, maxAttempts = 200): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const mark = this.mark();
      try {
        return await fn();
      } catch (error) {
        const code = error instanceof TenantPoolError ? error.code : undefined;
        const busy = code === 'POOLSCOPE_ERR_TENANT_LIMIT_REACHED' || code === 'POOLSCOPE_ERR_TENANT_BUDGET_EXHAUSTED';
        if (!busy || attempt >= maxAttempts) throw error;
        counter.refusals += 1;
        await this.freedSince(mark);
      }
    }
  }
}
