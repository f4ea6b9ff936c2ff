// GET /api/server without a socket or a database: a fake `activity()` source behind the ops handler.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import { OptionsError, ServerViewError } from '../../src/errors.js';
import { createOpsHandler, type OpsHandler, type OpsHandlerOptions } from '../../src/http/ops-handler.js';
import { opsRequestOf } from '../../src/http/ops-request.js';
import type { OpsResponse } from '../../src/http/ops-response.js';
import { ServerViewRoute, SERVER_VIEW_MAX_AGE_MILLIS, type ServerViewSource } from '../../src/http/server-view-route.js';
import type { ServerActivityReport } from '../../src/server/activity-report.js';
import { DashboardStream } from '../../src/http/dashboard-stream.js';
import { FakeClock } from '../support/fake-clock.js';

/** A report as ActivityInspector would give it (the route passes it through untouched). */
function reportOf(usedConnections: number): ServerActivityReport {
  return {
    takenAt: '2026-01-20T10:30:00.000Z',
    version: '15.4',
    versionNumber: 150004,
    maxConnections: 100,
    reservedConnections: 3,
    usedConnections,
    headroom: 100 - 3 - usedConnections,
    hiddenBackends: 0,
    inspectorPid: 4242,
    filters: { applicationName: null, database: null, user: null },
    groups: [{ applicationName: 'api/web-1/main', user: 'app', database: 'shop', state: 'idle', count: usedConnections - 1 }],
    idleInTransaction: [],
    waitingOnLocks: [],
    oldestTransaction: null,
    sessions: [],
  };
}

/** A source whose reads the test settles by hand. */
class ManualSource implements ServerViewSource {
  calls = 0;
  readonly #pending: { resolve: (report: ServerActivityReport) => void; reject: (error: unknown) => void }[] = [];

  activity(): Promise<ServerActivityReport> {
    this.calls += 1;
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }

  resolve(report: ServerActivityReport): void {
    const next = this.#pending.shift();
    assert.ok(next, 'a read is in progress');
    next.resolve(report);
  }

  reject(error: unknown): void {
    const next = this.#pending.shift();
    assert.ok(next, 'a read is in progress');
    next.reject(error);
  }
}

function setup(t: TestContext, options: OpsHandlerOptions = {}): { handler: OpsHandler; errors: unknown[] } {
  const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false });
  t.after(() => inspector.close());
  const errors: unknown[] = [];
  const handler = createOpsHandler(inspector, { onError: (error) => errors.push(error), ...options });
  return { handler, errors };
}

function get(handler: OpsHandler, path = '/api/server', remoteAddress = '127.0.0.1'): Promise<OpsResponse> {
  return handler.handle(opsRequestOf('GET', path, {}, remoteAddress));
}

function bodyOf(response: OpsResponse): unknown {
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(response.headers['cache-control'], 'no-store');
  return JSON.parse(response.body as string);
}

