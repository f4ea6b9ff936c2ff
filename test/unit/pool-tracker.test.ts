import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Inspector } from '../../src/core/inspector.js';
import type { PoolTracker, ReleaseVerdict } from '../../src/core/pool-tracker.js';
import type { Lease, TransactionStatus } from '../../src/core/lease.js';
import type { PoolscopeEventOf, PoolscopeEventType } from '../../src/core/pool-events.js';
import type { PoolTrackingOptions } from '../../src/core/pool-tracker-options.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';

const THIS_FILE_LOCATION = /test[\\/]unit[\\/]pool-tracker\.test\.ts:\d+:\d+$/;

/** The 1-based line of this file holding `marker` in a comment. */
function lineOf(marker: string): number {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  return lines.findIndex((line) => line.includes(`// ${marker}`)) + 1;
}

interface Setup {
  clock: FakeClock;
  inspector: Inspector;
  adapter: FakePoolAdapter;
  tracker: PoolTracker;
  errors: unknown[];
}

function setup(t: TestContext, options: Partial<PoolTrackingOptions> = {}): Setup {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const inspector = new Inspector({ clock, historyIntervalMillis: 0, onError: (error) => errors.push(error) });
  t.after(() => inspector.close());
  const adapter = new FakePoolAdapter({ max: 10, min: 0 });
  const tracker = inspector.registerPool(adapter, { name: 'p', leakThresholdMillis: 1000, ...options });
  return { clock, inspector, adapter, tracker, errors };
}

function collect<T extends PoolscopeEventType>(inspector: Inspector, type: T): PoolscopeEventOf<T>[] {
  const events: PoolscopeEventOf<T>[] = [];
  inspector.on(type, (event) => {
    events.push(event);
  });
  return events;
}

/** Stands in for the adapter's connect wrapper (hidden from the stack with everything above it). */
function connect(tracker: PoolTracker): Lease {
  return tracker.checkoutStarted(connect);
}

/** Checks out a fresh connection object; `waitMillis` passes on the fake clock between the call and the checkout. */
function checkout(s: Setup, waitMillis = 0, connection: object = {}, created = false, status: TransactionStatus = 'idle'): Lease {
  const lease = connect(s.tracker);
  s.clock.advance(waitMillis);
  s.tracker.checkoutSucceeded(lease, connection, 1000 + lease.id, created, status);
  return lease;
}

/** Stands in for the adapter's release wrapper. */
function release(tracker: PoolTracker, lease: Lease, status: TransactionStatus = 'idle', destroying = false): ReleaseVerdict {
  return tracker.releaseStarted(lease, status, destroying, release);
}

function releaseAgain(tracker: PoolTracker, lease: Lease): void {
  tracker.releaseRepeated(lease, releaseAgain);
}

