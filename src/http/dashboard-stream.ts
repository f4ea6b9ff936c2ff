import { OptionsError } from '../errors.js';
import type { PoolscopeEvent, PoolscopeEventOf, PoolscopeEventType } from '../core/pool-events.js';
import { DEFAULT_HISTORY_INTERVAL_MILLIS } from '../core/pool-history.js';
import type { PoolSnapshot } from '../core/pool-snapshot.js';
import type { PoolView } from '../core/pool-view.js';
import type { FeedEventType, FeedItem, HistoryCursor, PoolFrame, PoolReading, WorkerPoolSource } from './dashboard-frames.js';
import { FEED_EVENT_TYPES, feedItem, historySince, newHistoryCursor, readPool, readWorkerPools, snapshotSummary } from './dashboard-frames.js';
import type { OpsStreamSink } from './ops-response.js';
import { SSE_KEEP_ALIVE, sseFrame } from './sse-framing.js';

/** What the stream reads of an inspector (an Inspector fits): read-only views, names, events, snapshots. */
export interface DashboardSource extends WorkerPoolSource {
  readonly appName: string;
  readonly instanceId: string;
  poolNames(): string[];
  pool(name: string): PoolView | undefined;
  recentSnapshots(): PoolSnapshot[];
  on<T extends PoolscopeEventType>(type: T, listener: (event: PoolscopeEventOf<T>) => void): () => void;
}

