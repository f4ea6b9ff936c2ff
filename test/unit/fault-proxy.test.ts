// The fault proxy (test/support/fault-proxy.ts) against a local echo server (test/support/socket-pool-kit.ts): each
// control does what it says, open connections are left alone where it says so, buffering is bounded, and close()
// ends everything. Waits are bounded (eventually); the latency test asserts a lower bound only.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { FaultProxy } from '../support/fault-proxy.js';
import { startEchoServer, type EchoServer } from '../support/socket-pool-kit.js';
import { eventually } from '../support/wait-for.js';

let echo: EchoServer;
const proxies: FaultProxy[] = [];
const sockets: net.Socket[] = [];

before(async () => {
  echo = await startEchoServer();
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const proxy of proxies.splice(0)) await proxy.close();
});
after(() => echo.close());

async function proxyToEcho(options: { maxConnections?: number; maxBufferedBytes?: number } = {}): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ targetPort: echo.port, ...options });
  proxies.push(proxy);
  return proxy;
}

/** A client socket to the proxy, with everything it reads and how it ended recorded. */
interface Client {
  readonly socket: net.Socket;
  readonly received: () => string;
  /** 'open', 'end' (FIN read), or the error code that closed it. */
  readonly ending: () => string;
}

async function connect(proxy: FaultProxy): Promise<Client> {
  const socket = net.connect(proxy.port, '127.0.0.1');
  sockets.push(socket);
  let received = '';
  let ending = 'open';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  socket.on('end', () => {
    if (ending === 'open') ending = 'end';
  });
  socket.on('error', (error: NodeJS.ErrnoException) => (ending = error.code ?? error.message));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => received, ending: () => ending };
}

async function roundTrip(client: Client, text: string): Promise<void> {
  const before = client.received().length;
  client.socket.write(text);
  await eventually(() => client.received().length >= before + text.length, `the echo of ${JSON.stringify(text)}`, 5000);
  assert.equal(client.received().slice(before), text);
}

/** Gives the proxy a moment to (not) forward: only where the absence of something is what is asserted. */
function pause(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis));
}

