// The ops routes without a socket: OpsRequest in, OpsResponse out, on fake pools in known states.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Inspector, type InspectorOptions } from '../../src/core/inspector.js';
import type { PoolTracker } from '../../src/core/pool-tracker.js';
import type { PoolTrackingOptions } from '../../src/core/pool-tracker-options.js';
import type { PoolConfigSnapshot } from '../../src/core/pool-snapshot.js';
import { OptionsError } from '../../src/errors.js';
import { createOpsHandler, OPS_ROUTES, type OpsHandler, type OpsHandlerOptions } from '../../src/http/ops-handler.js';
import { acceptsGzip } from '../../src/http/metrics-route.js';
import type { OpsRequest, OpsRequestHeaders } from '../../src/http/ops-request.js';
import { opsRequestOf } from '../../src/http/ops-request.js';
import type { OpsResponse } from '../../src/http/ops-response.js';
import type { ReadyzReport } from '../../src/http/readyz-route.js';
import type { PoolHealthReport } from '../../src/http/pool-health-route.js';
import type { HealthDetailsReport } from '../../src/http/health-details-route.js';
import type { PoolApiView, PoolListReport, SnapshotListReport } from '../../src/http/pool-api-routes.js';
import type { InspectorSnapshot } from '../../src/core/pool-snapshot.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter, type FakePoolCounts } from '../support/fake-pool-adapter.js';
import { FakeWorkerPoolAdapter } from '../support/fake-worker-pool-adapter.js';
import { clusterTotals } from '../../src/cluster/cluster-totals.js';

const HTTP_DOC = fileURLToPath(new URL('../../docs/reference/http.md', import.meta.url));
const JSON_TYPE = 'application/json; charset=utf-8';

/** A fake pool that can be pinged: answers, or fails with `pingError`. Records the timeouts it was given. */
class PingableFakePool extends FakePoolAdapter {
  pingError: Error | undefined = undefined;
  readonly pingTimeouts: number[] = [];
  extraConfig: PoolConfigSnapshot = {};

  constructor(counts: FakePoolCounts = {}) {
    super(counts);
  }

  ping(timeoutMillis: number): Promise<void> {
    this.pingTimeouts.push(timeoutMillis);
    return this.pingError === undefined ? Promise.resolve() : Promise.reject(this.pingError);
  }

  override config(): PoolConfigSnapshot {
    return { ...super.config(), ...this.extraConfig };
  }
}

interface Setup {
  inspector: Inspector;
  clock: FakeClock;
  errors: unknown[];
}

function newInspector(t: TestContext, options: InspectorOptions = {}): Setup {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const inspector = new Inspector({ clock, historyIntervalMillis: 0, alerts: false, onError: (error) => errors.push(error), ...options });
  t.after(() => inspector.close());
  return { inspector, clock, errors };
}

/** Registers a pingable fake pool with `used` connections checked out (and as many open, plus `idle`). */
function addPool(
  inspector: Inspector,
  name: string,
  state: { used?: number; idle?: number; waiting?: number; max?: number },
  options: Partial<PoolTrackingOptions> = {},
): { adapter: PingableFakePool; tracker: PoolTracker } {
  const used = state.used ?? 0;
  const idle = state.idle ?? 0;
  const adapter = new PingableFakePool({ max: state.max ?? 10, min: 0, total: used + idle, idle, waiting: state.waiting ?? 0 });
  const tracker = inspector.registerPool(adapter, { name, leakThresholdMillis: 0, ...options });
  for (let i = 0; i < used; i += 1) {
    const lease = tracker.checkoutStarted(addPool);
    tracker.checkoutSucceeded(lease, {}, null, false, 'idle');
  }
  return { adapter, tracker };
}

function request(path: string, init: { method?: string; remoteAddress?: string; headers?: OpsRequestHeaders } = {}): OpsRequest {
  return opsRequestOf(init.method ?? 'GET', path, init.headers ?? {}, init.remoteAddress ?? '127.0.0.1');
}