/** Lets pending promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('GET /api/server', () => {
  test('answers the source report as JSON', async (t) => {
    const report = reportOf(7);
    const { handler, errors } = setup(t, { serverView: { activity: () => Promise.resolve(report) } });
    const response = await get(handler);
    assert.equal(response.status, 200, String(response.body));
    assert.deepEqual(bodyOf(response), report);
    assert.deepEqual(errors, []);
  });

  test('not configured: 404 POOLSCOPE_ERR_HTTP_SERVER_VIEW_DISABLED saying how to enable it', async (t) => {
    const { handler } = setup(t);
    const response = await get(handler);
    assert.equal(response.status, 404);
    const body = bodyOf(response) as { error: string; message: string };
    assert.deepEqual(Object.keys(body).sort(), ['error', 'message']);
    assert.equal(body.error, 'POOLSCOPE_ERR_HTTP_SERVER_VIEW_DISABLED');
    assert.match(body.message, /serverView: new ActivityInspector/);
  });

  test('restricted: a public address is refused before the source is read', async (t) => {
    const source = new ManualSource();
    const { handler } = setup(t, { serverView: source });
    const response = await get(handler, '/api/server', '203.0.113.7');
    assert.equal(response.status, 403);
    assert.equal(source.calls, 0);
  });

  test('concurrent calls share one read', async (t) => {
    const source = new ManualSource();
    const { handler } = setup(t, { serverView: source });
    const answers = Promise.all([get(handler), get(handler), get(handler)]);
    await settle();
    assert.equal(source.calls, 1, 'one activity() for three callers');
    source.resolve(reportOf(5));
    for (const response of await answers) {
      assert.equal(response.status, 200);
      assert.equal((bodyOf(response) as ServerActivityReport).usedConnections, 5);
    }
  });

  test('a failed read: 503 with its code, the error to onError once, no driver message in the answer', async (t) => {
    const source = new ManualSource();
    const { handler, errors } = setup(t, { serverView: source });
    const failure = new ServerViewError('POOLSCOPE_ERR_SERVER_CONNECT_FAILED', 'ActivityInspector', 'could not connect: secret-host:5432 refused');
    const answers = Promise.all([get(handler), get(handler)]);
    await settle();
    source.reject(failure);
    for (const response of await answers) {
      assert.equal(response.status, 503);
      const body = bodyOf(response) as { error: string; message: string };
      assert.deepEqual(Object.keys(body).sort(), ['error', 'message']);
      assert.equal(body.error, 'POOLSCOPE_ERR_SERVER_CONNECT_FAILED');
      assert.doesNotMatch(body.message, /secret-host/);
    }
    assert.deepEqual(errors, [failure], 'reported once for the shared read');
  });

  test('a source that throws something else (even synchronously): 503 POOLSCOPE_ERR_SERVER_QUERY_FAILED', async (t) => {
    const thrown = { reason: 'not an Error' };
    const { handler, errors } = setup(t, {
      serverView: {
        activity: () => {
          throw thrown;
        },
      },
    });
    const response = await get(handler);
    assert.equal(response.status, 503);
    assert.equal((bodyOf(response) as { error: string }).error, 'POOLSCOPE_ERR_SERVER_QUERY_FAILED');
    assert.deepEqual(errors, [thrown]);
  });

  test('HEAD answers the status without a body', async (t) => {
    const { handler } = setup(t, { serverView: { activity: () => Promise.resolve(reportOf(2)) } });
    const response = await handler.handle(opsRequestOf('HEAD', '/api/server', {}, '127.0.0.1'));
    assert.equal(response.status, 200);
    assert.equal(response.body, '');
  });

  test('a bad serverView option throws OptionsError naming it', (t) => {
    for (const bad of [null, 42, {}, { activity: 'yes' }]) {
      assert.throws(() => setup(t, { serverView: bad as never }), (error: unknown) => error instanceof OptionsError && /serverView/.test(error.message));
    }
  });
});

describe('ServerViewRoute cache', () => {
  test('a report answers for 2 s from when its read started, then the next call reads again', async () => {
    const clock = new FakeClock();
    const source = new ManualSource();
    const route = new ServerViewRoute(source, { onError: () => undefined, now: () => clock.now() });
    const first = route.answer();
    clock.advance(SERVER_VIEW_MAX_AGE_MILLIS / 2);
    source.resolve(reportOf(3));
    assert.equal((await first).status, 200);
    assert.equal(await route.answer(), await first, 'fresh: the same answer, no read');
    assert.equal(source.calls, 1);
    clock.advance(SERVER_VIEW_MAX_AGE_MILLIS / 2);
    const second = route.answer();
    assert.equal(source.calls, 2, 'stale after 2 s: read again');
    source.resolve(reportOf(4));
    assert.equal((bodyOf(await second) as ServerActivityReport).usedConnections, 4);
  });

  test('a read slower than 2 s is still shared while in flight, and read again once it is stale', async () => {
    const clock = new FakeClock();
    const source = new ManualSource();
    const route = new ServerViewRoute(source, { onError: () => undefined, now: () => clock.now() });
    const first = route.answer();
    clock.advance(SERVER_VIEW_MAX_AGE_MILLIS * 3);
    const joined = route.answer();
    assert.equal(source.calls, 1, 'joined the read in flight');
    source.resolve(reportOf(3));
    assert.equal(await joined, await first);
    await settle();
    void route.answer();
    assert.equal(source.calls, 2);
    source.resolve(reportOf(3));
  });

  test('a failure is kept as long as a report (no read per request while the database is down)', async () => {
    const clock = new FakeClock();
    const source = new ManualSource();
    const errors: unknown[] = [];
    const route = new ServerViewRoute(source, { onError: (error) => errors.push(error), now: () => clock.now() });
    const first = route.answer();
    source.reject(new ServerViewError('POOLSCOPE_ERR_SERVER_QUERY_FAILED', 'ActivityInspector', 'timeout'));
    assert.equal((await first).status, 503);
    assert.equal((await route.answer()).status, 503);
    assert.equal(source.calls, 1);
    clock.advance(SERVER_VIEW_MAX_AGE_MILLIS);
    const retry = route.answer();
    source.resolve(reportOf(2));
    assert.equal((await retry).status, 200);
    assert.equal(errors.length, 1);
  });
});

describe('the stream says whether the server view is on', () => {
  test('hello carries serverView: true when configured, false otherwise', (t) => {
    const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false, appName: 'shop' });
    t.after(() => inspector.close());
    const timers = { setInterval: () => 1, clearInterval: () => undefined };
    for (const serverView of [true, false]) {
      const frames: string[] = [];
      const stream = new DashboardStream(inspector, { timers, serverView });
      stream.connect({
        write: (text) => frames.push(text) > 0,
        end: () => undefined,
        abort: () => undefined,
        onClose: () => undefined,
        bufferedBytes: 0,
        closed: false,
      });
      const hello = frames[0] ?? '';
      assert.match(hello, /^event: hello\n/);
      assert.equal((JSON.parse(hello.split('\ndata: ')[1] ?? '{}') as { serverView: boolean }).serverView, serverView);
      stream.close();
    }
  });
});
