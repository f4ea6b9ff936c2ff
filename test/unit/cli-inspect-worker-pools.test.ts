// `poolscope inspect` and worker pools, without a pool: seed 002's report rendered from fixed API bodies (text and
// JSON), and the command against a local node:http server answering fixed bodies (reads, --pool, exit codes, an app
// without worker-pool routes).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { DistributionSnapshot } from '../../src/core/histogram.js';
import type { PoolListReport } from '../../src/http/pool-api-routes.js';
import type { WorkerPoolDetailView, WorkerPoolListReport } from '../../src/http/worker-pool-routes.js';
import { buildInspectReport, renderInspectJson, renderInspectText, type InspectReport } from '../../src/cli/inspect-report.js';
import { stripAnsi } from '../../src/cli/terminal-style.js';
import { runCliCaptured as cli } from '../support/cli-capture.js';
import { listenOnLoopback } from '../support/loopback-server.js';
import { poolStatsFixture } from '../support/pool-stats-fixture.js';
import { WORKER_T0 as T0, workerFixture, workerPoolStatsFixture } from '../support/worker-pool-fixture.js';

// ---- fixed readings -------------------------------------------------------------------------------------------------

const run: DistributionSnapshot = {
  count: 40, sumMillis: 4000, minMillis: 1, maxMillis: 250, meanMillis: 100, p50Millis: 95.5, p90Millis: 180, p95Millis: 210, p99Millis: 248.25,
};
const threadStats = workerPoolStatsFixture({
  maxWorkers: 2, minWorkers: 2, workers: 2, tasksPerWorker: 2, capacityUsed: 4, busyWorkers: 2, availableWorkers: 0, queueSize: 3, queueLimit: 8,
  counters: { tasksCompleted: 40, tasksFailed: 2, tasksRejected: 5 }, runTime: run, waitTime: { ...run, p50Millis: 0.42, p95Millis: 3.5, p99Millis: 12 },
  memory: { sampledWorkers: 1, totalMb: 7.25, averageMb: 7.25, minMb: 7.25, maxMb: 7.25 },
});
const processStats = workerPoolStatsFixture({
  poolName: 'reports', driver: 'workerpool', profile: 'process', maxWorkers: 4, workers: 1, capacityUsed: 1, busyWorkers: 1, availableWorkers: 0,
  counters: { workersCrashed: 1 }, memory: { sampledWorkers: 1, totalMb: 128, averageMb: 128, minMb: 128, maxMb: 128 },
});
const NO_ANSWER = 'asked the worker thread; no answer yet';
const threadWorkers = [
  workerFixture(1, {
    capacity: 2, load: 2, status: 'busy', memoryMb: 7.25, memoryStatus: 'sampled', memoryNote: null,
    memoryTrend: { samples: 4, firstMb: 5, lastMb: 7.25, minMb: 5, maxMb: 7.25, growthMb: 2.25, spanMillis: 30_000 },
  }),
  workerFixture(2, { capacity: 2, load: 2, status: 'busy', memoryStatus: 'pending', memoryNote: NO_ANSWER }),
  workerFixture(3, { threadId: 7, capacity: 2, load: null, status: 'exited', exitedAt: T0, exitCode: 1, crashed: true, lastError: 'boom\n  at x', memoryNote: 'the worker has exited' }),
];
const processWorkers = [
  workerFixture(1, {
    threadId: null, pid: 4242, profile: 'process', load: 1, status: 'busy', memoryMb: 128, memoryStatus: 'sampled', memorySource: 'rss', memoryNote: null,
    memoryTrend: { samples: 8, firstMb: 45.66, lastMb: 127.95, minMb: 45.66, maxMb: 127.95, growthMb: 82.29, spanMillis: 19_136 },
  }),
];

const images: WorkerPoolDetailView = {
  poolName: 'images', driver: 'piscina', profile: 'thread', stats: threadStats, config: { maxThreads: 2 },
  memoryNotes: [{ note: NO_ANSWER, workers: 1 }], takenAt: T0, workers: threadWorkers,
};
const reports: WorkerPoolDetailView = {
  poolName: 'reports', driver: 'workerpool', profile: 'process', stats: processStats, config: { maxWorkers: 4 }, memoryNotes: [], takenAt: T0, workers: processWorkers,
};
function entry(detail: WorkerPoolDetailView): Omit<WorkerPoolDetailView, 'takenAt' | 'workers'> {
  const { takenAt: _takenAt, workers: _workers, ...rest } = detail;
  return rest;
}
const workerList: WorkerPoolListReport = { timestamp: T0, workerPools: [entry(images), entry(reports)] };
const noPools: PoolListReport = { timestamp: T0, pools: [] };
const url = 'http://127.0.0.1:3000';