async function get(handler: OpsHandler, path: string, init: Parameters<typeof request>[1] = {}): Promise<OpsResponse> {
  return handler.handle(request(path, init));
}

/** The body as text (every answer but a gzip /metrics is text). */
function textOf(response: OpsResponse): string {
  assert.equal(typeof response.body, 'string', 'a text body');
  return response.body as string;
}

function json<T>(response: OpsResponse): T {
  assert.equal(response.headers['content-type'], JSON_TYPE);
  return JSON.parse(textOf(response)) as T;
}

function assertError(response: OpsResponse, status: number, code: string): { error: string; message: string } {
  assert.equal(response.status, status, String(response.body));
  const body = json<{ error: string; message: string }>(response);
  assert.deepEqual(Object.keys(body).sort(), ['error', 'message']);
  assert.equal(body.error, code);
  return body;
}

function handlerOf(inspector: Inspector, options: OpsHandlerOptions = {}): OpsHandler {
  return createOpsHandler(inspector, { onError: () => undefined, ...options });
}

describe('GET /health', () => {
  test('answers {"status":"ok"} to anyone, without pinging or reading a pool', async (t) => {
    const { inspector } = newInspector(t);
    const { adapter } = addPool(inspector, 'main', { used: 10 });
    adapter.pingError = new Error('down');
    const handler = handlerOf(inspector, { allowlist: [] });
    const response = await get(handler, '/health', { remoteAddress: '203.0.113.9' });
    assert.equal(response.status, 200);
    assert.equal(response.body, '{"status":"ok"}');
    assert.equal(response.headers['content-type'], JSON_TYPE);
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.deepEqual(adapter.pingTimeouts, []);
  });

  test('HEAD answers the status and headers without a body', async (t) => {
    const { inspector } = newInspector(t);
    const response = await get(handlerOf(inspector), '/health', { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.body, '');
    assert.equal(response.headers['content-type'], JSON_TYPE);
  });
});

describe('GET /readyz', () => {
  test('a normal, reachable pool: 200 with seed 001 fields, level and reachability', async (t) => {
    const { inspector } = newInspector(t);
    const { adapter } = addPool(inspector, 'main', { used: 3, idle: 2 });
    const handler = handlerOf(inspector, { probeTimeoutMillis: 1234 });
    const response = await get(handler, '/readyz');
    assert.equal(response.status, 200);
    const body = json<ReadyzReport>(response);
    assert.equal(body.status, 'ok');
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
    assert.equal(body.pools.length, 1);
    const pool = body.pools[0];
    assert.ok(pool);
    assert.deepEqual(
      { ...pool, probe: { ...pool.probe, latencyMillis: typeof pool.probe.latencyMillis } },
      {
        poolName: 'main',
        totalCount: 5,
        idleCount: 2,
        waitingCount: 0,
        usedCount: 3,
        maxCount: 10,
        utilizationPercent: 30,
        level: 'normal',
        expectFull: false,
        timestamp: '2024-01-01T00:00:01.000Z',
        reachable: true,
        probe: { checkedAt: '2024-01-01T00:00:01.000Z', latencyMillis: 'number', error: null, skipped: null },
        ready: true,
        reason: null,
      },
    );
    assert.deepEqual(adapter.pingTimeouts, [1234], 'the configured probe timeout reaches the ping');
  });

  test('the default probe timeout is 2000 ms', async (t) => {
    const { inspector } = newInspector(t);
    const { adapter } = addPool(inspector, 'main', { idle: 1 });
    await get(handlerOf(inspector), '/readyz');
    assert.deepEqual(adapter.pingTimeouts, [2000]);
  });

  test('no pool tracked: 200 with an empty list', async (t) => {
    const { inspector } = newInspector(t);
    const response = await get(handlerOf(inspector), '/readyz');
    assert.equal(response.status, 200);
    const body = json<ReadyzReport>(response);
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.pools, []);
  });

  test('a critical pool makes the service unavailable (503) and says why', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { used: 10, max: 10, waiting: 2 });
    addPool(inspector, 'other', { used: 1, idle: 1 });
    const response = await get(handlerOf(inspector), '/readyz');
    assert.equal(response.status, 503);
    const body = json<ReadyzReport>(response);
    assert.equal(body.status, 'unavailable');
    const [main, other] = body.pools;
    assert.equal(main?.level, 'critical');
    assert.equal(main?.ready, false);
    assert.match(main?.reason ?? '', /critical: 10\/10 connections in use \(100%\), 2 waiting/);
    assert.equal(main?.reachable, null, 'a full pool is not pinged');
    assert.equal(main?.probe.skipped, 'no-free-connection');
    assert.equal(other?.ready, true);
  });

  test('an expectFull pool at 100% stays ready; a normal pool beside it too', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'listen', { used: 9, max: 9 }, { expectFull: true });
    addPool(inspector, 'main', { used: 2, idle: 3 });
    const response = await get(handlerOf(inspector), '/readyz');
    assert.equal(response.status, 200, String(response.body));
    const listen = json<ReadyzReport>(response).pools.find((p) => p.poolName === 'listen');
    assert.equal(listen?.utilizationPercent, 100);
    assert.equal(listen?.expectFull, true);
    assert.equal(listen?.level, 'normal');
    assert.equal(listen?.ready, true);
  });

  test('the same expectFull pool at 100% without the flag would be critical (control)', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'listen', { used: 9, max: 9 });
    const response = await get(handlerOf(inspector), '/readyz');
    assert.equal(response.status, 503);
  });

  test('an unreachable database makes the service unavailable, even for an expectFull pool', async (t) => {
    const { inspector } = newInspector(t);
    const main = addPool(inspector, 'main', { idle: 1 });
    main.adapter.pingError = new Error('connect ECONNREFUSED 127.0.0.1:1');
    const listen = addPool(inspector, 'listen', { used: 1, max: 2 }, { expectFull: true });
    listen.adapter.pingError = new Error('the database did not answer within 2000 ms');
    const response = await get(handlerOf(inspector), '/readyz');
    assert.equal(response.status, 503);
    const body = json<ReadyzReport>(response);
    assert.equal(body.status, 'unavailable');
    for (const pool of body.pools) {
      assert.equal(pool.reachable, false);
      assert.equal(pool.ready, false);
    }
    assert.equal(body.pools[0]?.probe.error, 'connect ECONNREFUSED 127.0.0.1:1');
    assert.match(body.pools[0]?.reason ?? '', /did not answer: connect ECONNREFUSED/);
  });

  test('a pool whose adapter cannot ping is judged on its counters (reachable null, not-supported)', async (t) => {
    const { inspector } = newInspector(t);
    inspector.registerPool(new FakePoolAdapter({ max: 10, total: 1, idle: 1 }), { name: 'plain' });
    const response = await get(handlerOf(inspector), '/readyz');
    assert.equal(response.status, 200);
    const pool = json<ReadyzReport>(response).pools[0];
    assert.equal(pool?.reachable, null);
    assert.equal(pool?.probe.skipped, 'not-supported');
  });

  test('a closed inspector is not ready', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { idle: 1 });
    const handler = handlerOf(inspector);
    inspector.close();
    const response = await get(handler, '/readyz');
    assert.equal(response.status, 503);
    assert.deepEqual(json<ReadyzReport>(response).pools, []);
  });
});

