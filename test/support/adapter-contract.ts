/**
 * The adapter contract suite (docs/reference/adapters.md): what every adapter must do, run on its real backend. An
 * adapter's test file builds a kit (how to create, borrow from, release to and end a pool of its driver) and calls
 * `adapterContractSuite(kit)`; the suite asserts on what a user sees: leases at the caller's line, counts equal to
 * the driver's own, the detections the adapter's capabilities allow, and the driver's own behaviour kept.
 *
 * A capability the adapter declares false is checked the other way: its fields read "not available", never zero.
 * A backend that is not reachable skips the whole suite with the reason (never a silent pass).
 */
import { before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import type { AdapterCapabilities } from '../../src/core/adapter-capabilities.js';
import type { PoolView } from '../../src/core/pool-view.js';
import type { PoolTrackingOptions } from '../../src/core/pool-tracker-options.js';
import type { PoolscopeEventType, PoolscopeEventOf } from '../../src/core/pool-events.js';
import { isAt, nextEvent, siteOf } from './pg-test-kit.js';
import { eventually } from './wait-for.js';

/** The driver's own counters, as its public API states them. */
export interface DriverCounts {
  /** Connections (resources) open. */
  readonly total: number;
  readonly idle: number;
  /** Callers queued for one. */
  readonly waiting: number;
}

/** How a settled call ended, for comparing a driver's behaviour with and without poolscope. */
export type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** What the suite needs of one driver. `Pool` and `Conn` are the driver's own types. */
export interface AdapterContractKit<Pool, Conn> {
  /** The adapter's `driver` name, e.g. `pg`. */
  readonly driver: string;
  /** The capabilities the adapter must declare. */
  readonly capabilities: AdapterCapabilities;
  /** `import.meta.url` of the file holding the kit: its one `// @contract-acquire` line is the caller's line. */
  readonly moduleUrl: string;
  /** Why the backend cannot be used here (the suite skips with it), or undefined. Called once, before the tests. */
  unavailable(): Promise<string | undefined>;
  /** A real pool of at most `max` connections, whose acquire gives up after `acquireTimeoutMillis` where it can. */
  createPool(options: { readonly max: number; readonly acquireTimeoutMillis: number }): Pool;
  /** Ends the pool (the suite ends every pool it created, tracked or not). */
  endPool(pool: Pool): Promise<void>;
  track(inspector: Inspector, pool: Pool, options: PoolTrackingOptions): PoolView;
  /** Borrows with the driver's own API, on the file's `// @contract-acquire` line. */
  acquire(pool: Pool): Promise<Conn>;
  /** Gives it back with the driver's own API; what the call returned, threw or rejected with, as an outcome. */
  release(pool: Pool, conn: Conn): Promise<Outcome>;
  /** Gives it back destroyed (closed, not reused). */
  destroy(pool: Pool, conn: Conn): Promise<void>;
  counts(pool: Pool): DriverCounts;
  /** Whether the driver gives up waiting for a connection by itself (else the acquire-timeout test is skipped, saying so). */
  readonly acquireTimeout: boolean;
  /** With the `queries` capability: runs `SELECT 1` (or the backend's trivial statement) on a held connection. */
  query?(conn: Conn): Promise<void>;
  /** With the `transactions` capability: opens a transaction on a held connection (left open). */
  begin?(conn: Conn): Promise<void>;
}

const OFF = { leakThresholdMillis: 0, stackCapture: 'always' } as const;

/** Runs the contract on `kit`'s driver: one `describe` of tests, every pool and inspector closed after each. */
export function adapterContractSuite<Pool, Conn>(kit: AdapterContractKit<Pool, Conn>): void {
  describe(`adapter contract: ${kit.driver}`, () => {
    let skip: string | undefined;
    const site = siteOf(kit.moduleUrl, '@contract-acquire');
    before(async () => {
      skip = await kit.unavailable();
    });

    /** A pool (ended after the test), an inspector (closed after), and the pool tracked as `main`. */
    function setup(t: TestContext, options: Partial<PoolTrackingOptions> = {}, max = 2, acquireTimeoutMillis = 5000) {
      if (skip !== undefined) {
        t.skip(skip);
        return undefined;
      }
      const errors: unknown[] = [];
      const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false, onError: (error) => errors.push(error) });
      const pool = kit.createPool({ max, acquireTimeoutMillis });
      t.after(async () => {
        inspector.close();
        await kit.endPool(pool);
      });
      const view = kit.track(inspector, pool, { name: 'main', ...OFF, ...options });
      return { inspector, pool, view, errors };
    }

    test('declares its capabilities; stats carry them', (t) => {
      const s = setup(t);
      if (s === undefined) return;
      assert.equal(s.view.driver, kit.driver);
      assert.deepEqual(s.view.stats().capabilities, kit.capabilities);
    });

    test("a checkout is a lease at the caller's line with its wait; the release ends it with its hold time", async (t) => {
      const s = setup(t);
      if (s === undefined) return;
      const conn = await kit.acquire(s.pool);
      const [holder] = s.view.snapshot().holders;
      assert.ok(holder, 'one holder');
      assert.equal(holder.state, 'held');
      assert.ok(isAt(holder.location, site), `location ${holder.location} is the caller's line ${site}`);
      assert.ok(holder.waitMillis >= 0);
      assert.deepEqual(await kit.release(s.pool, conn), { ok: true, value: (await untrackedRelease()).value });
      const stats = s.view.stats();
      assert.equal(stats.counters.acquires, 1);
      assert.equal(stats.counters.releases, 1);
      assert.equal(stats.waitTime.count, 1);
      assert.equal(stats.useTime.count, 1);
      assert.deepEqual(s.view.snapshot().holders, []);
      assert.deepEqual(s.errors, []);
    });

    /** What a first release returns on an untracked pool (its value is compared, not assumed). */
    async function untrackedRelease(): Promise<{ value: unknown }> {
      const pool = kit.createPool({ max: 1, acquireTimeoutMillis: 5000 });
      try {
        const outcome = await kit.release(pool, await kit.acquire(pool));
        assert.ok(outcome.ok, `a first release succeeds without poolscope: ${JSON.stringify(outcome)}`);
        return { value: outcome.value };
      } finally {
        await kit.endPool(pool);
      }
    }

    test("the tracked counts equal the driver's own", async (t) => {
      const s = setup(t, {}, 3);
      if (s === undefined) return;
      const a = await kit.acquire(s.pool);
      const b = await kit.acquire(s.pool);
      await kit.release(s.pool, a);
      const agree = (): boolean => {
        const stats = s.view.stats();
        const driver = kit.counts(s.pool);
        return stats.total === driver.total && stats.idle === driver.idle && stats.pending === driver.waiting;
      };
      await eventually(agree, () => `stats ${JSON.stringify(s.view.stats())} and the driver's ${JSON.stringify(kit.counts(s.pool))} agree`);
      assert.equal(s.view.stats().used, 1);
      assert.equal(s.view.stats().max, 3);
      await kit.release(s.pool, b);
      await eventually(agree, 'the counts agree at rest');
      assert.equal(s.view.stats().used, 0);
    });

    test('a lease held past the leak threshold is reported once, at its line, and its return too', async (t) => {
      const s = setup(t, { leakThresholdMillis: 200 });
      if (s === undefined) return;
      const suspected = nextEvent(s.inspector, 'leak-suspected');
      const conn = await kit.acquire(s.pool);
      const leak = await suspected;
      assert.ok(isAt(leak.lease.location, site), `leak at ${leak.lease.location}`);
      assert.equal(s.view.stats().counters.leaksSuspected, 1);
      const returned = nextEvent(s.inspector, 'leak-returned');
      await kit.release(s.pool, conn);
      assert.equal((await returned).lease.id, leak.lease.id);
    });

    test('a second release is reported as a double release; the driver answers it as it does without poolscope', async (t) => {
      const s = setup(t);
      if (s === undefined) return;
      const plain = kit.createPool({ max: 2, acquireTimeoutMillis: 5000 });
      let expected: Outcome;
      try {
        const conn = await kit.acquire(plain);
        await kit.release(plain, conn);
        expected = await kit.release(plain, conn);
      } finally {
        await kit.endPool(plain);
      }
      const reported = events(s.inspector, ['double-release', 'foreign-release']);
      const conn = await kit.acquire(s.pool);
      await kit.release(s.pool, conn);
      const actual = await kit.release(s.pool, conn);
      assert.deepEqual(actual, expected, "the second release ends as the driver's own does");
      await eventually(() => reported.length > 0, 'the double release to be reported');
      assert.equal(reported[0]?.type, 'double-release');
      assert.equal(s.view.stats().counters.doubleReleases, 1);
    });

    test('destroy ends the lease and the pool heals', async (t) => {
      const s = setup(t);
      if (s === undefined) return;
      const conn = await kit.acquire(s.pool);
      await kit.destroy(s.pool, conn);
      assert.deepEqual(s.view.snapshot().holders, []);
      assert.equal(s.view.stats().counters.releases, 1);
      await eventually(() => s.view.stats().total === kit.counts(s.pool).total, 'the total to follow the driver');
      const again = await kit.acquire(s.pool);
      await kit.release(s.pool, again);
      assert.equal(s.view.stats().counters.acquires, 2);
    });

    test("an acquire timeout reaches the caller as the driver's error, counted and reported with the holder", async (t) => {
      if (!kit.acquireTimeout) {
        t.skip(`${kit.driver} has no acquire timeout of its own`);
        return;
      }
      const s = setup(t, {}, 1, 300);
      if (s === undefined) return;
      const held = await kit.acquire(s.pool);
      const reported = nextEvent(s.inspector, 'acquire-timeout');
      await assert.rejects(kit.acquire(s.pool));
      const event = await reported;
      assert.equal(event.holders.length, 1);
      assert.ok(isAt(event.holders[0]?.location, site), `holder at ${event.holders[0]?.location}`);
      assert.equal(s.view.stats().counters.timeouts, 1);
      await kit.release(s.pool, held);
    });

    test('queries: counted on the lease when the adapter sees them, else not available', async (t) => {
      const s = setup(t);
      if (s === undefined) return;
      const conn = await kit.acquire(s.pool);
      try {
        if (kit.capabilities.queries) {
          assert.ok(kit.query, 'a kit of an adapter with queries runs one');
          await kit.query(conn);
          await kit.query(conn);
          const [holder] = s.view.snapshot().holders;
          assert.equal(holder?.queriesRun, 2);
          assert.equal(holder?.queriesInFlight, 0);
          assert.notEqual(holder?.query, null);
        } else {
          const [holder] = s.view.snapshot().holders;
          assert.equal(holder?.queriesRun, null);
          assert.equal(holder?.queriesInFlight, null);
        }
      } finally {
        await kit.release(s.pool, conn);
      }
    });

    test('transactions: a release inside one is a dirty release when the adapter sees them, else not available', async (t) => {
      const s = setup(t);
      if (s === undefined) return;
      const conn = await kit.acquire(s.pool);
      if (!kit.capabilities.transactions) {
        assert.deepEqual(s.view.snapshot().holders[0]?.transaction, { status: 'not-available', depth: null });
        await kit.release(s.pool, conn);
        return;
      }
      assert.ok(kit.begin, 'a kit of an adapter with transactions opens one');
      await kit.begin(conn);
      assert.equal(s.view.snapshot().holders[0]?.transaction.status, 'in-transaction');
      const dirty = nextEvent(s.inspector, 'dirty-release');
      await kit.release(s.pool, conn);
      const event = await dirty;
      assert.ok(isAt(event.lease.location, site), `dirty release of the lease at ${event.lease.location}`);
      assert.equal(s.view.stats().counters.dirtyReleases, 1);
    });

    test('untrack leaves a working pool and records nothing more', async (t) => {
      const s = setup(t);
      if (s === undefined) return;
      const conn = await kit.acquire(s.pool);
      await kit.release(s.pool, conn);
      s.inspector.untrack('main');
      const after = await kit.acquire(s.pool);
      await kit.release(s.pool, after);
      assert.equal(s.inspector.pool('main'), undefined);
      const view = kit.track(s.inspector, s.pool, { name: 'main', ...OFF });
      assert.equal(view.stats().counters.acquires, 0, 'tracked again: a new tracker');
      const third = await kit.acquire(s.pool);
      await kit.release(s.pool, third);
      assert.equal(view.stats().counters.acquires, 1);
      assert.deepEqual(s.errors, []);
    });
  });
}

/** Collects events of the given types in order. */
function events<T extends PoolscopeEventType>(inspector: Inspector, types: readonly T[]): PoolscopeEventOf<T>[] {
  const seen: PoolscopeEventOf<T>[] = [];
  for (const type of types) inspector.on(type, (event) => seen.push(event));
  return seen;
}

/** Runs `call` and says how it ended. */
export async function outcomeOf(call: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}
