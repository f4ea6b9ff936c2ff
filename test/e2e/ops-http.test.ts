// The ops routes over real sockets, on a real PostgreSQL: node:http (startOpsServer), Express and Fastify; access
// control as a client sees it; readiness against an unreachable database and a pool held full.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import type pg from 'pg';
import { trackPgPool } from '../../src/index.js';
import { PrometheusExporter } from '../../src/exporters/prometheus-exporter.js';
import { startOpsServer, createOpsRequestListener, type OpsServer } from '../../src/http/node-server.js';
import { createOpsHandler } from '../../src/http/ops-handler.js';
import { opsExpressMiddleware } from '../../src/http/express-middleware.js';
import { opsFastifyPlugin } from '../../src/http/fastify-plugin.js';
import type { ReadyzReport } from '../../src/http/readyz-route.js';
import type { PoolHealthReport } from '../../src/http/pool-health-route.js';
import type { HealthDetailsReport } from '../../src/http/health-details-route.js';
import type { PoolApiView, PoolListReport, SnapshotListReport } from '../../src/http/pool-api-routes.js';
import type { InspectorSnapshot } from '../../src/core/pool-snapshot.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TestResources } from '../support/pg-test-kit.js';
import { closedPort, listenOnLoopback } from '../support/loopback-server.js';

let db: TestDatabase;
const res = new TestResources();
/** Servers of the current test, closed after it. */
const closers: (() => Promise<void>)[] = [];

before(async () => {
  db = await createTestDatabase('ops_http');
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await res.closeAll();
});
after(() => db?.drop());

const JSON_TYPE = 'application/json; charset=utf-8';

async function startServer(...args: Parameters<typeof startOpsServer>): Promise<OpsServer> {
  const server = await startOpsServer(...args);
  closers.push(() => server.close());
  return server;
}

async function listening(server: Server): Promise<string> {
  const started = await listenOnLoopback(server);
  closers.push(started.close);
  return started.url;
}

async function getJson<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url, init);
  assert.equal(response.headers.get('content-type'), JSON_TYPE, `${url}: ${response.status}`);
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

async function holdAll(pool: pg.Pool, count: number): Promise<pg.PoolClient[]> {
  return Promise.all(Array.from({ length: count }, () => pool.connect()));
}