describe('GET /health/pool', () => {
  test("seed 004's shape for the first pool by default; config without secrets; levels mapped", async (t) => {
    const { inspector } = newInspector(t);
    const main = addPool(inspector, 'main', { used: 3, idle: 7, max: 20 });
    main.adapter.extraConfig = { idleTimeoutMillis: 30000, connectionTimeoutMillis: 10000, min: 2 };
    addPool(inspector, 'second', { used: 9, max: 10 });
    const handler = handlerOf(inspector);
    const response = await get(handler, '/health/pool');
    assert.equal(response.status, 200);
    assert.deepEqual(json<PoolHealthReport>(response), {
      poolName: 'main',
      status: 'healthy',
      metrics: { activeConnections: 3, idleConnections: 7, waitingRequests: 0, totalConnections: 10, poolSize: 20 },
      config: { min: 2, max: 20, idleTimeout: 30000, connectionTimeout: 10000 },
      utilization: { percent: 15, status: 'normal' },
      timestamp: '2024-01-01T00:00:01.000Z',
    });
    const second = json<PoolHealthReport>(await get(handler, '/health/pool?pool=second'));
    assert.equal(second.poolName, 'second');
    assert.equal(second.status, 'unhealthy');
    assert.deepEqual(second.utilization, { percent: 90, status: 'critical' });
    assert.deepEqual(second.config, { min: 0, max: 10, idleTimeout: null, connectionTimeout: null });
  });

  test('warning maps to degraded', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { used: 8, max: 10 });
    const body = json<PoolHealthReport>(await get(handlerOf(inspector), '/health/pool'));
    assert.equal(body.status, 'degraded');
    assert.equal(body.utilization.status, 'warning');
  });

  test('an unknown pool and no pool at all are 404 POOLSCOPE_ERR_POOL_NOT_TRACKED', async (t) => {
    const { inspector } = newInspector(t);
    const handler = handlerOf(inspector);
    const none = assertError(await get(handler, '/health/pool'), 404, 'POOLSCOPE_ERR_POOL_NOT_TRACKED');
    assert.match(none.message, /No pool is tracked/);
    addPool(inspector, 'main', {});
    const unknown = assertError(await get(handler, '/health/pool?pool=nope'), 404, 'POOLSCOPE_ERR_POOL_NOT_TRACKED');
    assert.match(unknown.message, /"nope".*Tracked pools: main/);
  });
});