/** The timer functions the stream uses (tests pass their own to tick by hand). */
export interface StreamTimers {
  setInterval(fn: () => void, millis: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface DashboardStreamOptions {
  /** How often every client gets a `tick`. Default 1000; at least 100. */
  readonly intervalMillis?: number;
  /** How often a keep-alive comment is sent. Default 15000. */
  readonly keepAliveMillis?: number;
  /** A client with more than this many bytes queued is disconnected. Default 262144 (256 KB). */
  readonly maxBufferedBytes?: number;
  /** Events sent per flush at most; the rest are counted in `{"dropped": n}`. Default 50. */
  readonly maxEventsPerFlush?: number;
  /** Events kept for `state`. Default 100. */
  readonly feedSize?: number;
  /** The inspector's history interval, for `hello` (default: read from the pools' samples, else 1000). */
  readonly historyIntervalMillis?: number;
  readonly timers?: StreamTimers;
  /** Whether `/api/server` answers (the ops routes have a `serverView`): said in `hello`. Default false. */
  readonly serverView?: boolean;
  /** Whether `/api/cluster/snapshot` answers (the ops routes have a `cluster` node): said in `hello`. Default false. */
  readonly cluster?: boolean;
  /** Receives errors raised while reading the pools (never thrown into the timer). */
  readonly onError?: (error: unknown) => void;
}

export const DEFAULT_STREAM_INTERVAL_MILLIS = 1000;
export const MIN_STREAM_INTERVAL_MILLIS = 100;
export const DEFAULT_STREAM_BUFFER_BYTES = 256 * 1024;

interface StreamClient {
  readonly sink: OpsStreamSink;
  readonly cursors: Map<string, HistoryCursor>;
}

const NODE_TIMERS: StreamTimers = {
  setInterval(fn, millis) {
    const handle = setInterval(fn, millis);
    handle.unref();
    return handle;
  },
  clearInterval(handle) {
    clearInterval(handle as NodeJS.Timeout);
  },
};

function positive(name: string, value: unknown, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new OptionsError(name, v, `a number >= ${min}`);
  return v;
}

/**
 * The live feed behind `GET /api/stream`: one shared timer while at least one client is connected (none
 * otherwise), inspector subscriptions only while clients are connected, events coalesced into the next tick,
 * a bounded send buffer per client. See docs/reference/http.md for the events.
 */
export class DashboardStream {
  readonly intervalMillis: number;
  readonly #source: DashboardSource;
  readonly #keepAliveEvery: number;
  readonly #maxBuffered: number;
  readonly #maxEvents: number;
  readonly #feedSize: number;
  readonly #historyInterval: number | undefined;
  readonly #serverView: boolean;
  readonly #cluster: boolean;
  readonly #timers: StreamTimers;
  readonly #onError: (error: unknown) => void;
  readonly #clients = new Set<StreamClient>();
  #timer: unknown = undefined;
  #unsubscribes: (() => void)[] = [];
  #feed: FeedItem[] = [];
  #pending: FeedItem[] = [];
  #dropped = 0;
  #poolsChanged = false;
  #nextId = 1;
  #ticks = 0;

  constructor(source: DashboardSource, options: DashboardStreamOptions = {}) {
    this.#source = source;
    this.intervalMillis = positive('intervalMillis', options.intervalMillis, DEFAULT_STREAM_INTERVAL_MILLIS, MIN_STREAM_INTERVAL_MILLIS);
    const keepAlive = positive('keepAliveMillis', options.keepAliveMillis, 15_000);
    this.#keepAliveEvery = Math.max(1, Math.round(keepAlive / this.intervalMillis));
    this.#maxBuffered = positive('maxBufferedBytes', options.maxBufferedBytes, DEFAULT_STREAM_BUFFER_BYTES);
    this.#maxEvents = positive('maxEventsPerFlush', options.maxEventsPerFlush, 50);
    this.#feedSize = positive('feedSize', options.feedSize, 100);
    this.#historyInterval = options.historyIntervalMillis;
    this.#serverView = options.serverView === true;
    this.#cluster = options.cluster === true;
    this.#timers = options.timers ?? NODE_TIMERS;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Clients connected now. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** True while the shared timer runs (exactly while a client is connected). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts streaming to `sink`: `hello`, then `state`, then a `tick` every interval until it closes. */
  connect(sink: OpsStreamSink): void {
    if (sink.closed) return;
    const client: StreamClient = { sink, cursors: new Map() };
    if (this.#clients.size === 0) this.#start();
    this.#clients.add(client);
    sink.onClose(() => this.#forget(client));
    const source = this.#source;
    const hello = {
      appName: source.appName,
      instanceId: source.instanceId,
      intervalMillis: this.intervalMillis,
      historyIntervalMillis: this.#historyInterval ?? this.#estimateHistoryInterval(),
      serverView: this.#serverView,
      cluster: this.#cluster,
    };
    if (!this.#send(client, sseFrame('hello', hello))) return;
    const state = {
      takenAt: new Date().toISOString(),
      pools: this.#frames(client, this.#read()),
      workerPools: readWorkerPools(source, this.#onError),
      events: this.#feed.slice(),
      snapshots: this.#snapshots(),
    };
    this.#send(client, sseFrame('state', state));
  }

  /** One flush now (the timer calls this every interval): pending events, `pools` if changed, a `tick`. */
  flush(): void {
    if (this.#clients.size === 0) return;
    this.#ticks += 1;
    const events = this.#pending;
    const dropped = this.#dropped;
    const poolsChanged = this.#poolsChanged;
    this.#pending = [];
    this.#dropped = 0;
    this.#poolsChanged = false;
    const head = [
      poolsChanged ? sseFrame('pools', { poolNames: this.#source.poolNames() }) : '',
      ...events.map((item) => sseFrame('event', item)),
      dropped > 0 ? sseFrame('event', { dropped }) : '',
    ].join('');
    const keepAlive = this.#ticks % this.#keepAliveEvery === 0 ? SSE_KEEP_ALIVE : '';
    const readings = this.#read();
    const workerPools = readWorkerPools(this.#source, this.#onError);
    const takenAt = new Date().toISOString();
    for (const client of [...this.#clients]) {
      const tick = sseFrame('tick', { takenAt, pools: this.#frames(client, readings), workerPools });
      this.#send(client, head + tick + keepAlive);
    }
  }

  /** Ends every client's stream (the server is shutting down) and stops the timer. */
  close(): void {
    for (const client of [...this.#clients]) {
      this.#clients.delete(client);
      client.sink.end();
    }
    this.#stop();
  }

  #start(): void {
    this.#timer = this.#timers.setInterval(() => this.flush(), this.intervalMillis);
    const record = (event: PoolscopeEvent): void => this.#record(event as Extract<PoolscopeEvent, { type: FeedEventType }>);
    this.#unsubscribes = FEED_EVENT_TYPES.map((type) => this.#source.on(type, record));
  }

  #stop(): void {
    if (this.#timer !== undefined) this.#timers.clearInterval(this.#timer);
    this.#timer = undefined;
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
    this.#unsubscribes = [];
    this.#pending = [];
    this.#dropped = 0;
    this.#poolsChanged = false;
  }

  #forget(client: StreamClient): void {
    if (!this.#clients.delete(client)) return;
    if (this.#clients.size === 0) this.#stop();
  }

  /**
   * Writes to one client; disconnects it (and answers false) when it is gone or too far behind: more than
   * maxBufferedBytes still queued from earlier writes. Checked before writing, so one frame larger than the bound (the
   * `state` of many pools with long histories) still reaches a client that reads; one that does not is dropped at
   * its next frame.
   */
  #send(client: StreamClient, text: string): boolean {
    if (!this.#clients.has(client)) return false;
    if (client.sink.closed) {
      this.#forget(client);
      return false;
    }
    if (client.sink.bufferedBytes > this.#maxBuffered) {
      this.#forget(client);
      client.sink.abort();
      return false;
    }
    client.sink.write(text);
    return true;
  }

  #record(event: Extract<PoolscopeEvent, { type: FeedEventType }>): void {
    const item = feedItem(this.#nextId++, new Date().toISOString(), event);
    this.#feed.push(item);
    if (this.#feed.length > this.#feedSize) this.#feed.shift();
    if (this.#pending.length < this.#maxEvents) this.#pending.push(item);
    else this.#dropped += 1;
    if (event.type === 'pool-tracked' || event.type === 'pool-untracked') this.#poolsChanged = true;
  }

  #read(): { view: PoolView; reading: PoolReading }[] {
    const out: { view: PoolView; reading: PoolReading }[] = [];
    for (const name of this.#source.poolNames()) {
      const view = this.#source.pool(name);
      if (view === undefined || view.closed) continue;
      try {
        out.push({ view, reading: readPool(view) });
      } catch (error) {
        this.#onError(error);
      }
    }
    return out;
  }

  #frames(client: StreamClient, readings: readonly { view: PoolView; reading: PoolReading }[]): PoolFrame[] {
    const seen = new Set<string>();
    const frames = readings.map(({ view, reading }) => {
      seen.add(reading.poolName);
      let cursor = client.cursors.get(reading.poolName);
      if (cursor === undefined) {
        cursor = newHistoryCursor();
        client.cursors.set(reading.poolName, cursor);
      }
      return { ...reading, history: historySince(view, cursor) };
    });
    for (const name of client.cursors.keys()) if (!seen.has(name)) client.cursors.delete(name);
    return frames;
  }

  #snapshots(): ReturnType<typeof snapshotSummary>[] {
    try {
      return this.#source.recentSnapshots().map(snapshotSummary);
    } catch (error) {
      this.#onError(error);
      return [];
    }
  }

  #estimateHistoryInterval(): number {
    for (const name of this.#source.poolNames()) {
      const points = this.#source.pool(name)?.history() ?? [];
      const last = points.at(-1);
      const before = points.at(-2);
      if (last !== undefined && before !== undefined) {
        const step = Date.parse(last.timestamp) - Date.parse(before.timestamp);
        if (step > 0) return step;
      }
    }
    return DEFAULT_HISTORY_INTERVAL_MILLIS;
  }
}
