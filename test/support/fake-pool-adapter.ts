import type { AdapterCapabilities, PoolAdapter } from '../../src/core/pool-adapter.js';
import type { PoolConfigSnapshot } from '../../src/core/pool-snapshot.js';

/** Counters a test can set on a FakePoolAdapter. */
export interface FakePoolCounts {
  total?: number;
  idle?: number;
  waiting?: number;
  max?: number;
  min?: number;
}

/**
 * A `PoolAdapter` with counters the test sets by hand, and a count of `detach()` calls. It wraps nothing; tests
 * drive the tracker's adapter-facing methods themselves.
 */
export class FakePoolAdapter implements PoolAdapter {
  readonly driver = 'fake';
  /** Absent: every capability (as the pg adapter). */
  capabilities: AdapterCapabilities | undefined = undefined;
  total = 0;
  idle = 0;
  waiting = 0;
  maxSize = 10;
  minSize = 0;
  detachCalls = 0;
  /** When set, `detach()` throws it (to test that trackers contain adapter failures). */
  detachError: Error | undefined = undefined;

  constructor(counts: FakePoolCounts = {}) {
    this.set(counts);
  }

  /** Sets any of the counters at once. */
  set(counts: FakePoolCounts): this {
    if (counts.total !== undefined) this.total = counts.total;
    if (counts.idle !== undefined) this.idle = counts.idle;
    if (counts.waiting !== undefined) this.waiting = counts.waiting;
    if (counts.max !== undefined) this.maxSize = counts.max;
    if (counts.min !== undefined) this.minSize = counts.min;
    return this;
  }

  totalCount(): number {
    return this.total;
  }

  idleCount(): number {
    return this.idle;
  }

  waitingCount(): number {
    return this.waiting;
  }

  max(): number {
    return this.maxSize;
  }

  min(): number {
    return this.minSize;
  }

  config(): PoolConfigSnapshot {
    return { max: this.maxSize, min: this.minSize, database: 'fake' };
  }

  detach(): void {
    this.detachCalls += 1;
    if (this.detachError !== undefined) throw this.detachError;
  }
}