describe('GET /health/details', () => {
  test('every pool, totals, the worst status and the active alerts', async (t) => {
    const { inspector } = newInspector(t, { alerts: { intervalMillis: 0 } });
    addPool(inspector, 'main', { used: 10, max: 10, waiting: 3 });
    addPool(inspector, 'listen', { used: 2, idle: 0, max: 2 }, { expectFull: true });
    inspector.evaluateAlerts();
    const response = await get(handlerOf(inspector), '/health/details');
    assert.equal(response.status, 200);
    const body = json<HealthDetailsReport>(response);
    assert.equal(body.status, 'unhealthy');
    assert.deepEqual(body.connectionPool, {
      activeConnections: 12,
      idleConnections: 0,
      waitingRequests: 3,
      totalConnections: 12,
      poolSize: 12,
      utilization: 100,
    });
    assert.deepEqual(Object.keys(body.pools), ['main', 'listen']);
    assert.equal(body.pools.listen?.status, 'healthy');
    assert.equal(body.pools.main?.status, 'unhealthy');
    assert.deepEqual(
      body.alerts.map((a) => [a.rule, a.poolName, a.state]),
      [
        ['pool-callers-waiting', 'main', 'firing'],
        ['pool-utilization-high', 'main', 'pending'],
      ],
    );
  });

  test('no pool: healthy with zero totals and no alerts', async (t) => {
    const { inspector } = newInspector(t);
    const body = json<HealthDetailsReport>(await get(handlerOf(inspector), '/health/details'));
    assert.equal(body.status, 'healthy');
    assert.equal(body.connectionPool.utilization, 0);
    assert.deepEqual(body.pools, {});
    assert.deepEqual(body.alerts, []);
  });
});