describe('stats()', () => {
  test('used, pending, level and the pool counters', (t) => {
    const s = setup(t);
    s.adapter.set({ total: 3, idle: 1, waiting: 0, max: 10, min: 2 });
    checkout(s);
    checkout(s);
    let stats = s.tracker.stats();
    assert.equal(stats.poolName, 'p');
    assert.equal(stats.used, 2);
    assert.equal(stats.total, 3);
    assert.equal(stats.idle, 1);
    assert.equal(stats.pending, 0);
    assert.equal(stats.max, 10);
    assert.equal(stats.min, 2);
    assert.equal(stats.utilizationPercent, 20);
    assert.equal(stats.level, 'normal');
    assert.equal(stats.expectFull, false);
    assert.equal(stats.timestamp, new Date(s.clock.toWallMillis(s.clock.now())).toISOString());

    s.adapter.set({ waiting: 2 });
    stats = s.tracker.stats();
    assert.equal(stats.pending, 2);
    assert.equal(stats.level, 'warning', 'waiters make a pool a warning');

    s.adapter.set({ waiting: 0 });
    for (let i = 0; i < 6; i++) checkout(s);
    assert.equal(s.tracker.stats().level, 'warning'); // 8 of 10
    checkout(s);
    assert.equal(s.tracker.stats().level, 'critical'); // 9 of 10
    assert.equal(s.tracker.stats().utilizationPercent, 90);
  });

  test('counters count acquires, releases, queries and query errors', (t) => {
    const s = setup(t);
    const a = checkout(s);
    const b = checkout(s);
    const started = s.tracker.now();
    s.tracker.queryStarted(a, 'SELECT 1', started, true);
    s.tracker.queryFinished(a, started, true, 'idle');
    s.tracker.queryStarted(a, 'SELECT broken', started, true);
    s.tracker.queryFinished(a, started, false, 'idle');
    release(s.tracker, a);
    const c = s.tracker.stats().counters;
    assert.equal(c.acquires, 2);
    assert.equal(c.releases, 1);
    assert.equal(c.queries, 2);
    assert.equal(c.queryErrors, 1);
    assert.equal(c.dirtyReleases, 0);
    assert.equal(c.leaksSuspected, 0);
    assert.equal(s.tracker.stats().used, 1);
    release(s.tracker, b);
    assert.equal(s.tracker.stats().used, 0);
  });

  test('wait, use and create time come from the clock', (t) => {
    const s = setup(t);
    const a = checkout(s, 5, {}, true); // waited 5 ms for a new connection
    const b = checkout(s, 15); // waited 15 ms for an idle one
    s.clock.advance(30);
    release(s.tracker, b); // held 30
    s.clock.advance(70);
    release(s.tracker, a); // held 15 + 30 + 70 = 115
    const stats = s.tracker.stats();
    assert.equal(stats.waitTime.count, 2);
    assert.equal(stats.waitTime.sumMillis, 20);
    assert.equal(stats.waitTime.minMillis, 5);
    assert.equal(stats.waitTime.maxMillis, 15);
    assert.equal(stats.createTime.count, 1);
    assert.equal(stats.createTime.sumMillis, 5);
    assert.equal(stats.useTime.count, 2);
    assert.equal(stats.useTime.sumMillis, 145);
    assert.equal(stats.useTime.minMillis, 30);
    assert.equal(stats.useTime.maxMillis, 115);
    assert.equal(stats.useTime.meanMillis, 72.5);
    assert.equal(s.tracker.distributions().useTime.count, 2);
  });
});

