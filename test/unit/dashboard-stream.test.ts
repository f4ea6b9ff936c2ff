import { test, describe } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import type { PoolscopeEventOf, PoolscopeEventType } from '../../src/core/pool-events.js';
import type { PoolTracker } from '../../src/core/pool-tracker.js';
import type { DashboardSource, StreamTimers } from '../../src/http/dashboard-stream.js';
import { DashboardStream } from '../../src/http/dashboard-stream.js';
import { createOpsHandler } from '../../src/http/ops-handler.js';
import { opsRequestOf } from '../../src/http/ops-request.js';
import type { OpsStreamSink } from '../../src/http/ops-response.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';
import { FakeWorkerPoolAdapter } from '../support/fake-worker-pool-adapter.js';

/** A sink that records what was written. `draining: false` keeps everything queued (a client that never reads). */
class RecordingSink implements OpsStreamSink {
  readonly frames: { event: string; data: unknown }[] = [];
  readonly comments: string[] = [];
  text = '';
  bufferedBytes = 0;
  closed = false;
  aborted = false;
  ended = false;
  #listeners: (() => void)[] = [];

  constructor(readonly draining = true) {}

  write(text: string): boolean {
    if (this.closed) throw new Error('written after close');
    this.text += text;
    if (!this.draining) this.bufferedBytes += Buffer.byteLength(text);
    for (const block of text.split('\n\n')) {
      if (block === '') continue;
      if (block.startsWith(':')) {
        this.comments.push(block);
        continue;
      }
      const [eventLine, dataLine, ...rest] = block.split('\n');
      assert.equal(rest.length, 0, `one data line: ${block}`);
      assert.match(eventLine ?? '', /^event: [a-z]+$/);
      assert.match(dataLine ?? '', /^data: /);
      this.frames.push({ event: (eventLine ?? '').slice(7), data: JSON.parse((dataLine ?? '').slice(6)) });
    }
    return this.draining;
  }

  end(): void {
    this.ended = true;
    this.leave();
  }

  abort(): void {
    this.aborted = true;
    this.leave();
  }

  onClose(fn: () => void): void {
    this.#listeners.push(fn);
  }

  /** The client goes away. */
  leave(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.#listeners.splice(0)) fn();
  }

  named(event: string): unknown[] {
    return this.frames.filter((f) => f.event === event).map((f) => f.data);
  }
}

/** Timers the test fires by hand; counts the ones running. */
class ManualTimers implements StreamTimers {
  readonly running = new Set<number>();
  started = 0;
  #fns = new Map<number, () => void>();
  #next = 1;

  setInterval(fn: () => void): unknown {
    const id = this.#next++;
    this.running.add(id);
    this.#fns.set(id, fn);
    this.started += 1;
    return id;
  }

  clearInterval(handle: unknown): void {
    this.running.delete(handle as number);
    this.#fns.delete(handle as number);
  }

