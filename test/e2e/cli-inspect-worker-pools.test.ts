// `poolscope inspect` on real worker pools (issue 16, seed 002): a Piscina pool (worker threads) saturated on purpose
// and a workerpool process pool whose worker leaks memory on purpose (test/fixtures/workers/), behind startOpsServer;
// the CLI runs as a real child process. Tasks that must stay running are held until the test creates a file
// (holdUntilFile): nothing depends on timing, every wait is bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import workerpool from 'workerpool';
import { Inspector } from '../../src/core/inspector.js';
import type { WorkerPoolView } from '../../src/core/worker-pool-view.js';
import type { Recommendation } from '../../src/core/recommendations.js';
import { trackPiscina } from '../../src/adapters/piscina/index.js';
import { trackWorkerpool } from '../../src/adapters/workerpool/index.js';
import { startOpsServer, type OpsServer } from '../../src/http/node-server.js';
import type { InspectReport } from '../../src/cli/inspect-report.js';
import { spawnCli } from '../support/cli-capture.js';
import { eventually } from '../support/wait-for.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/workers/', import.meta.url));
const LINUX = process.platform === 'linux';
/** MB each `leak` task keeps in the process worker, three times: far above the growth threshold (25 MB). */
const LEAK_MB = 40;

let inspector: Inspector;
let server: OpsServer;
let images: Piscina;
let reports: ReturnType<typeof workerpool.pool>;
let imagesView: WorkerPoolView;
let reportsView: WorkerPoolView;
let gateDir: string;
let held: Promise<unknown>[] = [];
let errors: unknown[];

before(async () => {
  errors = [];
  inspector = new Inspector({ alerts: false, historyIntervalMillis: 0, onError: (error) => errors.push(error) });
  // Threads: one worker running two tasks at once, a queue of two: saturated by four held tasks and a fifth.
  images = new Piscina({
    filename: pathToFileURL(path.join(FIXTURES, 'piscina-worker.mjs')).href,
    minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 2, maxQueue: 2, atomics: 'async',
  });
  imagesView = trackPiscina(inspector, images, { name: 'images' });
  // Processes: a worker that leaks on purpose; its resident memory is sampled between the leaks.
  reports = workerpool.pool(path.join(FIXTURES, 'workerpool-worker.mjs'), { workerType: 'process', maxWorkers: 2 });
  reportsView = trackWorkerpool(inspector, reports, { name: 'reports' });
  server = await startOpsServer(inspector, { port: 0 });

  await images.run(1, { name: 'sleep' });
  await imagesView.sampleMemory({ timeoutMillis: 5000 });
  await Promise.resolve(reports.exec('sleep', [1]));
  await reportsView.sampleMemory();
  for (let i = 0; i < 3; i += 1) {
    await Promise.resolve(reports.exec('leak', [LEAK_MB]));
    await reportsView.sampleMemory();
  }

  gateDir = mkdtempSync(path.join(os.tmpdir(), 'poolscope-cli-workers-'));
  const gate = path.join(gateDir, 'open');
  held = Array.from({ length: 4 }, () => images.run(gate, { name: 'holdUntilFile' }));
  await eventually(() => imagesView.stats().capacityUsed === 2 && imagesView.stats().queueSize === 2, () => JSON.stringify(imagesView.stats()));
  await assert.rejects(images.run(1, { name: 'sleep' }), { message: 'Task queue is at limit' });
});

after(async () => {
  if (gateDir !== undefined) {
    writeFileSync(path.join(gateDir, 'open'), '');
    await Promise.allSettled(held);
    rmSync(gateDir, { recursive: true, force: true });
  }
  await server?.close();
  inspector?.close();
  await images?.destroy();
  await reports?.terminate(true);
});

async function inspect(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return spawnCli(['inspect', '--url', server.url, ...args], { NO_COLOR: '1' });
}