describe('leak detection', () => {
  test('a lease held past the threshold is suspected exactly once, then its return is reported', (t) => {
    const s = setup(t);
    const suspected = collect(s.inspector, 'leak-suspected');
    const returned = collect(s.inspector, 'leak-returned');
    const lease = checkout(s);
    s.tracker.queryStarted(lease, 'SELECT * FROM orders', s.tracker.now(), false);

    s.clock.advance(999);
    s.tracker.sweepLeaks();
    assert.equal(suspected.length, 0, 'not before the threshold');

    s.clock.advance(1);
    s.tracker.sweepLeaks();
    assert.equal(suspected.length, 1);
    s.clock.advance(10_000);
    s.tracker.sweepLeaks();
    s.tracker.sweepLeaks();
    assert.equal(suspected.length, 1, 'reported once per lease');

    const event = suspected[0];
    assert.ok(event !== undefined);
    assert.equal(event.poolName, 'p');
    assert.equal(event.thresholdMillis, 1000);
    assert.equal(event.lease.id, lease.id);
    assert.equal(event.lease.leakSuspected, true);
    assert.equal(event.lease.heldMillis, 1000);
    assert.match(event.lease.location ?? '', THIS_FILE_LOCATION, 'the leak names the file:line of the checkout');
    assert.ok(event.message.includes(event.lease.location ?? '<none>'), event.message);
    assert.match(event.message, /Connection leak suspected on pool "p": lease #1 held for 1\.0 s \(threshold 1\.0 s\)/);
    assert.match(event.message, /Last query: "SELECT \* FROM orders"/);
    assert.equal(s.tracker.stats().counters.leaksSuspected, 1);
    assert.equal(s.tracker.snapshot().holders[0]?.leakSuspected, true);

    assert.equal(returned.length, 0);
    release(s.tracker, lease);
    assert.equal(returned.length, 1);
    assert.equal(returned[0]?.lease.id, lease.id);
    assert.match(returned[0]?.message ?? '', /returned: lease #1 after 11\.0 s/);
  });

  test('a short checkout is never suspected and its release is not a leak return', (t) => {
    const s = setup(t);
    const suspected = collect(s.inspector, 'leak-suspected');
    const returned = collect(s.inspector, 'leak-returned');
    const lease = checkout(s);
    s.clock.advance(500);
    s.tracker.sweepLeaks();
    release(s.tracker, lease);
    s.clock.advance(60_000);
    s.tracker.sweepLeaks();
    assert.equal(suspected.length, 0);
    assert.equal(returned.length, 0);
    assert.equal(s.tracker.stats().counters.leaksSuspected, 0);
  });

  test('several leaks in one sweep are reported oldest first', (t) => {
    const s = setup(t);
    const suspected = collect(s.inspector, 'leak-suspected');
    const first = checkout(s);
    s.clock.advance(100);
    const second = checkout(s);
    s.clock.advance(2000);
    s.tracker.sweepLeaks();
    assert.deepEqual(
      suspected.map((e) => e.lease.id),
      [first.id, second.id],
    );
  });

  test('threshold 0 disables leak detection', (t) => {
    const s = setup(t, { leakThresholdMillis: 0 });
    const suspected = collect(s.inspector, 'leak-suspected');
    checkout(s);
    s.clock.advance(1_000_000);
    s.tracker.sweepLeaks();
    assert.equal(suspected.length, 0);
  });

  test("with stack capture 'off' the report says so", (t) => {
    const s = setup(t, { stackCapture: 'off' });
    const suspected = collect(s.inspector, 'leak-suspected');
    checkout(s);
    s.clock.advance(1000);
    s.tracker.sweepLeaks();
    assert.equal(suspected[0]?.lease.location, null);
    assert.match(suspected[0]?.message ?? '', /an uncaptured place \(stack capture is off for this pool\)/);
  });
});

describe('dirty releases', () => {
  for (const status of ['in-transaction', 'failed'] as const) {
    test(`a release with status '${status}' is reported as dirty`, (t) => {
      const s = setup(t);
      const dirty = collect(s.inspector, 'dirty-release');
      const released = collect(s.inspector, 'lease-released');
      const lease = checkout(s);
      s.tracker.queryStarted(lease, 'BEGIN', s.tracker.now(), true);
      s.tracker.queryFinished(lease, s.tracker.now(), true, 'in-transaction');
      const verdict = release(s.tracker, lease, status); // @dirty-release-line
      assert.deepEqual(verdict, { destroy: false, rollback: false });
      assert.equal(dirty.length, 1);
      const event = dirty[0];
      assert.ok(event !== undefined);
      assert.equal(event.destroyed, false);
      assert.equal(event.lease.transaction.status, status);
      assert.equal(event.lease.transaction.depth, 1);
      assert.match(event.releaseLocation ?? '', THIS_FILE_LOCATION, 'names where release() was called');
      assert.match(event.message, new RegExp(`released inside a transaction \\(status ${status}, depth 1\\)`));
      assert.match(event.message, /next borrower inherits the open transaction/);
      assert.equal(s.tracker.stats().counters.dirtyReleases, 1);
      assert.equal(released[0]?.destroyed, false);
    });
  }

  test("a release with status 'idle' is clean", (t) => {
    const s = setup(t);
    const dirty = collect(s.inspector, 'dirty-release');
    const lease = checkout(s);
    s.tracker.queryStarted(lease, 'BEGIN', s.tracker.now(), true);
    s.tracker.queryStarted(lease, 'COMMIT', s.tracker.now(), true);
    release(s.tracker, lease, 'idle');
    assert.equal(dirty.length, 0);
  });

  test("with status 'unknown', the depth followed from the SQL decides", (t) => {
    const s = setup(t);
    const dirty = collect(s.inspector, 'dirty-release');
    const open = checkout(s);
    s.tracker.queryStarted(open, 'BEGIN', s.tracker.now(), false);
    release(s.tracker, open, 'unknown');
    const closed = checkout(s);
    s.tracker.queryStarted(closed, 'BEGIN', s.tracker.now(), false);
    s.tracker.queryStarted(closed, 'COMMIT', s.tracker.now(), false);
    release(s.tracker, closed, 'unknown');
    assert.deepEqual(
      dirty.map((e) => e.lease.id),
      [open.id],
    );
  });

  test('a release that destroys the connection (release(err)) is not dirty', (t) => {
    const s = setup(t);
    const dirty = collect(s.inspector, 'dirty-release');
    const released = collect(s.inspector, 'lease-released');
    const lease = checkout(s);
    const verdict = release(s.tracker, lease, 'in-transaction', true);
    assert.equal(dirty.length, 0);
    assert.deepEqual(verdict, { destroy: false, rollback: false });
    assert.equal(released[0]?.destroyed, true);
    assert.equal(s.tracker.stats().counters.dirtyReleases, 0);
  });

  test('destroyDirtyReleases: true asks the adapter to destroy the connection', (t) => {
    const s = setup(t, { destroyDirtyReleases: true });
    const dirty = collect(s.inspector, 'dirty-release');
    const released = collect(s.inspector, 'lease-released');
    const lease = checkout(s);
    const verdict = release(s.tracker, lease, 'in-transaction');
    assert.deepEqual(verdict, { destroy: true, rollback: false });
    assert.equal(dirty[0]?.destroyed, true);
    assert.match(dirty[0]?.message ?? '', /The connection was destroyed\./);
    assert.equal(released[0]?.destroyed, true);
    // A clean release still returns the connection.
    assert.deepEqual(release(s.tracker, checkout(s), 'idle'), { destroy: false, rollback: false });
  });

  test('a connection that arrives inside a transaction starts at depth 1', (t) => {
    const s = setup(t);
    const lease = checkout(s, 0, {}, false, 'in-transaction');
    assert.equal(lease.transactionDepth, 1);
    assert.deepEqual(s.tracker.snapshot().holders[0]?.transaction, { status: 'in-transaction', depth: 1 });
  });
});

describe('misuse on release', () => {
  test('a release with a query in flight is reported', (t) => {
    const s = setup(t);
    const inFlight = collect(s.inspector, 'release-in-flight');
    const lease = checkout(s);
    s.tracker.queryStarted(lease, 'UPDATE orders SET paid = true', s.tracker.now(), true);
    release(s.tracker, lease);
    assert.equal(inFlight.length, 1);
    const event = inFlight[0];
    assert.ok(event !== undefined);
    assert.equal(event.lease.queriesInFlight, 1);
    assert.match(event.releaseLocation ?? '', THIS_FILE_LOCATION);
    assert.match(event.message, /Released with 1 query in flight on pool "p"/);
    assert.ok(event.message.includes('"UPDATE orders SET paid = true"'), event.message);
    assert.equal(s.tracker.stats().counters.releasesInFlight, 1);
  });

  test('a release after the query finished, or of an unfollowed query, is not in flight', (t) => {
    const s = setup(t);
    const inFlight = collect(s.inspector, 'release-in-flight');
    const a = checkout(s);
    const started = s.tracker.now();
    s.tracker.queryStarted(a, 'SELECT 1', started, true);
    s.tracker.queryFinished(a, started, true, 'idle');
    release(s.tracker, a);
    const b = checkout(s);
    s.tracker.queryStarted(b, 'SELECT 2', s.tracker.now(), false);
    release(s.tracker, b);
    assert.equal(inFlight.length, 0);
  });

  test('a second release of the same lease is a double release', (t) => {
    const s = setup(t);
    const doubles = collect(s.inspector, 'double-release');
    const foreign = collect(s.inspector, 'foreign-release');
    const lease = checkout(s);
    release(s.tracker, lease);
    releaseAgain(s.tracker, lease);
    assert.equal(doubles.length, 1);
    assert.equal(foreign.length, 0);
    assert.equal(doubles[0]?.lease.id, lease.id);
    assert.match(doubles[0]?.releaseLocation ?? '', THIS_FILE_LOCATION);
    assert.match(doubles[0]?.message ?? '', /Double release on pool "p": lease #1/);
    const counters = s.tracker.stats().counters;
    assert.equal(counters.doubleReleases, 1);
    assert.equal(counters.releases, 1, 'the repeat is not a release');
  });

  test('a stale release of a connection now held by another lease is a foreign release', (t) => {
    const s = setup(t);
    const doubles = collect(s.inspector, 'double-release');
    const foreign = collect(s.inspector, 'foreign-release');
    const connection = { name: 'client-1' };
    const first = checkout(s, 0, connection);
    release(s.tracker, first);
    const second = checkout(s, 0, connection);
    releaseAgain(s.tracker, first);
    assert.equal(doubles.length, 0);
    assert.equal(foreign.length, 1);
    assert.equal(foreign[0]?.lease.id, first.id);
    assert.match(foreign[0]?.message ?? '', new RegExp(`handed to lease #${second.id}`));
    assert.equal(s.tracker.stats().counters.foreignReleases, 1);
    assert.equal(s.tracker.leaseOf(connection), second, 'the new holder keeps its lease');
    assert.equal(s.tracker.stats().used, 1);
  });
});

describe('acquire failures', () => {
  test('an acquire timeout report names the holders, longest first', (t) => {
    const s = setup(t);
    const timeouts = collect(s.inspector, 'acquire-timeout');
    s.adapter.set({ max: 2, total: 2, idle: 0 });
    const older = s.inspector.runAs({ label: 'GET /reports', kind: 'request' }, () => checkout(s));
    s.tracker.queryStarted(older, 'SELECT pg_sleep(60)', s.tracker.now(), true);
    s.clock.advance(2000);
    const newer = checkout(s);
    s.tracker.queryStarted(newer, 'BEGIN', s.tracker.now(), false);
    s.adapter.set({ waiting: 1 });
    const waiter = connect(s.tracker);
    s.clock.advance(3000);
    const report = s.tracker.checkoutFailed(waiter, true, 'timeout exceeded when trying to connect');
    assert.ok(report !== undefined);
    assert.equal(report.poolName, 'p');
    assert.equal(report.waitMillis, 3000);
    assert.deepEqual(
      report.holders.map((h) => h.id),
      [older.id, newer.id],
    );
    assert.match(report.text, /pool "p": 2\/2 connections in use, 0 idle, 1 waiting/);
    assert.match(report.text, /this caller waited 3\.0 s/);
    assert.match(report.text, new RegExp(`#${older.id} held 5\\.0 s by request "GET /reports" at \\S*pool-tracker\\.test\\.ts:\\d+:\\d+ running "SELECT pg_sleep\\(60\\)"`));
    assert.match(report.text, new RegExp(`#${newer.id} held 3\\.0 s by no owner at \\S+ in transaction \\(depth 1\\)`));
    assert.match(report.text, new RegExp(`#${newer.id} .* last query "BEGIN"`));
    assert.equal(s.tracker.stats().counters.timeouts, 1);
    assert.equal(timeouts.length, 1);
    assert.match(timeouts[0]?.message ?? '', /^Acquire timeout on pool "p" after 3\.0 s/);
    assert.equal(timeouts[0]?.holders.length, 2);
    assert.equal(s.tracker.snapshot().waiters.length, 0, 'the failed waiter is no longer waiting');
  });

  test('a timeout with no holders says so', (t) => {
    const s = setup(t);
    const report = s.tracker.checkoutFailed(connect(s.tracker), true, 'timeout');
    assert.match(report?.text ?? '', /No connection is checked out/);
  });

  test('a non-timeout failure counts an error, reports a connection error and returns no report', (t) => {
    const s = setup(t);
    const errors = collect(s.inspector, 'connection-error');
    const lease = connect(s.tracker);
    assert.equal(s.tracker.checkoutFailed(lease, false, 'ECONNREFUSED'), undefined);
    assert.equal(s.tracker.stats().counters.errors, 1);
    assert.equal(s.tracker.stats().counters.timeouts, 0);
    assert.deepEqual(errors[0], { type: 'connection-error', poolName: 'p', leaseId: lease.id, message: 'ECONNREFUSED' });
  });
});

describe('snapshot()', () => {
  test('holders longest first, waiters listed, JSON round-trips', (t) => {
    const s = setup(t);
    s.adapter.set({ max: 3, total: 3, idle: 0, waiting: 2 });
    const a = checkout(s);
    s.clock.advance(10);
    const b = checkout(s);
    s.clock.advance(10);
    const c = checkout(s);
    s.tracker.queryStarted(c, 'SELECT now()', s.tracker.now(), true);
    s.clock.advance(5);
    const w1 = connect(s.tracker); // @waiter-line
    s.clock.advance(5);
    const w2 = connect(s.tracker);
    s.clock.advance(5);
    const snap = s.tracker.snapshot();
    assert.equal(snap.poolName, 'p');
    assert.equal(snap.reason, 'manual');
    assert.deepEqual(snap.config, { max: 3, min: 0, database: 'fake' });
    assert.deepEqual(
      snap.holders.map((h) => h.id),
      [a.id, b.id, c.id],
    );
    assert.deepEqual(
      snap.holders.map((h) => h.heldMillis),
      [35, 25, 15],
    );
    assert.deepEqual(
      snap.waiters.map((w) => [w.id, w.state, w.waitMillis, w.acquiredAt, w.heldMillis]),
      [
        [w1.id, 'waiting', 10, null, 0],
        [w2.id, 'waiting', 5, null, 0],
      ],
    );
    const holderC = snap.holders[2];
    assert.deepEqual(holderC?.query, { text: 'SELECT now()', runningMillis: 15 });
    assert.equal(holderC?.backendPid, 1000 + c.id);
    assert.match(holderC?.location ?? '', THIS_FILE_LOCATION);
    const waiterLine = lineOf('@waiter-line');
    assert.ok(waiterLine > 0);
    assert.match(snap.waiters[0]?.location ?? '', new RegExp(`^test[\\\\/]unit[\\\\/]pool-tracker\\.test\\.ts:${waiterLine}:\\d+$`));
    assert.equal(snap.stats.used, 3);
    assert.equal(snap.stats.pending, 2);
    assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap);
    assert.notEqual(s.tracker.snapshot().id, snap.id, 'each snapshot has its own id');
  });

  test('long query text is capped at maxQueryTextLength', (t) => {
    const s = setup(t, { maxQueryTextLength: 10 });
    const lease = checkout(s);
    s.tracker.queryStarted(lease, `SELECT '${'x'.repeat(100)}'`, s.tracker.now(), false);
    assert.equal(s.tracker.snapshot().holders[0]?.query?.text, "SELECT 'xx");
  });
});

describe('owners', () => {
  test('a checkout inside runAs is attributed to the owner', (t) => {
    const s = setup(t);
    const lease = s.inspector.runAs({ label: 'job send-mail#1', kind: 'job' }, () => checkout(s));
    assert.equal(lease.owner?.label, 'job send-mail#1');
    const holder = s.tracker.snapshot().holders[0];
    assert.equal(holder?.owner?.label, 'job send-mail#1');
    assert.equal(holder?.owner?.kind, 'job');
    release(s.tracker, lease);
  });

  test('a checkout outside any owner has no owner', (t) => {
    const s = setup(t);
    checkout(s);
    assert.equal(s.tracker.snapshot().holders[0]?.owner, null);
  });

  test('a release from another owner scope is a foreign release', (t) => {
    const s = setup(t);
    const foreign = collect(s.inspector, 'foreign-release');
    const lease = s.inspector.runAs('GET /a', () => checkout(s));
    s.inspector.runAs({ label: 'GET /b', kind: 'request' }, () => release(s.tracker, lease));
    assert.equal(foreign.length, 1);
    const event = foreign[0];
    assert.ok(event !== undefined);
    assert.equal(event.lease.owner?.label, 'GET /a');
    assert.equal(event.releasedBy?.label, 'GET /b');
    assert.match(event.releaseLocation ?? '', THIS_FILE_LOCATION);
    assert.match(event.message, /held by task "GET \/a" was released from request "GET \/b"/);
    assert.equal(s.tracker.stats().counters.foreignReleases, 1);
    assert.equal(s.tracker.stats().counters.releases, 1, 'it still counts as the release');
  });

  test('a release from a child scope of the owner, or from no scope, is not foreign', (t) => {
    const s = setup(t);
    const foreign = collect(s.inspector, 'foreign-release');
    s.inspector.runAs('parent', () => {
      const lease = checkout(s);
      s.inspector.runAs('child', () => release(s.tracker, lease));
    });
    const other = s.inspector.runAs('owner', () => checkout(s));
    release(s.tracker, other);
    assert.equal(foreign.length, 0);
  });

  test('reportOwnerEnded reports a lease still held, and nothing for a released one', (t) => {
    const s = setup(t);
    const ended = collect(s.inspector, 'owner-ended-holding');
    const held = s.inspector.runAs('job nightly', () => checkout(s));
    const done = s.inspector.runAs('job nightly-2', () => checkout(s));
    release(s.tracker, done);
    assert.ok(held.owner !== undefined && done.owner !== undefined);
    s.clock.advance(250);
    s.tracker.reportOwnerEnded(held, held.owner);
    s.tracker.reportOwnerEnded(done, done.owner);
    assert.equal(ended.length, 1);
    assert.equal(ended[0]?.owner.label, 'job nightly');
    assert.equal(ended[0]?.owner.ended, true);
    assert.equal(ended[0]?.lease.id, held.id);
    assert.match(ended[0]?.message ?? '', /task "job nightly" ended while still holding lease #1 of pool "p" \(held 250 ms/);
    assert.equal(s.tracker.stats().counters.ownerEndedHolding, 1);
  });
});

describe('saturation', () => {
  test('reaching the saturation percent takes one automatic snapshot per cooldown', async (t) => {
    const s = setup(t, { saturationPercent: 50, saturationCooldownMillis: 10_000 });
    const saturated = collect(s.inspector, 'saturated');
    const taken = collect(s.inspector, 'snapshot-taken');
    s.adapter.set({ max: 4 });
    checkout(s);
    checkout(s); // 50%: schedules a snapshot off the caller's path
    assert.equal(saturated.length, 0, 'not taken synchronously');
    checkout(s); // within the cooldown
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(saturated.length, 1);
    assert.equal(taken.length, 1);
    assert.equal(taken[0]?.snapshot.reason, 'saturation');
    assert.equal(taken[0]?.snapshot.holders.length, 3);
    assert.equal(s.inspector.recentSnapshots('p').length, 1);
    assert.equal(s.tracker.stats().counters.saturationSnapshots, 1);
    s.clock.advance(10_000);
    checkout(s);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(saturated.length, 2, 'again after the cooldown');
  });
});

describe('closing and error containment', () => {
  test('close() detaches the adapter once and is idempotent', (t) => {
    const s = setup(t);
    assert.equal(s.tracker.closed, false);
    s.tracker.close();
    assert.equal(s.tracker.closed, true);
    assert.equal(s.adapter.detachCalls, 1);
    s.tracker.close();
    s.inspector.close();
    assert.equal(s.adapter.detachCalls, 1);
  });

  test('inspector.close() and untrack() close the tracker', (t) => {
    const s = setup(t);
    s.inspector.close();
    assert.equal(s.tracker.closed, true);
    assert.equal(s.adapter.detachCalls, 1);
    const other = setup(t);
    other.inspector.untrack('p');
    assert.equal(other.tracker.closed, true);
    assert.equal(other.adapter.detachCalls, 1);
    assert.deepEqual(other.inspector.poolNames(), []);
  });

  test('an adapter whose detach() throws goes to onError, not to the caller', (t) => {
    const s = setup(t);
    const boom = new Error('detach failed');
    s.adapter.detachError = boom;
    s.tracker.close();
    assert.deepEqual(s.errors, [boom]);
  });

  test('a listener that throws goes to onError; the caller and other listeners carry on', (t) => {
    const s = setup(t);
    const boom = new Error('listener bug');
    const seen: number[] = [];
    s.inspector.on('lease-acquired', () => {
      throw boom;
    });
    s.inspector.on('lease-acquired', (event) => {
      seen.push(event.lease.id);
    });
    s.inspector.on('double-release', () => {
      throw boom;
    });
    const lease = checkout(s);
    release(s.tracker, lease);
    releaseAgain(s.tracker, lease);
    assert.deepEqual(seen, [lease.id]);
    assert.deepEqual(s.errors, [boom, boom]);
    assert.equal(s.tracker.stats().counters.doubleReleases, 1);
  });

  test('without onError, a throwing listener becomes one process warning with a code', async (t) => {
    const clock = new FakeClock();
    const inspector = new Inspector({ clock, historyIntervalMillis: 0 });
    t.after(() => inspector.close());
    const tracker = inspector.registerPool(new FakePoolAdapter(), { name: 'p' });
    inspector.on('lease-acquired', () => {
      throw new Error('listener bug');
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    for (let i = 0; i < 3; i++) {
      const lease = tracker.checkoutStarted(connect);
      tracker.checkoutSucceeded(lease, {}, null, false);
    }
    await new Promise((resolve) => setImmediate(resolve));
    const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'POOLSCOPE_INTERNAL_ERROR');
    assert.equal(ours.length, 1);
    assert.match(ours[0]?.message ?? '', /listener bug/);
  });
});
