// The shipped Prometheus alerting rules (docs/prometheus/poolscope-alerts.yml), checked and exercised by promtool:
// series in, alerts out, with their `for:` durations. Needs promtool (Debian package `prometheus`; .ci/run installs
// it); without it the tests report themselves skipped.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { METRIC_CATALOG } from '../../src/exporters/metric-catalog.js';

const RULES = fileURLToPath(new URL('../../docs/prometheus/poolscope-alerts.yml', import.meta.url));

function promtool(): string | undefined {
  for (const candidate of ['promtool', '/usr/bin/promtool']) {
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (probe.error === undefined && probe.status === 0) return candidate;
  }
  return undefined;
}

function run(t: TestContext, args: string[]): { status: number | null; output: string } | undefined {
  const binary = promtool();
  if (binary === undefined) {
    t.skip('promtool not installed (apt-get install prometheus)');
    return undefined;
  }
  const result = spawnSync(binary, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const instance = 'job="app",instance="app-1:3000"';

/** A promtool rule test: input series sampled every minute and the alerts expected at given times. */
const RULE_TESTS = `
rule_files:
  - ${JSON.stringify(RULES)}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'poolscope_pool_utilization_ratio{${instance},pool_name="main"}'
        values: '0.5 0.9x10'
      - series: 'poolscope_pool_expect_full{${instance},pool_name="main"}'
        values: '0x11'
      - series: 'poolscope_pool_utilization_ratio{${instance},pool_name="listen"}'
        values: '1x11'
      - series: 'poolscope_pool_expect_full{${instance},pool_name="listen"}'
        values: '1x11'
      - series: 'db_client_connection_pending_requests{${instance},pool_name="main"}'
        values: '0 0 3 0x8'
      - series: 'db_client_connection_timeouts_total{${instance},pool_name="main"}'
        values: '0x5 2x5'
      - series: 'poolscope_pool_leaks_suspected_total{${instance},pool_name="main"}'
        values: '0x11'
      - series: 'poolscope_pool_dirty_releases_total{${instance},pool_name="main"}'
        values: '0 0 1x9'
    alert_rule_test:
      # Above 80% since minute 1: pending until the 5-minute duration has passed, firing after; never for listen.
      - eval_time: 5m
        alertname: PoolscopePoolUtilizationHigh
        exp_alerts: []
      - eval_time: 6m
        alertname: PoolscopePoolUtilizationHigh
        exp_alerts:
          - exp_labels: { severity: warning, job: app, instance: "app-1:3000", pool_name: main }
            exp_annotations:
              summary: "Pool main on app-1:3000 is 90% utilized"
              description: "More than 80% of the pool's connections have been in use for 5 minutes: little headroom for spikes. Look for slow queries and long holders (poolscope inspect --detailed), or raise max."
      # Waiting callers fire at once, and resolve when the queue is gone.
      - eval_time: 1m
        alertname: PoolscopePoolCallersWaiting
        exp_alerts: []
      - eval_time: 2m
        alertname: PoolscopePoolCallersWaiting
        exp_alerts:
          - exp_labels: { severity: critical, job: app, instance: "app-1:3000", pool_name: main }
            exp_annotations:
              summary: "Pool main on app-1:3000 has 3 waiting client(s)"
              description: "Callers are queued for a connection: the pool is exhausted. Requests will time out after connectionTimeoutMillis. Check the saturation snapshot for who holds the connections."
      - eval_time: 3m
        alertname: PoolscopePoolCallersWaiting
        exp_alerts: []
      - eval_time: 4m
        alertname: PoolscopeAcquireTimeouts
        exp_alerts: []
      - eval_time: 6m
        alertname: PoolscopeAcquireTimeouts
        exp_alerts:
          - exp_labels: { severity: critical, job: app, instance: "app-1:3000", pool_name: main }
            exp_annotations:
              summary: "Pool main on app-1:3000: callers timed out waiting for a connection"
              description: "Acquire timeouts in the last 5 minutes. Each one is logged with the pool's five longest holders and their file:line."
      - eval_time: 10m
        alertname: PoolscopeConnectionLeaks
        exp_alerts: []
      - eval_time: 3m
        alertname: PoolscopeDirtyReleases
        exp_alerts:
          - exp_labels: { severity: warning, job: app, instance: "app-1:3000", pool_name: main }
            exp_annotations:
              summary: "Pool main on app-1:3000: connections returned inside a transaction"
              description: "Dirty releases in the last 15 minutes: the next borrower inherits an open transaction. Use withTransaction, or COMMIT/ROLLBACK before release()."
`;

describe('docs/prometheus/poolscope-alerts.yml', () => {
  test('promtool check rules accepts it', (t) => {
    const result = run(t, ['check', 'rules', RULES]);
    if (result === undefined) return;
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /SUCCESS: 5 rules found/);
  });

  test('promtool test rules: each alert fires when, and only when, it should', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'poolscope-rules-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'poolscope-alerts.test.yml');
    writeFileSync(file, RULE_TESTS);
    const result = run(t, ['test', 'rules', file]);
    if (result === undefined) return;
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /SUCCESS/);
  });

  test('uses only metric names from the catalogue', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(RULES, 'utf8');
    const known = new Set<string>(METRIC_CATALOG.map((m) => m.prometheusName));
    const used = new Set(text.match(/\b(?:db_client_connection|poolscope_pool)_[a-z_]+\b/g) ?? []);
    assert.ok(used.size >= 5);
    for (const name of used) assert.ok(known.has(name), `${name} is not a metric poolscope exports`);
  });
});