describe('GET /metrics', () => {
  test('not configured: 404 POOLSCOPE_ERR_HTTP_METRICS_DISABLED saying how to enable it', async (t) => {
    const { inspector } = newInspector(t);
    const body = assertError(await get(handlerOf(inspector), '/metrics'), 404, 'POOLSCOPE_ERR_HTTP_METRICS_DISABLED');
    assert.match(body.message, /metrics: new PrometheusExporter\(inspector\)/);
    assert.match(body.message, /poolscope\/prometheus/);
  });

  test("configured: the source's exposition with its content type", async (t) => {
    const { inspector } = newInspector(t);
    const source = {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      metrics: () => Promise.resolve('# HELP x y\nx 1\n'),
    };
    const response = await get(handlerOf(inspector, { metrics: source }), '/metrics');
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], source.contentType);
    assert.equal(response.headers['content-encoding'], undefined, 'plain without Accept-Encoding');
    assert.equal(response.headers.vary, 'Accept-Encoding');
    assert.equal(response.body, '# HELP x y\nx 1\n');
  });

  test('Accept-Encoding: gzip answers the same exposition gzip-compressed, read afresh each time', async (t) => {
    const { inspector } = newInspector(t);
    let scrapes = 0;
    const source = {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      metrics: () => Promise.resolve(`# HELP x y\n# TYPE x counter\nx_total ${++scrapes}\n`),
    };
    const handler = handlerOf(inspector, { metrics: source });
    for (const accept of ['gzip', 'gzip, deflate', 'deflate, GZIP;q=0.5', 'br;q=1.0, x-gzip;q=0.1', '*', 'identity, *;q=0.2']) {
      const response = await get(handler, '/metrics', { headers: { 'accept-encoding': accept } });
      assert.equal(response.status, 200, accept);
      assert.equal(response.headers['content-type'], source.contentType, accept);
      assert.equal(response.headers['content-encoding'], 'gzip', accept);
      assert.equal(response.headers.vary, 'Accept-Encoding', accept);
      assert.equal(response.headers['cache-control'], 'no-store', accept);
      assert.ok(response.body instanceof Uint8Array, accept);
      assert.equal(gunzipSync(response.body).toString('utf8'), `# HELP x y\n# TYPE x counter\nx_total ${scrapes}\n`, accept);
    }
    assert.equal(scrapes, 6, 'one reading per request, none cached');

    const head = await get(handler, '/metrics', { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-encoding'], 'gzip', 'HEAD announces what GET would send');
    assert.equal(head.body, '');
  });

  test('gzip refused or not offered: the plain exposition', async (t) => {
    const { inspector } = newInspector(t);
    const source = { contentType: 'text/plain', metrics: () => Promise.resolve('x 1\n') };
    const handler = handlerOf(inspector, { metrics: source });
    for (const accept of ['', 'identity', 'deflate, br', 'gzip;q=0', 'gzip;q=0.000, *', '*;q=0', 'gzip;q=nope', 'gzipx']) {
      const response = await get(handler, '/metrics', { headers: { 'accept-encoding': accept } });
      assert.equal(response.headers['content-encoding'], undefined, JSON.stringify(accept));
      assert.equal(response.headers.vary, 'Accept-Encoding');
      assert.equal(response.body, 'x 1\n', JSON.stringify(accept));
    }
  });

  test('acceptsGzip reads q-values as RFC 9110 says', () => {
    assert.equal(acceptsGzip(undefined), false);
    assert.equal(acceptsGzip('gzip'), true);
    assert.equal(acceptsGzip(' GZip ; Q=0.001 '), true);
    assert.equal(acceptsGzip('gzip;q=0, *;q=1'), false, 'an explicit gzip;q=0 wins over *');
    assert.equal(acceptsGzip('*;q=1, gzip;q=0'), false);
    assert.equal(acceptsGzip('gzip;q=1.0'), true);
    assert.equal(acceptsGzip('gzip;q=1.5'), false, 'malformed q counts as 0');
    assert.equal(acceptsGzip('x-gzip'), true);
    assert.equal(acceptsGzip('deflate;q=1, *;q=0.1'), true);
  });

  test('a failing source is a 500 with a generic message; the error goes to onError', async (t) => {
    const { inspector } = newInspector(t);
    const errors: unknown[] = [];
    const failure = new Error('registry exploded at /secret/path password=hunter2');
    const handler = createOpsHandler(inspector, {
      metrics: { contentType: 'text/plain', metrics: () => Promise.reject(failure) },
      onError: (error) => errors.push(error),
    });
    const response = await get(handler, '/metrics');
    const body = assertError(response, 500, 'POOLSCOPE_ERR_HTTP_INTERNAL');
    assert.doesNotMatch(textOf(response), /exploded|hunter2|secret|at /);
    assert.match(body.message, /onError/);
    assert.deepEqual(errors, [failure]);
  });

  test("without onError, failures go to the inspector's onError", async (t) => {
    const { inspector, errors } = newInspector(t);
    const handler = createOpsHandler(inspector, {
      metrics: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('boom')) },
    });
    assertError(await get(handler, '/metrics'), 500, 'POOLSCOPE_ERR_HTTP_INTERNAL');
    assert.equal(errors.length, 1);
    assert.match(String((errors[0] as Error).message), /boom/);
  });

  test("without onError anywhere, failures become one process warning (the inspector's default)", async (t) => {
    const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false });
    t.after(() => inspector.close());
    const warnings = t.mock.method(process, 'emitWarning', () => undefined);
    const handler = createOpsHandler(inspector, {
      metrics: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('boom')) },
    });
    assertError(await get(handler, '/metrics'), 500, 'POOLSCOPE_ERR_HTTP_INTERNAL');
    assertError(await get(handler, '/metrics'), 500, 'POOLSCOPE_ERR_HTTP_INTERNAL');
    assert.equal(warnings.mock.callCount(), 1);
    const [message, options] = warnings.mock.calls[0]?.arguments ?? [];
    assert.match(String(message), /boom/);
    assert.deepEqual(options, { code: 'POOLSCOPE_INTERNAL_ERROR' });
  });

  test('a throwing onError does not break the answer', async (t) => {
    const { inspector } = newInspector(t);
    const handler = createOpsHandler(inspector, {
      metrics: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('boom')) },
      onError: () => {
        throw new Error('hook failed');
      },
    });
    assertError(await get(handler, '/metrics'), 500, 'POOLSCOPE_ERR_HTTP_INTERNAL');
  });
});

