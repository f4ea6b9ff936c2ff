import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OptionsError } from '../../src/errors.js';
import type { PoolStats } from '../../src/core/pool-stats.js';
import { bucketUpperBoundMillis } from '../../src/core/histogram.js';
import { EMPTY_DISTRIBUTION } from '../support/pool-stats-fixture.js';
import { ALL_CAPABILITIES } from '../../src/core/adapter-capabilities.js';
import {
  DEFAULT_DURATION_BUCKETS_SECONDS,
  METRIC_CATALOG,
  OTEL_POOL_NAME_ATTRIBUTE,
  OTEL_STATE_ATTRIBUTE,
  OTEL_WORKER_ID_ATTRIBUTE,
  OTEL_WORKER_POOL_NAME_ATTRIBUTE,
  OTEL_WORKER_POOL_PROFILE_ATTRIBUTE,
  OTEL_WORKER_STATUS_ATTRIBUTE,
  PROMETHEUS_POOL_NAME_LABEL,
  PROMETHEUS_STATE_LABEL,
  WORKER_POOL_METRIC_CATALOG,
  validateBucketsSeconds,
} from '../../src/exporters/metric-catalog.js';

const METRICS_DOC = fileURLToPath(new URL('../../docs/reference/metrics.md', import.meta.url));

/** Names the doc mentions on purpose without exporting them (each is explained there). */
const DOCUMENTED_NOT_EXPORTED = new Set([
  'db_client_connection_count', // the mechanical Prometheus name promtool rejects
  'db.client.connection.idle.max', // pg has no idle maximum
  'db.client.connection.limit', // newer semconv name of .max
  'db.client.connections.usage', // older semconv name, origin of db_client_connection_usage
  'db.client.operation.duration', // whose advised buckets the defaults extend
  'poolscope_worker_pool_worker_count', // the mechanical Prometheus name of poolscope.worker_pool.worker.count
]);
/** Namespaces and attributes the doc may name. */
const DOCUMENTED_OTHER_OTEL = new Set([
  OTEL_POOL_NAME_ATTRIBUTE,
  OTEL_STATE_ATTRIBUTE,
  OTEL_WORKER_POOL_NAME_ATTRIBUTE,
  OTEL_WORKER_POOL_PROFILE_ATTRIBUTE,
  OTEL_WORKER_STATUS_ATTRIBUTE,
  OTEL_WORKER_ID_ATTRIBUTE,
  'db.client.connection',
  'poolscope.pool',
  'poolscope.worker_pool',
]);
/** Both catalogues: what the docs list. */
const ALL_METRICS = [...METRIC_CATALOG, ...WORKER_POOL_METRIC_CATALOG];

