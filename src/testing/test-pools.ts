import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { OptionsError, PoolscopeError, messageOf } from '../errors.js';
import { Inspector } from '../core/inspector.js';
import { generatedApplicationName, trackPgPool } from '../adapters/pg/pg-adapter.js';
import { endPool } from '../postgres/pg-pool-ending.js';
import type { PgEndablePool } from '../postgres/pg-client-shapes.js';
import { loadPgPool } from './pg-pool-loader.js';
import type { TestPoolLike, TestPoolOptions, TestPoolsOptions } from './test-pool-options.js';


/** One pool of a TestPools. */
export interface TestPool<P extends TestPoolLike = pg.Pool> {
  readonly pool: P;
  /** Its name in the inspector. */
  readonly name: string;
  /** The application_name of its connections (unique to this TestPools). */
  readonly applicationName: string;
  readonly inspector: Inspector;
  /** The TestPools it belongs to. */
  readonly testPools: TestPools<P>;
  /** Closes every pool of its TestPools (see `TestPools.cleanup`). Idempotent. */
  cleanup(): Promise<void>;
}

/**
 * Isolated, tracked pg pools for tests: each pool gets an application_name unique to its TestPools (so the
 * server's sessions of one test are told apart from every other's), is tracked by an inspector (so leases, with
 * their file:line, can be checked by `assertNoLeakedConnections`), and is closed by `cleanup()`, even when the
 * test leaked a client.
 */

interface PoolRecord<P> {
  readonly name: string;
  readonly pool: P;
  readonly applicationName: string;
  /** Backend PIDs of the pool's open connections (from its 'connect' and 'remove' events). */
  readonly pids: Map<object, number>;
  /** Clients checked out now (from its 'acquire' and 'release' events). */
  readonly out: Set<object>;
}

/** pg-pool's events, as TestPools listens to them. */
interface PoolEvents {
  on(event: 'connect' | 'remove' | 'acquire', listener: (client: ClientView) => void): unknown;
  on(event: 'release', listener: (err: unknown, client: ClientView) => void): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  readonly ending?: boolean;
}

interface ClientView {
  readonly processID?: number | null;
  release?: (err?: unknown) => void;
}

const DEFAULT_LABEL = 'poolscope-test';
const DEFAULT_CLOSE_GRACE_MILLIS = 1000;

/**
 * A set of isolated pools for one test (or one suite), closed together.
 *
 * ```ts
 * const pools = new TestPools({ connectionString: process.env.DATABASE_URL, label: 'orders' });
 * const pool = (await pools.create({ name: 'main' })).pool;
 * // ... the test ...
 * await assertNoLeakedConnections({ pools });
 * await pools.cleanup();
 * ```
 */
export class TestPools<P extends TestPoolLike = pg.Pool> {
  /** The inspector tracking the pools. */
  readonly inspector: Inspector;
  /** The connection string the pools use, if one was given. */
  readonly connectionString: string | undefined;
  /** The random part of this TestPools' application_names. */
  readonly id: string;
  readonly #options: TestPoolsOptions<P>;
  readonly #ownInspector: boolean;
  readonly #label: string;
  readonly #closeGraceMillis: number;
  readonly #records: PoolRecord<P>[] = [];
  #cleanup: Promise<void> | undefined;