describe('fault proxy', () => {
  test('pass: forwards both ways and counts the bytes', async () => {
    const proxy = await proxyToEcho();
    const client = await connect(proxy);
    await roundTrip(client, 'hello');
    await roundTrip(client, 'again');
    const stats = proxy.stats();
    assert.equal(stats.accepted, 1);
    assert.equal(stats.open, 1);
    assert.equal(stats.bytesToServer, 10);
    assert.equal(stats.bytesToClient, 10);
  });

  test('latency: each chunk is held at least the minimum, and order is kept', async () => {
    const proxy = await proxyToEcho();
    proxy.latency(30, 60);
    const client = await connect(proxy);
    const started = performance.now();
    await roundTrip(client, 'x');
    // Two hops (there and back), each at least 30 ms: a lower bound, never an upper one.
    assert.ok(performance.now() - started >= 55, 'the round trip was held');
    const parts = Array.from({ length: 40 }, (_, i) => `<${i}>`);
    for (const part of parts) client.socket.write(part);
    const all = parts.join('');
    await eventually(() => client.received().length >= 1 + all.length, 'every part echoed', 10_000);
    assert.equal(client.received().slice(1), all);
    proxy.pass();
    await roundTrip(client, 'fast again');
  });

  test('stall: nothing passes either way until pass(); what was sent is delivered then', async () => {
    const proxy = await proxyToEcho();
    const client = await connect(proxy);
    await roundTrip(client, 'before');
    proxy.stall();
    client.socket.write('held');
    await pause(150);
    assert.equal(client.received(), 'before', 'nothing came back while stalled');
    const fresh = await connect(proxy);
    fresh.socket.write('new');
    await pause(50);
    assert.equal(fresh.received(), '', 'a new connection is stalled too');
    proxy.pass();
    await eventually(() => client.received() === 'beforeheld' && fresh.received() === 'new', 'the held bytes delivered', 5000);
  });

  test('stall: buffering is bounded; the sender is paused, not the memory grown', async () => {
    const limit = 64 * 1024;
    const proxy = await proxyToEcho({ maxBufferedBytes: limit });
    const client = await connect(proxy);
    proxy.stall();
    const block = Buffer.alloc(16 * 1024, 0x61);
    const total = 4 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += block.length) client.socket.write(block);
    await eventually(() => proxy.stats().buffered > limit, 'the proxy to fill its buffer', 5000);
    await pause(100);
    // At most one chunk over the limit is read before the sender is paused.
    assert.ok(proxy.stats().buffered <= limit + 65536, `held ${proxy.stats().buffered} bytes`);
    proxy.pass();
    await eventually(() => client.received().length === total, 'everything echoed after the stall', 20_000);
  });

  test("cutAll('rst'): the client reads a reset; cutAll('fin'): an orderly end; the proxy keeps accepting", async () => {
    const proxy = await proxyToEcho();
    const reset = await connect(proxy);
    await roundTrip(reset, 'a');
    assert.equal(proxy.cutAll('rst'), 1);
    await eventually(() => reset.ending() === 'ECONNRESET', () => `a reset, got ${reset.ending()}`, 5000);
    const ended = await connect(proxy);
    await roundTrip(ended, 'b');
    assert.equal(proxy.cutAll('fin'), 1);
    await eventually(() => ended.ending() === 'end', () => `an end, got ${ended.ending()}`, 5000);
    await eventually(() => echo.connections.size === 0, 'the server side closed too', 5000);
    const after = await connect(proxy);
    await roundTrip(after, 'c');
    assert.equal(proxy.stats().cut, 2);
  });

  test('refuseNew: new connections are reset at once, open ones keep working', async () => {
    const proxy = await proxyToEcho();
    const open = await connect(proxy);
    proxy.refuseNew();
    const refused = net.connect(proxy.port, '127.0.0.1');
    sockets.push(refused);
    const outcome = await new Promise<string>((resolve) => {
      refused.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      refused.on('close', () => resolve('closed'));
    });
    assert.ok(['ECONNRESET', 'closed'].includes(outcome), outcome);
    await roundTrip(open, 'still here');
    assert.equal(proxy.stats().refused, 1);
    proxy.pass();
    await roundTrip(await connect(proxy), 'accepted again');
  });

  test('blackholeNew: a new connection is accepted and never forwarded; open ones keep working; cutAll ends it', async () => {
    const proxy = await proxyToEcho();
    const open = await connect(proxy);
    await roundTrip(open, '1');
    const serverSide = echo.connections.size;
    proxy.blackholeNew();
    const dark = await connect(proxy);
    dark.socket.write('anyone?');
    await pause(100);
    assert.equal(dark.received(), '');
    assert.equal(echo.connections.size, serverSide, 'nothing reached the server');
    await roundTrip(open, '2');
    proxy.pass();
    await pause(50);
    assert.equal(dark.received(), '', 'a blackholed connection stays dead after pass()');
    assert.equal(proxy.cutAll('rst'), 2);
    await eventually(() => dark.ending() === 'ECONNRESET', 'the blackholed connection reset', 5000);
    assert.equal(proxy.stats().blackholed, 1);
  });

  test('cutAfter: the connection is cut once the budget has passed, exactly that many bytes forwarded', async () => {
    const proxy = await proxyToEcho();
    const client = await connect(proxy);
    proxy.cutAfter(5);
    client.socket.write('0123456789');
    await eventually(() => client.ending() === 'ECONNRESET', () => `a reset, got ${client.ending()}`, 5000);
    assert.equal(proxy.stats().bytesToServer, 5);
    assert.equal(client.received(), '', 'the cut came before any echo');
    proxy.pass();
    await roundTrip(await connect(proxy), 'whole');
  });

  test('maxConnections: one more is reset on accept', async () => {
    const proxy = await proxyToEcho({ maxConnections: 2 });
    const a = await connect(proxy);
    await connect(proxy);
    const third = net.connect(proxy.port, '127.0.0.1');
    sockets.push(third);
    await new Promise<void>((resolve) => {
      third.on('error', () => resolve());
      third.on('close', () => resolve());
    });
    assert.equal(proxy.stats().overLimit, 1);
    await roundTrip(a, 'ok');
  });

  test('close(): every connection ends and the port stops listening; loopback targets only', async () => {
    const proxy = await proxyToEcho();
    const client = await connect(proxy);
    await roundTrip(client, 'x');
    await proxy.close();
    await eventually(() => client.ending() !== 'open' || client.socket.destroyed || client.socket.readableEnded, 'the client closed', 5000);
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const late = net.connect(proxy.port, '127.0.0.1');
        late.once('connect', () => {
          late.destroy();
          resolve();
        });
        late.once('error', reject);
      }),
      { code: 'ECONNREFUSED' },
    );
    await assert.rejects(FaultProxy.start({ targetPort: 5432, targetHost: '10.0.0.1' }), /loopback/);
  });
});