describe('poolscope inspect on real worker pools', { timeout: 120_000 }, () => {
  test("text: seed 002's report for both profiles, the CRITICAL marker (exit 1), and the recommendations", async (t) => {
    const run = await inspect('--recommendations');
    t.diagnostic(`poolscope inspect --recommendations:\n${run.stdout}`);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr, '');
    const out = run.stdout;
    assert.match(out, /^Worker pool images \(piscina, thread\) {2}\[CRITICAL\] 100% of capacity in use$/m);
    assert.match(out, /^ {2}Thread Profile Details:\n {4}Workers: +1 thread\(s\)\n {4}Threads\/Worker \(tasks per worker\): +2\n {4}Total capacity: +2\n {4}Avg load\/worker: +2\/2$/m);
    assert.match(out, /^ {2}Capacity: +2 used, 0 available of 2$/m);
    assert.match(out, /^ {2}Queue: +2 waiting \(limit 2\)$/m);
    assert.match(out, /^ {2}Tasks: +1 completed, 0 failed, 1 rejected$/m);
    assert.match(out, /^ {2}Memory \(V8 heap in use\): total [\d.]+ MB; per worker avg /m);
    assert.match(out, /^Worker pool reports \(workerpool, process\) {2}\[LOW\] 0% of capacity in use$/m);
    assert.match(out, /^ {2}Process Profile Details:\n {4}Mode: +Single-process workers \(one task per child process\)\n {4}Isolation: +Full process isolation\n {4}Concurrency: +2$/m);
    assert.match(out, /^ {2}Tasks: +4 completed, 0 failed, 0 rejected$/m);
    assert.match(out, /^ {2}time +p50 ms +p95 ms +p99 ms +max ms +count\n {2}run +[\d.]+ /m);
    assert.match(out, LINUX ? /^ {2}Memory \(resident\): total [\d.]+ MB/m : /^ {2}Memory: not available on /m);
    // The saturated pool, with numbered fixes.
    assert.match(out, /^ {2}\[CRITICAL\] Worker pool 'images' is at 100% of its capacity \(2\/2, CRITICAL\) and tasks wait for a worker$/m);
    assert.match(out, /^ {4}- 1 task\(s\) refused by the full queue since tracking$/m);
    assert.match(out, /^ {4}You can address this by:\n {6}1\. .*maxThreads/m);
    if (LINUX) assert.match(out, /\] 1 worker\(s\) of 'reports' keep growing \(up to \+\d+(\.\d)? MB across their memory samples\): a leak in the task code\?$/m);
    assert.match(out, /^Critical: worker pool images \(exit code 1\)\.$/m);
    assert.deepEqual(errors, []);
  });

  test('--detailed lists the workers: thread id, pid, status, load and memory with its trend', async (t) => {
    const run = await inspect('--detailed');
    t.diagnostic(`poolscope inspect --detailed:\n${run.stdout}`);
    assert.equal(run.code, 1, run.stderr);
    const thread = imagesView.snapshot().workers.find((worker) => worker.status !== 'exited');
    const child = reportsView.snapshot().workers.find((worker) => worker.status !== 'exited');
    assert.ok(thread?.threadId != null && child?.pid != null);
    assert.match(run.stdout, /^ {4}id +thread +status +load +memory MB +trend +note$/m);
    assert.match(run.stdout, new RegExp(`^ +${thread.id} +${thread.threadId} +busy +2/2 +[\\d.]+ `, 'm'));
    assert.match(run.stdout, /^ {4}id +pid +status +load +memory MB +trend +note$/m);
    const leaked = LINUX ? `[\\d.]+ +\\+\\d+\\.\\d MB in \\d+ samples` : '- +.*';
    assert.match(run.stdout, new RegExp(`^ +${child.id} +${child.pid} +available +0/1 +${leaked}`, 'm'));
  });

  test('--format json: workerPools with workers, markers and the recommendations', async () => {
    const run = await inspect('--format', 'json', '--detailed', '--recommendations');
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as InspectReport;
    assert.equal(report.critical, true);
    assert.deepEqual(report.pools, []);
    assert.deepEqual(report.workerPools?.map((p) => [p.poolName, p.driver, p.profile, p.marker, p.critical]), [
      ['images', 'piscina', 'thread', 'CRITICAL', true],
      ['reports', 'workerpool', 'process', 'LOW', false],
    ]);
    const [imagesReport, reportsReport] = report.workerPools ?? [];
    assert.deepEqual([imagesReport?.stats.capacity, imagesReport?.stats.queueSize, imagesReport?.stats.queueLimit, imagesReport?.stats.counters.tasksRejected], [2, 2, 2, 1]);
    assert.deepEqual(imagesReport?.workers?.filter((w) => w.status !== 'exited').map((w) => [w.profile, w.load, w.status]), [['thread', 2, 'busy']]);
    const child = reportsReport?.workers?.find((w) => w.status !== 'exited');
    assert.equal(child?.profile, 'process');
    assert.equal(typeof child?.pid, 'number');
    if (LINUX) {
      assert.equal(child?.memorySource, 'rss');
      assert.ok((child?.memoryTrend?.growthMb ?? 0) > 2 * LEAK_MB, JSON.stringify(child?.memoryTrend));
    }
    const ids = (name: string): Recommendation['id'][] => (report.recommendations ?? []).filter((r) => r.poolName === name).map((r) => r.id);
    assert.ok(ids('images').includes('worker-pool-utilization'), JSON.stringify(report.recommendations));
    if (LINUX) assert.ok(ids('reports').includes('worker-memory-growth'), JSON.stringify(report.recommendations));
    const saturated = report.recommendations?.find((r) => r.id === 'worker-pool-utilization');
    assert.equal(saturated?.severity, 'critical');
    assert.ok((saturated?.fixes.length ?? 0) >= 2);
  });

  test('--pool names one worker pool', async () => {
    const run = await inspect('--pool', 'reports', '--format', 'json');
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as InspectReport;
    assert.deepEqual([report.pools, report.workerPools?.map((p) => p.poolName)], [[], ['reports']]);
  });
});
