// The dashboard stream over a real node:http ops server and a real tracked pg pool: what a browser's fetch() reads
// (hello, state, a planted leak in the feed with its file:line), and a client that never reads being disconnected
// instead of growing the app's memory.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import net from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import type pg from 'pg';
import { trackPgPool } from '../../src/index.js';
import { createOpsRequestListener } from '../../src/http/node-server.js';
import { opsExpressMiddleware } from '../../src/http/express-middleware.js';
import { opsFastifyPlugin } from '../../src/http/fastify-plugin.js';
import { createOpsHandler, type OpsHandler } from '../../src/http/ops-handler.js';
import type { FeedItem, PoolFrame } from '../../src/http/dashboard-frames.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TestResources, eventually, isAt, siteOf } from '../support/pg-test-kit.js';
import { eventOnce, listenTo } from '../support/wait-for.js';
import { listenOnLoopback } from '../support/loopback-server.js';

const here = import.meta.url;
let db: TestDatabase;
const res = new TestResources();
const closers: (() => Promise<void> | void)[] = [];

before(async () => {
  db = await createTestDatabase('dashboard_stream');
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await res.closeAll();
});
after(() => db?.drop());

interface Frame {
  readonly event: string;
  readonly data: unknown;
}

/** Serves `handler` on a node:http server on 127.0.0.1; closed after the test (open streams ended first). */
async function serve(handler: OpsHandler): Promise<{ url: string; port: number }> {
  const started = await listenOnLoopback(createServer(createOpsRequestListener(handler)));
  closers.push(() => {
    handler.closeStreams();
    return started.close();
  });
  return started;
}

/** Reads the stream as the page does (fetch and a ReadableStream); every frame is emitted as 'frame'. */
async function readStream(url: string): Promise<{ frames: Frame[]; emitter: EventEmitter; headers: Headers }> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  assert.equal(response.status, 200);
  const emitter = new EventEmitter();
  const frames: Frame[] = [];
  closers.push(() => controller.abort());
  const body = response.body;
  assert.ok(body !== null);
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (block.startsWith(':')) continue;
          const [eventLine = '', dataLine = ''] = block.split('\n');
          const frame = { event: eventLine.slice('event: '.length), data: JSON.parse(dataLine.slice('data: '.length)) as unknown };
          frames.push(frame);
          emitter.emit('frame', frame);
        }
      }
    } catch {
      // aborted at the end of the test
    }
  })();
  return { frames, emitter, headers: response.headers };
}

function nextFrame(emitter: EventEmitter, what: string, accept: (frame: Frame) => boolean, timeoutMillis = 20_000): Promise<Frame> {
  return eventOnce(listenTo(emitter, 'frame') as (listener: (frame: Frame) => void) => () => void, what, { accept, timeoutMillis });
}

/** Checks out `count` clients and keeps them (each ran one statement with a long comment: big holder entries). */
async function holdClients(pool: pg.Pool, count: number, commentLength = 0): Promise<pg.PoolClient[]> {
  const held: pg.PoolClient[] = [];
  for (let i = 0; i < count; i += 1) {
    const client = await pool.connect(); // @hold-site
    await client.query(`SELECT ${i} AS n /* ${'x'.repeat(commentLength)} */`);
    held.push(client);
  }
  return held;
}