  constructor(options: TestPoolsOptions<P> = {}) {
    if (options === null || typeof options !== 'object') {
      throw new OptionsError('options', options, 'an object { connectionString?, config?, Pool?, inspector?, label? } (or nothing)');
    }
    const { connectionString, label, Pool, inspector, config } = options;
    if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
      throw new OptionsError('connectionString', connectionString, "a non-empty string such as 'postgres://user@host:5432/db'");
    }
    if (label !== undefined && (typeof label !== 'string' || label.trim() === '')) {
      throw new OptionsError('label', label, 'a non-empty string, e.g. the test name');
    }
    if (Pool !== undefined && typeof Pool !== 'function') throw new OptionsError('Pool', Pool, 'a pool class such as pg.Pool');
    if (inspector !== undefined && !(inspector instanceof Inspector)) {
      throw new OptionsError('inspector', inspector, 'an Inspector (new Inspector())');
    }
    if (config !== undefined && (config === null || typeof config !== 'object')) {
      throw new OptionsError('config', config, 'an object of pg.Pool settings');
    }
    const grace = options.closeGraceMillis ?? DEFAULT_CLOSE_GRACE_MILLIS;
    if (typeof grace !== 'number' || !Number.isFinite(grace) || grace < 0) {
      throw new OptionsError('closeGraceMillis', grace, 'a finite number of milliseconds >= 0');
    }
    this.#options = options;
    this.#label = label ?? DEFAULT_LABEL;
    this.#closeGraceMillis = grace;
    this.connectionString = connectionString;
    this.id = randomBytes(4).toString('hex');
    this.#ownInspector = inspector === undefined;
    this.inspector = inspector ?? new Inspector({ historyIntervalMillis: 0, alerts: false });
  }

  /** True once cleanup() was called. */
  get closed(): boolean {
    return this.#cleanup !== undefined;
  }

  /** Names of the pools created, in order. */
  get poolNames(): string[] {
    return this.#records.map((r) => r.name);
  }

  /** The application_names of the pools created (what the server shows for their connections). */
  get applicationNames(): string[] {
    return this.#records.map((r) => r.applicationName);
  }

  /** The application_name a pool named `name` gets (or got). */
  applicationNameOf(name: string): string {
    return generatedApplicationName(this.#label, this.id, name);
  }

  /** Backend PIDs of the connections the pools have open now (checked out or idle). */
  connectionPids(): Set<number> {
    const pids = new Set<number>();
    for (const record of this.#records) for (const pid of record.pids.values()) pids.add(pid);
    return pids;
  }

  /** Creates a pool, names its connections, tracks it. Rejects after cleanup() and for a duplicate name. */
  async create(options: TestPoolOptions = {}): Promise<TestPool<P>> {
    this.#assertOpen();
    if (options === null || typeof options !== 'object') throw new OptionsError('options', options, 'an object { name?, config?, tracking? }');
    const name = options.name ?? (this.#records.length === 0 ? 'test' : `test-${this.#records.length + 1}`);
    const Pool = this.#options.Pool ?? (await loadPgPool<P>());
    this.#assertOpen();
    if (this.#records.some((r) => r.name === name)) {
      throw new OptionsError('name', name, `a pool name not yet used by this TestPools (used: ${this.poolNames.join(', ')})`);
    }
    const applicationName = this.applicationNameOf(name);
    const config: Record<string, unknown> = {
      ...this.#options.config,
      ...options.config,
      ...(this.connectionString === undefined ? {} : { connectionString: this.connectionString }),
      application_name: applicationName,
    };
    if (options.config?.connectionString !== undefined) config.connectionString = options.config.connectionString;
    const pool = new Pool(config);
    const record: PoolRecord<P> = { name, pool, applicationName, pids: new Map(), out: new Set() };
    this.#listen(record);
    try {
      trackPgPool(this.inspector, pool, { stackCapture: 'always', ...this.#options.tracking, ...options.tracking, name, applicationName: false });
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    this.#records.push(record);
    return {
      pool,
      name,
      applicationName,
      inspector: this.inspector,
      testPools: this,
      cleanup: () => this.cleanup(),
    };
  }

  /**
   * Closes every pool (waiting up to `closeGraceMillis` for checked-out clients, then destroying those still out),
   * untracks them (or closes the inspector of its own). Idempotent: every call returns the same promise. Never
   * rejects for a leaked client: use assertNoLeakedConnections to fail a test for one.
   */
  cleanup(): Promise<void> {
    this.#cleanup ??= this.#close();
    return this.#cleanup;
  }

  #assertOpen(): void {
    if (this.#cleanup === undefined) return;
    throw new PoolscopeError(
      'POOLSCOPE_ERR_INSPECTOR_CLOSED',
      'TestPools.create() was called after cleanup(). Create a new TestPools (one per test) to create pools again.',
    );
  }

  #listen(record: PoolRecord<P>): void {
    const events = record.pool as unknown as PoolEvents;
    events.on('connect', (client) => {
      if (typeof client.processID === 'number') record.pids.set(client, client.processID);
    });
    events.on('remove', (client) => {
      record.pids.delete(client);
      record.out.delete(client);
    });
    events.on('acquire', (client) => record.out.add(client));
    events.on('release', (_err, client) => record.out.delete(client));
    // An idle connection the server ends (a test terminating sessions) must not crash the test runner.
    events.on('error', () => undefined);
  }

  async #close(): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      this.#records.map(async (record) => {
        try {
          await this.#endPool(record);
        } catch (error) {
          failures.push(`${record.name}: ${messageOf(error)}`);
        }
      }),
    );
    if (this.#ownInspector) {
      this.inspector.close();
    } else {
      for (const record of this.#records) {
        if (this.inspector.pool(record.name) !== undefined) {
          try {
            this.inspector.untrack(record.name);
          } catch {
            // already untracked by the test
          }
        }
      }
    }
    if (failures.length > 0) {
      throw new PoolscopeError('POOLSCOPE_ERR_TESTING_CLEANUP_FAILED', `TestPools.cleanup() could not close every pool: ${failures.join('; ')}`);
    }
  }

  async #endPool(record: PoolRecord<P>): Promise<void> {
    const events = record.pool as unknown as PoolEvents;
    if (events.ending === true) return; // ended by the test itself
    // Clients still checked out after the grace: releasing them with an error makes pg-pool destroy them.
    await endPool(record.pool as unknown as PgEndablePool, {
      destroyCheckedOutAfterMillis: this.#closeGraceMillis,
      checkedOut: () => record.out as Set<ClientView>,
      reason: 'poolscope TestPools.cleanup(): connection still checked out at cleanup',
    });
  }
}

/**
 * One isolated, tracked pool with a TestPools of its own (and an inspector of its own unless you pass one).
 *
 * ```ts
 * const { pool, cleanup } = await createTestPool({ connectionString: process.env.DATABASE_URL });
 * ```
 */
export async function createTestPool<P extends TestPoolLike = pg.Pool>(
  options: TestPoolsOptions<P> & TestPoolOptions = {},
): Promise<TestPool<P>> {
  const { name, ...shared } = options;
  const pools = new TestPools<P>(shared);
  try {
    return await pools.create(name === undefined ? {} : { name });
  } catch (error) {
    await pools.cleanup().catch(() => undefined);
    throw error;
  }
}