  fire(): void {
    for (const fn of [...this.#fns.values()]) fn();
  }
}

/** An inspector seen through DashboardSource, counting the subscriptions alive. */
function countingSource(inspector: Inspector): { source: DashboardSource; subscriptions: () => number } {
  let alive = 0;
  const source: DashboardSource = {
    appName: inspector.appName,
    instanceId: inspector.instanceId,
    poolNames: () => inspector.poolNames(),
    pool: (name) => inspector.pool(name),
    workerPoolNames: () => inspector.workerPoolNames(),
    workerPool: (name) => inspector.workerPool(name),
    recentSnapshots: () => inspector.recentSnapshots(),
    on<T extends PoolscopeEventType>(type: T, listener: (event: PoolscopeEventOf<T>) => void) {
      const off = inspector.on(type, listener);
      alive += 1;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        alive -= 1;
        off();
      };
    },
  };
  return { source, subscriptions: () => alive };
}

function setup(t: TestContext, options: { maxBufferedBytes?: number } = {}) {
  const clock = new FakeClock();
  const inspector = new Inspector({ clock, historyIntervalMillis: 600_000, historyRetentionMillis: 6_000_000, alerts: false, appName: 'shop', instanceId: 'web-1' });
  t.after(() => inspector.close());
  const { source, subscriptions } = countingSource(inspector);
  const timers = new ManualTimers();
  const stream = new DashboardStream(source, { timers, intervalMillis: 1000, historyIntervalMillis: 1000, ...options });
  t.after(() => stream.close());
  return { clock, inspector, stream, timers, subscriptions };
}

function addPool(inspector: Inspector, name: string, used = 0): PoolTracker {
  const tracker = inspector.registerPool(new FakePoolAdapter({ max: 10, total: used, idle: 0 }), { name, leakThresholdMillis: 0 });
  for (let i = 0; i < used; i += 1) tracker.checkoutSucceeded(tracker.checkoutStarted(addPool), {}, null, false, 'idle');
  return tracker;
}

type Frame = { poolName: string; history: { wallMillis: number }[]; holders: unknown[] };

describe('DashboardStream', () => {
  test('no timer and no inspector subscription while nobody is connected; one shared timer while some are', (t) => {
    const { inspector, stream, timers, subscriptions } = setup(t);
    addPool(inspector, 'main');
    assert.equal(timers.running.size, 0);
    assert.equal(subscriptions(), 0);
    const a = new RecordingSink();
    const b = new RecordingSink();
    stream.connect(a);
    stream.connect(b);
    assert.equal(timers.running.size, 1, 'one timer for both clients');
    assert.ok(subscriptions() > 0);
    a.leave();
    assert.equal(stream.clientCount, 1, 'a closed client is forgotten at once');
    assert.equal(timers.running.size, 1);
    b.leave();
    assert.equal(stream.clientCount, 0);
    assert.equal(timers.running.size, 0);
    assert.equal(subscriptions(), 0);
    assert.equal(stream.running, false);
  });

  test('hello, then state, then a tick per interval with every pool', (t) => {
    const { inspector, stream, timers } = setup(t);
    const tracker = addPool(inspector, 'main', 2);
    tracker.sampleHistory();
    const sink = new RecordingSink();
    stream.connect(sink);
    assert.deepEqual(sink.frames.map((f) => f.event), ['hello', 'state']);
    assert.deepEqual(sink.frames[0]?.data, { appName: 'shop', instanceId: 'web-1', intervalMillis: 1000, historyIntervalMillis: 1000, serverView: false, cluster: false });
    const state = sink.frames[1]?.data as { pools: Frame[]; events: unknown[]; snapshots: unknown[] };
    assert.deepEqual(state.pools.map((p) => p.poolName), ['main']);
    assert.equal(state.pools[0]?.holders.length, 2);
    assert.equal(state.pools[0]?.history.length, 1, 'state carries the retained history');
    timers.fire();
    const ticks = sink.named('tick') as { pools: Frame[] }[];
    assert.equal(ticks.length, 1);
    assert.equal(ticks[0]?.pools[0]?.history.length, 0, 'no sample since the last one sent');
  });

  test('worker pools: state and tick carry each with its stats and live workers (none without worker pools)', (t) => {
    const { inspector, stream, timers } = setup(t);
    const sink = new RecordingSink();
    stream.connect(sink);
    assert.deepEqual((sink.named('state')[0] as { workerPools: unknown[] }).workerPools, []);
    const adapter = new FakeWorkerPoolAdapter('process');
    adapter.perWorker = 1;
    adapter.max = 2;
    adapter.add({ pid: 41, load: 1 });
    const gone = adapter.add({ pid: 42, load: 0 });
    inspector.registerWorkerPool(adapter, { name: 'reports', memorySampleIntervalMillis: 0 });
    timers.fire();
    adapter.remove(gone); // exits: no longer live, left out of the frame
    timers.fire();
    type WorkerFrame = { poolName: string; driver: string; profile: string; stats: { capacityUsed: number; level: string }; workers: { id: number; status: string }[] };
    const ticks = (sink.named('tick') as { workerPools: WorkerFrame[] }[]).map((tick) => tick.workerPools);
    assert.deepEqual(
      ticks.map((pools) => pools.map((p) => [p.poolName, p.driver, p.profile, p.stats.capacityUsed, p.stats.level, p.workers.map((w) => `${w.id}:${w.status}`)])),
      [[['reports', 'fake', 'process', 1, 'LOW', ['1:busy', '2:available']]], [['reports', 'fake', 'process', 1, 'LOW', ['1:busy']]]],
    );
  });

  test('a tick carries only history points newer than the last sent to this client', (t) => {
    const { clock, inspector, stream, timers } = setup(t);
    const tracker = addPool(inspector, 'main');
    tracker.sampleHistory();
    const early = new RecordingSink();
    stream.connect(early);
    clock.advance(1000);
    tracker.sampleHistory();
    const late = new RecordingSink();
    stream.connect(late);
    clock.advance(1000);
    tracker.sampleHistory();
    timers.fire();
    const earlyTick = early.named('tick')[0] as { pools: Frame[] };
    const lateTick = late.named('tick')[0] as { pools: Frame[] };
    assert.equal(earlyTick.pools[0]?.history.length, 2);
    assert.equal(lateTick.pools[0]?.history.length, 1);
    const points = earlyTick.pools[0]?.history ?? [];
    assert.ok((points[0]?.wallMillis ?? 0) < (points[1]?.wallMillis ?? 0));
  });

  test('a pool tracked while connected appears in `pools`, an event, and the next tick', (t) => {
    const { inspector, stream, timers } = setup(t);
    addPool(inspector, 'main');
    const sink = new RecordingSink();
    stream.connect(sink);
    addPool(inspector, 'tenant-42');
    assert.equal(sink.named('pools').length, 0, 'nothing is written between ticks');
    timers.fire();
    assert.deepEqual(sink.frames.slice(2).map((f) => f.event), ['pools', 'event', 'tick']);
    assert.deepEqual(sink.named('pools')[0], { poolNames: ['main', 'tenant-42'] });
    const event = sink.named('event')[0] as Record<string, unknown>;
    assert.equal(event.type, 'pool-tracked');
    assert.equal(event.poolName, 'tenant-42');
    assert.equal(typeof event.id, 'number');
    const tick = sink.named('tick')[0] as { pools: Frame[] };
    assert.deepEqual(tick.pools.map((p) => p.poolName), ['main', 'tenant-42']);
  });

  test('events are coalesced: at most 50 per flush, the rest counted as dropped; state keeps the last 100', (t) => {
    const { inspector, stream, timers } = setup(t);
    const sink = new RecordingSink();
    stream.connect(sink);
    for (let i = 0; i < 35; i += 1) {
      addPool(inspector, `p${i}`);
      inspector.untrack(`p${i}`);
    }
    timers.fire();
    const events = sink.named('event') as Record<string, unknown>[];
    assert.equal(events.length, 51);
    assert.deepEqual(events.at(-1), { dropped: 20 });
    const late = new RecordingSink();
    stream.connect(late);
    const state = late.named('state')[0] as { events: { id: number }[] };
    assert.equal(state.events.length, 70);
  });

  test('a client that never drains is disconnected at the bound, and nothing more is written to it', (t) => {
    const { inspector, stream, timers } = setup(t, { maxBufferedBytes: 64 * 1024 });
    addPool(inspector, 'main', 5);
    const reader = new RecordingSink();
    const stuck = new RecordingSink(false);
    stream.connect(reader);
    stream.connect(stuck);
    let ticks = 0;
    while (!stuck.closed && ticks < 10_000) {
      timers.fire();
      ticks += 1;
    }
    assert.ok(stuck.aborted, 'the stuck client was dropped, not ended politely');
    assert.ok(stuck.bufferedBytes > 64 * 1024);
    assert.ok(stuck.bufferedBytes < 64 * 1024 * 2, 'buffered no more than one tick beyond the bound');
    const written = stuck.text.length;
    timers.fire();
    timers.fire();
    assert.equal(stuck.text.length, written, 'the stream stopped writing to it');
    assert.equal(stream.clientCount, 1);
    assert.equal(reader.named('tick').length, ticks + 2, 'the other client is unaffected');
  });

  test('keep-alive comments every 15 s worth of ticks', (t) => {
    const { inspector, stream, timers } = setup(t);
    addPool(inspector, 'main');
    const sink = new RecordingSink();
    stream.connect(sink);
    for (let i = 0; i < 30; i += 1) timers.fire();
    assert.deepEqual(sink.comments, [': keep-alive', ': keep-alive']);
  });

  test('close() ends every stream and stops the timer', (t) => {
    const { inspector, stream, timers, subscriptions } = setup(t);
    addPool(inspector, 'main');
    const sink = new RecordingSink();
    stream.connect(sink);
    stream.close();
    assert.ok(sink.ended);
    assert.equal(timers.running.size, 0);
    assert.equal(subscriptions(), 0);
  });
});

describe('hello says whether the cluster panel can ask', () => {
  test('cluster: true when the ops routes have a cluster node, false otherwise', async (t) => {
    const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false });
    t.after(() => inspector.close());
    const cluster = { snapshot: () => Promise.reject(new Error('not asked in this test')) };
    for (const [options, expected] of [[{ cluster }, true], [{}, false]] as const) {
      const handler = createOpsHandler(inspector, options);
      const response = await handler.handle(opsRequestOf('GET', '/api/stream', {}, '127.0.0.1'));
      assert.equal(response.status, 200);
      const sink = new RecordingSink();
      response.stream?.(sink);
      sink.leave();
      assert.equal((sink.named('hello')[0] as { cluster?: unknown } | undefined)?.cluster, expected);
    }
  });
});
