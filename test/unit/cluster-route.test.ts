// GET /api/cluster/snapshot without a database: a fake `snapshot(options)` source behind the ops handler.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import { ClusterError, OptionsError } from '../../src/errors.js';
import type { ClusterSnapshot, ClusterSnapshotOptions } from '../../src/cluster/cluster-node.js';
import { createOpsHandler, OPS_ROUTES, type OpsHandler, type OpsHandlerOptions } from '../../src/http/ops-handler.js';
import { opsRequestOf } from '../../src/http/ops-request.js';
import type { OpsResponse } from '../../src/http/ops-response.js';
import type { ClusterSnapshotSource } from '../../src/http/cluster-route.js';
import { clusterTotals } from '../../src/cluster/cluster-totals.js';

const PARTIAL: ClusterSnapshot = {
  requestId: 'req-1',
  complete: false,
  nodes: [{ node: 'api-1', snapshot: { takenAt: '2026-01-20T10:30:00.000Z', pools: [], multiPoolOwners: [] } }],
  missing: [{ node: 'api-3', reason: 'timeout' }],
  totals: clusterTotals([], null),
  departed: [],
};

/** Records every call's options and answers `result` (or rejects with `failure`). */
class FakeSource implements ClusterSnapshotSource {
  readonly calls: ClusterSnapshotOptions[] = [];
  failure: unknown;
  constructor(readonly result: ClusterSnapshot = PARTIAL) {}

  snapshot(options: ClusterSnapshotOptions): Promise<ClusterSnapshot> {
    this.calls.push(options);
    return this.failure === undefined ? Promise.resolve(this.result) : Promise.reject(this.failure);
  }
}

function setup(t: TestContext, options: OpsHandlerOptions = {}): { handler: OpsHandler; errors: unknown[] } {
  const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false });
  t.after(() => inspector.close());
  const errors: unknown[] = [];
  const handler = createOpsHandler(inspector, { onError: (error) => errors.push(error), ...options });
  return { handler, errors };
}

function get(handler: OpsHandler, target = '/api/cluster/snapshot', remoteAddress = '127.0.0.1', method = 'GET'): Promise<OpsResponse> {
  return handler.handle(opsRequestOf(method, target, {}, remoteAddress));
}

function bodyOf(response: OpsResponse): { error?: string; message?: string } & Record<string, unknown> {
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  return JSON.parse(response.body as string) as { error?: string; message?: string } & Record<string, unknown>;
}

describe('GET /api/cluster/snapshot', () => {
  test('is catalogued as restricted', () => {
    const route = OPS_ROUTES.find((r) => r.path === '/api/cluster/snapshot');
    assert.equal(route?.access, 'restricted');
  });

  test('answers the source result as JSON, 200 even when partial; defaults: all nodes, every pool, 3000 ms', async (t) => {
    const source = new FakeSource();
    const { handler, errors } = setup(t, { cluster: source });
    const response = await get(handler);
    assert.equal(response.status, 200, String(response.body));
    assert.deepEqual(bodyOf(response), PARTIAL);
    assert.deepEqual(source.calls, [{ nodes: 'all', timeoutMillis: 3000 }]);
    assert.deepEqual(errors, []);
  });

  test('passes nodes, pools and timeout (duplicates dropped)', async (t) => {
    const source = new FakeSource();
    const { handler } = setup(t, { cluster: source, prefix: '/ops' });
    const response = await get(handler, '/ops/api/cluster/snapshot?nodes=api-1,api-3,api-1&pools=main,tenant:42&timeout=100');
    assert.equal(response.status, 200);
    assert.deepEqual(source.calls, [{ nodes: ['api-1', 'api-3'], pools: ['main', 'tenant:42'], timeoutMillis: 100 }]);
  });

  test('HEAD answers the status without a body', async (t) => {
    const { handler } = setup(t, { cluster: new FakeSource() });
    const response = await get(handler, '/api/cluster/snapshot', '127.0.0.1', 'HEAD');
    assert.equal(response.status, 200);
    assert.equal(response.body, '');
  });

  test('bad parameters: 400 POOLSCOPE_ERR_HTTP_BAD_REQUEST naming the parameter; the source is not asked', async (t) => {
    const source = new FakeSource();
    const { handler, errors } = setup(t, { cluster: source });
    const cases: [string, RegExp][] = [
      ['timeout=99', /^timeout /],
      ['timeout=30001', /^timeout /],
      ['timeout=abc', /^timeout /],
      ['timeout=1.5', /^timeout /],
      ['timeout=', /^timeout /],
      ['nodes=', /^nodes /],
      ['nodes=a,,b', /^nodes /],
      ['nodes=a%20b', /^nodes /],
      [`nodes=${'n'.repeat(65)}`, /^nodes /],
      ['pools=main,bad/name', /^pools /],
      [`pools=${Array.from({ length: 1001 }, (_, i) => `p${i}`).join(',')}`, /^pools lists 1001/],
    ];
    for (const [query, message] of cases) {
      const response = await get(handler, `/api/cluster/snapshot?${query}`);
      assert.equal(response.status, 400, query);
      const body = bodyOf(response);
      assert.equal(body.error, 'POOLSCOPE_ERR_HTTP_BAD_REQUEST', query);
      assert.match(String(body.message), message, query);
    }
    assert.equal(source.calls.length, 0);
    assert.deepEqual(errors, []);
  });

  test('not configured: 404 POOLSCOPE_ERR_HTTP_CLUSTER_DISABLED saying how to enable it', async (t) => {
    const { handler } = setup(t);
    const response = await get(handler);
    assert.equal(response.status, 404);
    const body = bodyOf(response);
    assert.deepEqual(Object.keys(body).sort(), ['error', 'message']);
    assert.equal(body.error, 'POOLSCOPE_ERR_HTTP_CLUSTER_DISABLED');
    assert.match(String(body.message), /cluster: node/);
  });

  test('restricted: a public address is refused before the source is asked', async (t) => {
    const source = new FakeSource();
    const { handler } = setup(t, { cluster: source });
    const response = await get(handler, '/api/cluster/snapshot', '203.0.113.7');
    assert.equal(response.status, 403);
    assert.equal(source.calls.length, 0);
  });

  test('the node cannot ask: 503 with the failure code, the error to onError, its message not sent', async (t) => {
    const source = new FakeSource();
    const { handler, errors } = setup(t, { cluster: source });
    const failure = new ClusterError('POOLSCOPE_ERR_CLUSTER_NOT_JOINED', "Cluster node 'secret-detail' is new, not joined");
    source.failure = failure;
    const response = await get(handler);
    assert.equal(response.status, 503);
    const body = bodyOf(response);
    assert.equal(body.error, 'POOLSCOPE_ERR_CLUSTER_NOT_JOINED');
    assert.doesNotMatch(String(body.message), /secret-detail/);
    assert.deepEqual(errors, [failure]);

    source.failure = new Error('driver said something');
    const other = await get(handler);
    assert.equal(other.status, 503);
    assert.equal(bodyOf(other).error, 'POOLSCOPE_ERR_CLUSTER_SEND_FAILED');
    assert.doesNotMatch(String(bodyOf(other).message), /driver said/);
    assert.equal(errors.length, 2);
  });

  test('a bad cluster option throws OptionsError at setup', (t) => {
    for (const bad of [null, 42, {}, { snapshot: 'no' }]) {
      assert.throws(() => setup(t, { cluster: bad as never }), (error: unknown) => error instanceof OptionsError && /cluster/.test(error.message));
    }
  });
});
