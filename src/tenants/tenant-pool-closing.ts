import type { TenantPgPool } from './tenant-pools-config.js';
import type { TenantCloseReason } from './tenant-pool-events.js';
import type { TenantEntry } from './tenant-pool-entry.js';
import type { TenantPoolsContext } from './tenant-pools-context.js';
import { noop } from './tenant-pools-context.js';
import { view, type PoolView } from './tenant-pg-view.js';
import { endPool } from '../postgres/pg-pool-ending.js';

/** Taking tenant pools out of service: closing a tenant, retiring one entry, freeing its budget share. */

export async function closeTenant<P extends TenantPgPool>(ctx: TenantPoolsContext<P>, tenantId: string, reason: TenantCloseReason): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const entry = ctx.entries.get(tenantId);
    if (entry === undefined) break;
    if (entry.state === 'admitting' || entry.state === 'opening') {
      await entry.ready.catch(noop);
      continue;
    }
    await retire(ctx, entry, reason);
  }
  const closing = [...ctx.closing].filter((entry) => entry.tenantId === tenantId).map((entry) => entry.closing);
  await Promise.all(closing);
}

/**
 * Takes the entry out of service now (untracked, no longer handed out) and ends its pool; its budget share is
 * freed once `end()` has resolved, i.e. once its connections are closed. Never rejects.
 */
export function retire<P extends TenantPgPool>(ctx: TenantPoolsContext<P>, entry: TenantEntry<P>, reason: TenantCloseReason): Promise<void> {
  if (entry.closing !== undefined) return entry.closing;
  entry.state = 'closing';
  if (ctx.entries.get(entry.tenantId) === entry) ctx.entries.delete(entry.tenantId);
  ctx.closing.add(entry);
  const tracker = entry.tracker;
  entry.tracker = undefined;
  if (tracker !== undefined && ctx.inspector.pool(entry.poolName) === tracker) {
    try {
      ctx.inspector.untrack(entry.poolName);
    } catch (error) {
      ctx.onError(error);
    }
  }
  const pool = entry.pool;
  entry.closing = (async () => {
    try {
      if (pool !== undefined) {
        await queueServed(view(pool), ctx.options.connectionTimeoutMillis);
        await endPool(view(pool));
      }
    } catch (error) {
      ctx.onError(error);
    } finally {
      release(ctx, entry);
      ctx.counters.closed += 1;
      ctx.bus.emit({ type: 'tenant-closed', tenantId: entry.tenantId, poolName: entry.poolName, reason });
    }
  })();
  return entry.closing;
}

/** How long a retiring pool waits for its queue when connectionTimeoutMillis is 0 (callers would wait forever). */
const UNBOUNDED_QUEUE_WAIT_MILLIS = 30_000;

/**
 * Resolves once no caller is queued on `pool` (each was handed a connection, or gave up at its own timeout), bounded
 * by `timeoutMillis`. pg-pool's `end()` never serves its queue: a caller queued before it (a query started in the
 * same tick as `closeTenant`, or waiting for a full pool) would wait out its connection timeout and fail. The entry
 * is out of service already, so no new caller joins the queue.
 */
function queueServed(pool: PoolView, timeoutMillis: number): Promise<void> {
  if (pool.waitingCount === 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      pool.removeListener('acquire', check);
      resolve();
    };
    const check = (): void => {
      if (pool.waitingCount === 0) done();
    };
    const timer = setTimeout(done, timeoutMillis > 0 ? timeoutMillis : UNBOUNDED_QUEUE_WAIT_MILLIS);
    timer.unref();
    pool.on('acquire', check);
  });
}

/** Frees the entry's budget share and forgets it. */
export function release<P extends TenantPgPool>(ctx: TenantPoolsContext<P>, entry: TenantEntry<P>): void {
  ctx.closing.delete(entry);
  if (ctx.entries.get(entry.tenantId) === entry) ctx.entries.delete(entry.tenantId);
  ctx.reserved -= entry.reserved;
  entry.reserved = 0;
  entry.state = 'closing';
}