describe('JSON API', () => {
  test('GET /api/pools: every pool, in tracking order, with stats and config', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { used: 2, idle: 1 });
    addPool(inspector, 'tenant:42', { used: 1 });
    const response = await get(handlerOf(inspector), '/api/pools');
    assert.equal(response.status, 200);
    const body = json<PoolListReport>(response);
    assert.deepEqual(
      body.pools.map((p) => [p.poolName, p.driver, p.stats.used, p.stats.total, p.config.database]),
      [
        ['main', 'fake', 2, 3, 'fake'],
        ['tenant:42', 'fake', 1, 1, 'fake'],
      ],
    );
    assert.equal(body.pools[0]?.stats.counters.acquires, 2);
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
  });

  test('GET /api/pools/:name decodes the name; unknown is 404; bad encoding is 400', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'tenant:42', { used: 1, max: 4 });
    const handler = handlerOf(inspector);
    const one = json<PoolApiView>(await get(handler, '/api/pools/tenant%3A42'));
    assert.equal(one.poolName, 'tenant:42');
    assert.equal(one.stats.utilizationPercent, 25);
    assert.deepEqual(one.config, { max: 4, min: 0, database: 'fake' });
    assert.equal(json<PoolApiView>(await get(handler, '/api/pools/tenant:42')).poolName, 'tenant:42');
    const missing = assertError(await get(handler, '/api/pools/nope'), 404, 'POOLSCOPE_ERR_POOL_NOT_TRACKED');
    assert.match(missing.message, /Tracked pools: tenant:42/);
    assertError(await get(handler, '/api/pools/%E0%A4%A'), 400, 'POOLSCOPE_ERR_HTTP_BAD_REQUEST');
    assertError(await get(handler, '/api/pools/a/b'), 404, 'POOLSCOPE_ERR_HTTP_NOT_FOUND');
  });

  test('GET /api/snapshots: the automatic snapshots, optionally of one pool', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { used: 9, max: 10 });
    addPool(inspector, 'other', { used: 1 });
    await new Promise((resolve) => setImmediate(resolve)); // the saturation snapshot is taken off the checkout path
    const handler = handlerOf(inspector);
    const all = json<SnapshotListReport>(await get(handler, '/api/snapshots'));
    assert.deepEqual(
      all.snapshots.map((s) => [s.poolName, s.reason, s.holders.length]),
      [['main', 'saturation', 9]],
    );
    assert.equal(json<SnapshotListReport>(await get(handler, '/api/snapshots?pool=main')).snapshots.length, 1);
    assert.deepEqual(json<SnapshotListReport>(await get(handler, '/api/snapshots?pool=other')).snapshots, []);
  });

  test('GET /api/snapshot: a fresh snapshot of every pool', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { used: 2 });
    addPool(inspector, 'other', {});
    const body = json<InspectorSnapshot>(await get(handlerOf(inspector), '/api/snapshot'));
    assert.deepEqual(
      body.pools.map((p) => [p.poolName, p.reason, p.holders.length]),
      [
        ['main', 'manual', 2],
        ['other', 'manual', 0],
      ],
    );
    assert.deepEqual(body.multiPoolOwners, []);
  });
});