// ---- rendering ----------------------------------------------------------------------------------------------------

describe('worker pools in the inspect report', () => {
  test("text: seed 002's thread and process profile sections, marker, capacity, queue, tasks, times and memory", () => {
    const text = renderInspectText(buildInspectReport({ url, pools: noPools, workerPools: workerList.workerPools }), { color: false });
    assert.equal(
      text,
      [
        `poolscope inspect ${url} at ${T0}`,
        '',
        'Worker pool images (piscina, thread)  [CRITICAL] 100% of capacity in use',
        '  Thread Profile Details:',
        '    Workers:                            2 thread(s)',
        '    Threads/Worker (tasks per worker):  2',
        '    Total capacity:                     4',
        '    Avg load/worker:                    2/2',
        '  Workers:   2 live: 2 busy, 0 available, 0 starting (min 2, max 2)',
        '  Capacity:  4 used, 0 available of 4',
        '  Queue:     3 waiting (limit 8)',
        '  Tasks:     40 completed, 2 failed, 5 rejected',
        '',
        '  time  p50 ms  p95 ms  p99 ms  max ms  count',
        '  run     95.5   210.0   248.3   250.0     40',
        '  wait    0.42    3.50    12.0   250.0     40',
        '',
        `  Memory (V8 heap in use): total 7.3 MB; per worker avg 7.3, min 7.3, max 7.3 MB (1 of 2 worker(s)); not available for 1: ${NO_ANSWER}`,
        '',
        'Worker pool reports (workerpool, process)  [LOW] 25% of capacity in use',
        '  Process Profile Details:',
        '    Mode:         Single-process workers (one task per child process)',
        '    Isolation:    Full process isolation',
        '    Concurrency:  4',
        '  Workers:   1 live: 1 busy, 0 available, 0 starting (min 0, max 4)',
        '  Capacity:  1 used, 3 available of 4',
        '  Queue:     0 waiting (limit none)',
        '  Tasks:     0 completed, 0 failed, 0 rejected, workers crashed 1',
        '',
        '  time  p50 ms  p95 ms  p99 ms  max ms  count',
        '  run        -       -       -       -      0',
        '  wait       -       -       -       -      0',
        '',
        '  Memory (resident): total 128.0 MB; per worker avg 128.0, min 128.0, max 128.0 MB (1 of 1 worker(s))',
        '',
        'Critical: worker pool images (exit code 1).',
        '',
      ].join('\n'),
    );
  });

  test('text --detailed: every worker (id, thread id or pid, status, load, memory, trend, note)', () => {
    const text = renderInspectText(buildInspectReport({ url, pools: noPools, workerPools: [images, reports] }), { color: false });
    const block = (from: string, lines: number): string[] => {
      const all = text.split('\n');
      const start = all.indexOf(from);
      assert.ok(start >= 0, `${from} in\n${text}`);
      return all.slice(start, start + lines);
    };
    assert.deepEqual(block('  Workers (3)', 5), [
      '  Workers (3)',
      '    id  thread  status  load  memory MB  trend                 note',
      '     1      11  busy     2/2        7.3  +2.3 MB in 4 samples',
      `     2      12  busy     2/2          -  -                     memory: ${NO_ANSWER}`,
      '     3       7  exited     -          -  -                     crashed (exit code 1): boom at x',
    ]);
    assert.deepEqual(block('  Workers (1)', 3), [
      '  Workers (1)',
      '    id   pid  status  load  memory MB  trend                  note',
      '     1  4242  busy     1/1      128.0  +82.3 MB in 8 samples',
    ]);
    for (const line of text.split('\n')) assert.equal(line, line.trimEnd(), `no trailing spaces: ${JSON.stringify(line)}`);
  });

  test("text: memory not available says why; the reason's own words are not doubled", () => {
    const missing = { ...entry(reports), stats: { ...processStats, memory: { sampledWorkers: 0, totalMb: null, averageMb: null, minMb: null, maxMb: null } } };
    const onMac = renderInspectText(buildInspectReport({ url, pools: noPools, workerPools: [{ ...missing, memoryNotes: [{ note: 'not available on darwin', workers: 1 }] }] }), { color: false });
    assert.match(onMac, /^ {2}Memory: not available on darwin$/m);
    const noHelper = "no answer from the worker thread: load poolscope/worker in the worker's file (import 'poolscope/worker')";
    const threads = { ...missing, memoryNotes: [{ note: noHelper, workers: 2 }, { note: NO_ANSWER, workers: 1 }] };
    assert.match(
      renderInspectText(buildInspectReport({ url, pools: noPools, workerPools: [threads] }), { color: false }),
      new RegExp(`^ {2}Memory: not available: ${noHelper.replace(/[()'/]/g, '\\$&')} \\(and 1 other reason\\(s\\)\\)$`, 'm'),
    );
    const idle = renderInspectText(buildInspectReport({ url, pools: noPools, workerPools: [{ ...missing, memoryNotes: [] }] }), { color: false });
    assert.match(idle, /^ {2}Memory: not available: no live worker$/m);
  });

  test('colour: the marker as for connection pools (CRITICAL red, LOW dim); connection pools come first', () => {
    const pools: PoolListReport = { timestamp: T0, pools: [{ poolName: 'main', driver: 'pg', stats: poolStatsFixture({ used: 7 }), config: {} }] };
    const report = buildInspectReport({ url, pools, workerPools: workerList.workerPools });
    const colored = renderInspectText(report, { color: true });
    assert.ok(colored.includes('\u001b[31m[CRITICAL]\u001b[0m 100% of capacity in use'), 'CRITICAL in red');
    assert.ok(colored.includes('\u001b[2m[LOW]\u001b[0m 25% of capacity in use'), 'LOW dim');
    const plain = stripAnsi(colored);
    assert.equal(plain, renderInspectText(report, { color: false }));
    assert.ok(plain.indexOf('Pool main (pg)') < plain.indexOf('Worker pool images'));
    assert.doesNotMatch(plain, /No pool is tracked/);
    assert.match(plain, /^Critical: worker pool images \(exit code 1\)\.$/m);
  });

  test('JSON: workerPools with marker and critical, workers only when read; absent without the route; --pool filters', () => {
    const report = JSON.parse(renderInspectJson(buildInspectReport({ url, pools: noPools, workerPools: workerList.workerPools }))) as InspectReport;
    assert.deepEqual(Object.keys(report), ['url', 'timestamp', 'pools', 'workerPools', 'critical']);
    assert.equal(report.critical, true);
    assert.deepEqual(report.workerPools?.[0], { ...entry(images), marker: 'CRITICAL', critical: true });
    assert.deepEqual(report.workerPools?.map((p) => [p.poolName, p.profile, p.marker, p.critical, p.workers === undefined]), [
      ['images', 'thread', 'CRITICAL', true, true],
      ['reports', 'process', 'LOW', false, true],
    ]);
    const detailed = buildInspectReport({ url, pools: noPools, workerPools: [images, reports] });
    assert.deepEqual(detailed.workerPools?.[1]?.workers, processWorkers);
    assert.deepEqual(JSON.parse(renderInspectJson(detailed)).workerPools[0].workers, JSON.parse(JSON.stringify(threadWorkers)));

    const older = buildInspectReport({ url, pools: noPools });
    assert.equal('workerPools' in older, false);
    assert.equal(older.critical, false);
    const one = buildInspectReport({ url, pools: noPools, workerPools: workerList.workerPools, pool: 'reports' });
    assert.deepEqual(one.workerPools?.map((p) => p.poolName), ['reports']);
    assert.equal(one.critical, false, 'images is critical, but it was not asked about');
  });
});