describe('METRIC_CATALOG', () => {
  test('ids, OpenTelemetry names and Prometheus names are unique', () => {
    for (const key of ['id', 'otelName', 'prometheusName'] as const) {
      const values = METRIC_CATALOG.map((m) => m[key]);
      assert.deepEqual(
        values.filter((v, i) => values.indexOf(v) !== i),
        [],
        `duplicate ${key}`,
      );
    }
  });

  test('Prometheus names are lint-clean by rule (what promtool check metrics enforces, and unit suffixes)', () => {
    for (const m of METRIC_CATALOG) {
      const name = m.prometheusName;
      assert.match(name, /^[a-z_][a-z0-9_]*$/, `${name}: snake_case`);
      assert.equal(name.endsWith('_total'), m.prometheusType === 'counter', `${name}: _total exactly on counters`);
      if (m.prometheusType !== 'histogram') assert.doesNotMatch(name, /_(count|sum|bucket)$/, `${name}: no histogram suffix on a ${m.prometheusType}`);
      if (m.unit === 's') assert.match(name, /_seconds$/, `${name}: durations in seconds`);
      assert.doesNotMatch(name, /millis|_ms$|milliseconds/, `${name}: base units only`);
      // Dimensionless: a ratio ends in _ratio; the one 0/1 flag (expect_full) is a plain gauge.
      if (m.unit === '1' && m.id !== 'pool_expect_full') assert.match(name, /_ratio$/, `${name}: unit 1 is a ratio`);
      for (const label of m.prometheusLabels) {
        assert.match(label, /^[a-z_][a-z0-9_]*$/, `${name}: label ${label}`);
        assert.notEqual(label, 'le');
      }
      assert.ok(m.prometheusLabels.includes(PROMETHEUS_POOL_NAME_LABEL), `${name}: pool_name label`);
      assert.ok(m.help.length > 0 && !m.help.includes('\n'), `${name}: one-line help`);
    }
  });

  test('OpenTelemetry names, instruments and units follow semconv', () => {
    for (const m of METRIC_CATALOG) {
      assert.match(m.otelName, /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, m.otelName);
      if (m.origin === 'semconv') assert.ok(m.otelName.startsWith('db.client.connection.'), m.otelName);
      else assert.ok(m.otelName.startsWith('poolscope.'), m.otelName);
      const instruments: Record<typeof m.prometheusType, readonly string[]> = {
        counter: ['ObservableCounter'],
        gauge: ['ObservableUpDownCounter', 'ObservableGauge'],
        histogram: ['Histogram'],
      };
      assert.ok(instruments[m.prometheusType].includes(m.otelInstrument), `${m.otelName}: ${m.otelInstrument} for a ${m.prometheusType}`);
      assert.equal(m.shape === 'histogram', m.prometheusType === 'histogram', m.otelName);
      if (m.shape === 'histogram') assert.equal(m.unit, 's', `${m.otelName}: seconds`);
      assert.ok(m.unit === 's' || m.unit === '1' || /^\{[a-z]+\}$/.test(m.unit), `${m.otelName}: UCUM unit ${m.unit}`);
      assert.ok(m.otelAttributes.includes(OTEL_POOL_NAME_ATTRIBUTE), `${m.otelName}: pool name attribute`);
      assert.equal(m.otelAttributes.includes(OTEL_STATE_ATTRIBUTE), m.shape === 'per-state', `${m.otelName}: state attribute`);
      assert.equal(m.prometheusLabels.includes(PROMETHEUS_STATE_LABEL), m.shape === 'per-state', `${m.prometheusName}: state label`);
    }
  });

  test('the semconv connection-pool metrics are all there (idle.max deliberately not) with semconv units', () => {
    const semconv = new Map(METRIC_CATALOG.filter((m) => m.origin === 'semconv').map((m) => [m.otelName, m]));
    const expected: Record<string, [string, string]> = {
      'db.client.connection.count': ['ObservableUpDownCounter', '{connection}'],
      'db.client.connection.max': ['ObservableUpDownCounter', '{connection}'],
      'db.client.connection.idle.min': ['ObservableUpDownCounter', '{connection}'],
      'db.client.connection.pending_requests': ['ObservableUpDownCounter', '{request}'],
      'db.client.connection.timeouts': ['ObservableCounter', '{timeout}'],
      'db.client.connection.wait_time': ['Histogram', 's'],
      'db.client.connection.use_time': ['Histogram', 's'],
      'db.client.connection.create_time': ['Histogram', 's'],
    };
    assert.deepEqual([...semconv.keys()].sort(), Object.keys(expected).sort());
    for (const [name, [instrument, unit]] of Object.entries(expected)) {
      assert.equal(semconv.get(name)?.otelInstrument, instrument, name);
      assert.equal(semconv.get(name)?.unit, unit, name);
    }
  });

  test('each metric reads its own field of PoolStats', () => {
    const distribution = EMPTY_DISTRIBUTION;
    // Every field a distinct value, so a metric reading the wrong one shows.
    const stats: PoolStats = {
      poolName: 'p',
      timestamp: '2024-01-01T00:00:00.000Z',
      capabilities: ALL_CAPABILITIES,
      total: 101,
      idle: 102,
      used: 5,
      pending: 104,
      max: 20,
      min: 106,
      utilizationPercent: 25,
      level: 'normal',
      expectFull: false,
      counters: {
        acquires: 201,
        releases: 202,
        creates: 203,
        removes: 204,
        errors: 205,
        timeouts: 206,
        leaksSuspected: 207,
        dirtyReleases: 208,
        doubleReleases: 209,
        foreignReleases: 210,
        releasesInFlight: 211,
        ownerEndedHolding: 212,
        queries: 213,
        queryErrors: 214,
        saturationSnapshots: 215,
      },
      waitTime: distribution,
      useTime: distribution,
      createTime: distribution,
    };
    const read: Record<string, unknown> = {};
    for (const m of METRIC_CATALOG) {
      if (m.shape === 'scalar') read[m.id] = m.read(stats);
      else if (m.shape === 'per-state') read[m.id] = { idle: m.read(stats, 'idle'), used: m.read(stats, 'used') };
      else read[m.id] = m.durationKind;
    }
    assert.deepEqual(read, {
      connection_count: { idle: 102, used: 5 },
      connection_max: 20,
      connection_idle_min: 106,
      connection_pending_requests: 104,
      connection_timeouts: 206,
      connection_wait_time: 'wait_time',
      connection_use_time: 'use_time',
      connection_create_time: 'create_time',
      pool_utilization: 0.25,
      pool_expect_full: 0,
      pool_leaks_suspected: 207,
      pool_dirty_releases: 208,
      pool_double_releases: 209,
      pool_foreign_releases: 210,
      pool_releases_in_flight: 211,
      pool_saturation_snapshots: 215,
    });
    const noMax = METRIC_CATALOG.find((m) => m.id === 'pool_utilization');
    assert.ok(noMax?.shape === 'scalar');
    assert.equal(noMax.read({ ...stats, max: 0 }), 0, 'no division by zero');
    const expectFull = METRIC_CATALOG.find((m) => m.id === 'pool_expect_full');
    assert.ok(expectFull?.shape === 'scalar');
    assert.equal(expectFull.read({ ...stats, expectFull: true }), 1);
  });

  test('the names documented as not exported are not in the catalogue', () => {
    const names = new Set(ALL_METRICS.flatMap((m) => [m.otelName, m.prometheusName]));
    for (const name of DOCUMENTED_NOT_EXPORTED) assert.ok(!names.has(name), name);
  });
});