describe('GET /api/stream on a real server', () => {
  test('starts with hello and state; a planted leak arrives as an event with its file:line', async () => {
    const inspector = res.inspector({ appName: 'shop', instanceId: 'web-1', historyIntervalMillis: 200 });
    const pool = res.pool(db.url, { max: 3 });
    const view = trackPgPool(inspector, pool, { name: 'main', leakThresholdMillis: 1 });
    const handler = createOpsHandler(inspector, { streamIntervalMillis: 200 });
    const { url } = await serve(handler);
    const stream = await readStream(`${url}/api/stream`);
    assert.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(stream.headers.get('cache-control'), 'no-store');
    await nextFrame(stream.emitter, 'the state frame', (f) => f.event === 'state');
    assert.deepEqual(stream.frames.slice(0, 2).map((f) => f.event), ['hello', 'state']);
    const hello = stream.frames[0]?.data as Record<string, unknown>;
    assert.deepEqual([hello.appName, hello.instanceId, hello.intervalMillis], ['shop', 'web-1', 200]);
    const state = stream.frames[1]?.data as { pools: PoolFrame[]; events: FeedItem[] };
    assert.deepEqual(state.pools.map((p) => [p.poolName, p.driver, p.stats.max]), [['main', 'pg', 3]]);

    const leaked = await pool.connect(); // @leak-site
    closers.push(() => leaked.release());
    const leakEvent = nextFrame(
      stream.emitter,
      'a leak-suspected event',
      (f) => f.event === 'event' && (f.data as FeedItem).type === 'leak-suspected',
    );
    await eventually(() => view.snapshot().holders.some((h) => h.heldMillis > 1), 'the lease held past the threshold');
    view.sweepLeaks();
    const item = (await leakEvent).data as FeedItem;
    assert.equal(item.poolName, 'main');
    assert.ok(isAt(item.location, siteOf(here, '@leak-site')), `leak at ${item.location}`);
    assert.equal(typeof item.leaseId, 'number');
    assert.ok(item.message?.includes(siteOf(here, '@leak-site')), item.message ?? '');

    const tick = await nextFrame(stream.emitter, 'a tick with the holder', (f) => f.event === 'tick');
    const frame = (tick.data as { pools: PoolFrame[] }).pools[0];
    assert.ok(frame !== undefined);
    const holder = frame.holders.find((h) => h.id === item.leaseId);
    assert.ok(holder !== undefined && isAt(holder.location, siteOf(here, '@leak-site')));
    assert.equal(handler.streamClients, 1);
  });

  test('a client that never reads is disconnected by the server, not buffered without bound', async () => {
    const inspector = res.inspector();
    const pool = res.pool(db.url, { max: 8 });
    trackPgPool(inspector, pool, { name: 'main', leakThresholdMillis: 0, maxQueryTextLength: 16_000 });
    await holdClients(pool, 8, 8_000);
    const handler = createOpsHandler(inspector, { streamIntervalMillis: 100 });
    const { url, port } = await serve(handler);
    // A reader that keeps up, to show the stream goes on for others.
    const reader = await readStream(`${url}/api/stream`);
    await nextFrame(reader.emitter, 'the reader in state', (f) => f.event === 'state');

    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    closers.push(() => {
      socket.destroy();
    });
    await eventOnce(listenTo(socket, 'connect'), 'the raw socket connected');
    socket.write('GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    socket.pause();
    await eventually(() => handler.streamClients === 2, 'the raw client connected to the stream');
    const ticksBefore = reader.frames.filter((f) => f.event === 'tick').length;
    // Each tick is ~70 KB here; the kernel's socket buffers take some MB before node's own buffer grows to the bound.
    await eventually(() => handler.streamClients === 1, 'the server dropped the client that does not read', 120_000);
    const ticksAfter = reader.frames.filter((f) => f.event === 'tick').length;
    assert.ok(ticksAfter > ticksBefore, 'ticks were produced while the raw client did not read');
    const closed = eventOnce(listenTo(socket, 'close'), 'the raw socket closed');
    socket.resume();
    await closed;
    await nextFrame(reader.emitter, 'another tick for the reader', (f) => f.event === 'tick');
    assert.equal(handler.streamClients, 1);
  });

  test('Express and Fastify stream too; from the first frames on', async () => {
    const inspector = res.inspector();
    trackPgPool(inspector, res.pool(db.url, { max: 2 }), { name: 'main' });
    const middleware = opsExpressMiddleware(inspector, { streamIntervalMillis: 100, prefix: '/ops' });
    const app = express();
    app.use(middleware);
    const expressServer = await listenOnLoopback(createServer(app));
    closers.push(() => {
      middleware.closeStreams();
      return expressServer.close();
    });
    const fastify = Fastify();
    await fastify.register(opsFastifyPlugin(inspector, { streamIntervalMillis: 100 }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => fastify.close());
    const address = fastify.server.address() as net.AddressInfo;
    for (const url of [`${expressServer.url}/ops/api/stream`, `http://127.0.0.1:${address.port}/api/stream`]) {
      const controller = new AbortController();
      const response = await fetch(url, { signal: controller.signal });
      assert.equal(response.status, 200, url);
      assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = response.body?.getReader();
      assert.ok(reader !== undefined);
      let text = '';
      while (!text.includes('event: tick')) {
        const { value, done } = await reader.read();
        assert.ok(!done, `${url} ended early: ${text}`);
        text += new TextDecoder().decode(value);
      }
      assert.ok(text.startsWith('event: hello\n'), text.slice(0, 80));
      controller.abort();
    }
  });
});