describe('routing', () => {
  test('an unknown path is 404 JSON listing the routes', async (t) => {
    const { inspector } = newInspector(t);
    const body = assertError(await get(handlerOf(inspector), '/nope'), 404, 'POOLSCOPE_ERR_HTTP_NOT_FOUND');
    assert.match(body.message, /\/readyz/);
    assertError(await get(handlerOf(inspector), '/health/'), 404, 'POOLSCOPE_ERR_HTTP_NOT_FOUND');
  });

  test('another method on a known path is 405 with allow: GET, HEAD', async (t) => {
    const { inspector } = newInspector(t);
    for (const method of ['POST', 'DELETE', 'PUT', 'OPTIONS']) {
      const response = await get(handlerOf(inspector), '/readyz', { method });
      assertError(response, 405, 'POOLSCOPE_ERR_HTTP_METHOD_NOT_ALLOWED');
      assert.equal(response.headers.allow, 'GET, HEAD');
    }
    const health = await get(handlerOf(inspector), '/health', { method: 'POST', remoteAddress: '203.0.113.1' });
    assertError(health, 405, 'POOLSCOPE_ERR_HTTP_METHOD_NOT_ALLOWED');
  });

  test('HEAD on a JSON route keeps the status, drops the body', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { used: 10, max: 10 });
    const response = await get(handlerOf(inspector), '/readyz', { method: 'head' });
    assert.equal(response.status, 503);
    assert.equal(response.body, '');
  });

  test('a prefix moves every route; the bare paths are then 404', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { idle: 1 });
    const handler = handlerOf(inspector, { prefix: '/ops' });
    assert.equal((await get(handler, '/ops/health', { remoteAddress: '203.0.113.1' })).status, 200);
    assert.equal((await get(handler, '/ops/readyz')).status, 200);
    assert.equal((await get(handler, '/ops/api/pools/main')).status, 200);
    assertError(await get(handler, '/health'), 404, 'POOLSCOPE_ERR_HTTP_NOT_FOUND');
    assertError(await get(handler, '/opsx/health'), 404, 'POOLSCOPE_ERR_HTTP_NOT_FOUND');
    assert.equal(handler.matches('/ops/api/pools/x'), true);
    assert.equal(handler.matches('/ops/api/pools/'), false);
    assert.equal(handler.matches('/readyz'), false);
    assert.deepEqual(handler.routePaths, OPS_ROUTES.map((r) => `/ops${r.path}`));
  });

  test('every catalogued route answers (none falls through to 404) and http.md documents each', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { idle: 1 });
    inspector.registerWorkerPool(new FakeWorkerPoolAdapter('thread'), { name: 'main', memorySampleIntervalMillis: 0 });
    const handler = handlerOf(inspector, {
      metrics: { contentType: 'text/plain', metrics: () => Promise.resolve('') },
      serverView: { activity: () => Promise.resolve({} as never) },
      cluster: { snapshot: () => Promise.resolve({ requestId: 'r', complete: true, nodes: [], missing: [], totals: clusterTotals([], null), departed: [] }) },
    });
    const doc = readFileSync(HTTP_DOC, 'utf8');
    for (const route of OPS_ROUTES) {
      const response = await get(handler, route.path.replace(':name', 'main').replace(':file', 'uPlot.min.css'));
      assert.equal(response.status, 200, `${route.path}: ${String(response.body)}`);
      assert.ok(doc.includes(`GET ${route.path}`), `docs/reference/http.md documents GET ${route.path}`);
    }
    assert.deepEqual(
      OPS_ROUTES.filter((r) => r.access === 'public').map((r) => r.path),
      ['/health', '/dashboard', '/dashboard/assets/:file'],
    );
  });
});