describe('node:http (startOpsServer)', () => {
  test('one request per route', async () => {
    // Trust auth ignores the password; it is here to check that no answer shows it.
    const withPassword = new URL(db.url);
    withPassword.password = 'hunter2-secret';
    const pool = res.pool(withPassword.toString(), { max: 4, idleTimeoutMillis: 30000, connectionTimeoutMillis: 5000 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    await pool.query('SELECT 1');
    const metrics = new PrometheusExporter(inspector);
    closers.push(() => Promise.resolve(metrics.close()));
    const server = await startServer(inspector, { port: 0, metrics });
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.port > 0);

    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), '{"status":"ok"}');

    const readyz = await getJson<ReadyzReport>(`${server.url}/readyz`);
    assert.equal(readyz.status, 200);
    assert.equal(readyz.body.status, 'ok');
    assert.equal(readyz.body.pools[0]?.poolName, 'main');
    assert.equal(readyz.body.pools[0]?.reachable, true, JSON.stringify(readyz.body));

    const poolHealth = await getJson<PoolHealthReport>(`${server.url}/health/pool?pool=main`);
    assert.equal(poolHealth.body.status, 'healthy');
    assert.deepEqual(poolHealth.body.config, { min: 0, max: 4, idleTimeout: 30000, connectionTimeout: 5000 });
    assert.equal(poolHealth.body.metrics.poolSize, 4);

    const details = await getJson<HealthDetailsReport>(`${server.url}/health/details`);
    assert.deepEqual(Object.keys(details.body.pools), ['main']);
    assert.equal(details.body.connectionPool.poolSize, 4);

    const exposition = await fetch(`${server.url}/metrics`);
    assert.equal(exposition.status, 200);
    assert.equal(exposition.headers.get('content-type'), metrics.contentType);
    assert.match(await exposition.text(), /^db_client_connection_max\{pool_name="main"\} 4$/m);

    const pools = await getJson<PoolListReport>(`${server.url}/api/pools`);
    assert.deepEqual(
      pools.body.pools.map((p) => [p.poolName, p.driver]),
      [['main', 'pg']],
    );
    const one = await getJson<PoolApiView>(`${server.url}/api/pools/main`);
    assert.match(one.body.config.connectionString ?? '', new RegExp(`:\\*\\*\\*@.*/${db.name}$`));
    assert.equal((await getJson<SnapshotListReport>(`${server.url}/api/snapshots`)).body.snapshots.length, 0);
    const snapshot = await getJson<InspectorSnapshot>(`${server.url}/api/snapshot`);
    assert.equal(snapshot.body.pools[0]?.poolName, 'main');
    for (const answer of [pools.body, one.body, snapshot.body, poolHealth.body, details.body]) {
      assert.doesNotMatch(JSON.stringify(answer), /hunter2/);
    }

    const missing = await getJson<{ error: string }>(`${server.url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error, 'POOLSCOPE_ERR_HTTP_NOT_FOUND');
    const post = await getJson<{ error: string }>(`${server.url}/readyz`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${server.url}/readyz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');

    await server.close();
    await server.close(); // idempotent
    await assert.rejects(fetch(`${server.url}/health`));
  });

  test('a port in use rejects with POOLSCOPE_ERR_HTTP_LISTEN_FAILED', async () => {
    const inspector = res.inspector();
    const first = await startServer(inspector, { port: 0 });
    await assert.rejects(startOpsServer(inspector, { port: first.port }), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'POOLSCOPE_ERR_HTTP_LISTEN_FAILED');
      assert.equal(((error as { cause?: { code?: string } }).cause)?.code, 'EADDRINUSE');
      return true;
    });
  });

  test('startOpsServer serves your own listener as the fallback, the ops routes first', async () => {
    const inspector = res.inspector();
    const server = await startServer(inspector, {
      port: 0,
      fallback: (req, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(`app ${req.url ?? ''}`);
      },
    });
    assert.equal(await (await fetch(`${server.url}/hello`)).text(), 'app /hello');
    assert.equal(await (await fetch(`${server.url}/health`)).text(), '{"status":"ok"}');
    await assert.rejects(startOpsServer(inspector, { port: 0, fallback: 'nope' as never }), { code: 'POOLSCOPE_ERR_OPTIONS_INVALID' });
  });

  test('createOpsRequestListener hands other paths to a fallback listener', async () => {
    const inspector = res.inspector();
    const listener = createOpsRequestListener(createOpsHandler(inspector, { prefix: '/ops' }), (_req, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('app');
    });
    const url = await listening(createServer(listener));
    assert.equal(await (await fetch(`${url}/hello`)).text(), 'app');
    assert.equal((await getJson<ReadyzReport>(`${url}/ops/readyz`)).body.status, 'ok');
  });
});

describe('Express', () => {
  test('serves the routes under a prefix and passes its own routes through next()', async () => {
    const pool = res.pool(db.url, { max: 3 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const app = express();
    app.use(opsExpressMiddleware(inspector, { prefix: '/ops' }));
    app.get('/hello', (_req, response) => {
      response.json({ app: true });
    });
    app.get('/ops/mine', (_req, response) => {
      response.json({ mine: true });
    });
    const url = await listening(createServer(app));

    assert.equal(await (await fetch(`${url}/ops/health`)).text(), '{"status":"ok"}');
    const readyz = await getJson<ReadyzReport>(`${url}/ops/readyz`);
    assert.equal(readyz.status, 200);
    assert.equal(readyz.body.pools[0]?.reachable, true);
    assert.equal((await getJson<PoolApiView>(`${url}/ops/api/pools/main`)).body.poolName, 'main');
    assert.equal((await getJson<{ error: string }>(`${url}/ops/readyz`, { method: 'DELETE' })).status, 405);
    assert.deepEqual((await getJson<unknown>(`${url}/hello`)).body, { app: true });
    assert.deepEqual((await getJson<unknown>(`${url}/ops/mine`)).body, { mine: true }, 'a non-ops path under the prefix is the app’s');
    assert.equal((await fetch(`${url}/nothing`)).status, 404, "Express's own 404");
  });

  test('mounted on a path, the prefix applies after it', async () => {
    const inspector = res.inspector();
    const app = express();
    app.use('/internal', opsExpressMiddleware(inspector));
    const url = await listening(createServer(app));
    assert.equal((await fetch(`${url}/internal/health`)).status, 200);
    assert.equal((await getJson<ReadyzReport>(`${url}/internal/readyz`)).status, 200);
  });
});

describe('Fastify', () => {
  test('the plugin registers the routes on the root instance; the app keeps its own', async () => {
    const pool = res.pool(db.url, { max: 3 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    const app = Fastify();
    closers.push(() => app.close());
    await app.register(opsFastifyPlugin(inspector, { prefix: '/ops' }));
    app.get('/hello', () => ({ app: true }));
    await app.register(
      async (child) => {
        await child.register(opsFastifyPlugin(inspector));
      },
      { prefix: '/nested' },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    assert.equal(await (await fetch(`${url}/ops/health`)).text(), '{"status":"ok"}');
    const readyz = await getJson<ReadyzReport>(`${url}/ops/readyz`);
    assert.equal(readyz.status, 200);
    assert.equal(readyz.body.pools[0]?.reachable, true);
    assert.equal((await getJson<PoolApiView>(`${url}/ops/api/pools/main`)).body.poolName, 'main');
    assert.equal((await getJson<{ error: string }>(`${url}/ops/api/pools/nope`)).status, 404);
    const post = await getJson<{ error: string }>(`${url}/ops/readyz`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${url}/ops/readyz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.deepEqual((await getJson<unknown>(`${url}/hello`)).body, { app: true });
    assert.equal((await getJson<ReadyzReport>(`${url}/nested/readyz`)).status, 200, 'inside a prefixed Fastify context');
  });
});

/** A GET with node:http, which (unlike fetch) leaves the body as sent: no transparent decompression. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /metrics and Accept-Encoding over the socket', () => {
  test('gzip when asked, plain otherwise: node:http, Express and Fastify', async () => {
    const pool = res.pool(db.url, { max: 2 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    await pool.query('SELECT 1');
    const metrics = new PrometheusExporter(inspector);
    closers.push(() => Promise.resolve(metrics.close()));

    const node = await startServer(inspector, { port: 0, metrics });
    const app = express();
    app.use(opsExpressMiddleware(inspector, { metrics }));
    const expressUrl = await listening(createServer(app));
    const fastify = Fastify();
    closers.push(() => fastify.close());
    await fastify.register(opsFastifyPlugin(inspector, { metrics }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const fastifyUrl = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;

    for (const [server, base] of [['node:http', node.url], ['Express', expressUrl], ['Fastify', fastifyUrl]] as const) {
      const plain = await rawGet(`${base}/metrics`);
      assert.equal(plain.status, 200, server);
      assert.equal(plain.headers['content-type'], metrics.contentType, server);
      assert.equal(plain.headers['content-encoding'], undefined, server);
      assert.equal(plain.headers.vary, 'Accept-Encoding', server);
      const text = plain.body.toString('utf8');
      assert.match(text, /^db_client_connection_max\{pool_name="main"\} 2$/m, server);

      const zipped = await rawGet(`${base}/metrics`, { 'accept-encoding': 'gzip, deflate' });
      assert.equal(zipped.status, 200, server);
      assert.equal(zipped.headers['content-type'], metrics.contentType, server);
      assert.equal(zipped.headers['content-encoding'], 'gzip', server);
      assert.equal(zipped.headers.vary, 'Accept-Encoding', server);
      assert.deepEqual(zipped.body.subarray(0, 2), Buffer.from([0x1f, 0x8b]), `${server}: gzip magic`);
      if (zipped.headers['content-length'] !== undefined) assert.equal(Number(zipped.headers['content-length']), zipped.body.length, server);
      assert.equal(gunzipSync(zipped.body).toString('utf8'), text, `${server}: the same exposition`);

      // fetch asks for gzip itself and decodes it.
      assert.equal(await (await fetch(`${base}/metrics`)).text(), text, `${server}: fetch`);
    }
  });
});

describe('access control over the socket', () => {
  test('allowlist, token and a forged X-Forwarded-For from an untrusted peer', async () => {
    const inspector = res.inspector();
    const server = await startServer(inspector, { port: 0, allowlist: ['10.0.0.0/8'], token: 'e2e-token-0123456789' });
    const refused = await getJson<{ error: string; message: string }>(`${server.url}/readyz`);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, 'POOLSCOPE_ERR_HTTP_FORBIDDEN');
    assert.match(refused.body.message, /127\.0\.0\.1/);
    assert.equal((await fetch(`${server.url}/health`)).status, 200, 'liveness stays public');

    const withToken = await getJson<ReadyzReport>(`${server.url}/readyz`, { headers: { authorization: 'Bearer e2e-token-0123456789' } });
    assert.equal(withToken.status, 200);
    const wrongToken = await getJson<unknown>(`${server.url}/readyz`, { headers: { authorization: 'Bearer e2e-token-012345678' } });
    assert.equal(wrongToken.status, 403);

    const forged = await getJson<unknown>(`${server.url}/readyz`, { headers: { 'x-forwarded-for': '10.1.2.3' } });
    assert.equal(forged.status, 403, 'the socket peer is not a trusted proxy');
  });

  test('X-Forwarded-For is believed when the peer is a trusted proxy', async () => {
    const inspector = res.inspector();
    const server = await startServer(inspector, { port: 0, allowlist: ['10.0.0.0/8'], trustedProxies: ['127.0.0.1'] });
    assert.equal((await getJson<unknown>(`${server.url}/readyz`, { headers: { 'x-forwarded-for': '10.1.2.3' } })).status, 200);
    assert.equal((await getJson<unknown>(`${server.url}/readyz`)).status, 403, 'the proxy itself is not allowlisted');
    const spoofedLeft = await getJson<unknown>(`${server.url}/readyz`, { headers: { 'x-forwarded-for': '10.1.2.3, 203.0.113.9' } });
    assert.equal(spoofedLeft.status, 403, 'the right-most untrusted hop decides');
  });

  test('Express and Fastify apply the same rule to the socket peer', async () => {
    const inspector = res.inspector();
    const options = { allowlist: ['10.0.0.0/8'] };
    const app = express();
    app.use(opsExpressMiddleware(inspector, options));
    app.set('trust proxy', true); // Express's own setting must not matter
    const expressUrl = await listening(createServer(app));
    const fastify = Fastify({ trustProxy: true });
    closers.push(() => fastify.close());
    await fastify.register(opsFastifyPlugin(inspector, options));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const fastifyUrl = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;
    for (const url of [expressUrl, fastifyUrl]) {
      assert.equal((await getJson<unknown>(`${url}/readyz`, { headers: { 'x-forwarded-for': '10.1.2.3' } })).status, 403, url);
      assert.equal((await fetch(`${url}/health`)).status, 200, url);
    }
  });
});

describe('readiness on a real database', () => {
  test('503 while a database is unreachable, 200 when every pool answers', async () => {
    const port = await closedPort();
    const inspector = res.inspector();
    const main = res.pool(db.url, { max: 2 });
    trackPgPool(inspector, main, { name: 'main' });
    const broken = res.pool(`postgres://postgres@127.0.0.1:${port}/nowhere`, { max: 2, connectionTimeoutMillis: 2000 });
    trackPgPool(inspector, broken, { name: 'broken' });
    const server = await startServer(inspector, { port: 0 });

    const down = await getJson<ReadyzReport>(`${server.url}/readyz`);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, 'unavailable');
    const [mainReport, brokenReport] = down.body.pools;
    assert.equal(mainReport?.reachable, true);
    assert.equal(mainReport?.ready, true);
    assert.equal(brokenReport?.reachable, false);
    assert.equal(brokenReport?.ready, false);
    assert.match(brokenReport?.probe.error ?? '', /ECONNREFUSED/);

    inspector.untrack('broken');
    const up = await getJson<ReadyzReport>(`${server.url}/readyz`);
    assert.equal(up.status, 200);
    assert.deepEqual(
      up.body.pools.map((p) => [p.poolName, p.reachable]),
      [['main', true]],
    );
  });

  test('503 while a pool is held full; an expectFull pool at 100% stays ready', async () => {
    const inspector = res.inspector();
    const main = res.pool(db.url, { max: 2 });
    const listen = res.pool(db.url, { max: 2 });
    trackPgPool(inspector, main, { name: 'main' });
    trackPgPool(inspector, listen, { name: 'listen', expectFull: true });
    const server = await startServer(inspector, { port: 0 });

    const listeners = await holdAll(listen, 2);
    const ok = await getJson<ReadyzReport>(`${server.url}/readyz`);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const listenReport = ok.body.pools.find((p) => p.poolName === 'listen');
    assert.equal(listenReport?.utilizationPercent, 100);
    assert.equal(listenReport?.ready, true);

    const held = await holdAll(main, 2);
    const full = await getJson<ReadyzReport>(`${server.url}/readyz`);
    assert.equal(full.status, 503);
    const mainReport = full.body.pools.find((p) => p.poolName === 'main');
    assert.equal(mainReport?.level, 'critical');
    assert.equal(mainReport?.ready, false);
    assert.equal(mainReport?.probe.skipped, 'no-free-connection', 'the probe does not queue behind the app');
    assert.equal(full.body.pools.find((p) => p.poolName === 'listen')?.ready, true);
    assert.equal(main.waitingCount, 0, 'nobody was queued by the probe');

    for (const client of held) client.release();
    const again = await getJson<ReadyzReport>(`${server.url}/readyz`);
    assert.equal(again.status, 200);
    for (const client of listeners) client.release();
  });
});
