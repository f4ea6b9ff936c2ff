// `poolscope stress` without a database: the percentile helper, argument parsing with its bounds and loopback rule,
// the summary and text rendering of fixed waves, and the command against a local node:http server (counts, exit
// codes, JSON, Ctrl-C).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { CliUsageError } from '../../src/cli/cli-command.js';
import { stressCommand } from '../../src/cli/commands/stress-command.js';
import { percentile, summarizeLatencies } from '../../src/cli/latency-summary.js';
import { isLoopbackHost, parseStressArgs, STRESS_FLAGS, STRESS_LIMITS } from '../../src/cli/stress-options.js';
import {
  renderStressSummary,
  renderWaveLine,
  summarizeStress,
  type StressHealthReading,
  type StressReport,
  type StressWaveReport,
} from '../../src/cli/stress-report.js';
import type { ReadyzReport } from '../../src/http/readyz-route.js';
import { runCliCaptured, type CliRun } from '../support/cli-capture.js';
import { listenOnLoopback } from '../support/loopback-server.js';



function cli(args: string[], options: { env?: Record<string, string>; tty?: boolean; controller?: AbortController } = {}): Promise<CliRun> {
  return runCliCaptured(args, { env: options.env, tty: options.tty, signal: options.controller?.signal });
}

describe('percentile and latency summary', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  test('nearest rank over 1..100 and over a few values', () => {
    assert.deepEqual([0, 1, 50, 95, 99, 100].map((p) => percentile(oneToHundred, p)), [1, 1, 50, 95, 99, 100]);
    assert.deepEqual([50, 95, 99].map((p) => percentile([10, 20, 30], p)), [20, 30, 30]);
    assert.deepEqual([50, 95, 99].map((p) => percentile([10, 20, 30, 40], p)), [20, 40, 40]);
    const oneToTen = Array.from({ length: 10 }, (_, i) => i + 1);
    assert.deepEqual([10, 11, 50, 51, 90, 91].map((p) => percentile(oneToTen, p)), [1, 2, 5, 6, 9, 10], 'rank = ceil(p% of n)');
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentile([1], 101), { code: 'POOLSCOPE_ERR_INTERNAL_INVARIANT', message: 'percentile must be in [0, 100], not 101' });
    assert.throws(() => percentile([1], Number.NaN), { code: 'POOLSCOPE_ERR_INTERNAL_INVARIANT' });
  });

  test('the summary sorts its input and rounds to the microsecond', () => {
    assert.equal(summarizeLatencies([]), null);
    const shuffled = [...oneToHundred].reverse().map((value) => value + 0.0004);
    assert.deepEqual(summarizeLatencies(shuffled), {
      count: 100, minMillis: 1, p50Millis: 50, p95Millis: 95, p99Millis: 99, maxMillis: 100, meanMillis: 50.5,
    });
  });
});