describe('access through the handler', () => {
  test('restricted routes refuse a public address with 403 JSON naming the address; /health stays open', async (t) => {
    const { inspector } = newInspector(t);
    addPool(inspector, 'main', { idle: 1 });
    const handler = handlerOf(inspector);
    for (const route of OPS_ROUTES.filter((r) => r.access === 'restricted')) {
      const response = await get(handler, route.path.replace(':name', 'main'), { remoteAddress: '203.0.113.7' });
      const body = assertError(response, 403, 'POOLSCOPE_ERR_HTTP_FORBIDDEN');
      assert.match(body.message, /203\.0\.113\.7/);
    }
    assert.equal((await get(handler, '/health', { remoteAddress: '203.0.113.7' })).status, 200);
  });

  test('an unknown path is refused before it is looked up (no route table for outsiders)', async (t) => {
    const { inspector } = newInspector(t);
    assertError(await get(handlerOf(inspector), '/nope', { remoteAddress: '203.0.113.7' }), 403, 'POOLSCOPE_ERR_HTTP_FORBIDDEN');
  });

  test('the bearer token opens the routes from anywhere', async (t) => {
    const { inspector } = newInspector(t);
    const handler = handlerOf(inspector, { token: 'tok-123456' });
    const response = await get(handler, '/readyz', { remoteAddress: '203.0.113.7', headers: { authorization: 'Bearer tok-123456' } });
    assert.equal(response.status, 200);
    const wrong = await get(handler, '/readyz', { remoteAddress: '203.0.113.7', headers: { authorization: 'Bearer tok-1234567' } });
    assertError(wrong, 403, 'POOLSCOPE_ERR_HTTP_FORBIDDEN');
  });
});

describe('options', () => {
  const cases: [string, OpsHandlerOptions][] = [
    ['prefix', { prefix: '/ops/' }],
    ['prefix', { prefix: 'ops' }],
    ['prefix', { prefix: '/ops?x=1' }],
    ['probeTimeoutMillis', { probeTimeoutMillis: 0 }],
    ['probeTimeoutMillis', { probeTimeoutMillis: Number.NaN }],
    ['metrics', { metrics: {} as never }],
    ['onError', { onError: 'log' as never }],
    ['allowlist[1]', { allowlist: ['10.0.0.0/8', '10.0.0/8'] }],
    ['trustedProxies[0]', { trustedProxies: ['proxy.local'] }],
    ['token', { token: '' }],
  ];
  for (const [option, options] of cases) {
    test(`a bad ${option} throws OptionsError at setup (${JSON.stringify(options)})`, (t) => {
      const { inspector } = newInspector(t);
      assert.throws(
        () => createOpsHandler(inspector, options),
        (error: unknown) => error instanceof OptionsError && error.option === option && error.code === 'POOLSCOPE_ERR_OPTIONS_INVALID',
      );
    });
  }

  test('opsRequestOf keeps a //path as a path and takes the first of repeated query parameters', () => {
    const req = opsRequestOf('GET', '//evil.example/readyz?pool=a&pool=b&__proto__=x', {}, '127.0.0.1');
    assert.equal(req.path, '//evil.example/readyz');
    assert.equal(req.query.pool, 'a');
    assert.equal(Object.getPrototypeOf(req.query), Object.prototype);
    assert.equal(Object.keys(req.query).length, 2);
    assert.equal(opsRequestOf(undefined, undefined, {}, undefined).path, '/');
  });
});
