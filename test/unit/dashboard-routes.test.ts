import { test, describe } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import { DASHBOARD_CSP } from '../../src/http/dashboard-assets.js';
import { createOpsHandler } from '../../src/http/ops-handler.js';
import type { OpsHandlerOptions } from '../../src/http/ops-handler.js';
import { opsRequestOf } from '../../src/http/ops-request.js';

function handlerOf(t: TestContext, options: OpsHandlerOptions = {}) {
  const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false });
  t.after(() => inspector.close());
  return createOpsHandler(inspector, options);
}

const get = (path: string, method = 'GET', remoteAddress = '127.0.0.1') => opsRequestOf(method, path, {}, remoteAddress);

describe('dashboard routes', () => {
  test('/dashboard is public HTML with the CSP, no-store, and %PREFIX% replaced', async (t) => {
    const handler = handlerOf(t, { prefix: '/ops', allowlist: [] });
    const response = await handler.handle(get('/ops/dashboard', 'GET', '203.0.113.7'));
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(response.headers['content-security-policy'], DASHBOARD_CSP);
    assert.equal(response.headers['cache-control'], 'no-store');
    const html = String(response.body);
    assert.ok(!html.includes('%PREFIX%'));
    assert.ok(html.includes('/ops/dashboard/assets/dashboard.js'));
  });

  test('assets: own modules and uPlot with their content types; anything else is a 404', async (t) => {
    const handler = handlerOf(t);
    const types = new Map([
      ['dashboard.js', 'text/javascript; charset=utf-8'],
      ['dashboard.css', 'text/css; charset=utf-8'],
      ['uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
      ['uPlot.min.css', 'text/css; charset=utf-8'],
    ]);
    for (const [file, type] of types) {
      const response = await handler.handle(get(`/dashboard/assets/${file}`));
      assert.equal(response.status, 200, file);
      assert.equal(response.headers['content-type'], type, file);
      assert.equal(response.headers['content-security-policy'], DASHBOARD_CSP);
      assert.ok(String(response.body).length > 0);
    }
    for (const file of ['dashboard.html', '..%2Fpackage.json', '.hidden.js', 'nope.js', 'uPlot.js', 'DASHBOARD.JS']) {
      const response = await handler.handle(get(`/dashboard/assets/${file}`));
      assert.equal(response.status, 404, file);
      assert.equal(JSON.parse(String(response.body)).error, 'POOLSCOPE_ERR_HTTP_NOT_FOUND');
    }
  });

  test('/api/stream is restricted, streams on GET, and HEAD gets the headers without a stream', async (t) => {
    const handler = handlerOf(t, { allowlist: [], token: 'secret-token' });
    assert.equal((await handler.handle(get('/api/stream'))).status, 403);
    const authorized = (method: string) => opsRequestOf(method, '/api/stream', { authorization: 'Bearer secret-token' }, '203.0.113.7');
    const response = await handler.handle(authorized('GET'));
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(typeof response.stream, 'function');
    const head = await handler.handle(authorized('HEAD'));
    assert.equal(head.stream, undefined);
    assert.equal(head.body, '');
    assert.equal(handler.streamClients, 0, 'no client until an adapter calls stream()');
  });

  test('streamIntervalMillis below 100 is refused at set-up', (t) => {
    assert.throws(() => handlerOf(t, { streamIntervalMillis: 10 }), { code: 'POOLSCOPE_ERR_OPTIONS_INVALID' });
  });
});