describe('parseStressArgs', () => {
  const base = ['--base-url', 'http://127.0.0.1:3001'];

  test("seed 001's defaults", () => {
    const options = parseStressArgs(base, {});
    assert.deepEqual(
      {
        target: options.targetUrl, health: options.healthUrl, requests: options.requests, waves: options.waves, delay: options.delayMillis,
        timeout: options.timeoutMillis, format: options.format, token: options.token, allowRemote: options.allowRemote, failOnErrors: options.failOnErrors,
      },
      {
        target: 'http://127.0.0.1:3001/readyz', health: 'http://127.0.0.1:3001/readyz', requests: 50, waves: 10, delay: 1000,
        timeout: 10000, format: 'text', token: undefined, allowRemote: false, failOnErrors: false,
      },
    );
  });

  test('every flag; a base path is kept; the token from the environment', () => {
    const options = parseStressArgs(
      ['--base-url', 'http://localhost:3001/app/', '--endpoint', '/api/items?limit=5', '--requests', '7', '--waves', '3', '--delay', '0',
        '--timeout', '500', '--health-url', 'http://127.0.0.2:9464/ops/readyz', '--format', 'json', '--fail-on-errors'],
      { POOLSCOPE_TOKEN: 'tok' },
    );
    assert.equal(options.targetUrl, 'http://localhost:3001/app/api/items?limit=5');
    assert.equal(options.healthUrl, 'http://127.0.0.2:9464/ops/readyz');
    assert.deepEqual([options.requests, options.waves, options.delayMillis, options.timeoutMillis], [7, 3, 0, 500]);
    assert.deepEqual([options.format, options.token, options.failOnErrors], ['json', 'tok', true]);
    assert.equal(parseStressArgs(['--base-url', 'http://localhost:3001/app/'], {}).healthUrl, 'http://localhost:3001/app/readyz');
  });

  test('bounds: exactly at each limit is accepted', () => {
    assert.equal(parseStressArgs([...base, '--requests', '1000', '--waves', '20'], {}).requests, STRESS_LIMITS.maxRequestsPerWave);
    assert.equal(parseStressArgs([...base, '--requests', '200', '--waves', '100'], {}).waves, STRESS_LIMITS.maxWaves);
    assert.equal(STRESS_LIMITS.maxTotalRequests, 20_000);
  });

  test('loopback rule: loopback hosts pass, anything else needs --allow-remote', () => {
    for (const host of ['localhost', 'LOCALHOST', 'localhost.', '127.0.0.1', '127.255.0.9', '[::1]', '[::ffff:127.0.0.1]', '[0:0:0:0:0:0:0:1]']) {
      assert.equal(isLoopbackHost(new URL(`http://${host}:3000`).hostname), true, host);
    }
    for (const host of ['10.0.0.1', '192.168.1.2', '0.0.0.0', '128.0.0.1', '[::2]', '[::]', 'example.com', 'localhost.example.com', 'mylocalhost']) {
      assert.equal(isLoopbackHost(new URL(`http://${host}:3000`).hostname), false, host);
    }
    const remote = parseStressArgs(['--base-url', 'https://staging.example.com', '--allow-remote', '--token', 't'], {});
    assert.equal(remote.targetUrl, 'https://staging.example.com/readyz');
    assert.equal(remote.allowRemote, true);
  });

  const usageErrors: [string, string[], RegExp][] = [
    ['missing --base-url', [], /--base-url is required/],
    ['unknown flag', [...base, '--concurrency', '5'], /unknown option --concurrency/],
    ['--requests over the limit', [...base, '--requests', '1001'], /--requests 1001 is over the limit: at most 1000 concurrent requests per wave/],
    ['--requests 5000', [...base, '--requests', '5000'], /at most 1000 concurrent requests per wave \(a safety bound/],
    ['--waves over the limit', [...base, '--waves', '101'], /--waves 101 is over the limit: at most 100 waves/],
    ['total over the limit', [...base, '--requests', '1000', '--waves', '21'], /--requests 1000 x --waves 21 = 21000 requests; at most 20000 per run/],
    ['zero requests', [...base, '--requests', '0'], /--requests must be a whole number from 1 to 1000, not "0"/],
    ['non-numeric waves', [...base, '--waves', 'ten'], /--waves must be a whole number from 1 to 100, not "ten"/],
    ['negative delay', [...base, '--delay', '-5'], /option --delay needs a value|--delay must be a whole number/],
    ['delay too long', [...base, '--delay', '600001'], /--delay must be a whole number from 0 to 600000/],
    ['zero timeout', [...base, '--timeout', '0'], /--timeout must be a whole number from 1 to 600000/],
    ['bad format', [...base, '--format', 'csv'], /--format must be one of text, json, not "csv"/],
    ['endpoint without a slash', [...base, '--endpoint', 'readyz'], /--endpoint must be a path starting with one slash/],
    ['endpoint that is another host', [...base, '--endpoint', '//evil.example/x'], /--endpoint must be a path starting with one slash/],
    ['a remote base URL', ['--base-url', 'http://10.1.2.3:3001'], /--base-url host 10\.1\.2\.3 is not loopback .* pass --allow-remote explicitly/],
    ['a remote name', ['--base-url', 'http://app.internal'], /--base-url host app\.internal is not loopback/],
    ['a remote health URL', [...base, '--health-url', 'http://192.168.0.9/readyz'], /--health-url host 192\.168\.0\.9 is not loopback/],
    ['a non-http base URL', ['--base-url', 'ws://127.0.0.1:3001'], /--base-url must be an http:\/\/ or https:\/\/ URL/],
    ['an empty token', [...base, '--token', ''], /--token needs a value/],
  ];
  for (const [what, args, message] of usageErrors) {
    test(`usage error: ${what}`, async () => {
      assert.throws(() => parseStressArgs(args, {}), (error: unknown) => error instanceof CliUsageError && message.test(error.message));
      const run = await cli(['stress', ...args]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '');
    });
  }

  test('--help lists every flag and the bounds', async () => {
    const run = await cli(['stress', '--help']);
    assert.equal(run.code, 0);
    for (const flag of STRESS_FLAGS) assert.match(run.stdout, new RegExp(`--${flag.name}\\b`));
    assert.match(run.stdout, /at most 1000 requests per wave, 100 waves, 20000 requests per run; loopback hosts only unless --allow-remote/);
    assert.equal(stressCommand.name, 'stress');
  });
});

// ---- summary and rendering of fixed waves -------------------------------------------------------------------------

function reading(pools: [string, number, number, number][]): StressHealthReading {
  return {
    readAt: '2026-01-20T10:30:00.000Z',
    httpStatus: 200,
    status: 'ok',
    pools: pools.map(([poolName, usedCount, maxCount, waitingCount]) => ({
      poolName, usedCount, maxCount, waitingCount, utilizationPercent: Math.round((usedCount / maxCount) * 100), level: 'normal' as const,
    })),
    error: null,
  };
}

function wave(over: Partial<StressWaveReport> & { wave: number }): StressWaveReport {
  return {
    requests: 10, completed: true, succeeded: 10, failed: 0, aborted: 0, statuses: { 200: 10 }, errors: {},
    latency: summarizeLatencies([1, 2, 3]), durationMillis: 5, health: null, ...over,
  };
}

describe('summary and text of fixed waves', () => {
  const waves = [
    wave({ wave: 1, health: reading([['main', 3, 10, 0], ['listen', 9, 9, 0]]) }),
    wave({ wave: 2, succeeded: 6, failed: 4, statuses: { 200: 6, 503: 3 }, errors: { ECONNRESET: 1 }, latency: summarizeLatencies([5, 50, 500]), health: reading([['main', 10, 10, 4], ['listen', 9, 9, 0]]) }),
    wave({ wave: 3, succeeded: 6, failed: 4, statuses: { 200: 6 }, errors: { timeout: 4 }, latency: summarizeLatencies([1, 2, 900]), health: reading([['main', 10, 10, 7], ['listen', 9, 9, 0]]) }),
  ];
  const summary = summarizeStress(reading([['main', 1, 10, 0]]), waves, [1, 2, 3, 5, 50, 500, 1, 2, 900]);

  test('totals, failure rate, failures by kind, worst wave (most failures, then p95), peaks per pool', () => {
    assert.equal(summary.wavesRun, 3);
    assert.deepEqual([summary.totalRequests, summary.succeeded, summary.failed, summary.aborted], [30, 22, 8, 0]);
    assert.equal(summary.failureRatePercent, 26.7);
    assert.deepEqual(summary.statuses, { 200: 22, 503: 3 });
    assert.deepEqual(summary.errors, { ECONNRESET: 1, timeout: 4 });
    assert.deepEqual(summary.worstWave, { wave: 3, failed: 4, p95Millis: 900 });
    assert.equal(summary.latency?.count, 9);
    assert.deepEqual(summary.peaks, [
      { poolName: 'main', maxCount: 10, peakUtilizationPercent: 100, peakUtilizationWave: 2, peakWaitingCount: 7, peakWaitingWave: 3 },
      { poolName: 'listen', maxCount: 9, peakUtilizationPercent: 100, peakUtilizationWave: 1, peakWaitingCount: 0, peakWaitingWave: 1 },
    ]);
  });

  test('no wave run: zeros, no worst wave, peaks from the first reading', () => {
    const empty = summarizeStress(reading([['main', 2, 10, 0]]), [], []);
    assert.deepEqual([empty.totalRequests, empty.failureRatePercent, empty.worstWave, empty.latency], [0, 0, null, null]);
    assert.equal(empty.peaks[0]?.peakUtilizationWave, 0);
  });

  test('wave lines and the summary text', () => {
    assert.equal(
      renderWaveLine(waves[1] as StressWaveReport, 10),
      'wave  2/10  6 ok  4 failed (503 x 3, ECONNRESET x 1)  p50 50.0  p95 500.0  p99 500.0  max 500.0 ms  | main 100% (10/10) waiting 4; listen 100% (9/9) waiting 0\n',
    );
    assert.equal(
      renderWaveLine(wave({ wave: 4, completed: false, succeeded: 2, aborted: 8, latency: null, statuses: { 200: 2 } }), 4),
      'wave 4/4  2 ok  0 failed  8 aborted  no answer  (interrupted)\n',
    );
    const broken: StressHealthReading = { readAt: '', httpStatus: null, status: null, pools: [], error: 'cannot reach x' };
    assert.match(renderWaveLine(wave({ wave: 1, health: broken }), 1), /\| health not read: cannot reach x\n$/);
    const report = { interrupted: false, summary } as unknown as StressReport;
    const text = renderStressSummary(report);
    assert.match(text, /^Summary \(3 wave\(s\)\)$/m);
    assert.match(text, /^ {2}requests 30: 22 ok, 8 failed \(26\.7%\)$/m);
    assert.match(text, /^ {2}failures: 503 x 3, ECONNRESET x 1, timeout x 4$/m);
    assert.match(text, /^ {2}worst wave 3: 4 failed, p95 900\.0 ms$/m);
    assert.match(text, /^ {4}main +100% of 10 \(wave 2\) +7 \(wave 3\)$/m);
    assert.match(renderStressSummary({ interrupted: true, summary } as unknown as StressReport), /^Summary \(interrupted after 3 wave\(s\)\)$/m);
  });
});

// ---- the command against a local server ---------------------------------------------------------------------------

describe('stress against a local server', () => {
  let server: Server;
  let base: string;
  let closeServer: () => Promise<void>;
  /** Requests to /work, in arrival order. */
  let work: { authorization: string | undefined }[];
  let healthReads: number;
  /** Status of the n-th /work request (1-based). */
  let statusOf: (n: number) => number;
  let healthStatus: number;
  let onWork: (n: number) => void;

  const readyz = (): ReadyzReport =>
    ({
      status: 'ok',
      timestamp: new Date().toISOString(),
      pools: [{ poolName: 'main', totalCount: 2, idleCount: 1, waitingCount: healthReads, usedCount: 1, maxCount: 4, utilizationPercent: 25, level: 'normal' }],
    }) as unknown as ReadyzReport;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/readyz') {
        healthReads += 1;
        res.writeHead(healthStatus, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(healthStatus === 403 ? { error: 'POOLSCOPE_ERR_HTTP_FORBIDDEN', message: 'not allowed' } : readyz()));
        return;
      }
      if (req.url === '/work') {
        work.push({ authorization: req.headers.authorization });
        const n = work.length;
        onWork(n);
        res.writeHead(statusOf(n), { 'content-type': 'text/plain' });
        res.end('done');
        return;
      }
      res.writeHead(404);
      res.end();
    });
    const started = await listenOnLoopback(server);
    base = started.url;
    closeServer = started.close;
  });
  after(() => closeServer());
  beforeEach(() => {
    work = [];
    healthReads = 0;
    statusOf = () => 200;
    healthStatus = 200;
    onWork = () => undefined;
  });

  const small = (): string[] => ['stress', '--base-url', base, '--endpoint', '/work', '--waves', '3', '--requests', '5', '--delay', '0'];

  test('text: the start health, one line per wave with its pool health, a summary; exit 0; plain lines off a terminal', async () => {
    const run = await cli(small());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(work.length, 15);
    assert.equal(healthReads, 4, 'once before the first wave, once after each');
    const lines = run.stdout.split('\n');
    assert.equal(lines[0], `poolscope stress ${base}/work: 3 wave(s) x 5 concurrent request(s), 0 ms apart, timeout 10000 ms per request`);
    assert.equal(lines[1], 'Pool health at start (ok, HTTP 200)');
    assert.match(run.stdout, /^ {2}main +1\/4 +25% +1 +normal$/m, 'the start reading (waiting = reads so far)');
    for (const n of [1, 2, 3]) {
      assert.match(run.stdout, new RegExp(`^wave ${n}/3  5 ok  0 failed  p50 .* ms  \\| main 25% \\(1/4\\) waiting ${n + 1}$`, 'm'));
    }
    assert.match(run.stdout, /^ {2}requests 15: 15 ok, 0 failed \(0%\)$/m);
    assert.match(run.stdout, /^ {4}main +25% of 4 \(wave 0\) +4 \(wave 3\)$/m);
    assert.doesNotMatch(run.stdout, /\r/);
  });

  test('failures are counted by kind and reported, exit 0; --fail-on-errors makes them exit 1', async () => {
    statusOf = (n) => (n % 5 === 0 ? 503 : n % 5 === 1 ? 404 : 200);
    const run = await cli([...small(), '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as StressReport;
    assert.deepEqual(Object.keys(report), ['target', 'settings', 'startedAt', 'finishedAt', 'interrupted', 'initialHealth', 'waves', 'summary']);
    assert.deepEqual(report.target, { url: `${base}/work`, healthUrl: `${base}/readyz` });
    assert.deepEqual(report.settings, { requests: 5, waves: 3, delayMillis: 0, timeoutMillis: 10000 });
    assert.equal(report.interrupted, false);
    assert.deepEqual([report.summary.totalRequests, report.summary.succeeded, report.summary.failed], [15, 9, 6]);
    assert.deepEqual(report.summary.statuses, { 200: 9, 404: 3, 503: 3 });
    assert.equal(report.summary.failureRatePercent, 40);
    assert.deepEqual(report.waves.map((w) => [w.wave, w.requests, w.succeeded + w.failed, w.completed]), [[1, 5, 5, true], [2, 5, 5, true], [3, 5, 5, true]]);
    assert.equal(report.waves[2]?.health?.pools[0]?.poolName, 'main');
    assert.equal(report.summary.latency?.count, 15);

    const gated = await cli([...small(), '--fail-on-errors']);
    assert.equal(gated.code, 1);
    assert.match(gated.stdout, /6 failed \(40%\)/);
    statusOf = () => 200;
    assert.equal((await cli([...small(), '--fail-on-errors'])).code, 0);
  });

  test('requests with no answer are failures by reason (timeout)', async () => {
    // The server never answers the first request: it times out.
    const hang = server.listeners('request')[0] as (...args: unknown[]) => void;
    server.removeAllListeners('request');
    let first = true;
    server.on('request', (req, res) => {
      if (req.url === '/work' && first) {
        first = false;
        work.push({ authorization: undefined });
        return; // no answer
      }
      hang(req, res);
    });
    try {
      const run = await cli(['stress', '--base-url', base, '--endpoint', '/work', '--waves', '1', '--requests', '3', '--timeout', '300', '--format', 'json']);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as StressReport;
      assert.deepEqual([report.summary.succeeded, report.summary.failed], [2, 1]);
      assert.deepEqual(report.summary.errors, { timeout: 1 });
      assert.equal(report.summary.latency?.count, 2, 'no latency for a request with no answer');
    } finally {
      server.removeAllListeners('request');
      server.on('request', hang);
    }
  });

  test('the token goes out with every request', async () => {
    const run = await cli([...small(), '--waves', '1', '--requests', '2'], { env: { POOLSCOPE_TOKEN: 'tok-9' } });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(work, [{ authorization: 'Bearer tok-9' }, { authorization: 'Bearer tok-9' }]);
  });

  test('a refused first health read exits 3 and sends nothing', async () => {
    healthStatus = 403;
    const run = await cli(small());
    assert.equal(run.code, 3);
    assert.match(run.stderr, /the first health read failed, nothing was sent: GET .*\/readyz answered 403 POOLSCOPE_ERR_HTTP_FORBIDDEN: not allowed/);
    assert.equal(work.length, 0);
  });

  test('a 503 from /readyz is a reading, not a failure', async () => {
    healthStatus = 503;
    const run = await cli([...small(), '--waves', '1', '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as StressReport).initialHealth?.httpStatus, 503);
  });

  test('Ctrl-C mid-run: stops, prints the summary so far, exits 130', async () => {
    const controller = new AbortController();
    onWork = (n) => {
      if (n === 7) controller.abort(); // during wave 2 of 5 requests each
    };
    const run = await cli([...small(), '--waves', '10', '--format', 'json'], { controller });
    assert.equal(run.code, 130, run.stderr);
    const report = JSON.parse(run.stdout) as StressReport;
    assert.equal(report.interrupted, true);
    assert.equal(report.waves.length, 2);
    assert.deepEqual([report.waves[0]?.completed, report.waves[0]?.succeeded], [true, 5]);
    assert.equal(report.waves[1]?.completed, false);
    assert.ok((report.waves[1]?.aborted ?? 0) >= 1, JSON.stringify(report.waves[1]));
    assert.ok(work.length <= 10);
  });

  test('live progress on a terminal: one updating line, cleared before each wave line', async () => {
    const run = await cli(small(), { tty: true });
    assert.equal(run.code, 0, run.stderr);
    // Carriage return and the ANSI "erase line" (ESC [2K) made visible.
    const shown = run.stdout.replaceAll('\r', '<CR>').replaceAll('\u001b', '<ESC>');
    assert.match(shown, /<CR><ESC>\[2Kwave 1\/3: 5\/5 done, 0 failed<CR><ESC>\[2Kwave 1\/3 {2}5 ok/);
    const withoutProgress = shown.replace(/<CR><ESC>\[2K(wave \d+\/3: \d+\/5 done, \d+ failed)?/g, '');
    assert.match(withoutProgress, /^wave 3\/3 {2}5 ok/m);
  });
});