// ---- the command against a local server ---------------------------------------------------------------------------

interface Answer {
  status: number;
  body: unknown;
  contentType?: string;
}

const NOT_TRACKED = (what: string, name: string) => ({
  status: 404,
  body: { error: 'POOLSCOPE_ERR_POOL_NOT_TRACKED', message: `No ${what} named "${name}" is tracked.` },
});

describe('inspect reads the worker-pool routes', () => {
  let server: Server;
  let base: string;
  let closeServer: () => Promise<void>;
  let answers: Map<string, Answer>;
  let seen: string[];

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      seen.push(req.url ?? '');
      const answer = answers.get(req.url ?? '') ?? { status: 404, body: { error: 'POOLSCOPE_ERR_HTTP_NOT_FOUND', message: `No ops route at ${req.url}.` } };
      res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json; charset=utf-8' });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
    const started = await listenOnLoopback(server);
    base = started.url;
    closeServer = started.close;
  });
  after(() => closeServer());
  beforeEach(() => {
    seen = [];
    answers = new Map<string, Answer>([
      ['/api/pools', { status: 200, body: noPools }],
      ['/api/worker-pools', { status: 200, body: workerList }],
      ['/api/worker-pools/images', { status: 200, body: images }],
      ['/api/worker-pools/reports', { status: 200, body: reports }],
      ['/api/snapshot', { status: 200, body: { takenAt: T0, pools: [], multiPoolOwners: [] } }],
    ]);
  });

  test('a CRITICAL worker pool exits 1; --detailed reads each worker pool; JSON carries the workers', async () => {
    const text = await cli(['inspect', '--url', base]);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^Worker pool images \(piscina, thread\) {2}\[CRITICAL\]/m);
    assert.match(text.stdout, /^ {2}Process Profile Details:$/m);
    assert.doesNotMatch(text.stdout, /Workers \(\d+\)/, 'no worker list without --detailed');
    assert.deepEqual(seen.sort(), ['/api/pools', '/api/worker-pools']);

    seen = [];
    const json = await cli(['inspect', '--url', base, '--detailed', '--format', 'json']);
    assert.equal(json.code, 1, json.stderr);
    const report = JSON.parse(json.stdout) as InspectReport;
    assert.deepEqual(report.workerPools?.map((p) => p.workers?.length), [3, 1]);
    assert.deepEqual(seen.sort(), ['/api/pools', '/api/snapshot', '/api/worker-pools', '/api/worker-pools/images', '/api/worker-pools/reports']);
  });

  test('a worker pool untracked between the list and its detail keeps its list entry', async () => {
    answers.delete('/api/worker-pools/reports');
    const report = JSON.parse((await cli(['inspect', '--url', base, '--detailed', '--format', 'json'])).stdout) as InspectReport;
    assert.deepEqual(report.workerPools?.map((p) => [p.poolName, p.workers?.length]), [['images', 3], ['reports', undefined]]);
  });

  test('--pool NAME: a worker pool only, a connection pool only, neither (exit 3, both said)', async () => {
    answers.set('/api/pools/reports', NOT_TRACKED('pool', 'reports'));
    const worker = await cli(['inspect', '--url', base, '--pool', 'reports', '--format', 'json']);
    assert.equal(worker.code, 0, worker.stderr);
    const report = JSON.parse(worker.stdout) as InspectReport;
    assert.deepEqual([report.pools, report.workerPools?.map((p) => [p.poolName, p.workers])], [[], [['reports', undefined]]]);
    assert.equal(report.timestamp, processStats.timestamp);

    answers.set('/api/pools/main', { status: 200, body: { poolName: 'main', driver: 'pg', stats: poolStatsFixture({ used: 1 }), config: {} } });
    answers.set('/api/worker-pools/main', NOT_TRACKED('worker pool', 'main'));
    const connection = JSON.parse((await cli(['inspect', '--url', base, '--pool', 'main', '--format', 'json'])).stdout) as InspectReport;
    assert.deepEqual([connection.pools.map((p) => p.poolName), connection.workerPools], [['main'], []]);

    answers.set('/api/pools/nope', NOT_TRACKED('pool', 'nope'));
    answers.set('/api/worker-pools/nope', NOT_TRACKED('worker pool', 'nope'));
    const neither = await cli(['inspect', '--url', base, '--pool', 'nope']);
    assert.equal(neither.code, 3);
    assert.equal(neither.stdout, '');
    assert.equal(
      neither.stderr,
      `poolscope inspect: GET ${base}/api/pools/nope answered 404 POOLSCOPE_ERR_POOL_NOT_TRACKED: No pool named "nope" is tracked. No worker pool has that name either.\n`,
    );
  });

  test('an app without worker-pool routes (404, or an app page that is not JSON): no worker section, exit by its pools', async () => {
    answers.delete('/api/worker-pools');
    const older = await cli(['inspect', '--url', base, '--format', 'json']);
    assert.equal(older.code, 0, older.stderr);
    assert.equal('workerPools' in (JSON.parse(older.stdout) as InspectReport), false);

    answers.set('/api/worker-pools', { status: 200, body: '<html>app</html>', contentType: 'text/html' });
    const page = await cli(['inspect', '--url', base]);
    assert.equal(page.code, 0, page.stderr);
    assert.doesNotMatch(page.stdout, /Worker pool/);

    answers.set('/api/worker-pools', { status: 200, body: { hello: 'world' } });
    const wrong = await cli(['inspect', '--url', base]);
    assert.equal(wrong.code, 3);
    assert.match(wrong.stderr, /not poolscope's \/api\/worker-pools/);

    answers.set('/api/worker-pools', { status: 403, body: { error: 'POOLSCOPE_ERR_HTTP_FORBIDDEN', message: 'refused' } });
    assert.equal((await cli(['inspect', '--url', base])).code, 3, 'a refusal is an error, not an older app');
  });
});