describe('buckets', () => {
  test('the default bounds are ascending seconds', () => {
    assert.deepEqual(validateBucketsSeconds('buckets', DEFAULT_DURATION_BUCKETS_SECONDS), DEFAULT_DURATION_BUCKETS_SECONDS);
    assert.ok(Object.isFrozen(DEFAULT_DURATION_BUCKETS_SECONDS));
  });

  test('validateBucketsSeconds returns a frozen copy and rejects what Prometheus or OTel would not take', () => {
    const input = [0.5, 1];
    const result = validateBucketsSeconds('buckets', input);
    assert.deepEqual(result, [0.5, 1]);
    assert.notEqual(result, input);
    assert.ok(Object.isFrozen(result));
    for (const bad of [[], [0], [-1, 1], [1, 1], [2, 1], [NaN], [1, Infinity], ['1'], '1', undefined, null]) {
      assert.throws(
        () => validateBucketsSeconds('buckets', bad),
        (error: unknown) => error instanceof OptionsError && error.option === 'buckets',
        JSON.stringify(bad),
      );
    }
  });
});

describe('bucket errors name the bad bound', () => {
  test('each message says which bound, its index and what is wrong with it', () => {
    const cases: [unknown, RegExp][] = [
      [[0.5, 0.5], /buckets\[1\] is 0\.5, not greater than the bound before it \(0\.5\)/],
      [[1, 0.2], /buckets\[1\] is 0\.2, not greater than the bound before it \(1\)/],
      [[0, 1], /buckets\[0\] is 0, not > 0/],
      [[-1], /buckets\[0\] is -1, not > 0/],
      [[0.1, NaN], /buckets\[1\] is NaN, not a finite number/],
      [[0.1, Infinity], /buckets\[1\] is Infinity: leave it out, the \+Inf bucket is always added/],
      [[0.1, '1'], /buckets\[1\] is the string "1", not a number/],
      [[], /buckets is empty/],
    ];
    for (const [bad, message] of cases) {
      assert.throws(
        () => validateBucketsSeconds('buckets', bad),
        (error: unknown) => error instanceof OptionsError && error.code === 'POOLSCOPE_ERR_OPTIONS_INVALID' && message.test(error.message),
        JSON.stringify(bad),
      );
    }
  });
});

