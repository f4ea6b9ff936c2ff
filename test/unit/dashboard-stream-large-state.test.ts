// Regression (found by the soak, bench/soak.ts): a dashboard client was disconnected the moment it connected once
// the `state` frame (every pool with its whole history: about 48 KB per pool after 3 minutes at the default 1 s
// interval) was larger than maxBufferedBytes (256 KB): the bound was checked right after writing the frame, before
// the client could read any of it. With 8 pools, no dashboard could connect after about 3 minutes. The bound now
// applies to what is still queued from earlier writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import { DashboardStream, type StreamTimers } from '../../src/http/dashboard-stream.js';
import type { OpsStreamSink } from '../../src/http/ops-response.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';

/** A client whose socket queues everything written until it reads (`read()`). */
class QueueingSink implements OpsStreamSink {
  events: string[] = [];
  bufferedBytes = 0;
  closed = false;
  aborted = false;
  #listeners: (() => void)[] = [];

  write(text: string): boolean {
    this.bufferedBytes += Buffer.byteLength(text);
    this.events.push(...[...text.matchAll(/^event: ([a-z]+)$/gm)].map((match) => match[1] ?? ''));
    return false;
  }

  read(): void {
    this.bufferedBytes = 0;
  }

  end(): void {
    this.#leave();
  }

  abort(): void {
    this.aborted = true;
    this.#leave();
  }

  onClose(fn: () => void): void {
    this.#listeners.push(fn);
  }

  #leave(): void {
    this.closed = true;
    for (const fn of this.#listeners.splice(0)) fn();
  }
}

class ManualTimers implements StreamTimers {
  #fns = new Map<number, () => void>();
  #next = 1;

  setInterval(fn: () => void): unknown {
    const id = this.#next++;
    this.#fns.set(id, fn);
    return id;
  }

  clearInterval(handle: unknown): void {
    this.#fns.delete(handle as number);
  }

  fire(): void {
    for (const fn of [...this.#fns.values()]) fn();
  }
}

test('regression: a state frame larger than maxBufferedBytes reaches a client that reads; one that never reads is dropped at its next frame', (t) => {
  const inspector = new Inspector({ clock: new FakeClock(), historyIntervalMillis: 0, alerts: false });
  t.after(() => inspector.close());
  for (let i = 0; i < 8; i += 1) inspector.registerPool(new FakePoolAdapter({ max: 10, total: 2, idle: 2 }), { name: `pool-${i}`, leakThresholdMillis: 0 });
  const timers = new ManualTimers();
  const maxBufferedBytes = 1024;
  const stream = new DashboardStream(inspector, { timers, intervalMillis: 1000, historyIntervalMillis: 1000, maxBufferedBytes });
  t.after(() => stream.close());

  const reader = new QueueingSink();
  const stuck = new QueueingSink();
  stream.connect(reader);
  stream.connect(stuck);
  assert.ok(reader.bufferedBytes > maxBufferedBytes, `precondition: hello + state (${reader.bufferedBytes} bytes) pass the bound`);
  assert.deepEqual(reader.events, ['hello', 'state'], 'the reader got hello and state');
  assert.equal(reader.aborted, false, 'and was not dropped for it');
  assert.equal(stream.clientCount, 2);

  reader.read();
  timers.fire();
  assert.deepEqual(reader.events, ['hello', 'state', 'tick']);
  assert.equal(reader.aborted, false);
  assert.equal(stuck.aborted, true, 'a client still holding more than the bound at the next frame is dropped');
  assert.equal(stream.clientCount, 1);
});
