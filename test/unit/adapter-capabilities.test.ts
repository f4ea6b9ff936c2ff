// Adapter capabilities (docs/reference/adapters.md): what an adapter cannot observe is "not available" in the
// snapshot, has no metric sample, and reads n/a in the CLI, instead of a zero that would read as "none happened".
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import { PrometheusExporter } from '../../src/exporters/prometheus-exporter.js';
import { buildInspectReport, counterText, notAvailableText, renderInspectText } from '../../src/cli/inspect-report.js';
import { ALL_CAPABILITIES } from '../../src/core/adapter-capabilities.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';

const NONE = { queries: false, transactions: false, sessionIds: false };

function setup(t: TestContext): { inspector: Inspector; clock: FakeClock } {
  const clock = new FakeClock();
  const inspector = new Inspector({ clock, historyIntervalMillis: 0, alerts: false });
  t.after(() => inspector.close());
  return { inspector, clock };
}

function hide(): void {}

describe('adapter capabilities', () => {
  test('a pool whose adapter sees no queries or transactions: null counts and a transaction not available', (t) => {
    const { inspector } = setup(t);
    const adapter = new FakePoolAdapter({ max: 2, total: 1 });
    adapter.capabilities = NONE;
    const tracker = inspector.registerPool(adapter, { name: 'sockets', leakThresholdMillis: 0 });
    const lease = tracker.checkoutStarted(hide);
    tracker.checkoutSucceeded(lease, {}, null, false);
    const snapshot = tracker.view.snapshot();
    assert.deepEqual(snapshot.stats.capabilities, NONE);
    const [holder] = snapshot.holders;
    assert.ok(holder);
    assert.equal(holder.queriesRun, null);
    assert.equal(holder.queriesInFlight, null);
    assert.equal(holder.query, null);
    assert.deepEqual(holder.transaction, { status: 'not-available', depth: null });
  });

  test('an adapter without capabilities is taken to have all of them (the pg adapter)', (t) => {
    const { inspector } = setup(t);
    const tracker = inspector.registerPool(new FakePoolAdapter({ max: 2 }), { name: 'main', leakThresholdMillis: 0 });
    const lease = tracker.checkoutStarted(hide);
    tracker.checkoutSucceeded(lease, {}, 7, false, 'idle');
    const holder = tracker.view.snapshot().holders[0];
    assert.deepEqual(tracker.view.stats().capabilities, ALL_CAPABILITIES);
    assert.equal(holder?.queriesRun, 0);
    assert.deepEqual(holder?.transaction, { status: 'idle', depth: 0 });
  });

  test('Prometheus: no dirty-release or release-in-flight sample for a pool that cannot see them', async (t) => {
    const { inspector } = setup(t);
    const adapter = new FakePoolAdapter({ max: 2 });
    adapter.capabilities = NONE;
    inspector.registerPool(adapter, { name: 'sockets', leakThresholdMillis: 0 });
    inspector.registerPool(new FakePoolAdapter({ max: 2 }), { name: 'main', leakThresholdMillis: 0 });
    const exporter = new PrometheusExporter(inspector);
    t.after(() => exporter.close());
    const text = await exporter.metrics();
    for (const name of ['poolscope_pool_dirty_releases_total', 'poolscope_pool_releases_in_flight_total']) {
      assert.match(text, new RegExp(`^${name}\\{pool_name="main"\\} 0$`, 'm'), `${name} for main`);
      assert.doesNotMatch(text, new RegExp(`^${name}\\{pool_name="sockets"\\}`, 'm'), `no ${name} for sockets`);
    }
    assert.match(text, /^poolscope_pool_double_releases_total\{pool_name="sockets"\} 0$/m, 'what every adapter sees is there');
  });

  test('the CLI says what is not available and shows n/a, not 0', (t) => {
    const { inspector } = setup(t);
    const adapter = new FakePoolAdapter({ max: 2 });
    adapter.capabilities = { queries: false, transactions: false, sessionIds: true };
    const tracker = inspector.registerPool(adapter, { name: 'sockets', leakThresholdMillis: 0 });
    const stats = tracker.view.stats();
    assert.equal(notAvailableText(stats), 'queries (running query, query counts, releases in flight); transactions (status, depth, dirty releases)');
    assert.match(counterText(stats), /dirty releases n\/a/);
    const text = renderInspectText(
      buildInspectReport({ url: 'http://127.0.0.1:1', pools: { timestamp: stats.timestamp, pools: [{ poolName: 'sockets', driver: 'generic-pool', stats, config: {} }] } }),
      { color: false },
    );
    assert.match(text, /^ {2}Not available from the generic-pool adapter: queries .*; transactions/m);
    const { capabilities: _dropped, ...older } = stats; // an app on an older poolscope sends no capabilities
    assert.equal(notAvailableText(older as typeof stats), '');
  });
});