describe('docs/reference/metrics.md', () => {
  const doc = readFileSync(METRICS_DOC, 'utf8');
  const tableRows = doc.split('\n').filter((line) => line.startsWith('|'));

  test('every catalogue entry has a row with both names, its types, unit and help', () => {
    for (const m of ALL_METRICS) {
      const rows = tableRows.filter((row) => row.includes(`| \`${m.otelName}\` |`) && row.includes(`| \`${m.prometheusName}\` |`));
      assert.equal(rows.length, 1, `one row for ${m.otelName} / ${m.prometheusName}`);
      const cells = (rows[0] ?? '')
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
      assert.deepEqual(cells, [`\`${m.otelName}\``, `\`${m.prometheusName}\``, m.prometheusType, m.otelInstrument, `\`${m.unit}\``, m.help]);
    }
  });

  test('no unknown db_client_/poolscope_ metric names', () => {
    const known = new Set(ALL_METRICS.map((m) => m.prometheusName));
    const histogramSeries = ALL_METRICS.filter((m) => m.prometheusType === 'histogram').flatMap((m) =>
      ['_bucket', '_sum', '_count'].map((suffix) => m.prometheusName + suffix),
    );
    const allowed = new Set([...known, ...histogramSeries, ...DOCUMENTED_NOT_EXPORTED]);
    const mentioned = new Set(doc.match(/\b(?:db_client|poolscope)_[a-z0-9_]+/g) ?? []);
    assert.deepEqual([...mentioned].filter((name) => !allowed.has(name)), []);
  });

  test('no unknown db.client.* / poolscope.* OpenTelemetry names', () => {
    const allowed = new Set([...ALL_METRICS.map((m) => m.otelName), ...DOCUMENTED_NOT_EXPORTED, ...DOCUMENTED_OTHER_OTEL]);
    const mentioned = new Set((doc.match(/\b(?:db\.client|poolscope)\.[a-z0-9_.]+/g) ?? []).map((name) => name.replace(/\.+$/, '')));
    assert.deepEqual([...mentioned].filter((name) => !allowed.has(name)), []);
  });

  test('the default buckets and their effective bounds in the doc match the code', () => {
    const flat = doc.replace(/\s+/g, ' ');
    assert.ok(flat.includes(`\`${DEFAULT_DURATION_BUCKETS_SECONDS.join(', ')}\``), 'default bounds listed');
    for (const bound of DEFAULT_DURATION_BUCKETS_SECONDS) {
      // poolscope's largest bucket bound at or below `bound` (what the Prometheus bucket really counts up to).
      let index = 0;
      while (bucketUpperBoundMillis(index + 1) <= bound * 1000 * (1 + 1e-9)) index += 1;
      const effective = bucketUpperBoundMillis(index) / 1000;
      const row = `| ${bound} | ${effective.toPrecision(4)} | ${((100 * effective) / bound).toFixed(1)}% |`;
      assert.ok(tableRows.includes(row), `row ${row}`);
      assert.ok(effective / bound > 0.84 && effective <= bound, 'between 84% and 100% as documented');
    }
  });
});
