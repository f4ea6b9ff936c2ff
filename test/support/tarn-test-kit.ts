/**
 * Shared by the tarn adapter's tests (tarn-adapter.test.ts, tarn-knex.test.ts): tarn's own lists and counts, read
 * the way the tests compare them, and ending a tarn pool a test may have left resources out of.
 */
import type { Pool as TarnPool } from 'tarn';
import type { Inspector, PoolView } from '../../src/index.js';

/** A pool tracked by a fresh inspector. */
export interface Tracked<P> {
  readonly inspector: Inspector;
  readonly pool: P;
  readonly view: PoolView;
  /** What reached the inspector's onError (poolscope's own failures). */
  readonly errors: unknown[];
}

/** tarn's own list of lent resources (to give back what a test left out). */
export function usedOf(pool: TarnPool<unknown>): unknown[] {
  return ((pool as unknown as { used: { resource: unknown }[] }).used ?? []).map((u) => u.resource);
}

/** Gives back every resource tarn lists as lent. */
export function giveBackAll(pool: TarnPool<unknown>): void {
  for (const resource of usedOf(pool)) pool.release(resource);
}

/** Gives back what is out, then destroys the pool. */
export async function endTarn(pool: TarnPool<unknown>): Promise<void> {
  giveBackAll(pool);
  await pool.destroy();
}

/** tarn's counts as the contract compares them (tarn has no total: lent + free + being created). */
export function tarnCounts(pool: TarnPool<unknown>): { total: number; idle: number; waiting: number } {
  return { total: pool.numUsed() + pool.numFree() + pool.numPendingCreates(), idle: pool.numFree(), waiting: pool.numPendingAcquires() };
}
