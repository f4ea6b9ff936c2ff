import type pg from 'pg';
import type { Inspector } from '../core/inspector.js';
import type { PoolTrackingOptions } from '../core/pool-tracker-options.js';
import type { PgPoolLike } from '../adapters/pg/pg-types.js';
import type { PgPoolConstructor } from './pg-pool-loader.js';

/** What TestPools and createTestPool take and give: the options of a set of pools and of one pool, and a pool. */

/** What TestPools needs of a pool beyond what trackPgPool reads: `end()` and pg-pool's events. */
export interface TestPoolLike extends PgPoolLike {
  end(): Promise<void>;
}

/** Settings shared by every pool of a TestPools. */
export interface TestPoolsOptions<P extends TestPoolLike = pg.Pool> {
  /** Connection string of the test database (also what `assertNoLeakedConnections({ pools })` reads the server with). */
  readonly connectionString?: string;
  /** pg.Pool settings for every pool (`max`, `idleTimeoutMillis`, ...); `application_name` is set by TestPools. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** The pool class. Default: `pg.Pool`, loaded with `await import('pg')`. */
  readonly Pool?: PgPoolConstructor<P>;
  /** Track the pools in this inspector (left open by cleanup). Default: an inspector of its own, closed by cleanup. */
  readonly inspector?: Inspector;
  /**
   * The first part of the application_names, e.g. the test's name: `<label>/<random id>/<pool name>` (63 bytes at
   * most, printable ASCII). Default `poolscope-test`.
   */
  readonly label?: string;
  /** trackPgPool options for every pool. Default `{ stackCapture: 'always' }`, so every lease names its file:line. */
  readonly tracking?: Omit<PoolTrackingOptions, 'name' | 'applicationName'>;
  /** How long cleanup() lets checked-out clients come back before it destroys them. Default 1000. */
  readonly closeGraceMillis?: number;
}

/** Per-pool settings of `TestPools.create()`. */
export interface TestPoolOptions {
  /** Pool name in the inspector (and last part of its application_name). Default `test`, then `test-2`, ... */
  readonly name?: string;
  /** pg.Pool settings for this pool (over the TestPools' `config`). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** trackPgPool options for this pool (over the TestPools' `tracking`). */
  readonly tracking?: Omit<PoolTrackingOptions, 'name' | 'applicationName'>;
}
