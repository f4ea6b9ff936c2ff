// Seed 002's recommendation rules for worker pools, on fixed readings: each rule firing (evidence, numbered fixes,
// the change it computes) and staying silent.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  formatRecommendation,
  recommend,
  RECOMMENDATION_IDS,
  type Recommendation,
  type WorkerPoolRecommendationInput,
} from '../../src/core/recommendations.js';
import type { DistributionSnapshot } from '../../src/core/histogram.js';
import type { WorkerMemoryTrend } from '../../src/core/worker-pool-stats.js';
import { EMPTY_DISTRIBUTION, poolStatsFixture } from '../support/pool-stats-fixture.js';
import {
  workerFixture,
  workerPoolSnapshotFixture,
  workerPoolStatsFixture,
  type WorkerPoolStatsOverrides,
} from '../support/worker-pool-fixture.js';

const MINUTE = 60_000;

function input(over: WorkerPoolStatsOverrides, options: { cpuCount?: number; workers?: Parameters<typeof workerPoolSnapshotFixture>[1] } = {}): WorkerPoolRecommendationInput {
  const snapshot = workerPoolSnapshotFixture(workerPoolStatsFixture(over), options.workers ?? []);
  return options.cpuCount === undefined ? { snapshot } : { snapshot, cpuCount: options.cpuCount };
}

function run(pool: WorkerPoolRecommendationInput, thresholds = {}): Recommendation[] {
  return recommend({ pools: [], workerPools: [pool] }, thresholds);
}

function only(found: Recommendation[], id: Recommendation['id']): Recommendation {
  const matching = found.filter((r) => r.id === id);
  assert.equal(matching.length, 1, `expected one ${id}, got ${found.map((r) => r.id).join(', ') || 'none'}`);
  return matching[0] as Recommendation;
}

function none(found: Recommendation[], id: Recommendation['id']): void {
  assert.deepEqual(found.filter((r) => r.id === id), [], `no ${id}`);
}

function distribution(over: Partial<DistributionSnapshot>): DistributionSnapshot {
  return { ...EMPTY_DISTRIBUTION, ...over };
}

function trend(over: Partial<WorkerMemoryTrend>): WorkerMemoryTrend {
  const firstMb = over.firstMb ?? 10;
  const lastMb = over.lastMb ?? 60;
  return { samples: 5, firstMb, lastMb, minMb: Math.min(firstMb, lastMb), maxMb: Math.max(firstMb, lastMb), growthMb: lastMb - firstMb, spanMillis: 40_000, ...over };
}

describe('worker-pool-utilization (seed 002: > 80% high, > 90% critical)', () => {
  test('silent at LOW and GOOD', () => {
    none(run(input({ capacityUsed: 0 }, { cpuCount: 8 })), 'worker-pool-utilization');
    none(run(input({ maxWorkers: 10, capacityUsed: 8 }, { cpuCount: 8 })), 'worker-pool-utilization'); // 80%: GOOD
    assert.deepEqual(run(input({ maxWorkers: 10, capacityUsed: 8 }, { cpuCount: 8 })), [], 'a quiet pool gets nothing');
  });

  test('CRITICAL with tasks queued: critical, evidence, and more workers up to the CPU count (Piscina names)', () => {
    const r = only(
      run(input({ maxWorkers: 4, capacityUsed: 4, busyWorkers: 4, queueSize: 3, waitTime: distribution({ count: 40, p95Millis: 350 }), runTime: distribution({ count: 40, p50Millis: 120, p95Millis: 200 }) }, { cpuCount: 8 })),
      'worker-pool-utilization',
    );
    assert.equal(r.severity, 'critical');
    assert.equal(r.poolName, 'images');
    assert.equal(r.title, "Worker pool 'images' is at 100% of its capacity (4/4, CRITICAL) and tasks wait for a worker");
    assert.deepEqual(r.evidence, [
      'utilization 100% now: 4 of 4 task slot(s) in use (4 worker(s) x 1 task(s) per worker), 4 worker(s) at capacity',
      '3 task(s) waiting for a worker (queue limit none)',
      'queue wait p95 350 ms; run time p50 120 ms, p95 200 ms',
    ]);
    assert.deepEqual(r.change, { option: 'maxThreads', from: 4, to: 6 });
    assert.match(r.fixes[0] ?? '', /^Raise maxThreads from 4 to 6: .*8 CPU\(s\)/);
    assert.match(r.fixes[1] ?? '', /concurrentTasksPerWorker \(now 1\)/);
    assert.match(r.fixes[2] ?? '', /^Bound the queue \(maxQueue\)/);
  });

  test('the new maximum never passes the CPU count; workerpool names; refused tasks with a bounded queue', () => {
    const r = only(
      run(input({ driver: 'workerpool', profile: 'process', maxWorkers: 3, capacityUsed: 3, queueLimit: 10, queueSize: 10, counters: { tasksRejected: 7 } }, { cpuCount: 4 })),
      'worker-pool-utilization',
    );
    assert.deepEqual(r.change, { option: 'maxWorkers', from: 3, to: 4 });
    assert.ok(r.evidence.includes('7 task(s) refused by the full queue since tracking'), r.evidence.join('\n'));
    assert.ok(!r.fixes.some((fix) => fix.includes('concurrentTasksPerWorker')), 'no Piscina advice for workerpool');
    assert.match(r.fixes.at(-1) ?? '', /raise maxQueueSize from 10 if a longer wait is acceptable/);
  });

  test('a long queue wait alone counts as waiting (p95 at or above workerQueueWaitMillis)', () => {
    const waited = input({ maxWorkers: 4, capacityUsed: 4, waitTime: distribution({ count: 10, p95Millis: 100 }) }, { cpuCount: 8 });
    assert.deepEqual(only(run(waited), 'worker-pool-utilization').change, { option: 'maxThreads', from: 4, to: 6 });
    assert.equal(only(run(waited, { workerQueueWaitMillis: 101 }), 'worker-pool-utilization').change, null);
  });

  test('HIGH without waiting: a warning, no change; a pool with a worker per CPU is told more will not help', () => {
    const high = only(run(input({ maxWorkers: 20, capacityUsed: 17 }, { cpuCount: 32 })), 'worker-pool-utilization');
    assert.equal(high.severity, 'warning');
    assert.equal(high.title, "Worker pool 'images' is at 85% of its capacity (17/20, HIGH)");
    assert.ok(high.evidence.includes('no task waiting in the queue now'));
    assert.equal(high.change, null);
    assert.match(high.fixes[0] ?? '', /^If tasks start to wait, raise maxThreads \(now 20\)/);

    const atCpus = only(run(input({ maxWorkers: 8, capacityUsed: 8, queueSize: 5 }, { cpuCount: 8 })), 'worker-pool-utilization');
    assert.equal(atCpus.change, null);
    assert.match(atCpus.fixes[0] ?? '', /^The pool already has 8 worker\(s\) for 8 CPU\(s\)/);

    const noCpu = only(run(input({ maxWorkers: 4, capacityUsed: 4, queueSize: 5 })), 'worker-pool-utilization');
    assert.equal(noCpu.change, null, 'without the CPU count no number is computed');
  });
});

describe('worker-pool-lower-min (utilization low for long)', () => {
  // 20 minutes tracked, 4 workers kept by minThreads, 0.2 tasks in flight on average (5% of 4).
  const quiet: WorkerPoolStatsOverrides = {
    minWorkers: 4, maxWorkers: 4, trackedForMillis: 20 * MINUTE,
    runTime: distribution({ count: 1200, sumMillis: 0.2 * 20 * MINUTE }), waitTime: distribution({ count: 1200, p95Millis: 0.5 }),
    memory: { sampledWorkers: 4, totalMb: 40, averageMb: 10, minMb: 9, maxMb: 11 },
  };

  test('fires with the average in flight, and lowers minWorkers to what it needs', () => {
    const r = only(run(input(quiet)), 'worker-pool-lower-min');
    assert.equal(r.severity, 'info');
    assert.deepEqual(r.change, { option: 'minThreads', from: 4, to: 1 });
    assert.equal(r.evidence[0], 'average 0.2 task(s) in flight since tracking (5% of the capacity of 4): 1200 completed task(s) ran 240.0 s in 1200.0 s');
    assert.equal(r.evidence[1], 'tasks did not wait for a worker: queue wait p95 1 ms');
    assert.equal(r.evidence[2], 'minThreads 4 keeps 4 worker(s) alive (4 live now, about 10 MB each)');
    assert.match(r.fixes[0] ?? '', /^Lower minThreads from 4 to 1: idle workers hold memory/);
  });

  test('silent: tracked too briefly, busy on average, tasks waited, not LOW now, or min already small', () => {
    none(run(input({ ...quiet, trackedForMillis: 5 * MINUTE })), 'worker-pool-lower-min');
    none(run(input({ ...quiet, runTime: distribution({ count: 10, sumMillis: 0.9 * 20 * MINUTE }) })), 'worker-pool-lower-min');
    none(run(input({ ...quiet, waitTime: distribution({ count: 10, p95Millis: 500 }) })), 'worker-pool-lower-min');
    none(run(input({ ...quiet, capacityUsed: 3 })), 'worker-pool-lower-min');
    none(run(input({ ...quiet, minWorkers: 1 })), 'worker-pool-lower-min');
    none(run(input(quiet), { workerLowUtilizationMillis: 30 * MINUTE }), 'worker-pool-lower-min');
    none(run(input(quiet), { workerLowUtilizationPercent: 5 }), 'worker-pool-lower-min');
  });
});

describe('worker-memory-high (seed 002: > 100 MB average per worker)', () => {
  const workers = [
    workerFixture(1, { pid: 4242, threadId: null, profile: 'process', memoryMb: 180, memoryStatus: 'sampled', memoryNote: null }),
    workerFixture(2, { pid: 4243, threadId: null, profile: 'process', memoryMb: 120, memoryStatus: 'sampled', memoryNote: null }),
  ];
  const heavy = input(
    { driver: 'workerpool', profile: 'process', workers: 2, memory: { sampledWorkers: 2, totalMb: 300, averageMb: 150, minMb: 120, maxMb: 180 } },
    { workers },
  );

  test('fires above 100 MB, names the largest workers, and says how to cap a process worker', () => {
    const r = only(run(heavy), 'worker-memory-high');
    assert.equal(r.severity, 'warning');
    assert.equal(r.title, "Workers of 'images' use 150 MB each on average (the child process's resident memory), above 100 MB");
    assert.deepEqual(r.evidence, [
      'average 150 MB per worker over 2 sampled worker(s): min 120 MB, max 180 MB, total 300 MB',
      'largest: worker 1 (pid 4242) 180 MB, worker 2 (pid 4243) 120 MB',
    ]);
    assert.match(r.fixes[1] ?? '', /forkOpts: \{ execArgv: \['--max-old-space-size=N'\] \}/);
    assert.equal(r.change, null);
  });

  test('silent at or below the threshold and without readings; the threshold is an option', () => {
    none(run(input({ memory: { sampledWorkers: 2, totalMb: 160, averageMb: 80, minMb: 70, maxMb: 90 } })), 'worker-memory-high');
    none(run(input({})), 'worker-memory-high');
    none(run(heavy, { workerMemoryMb: 150 }), 'worker-memory-high');
  });

  test('thread pools are told about resourceLimits (Piscina) or workerThreadOpts (workerpool)', () => {
    const memory = { sampledWorkers: 1, totalMb: 130, averageMb: 130, minMb: 130, maxMb: 130 };
    assert.match(only(run(input({ memory })), 'worker-memory-high').fixes[1] ?? '', /resourceLimits: \{ maxOldGenerationSizeMb: N \}/);
    assert.match(only(run(input({ driver: 'workerpool', memory })), 'worker-memory-high').fixes[1] ?? '', /workerThreadOpts: \{ resourceLimits/);
  });
});

describe('worker-memory-growth (growing across samples)', () => {
  const growing = (memoryTrend: WorkerMemoryTrend, over = {}) => workerFixture(3, { memoryMb: memoryTrend.lastMb, memoryStatus: 'sampled', memoryNote: null, memoryTrend, ...over });

  test('a worker that grew and stayed up is named with its samples', () => {
    const r = only(run(input({}, { workers: [workerFixture(1), growing(trend({}))] })), 'worker-memory-growth');
    assert.equal(r.severity, 'warning');
    assert.equal(r.title, "1 worker(s) of 'images' keep growing (up to +50 MB across their memory samples): a leak in the task code?");
    assert.deepEqual(r.evidence, [
      'worker 3 (thread 13): 10 MB -> 60 MB across 5 samples in 40.0 s (+50 MB, lowest 10 MB)',
      "1 of 2 live worker(s) grew by 25 MB or more without coming back down (the thread's V8 heap in use)",
    ]);
    assert.match(r.fixes[0] ?? '', /v8\.writeHeapSnapshot\(\)/);
    assert.equal(r.fixes.length, 3);
  });

  test('critical once a growing worker is above the memory threshold', () => {
    assert.equal(only(run(input({}, { workers: [growing(trend({ firstMb: 60, lastMb: 130 }))] })), 'worker-memory-growth').severity, 'critical');
  });

  test('silent: too few samples, too little growth, a sawtooth, a dip below the start, an exited worker', () => {
    const cases: [string, WorkerMemoryTrend][] = [
      ['two samples', trend({ samples: 2 })],
      ['10 MB', trend({ lastMb: 20 })],
      ['30 MB on 200 MB (under a quarter)', trend({ firstMb: 200, lastMb: 230 })],
      ['back down from its peak', trend({ firstMb: 10, lastMb: 40, maxMb: 80 })],
      ['first sample far above its lowest', trend({ firstMb: 50, minMb: 10, lastMb: 80 })],
    ];
    for (const [what, memoryTrend] of cases) {
      assert.deepEqual(run(input({}, { workers: [growing(memoryTrend)] })).map((r) => r.id), [], what);
    }
    none(run(input({}, { workers: [growing(trend({}), { status: 'exited', memoryMb: null })] })), 'worker-memory-growth');
    assert.equal(run(input({}, { workers: [growing(trend({}))] }), { workerMemoryGrowthMb: 60 }).length, 0);
  });
});

describe('worker-pool-use-threads (a large process pool)', () => {
  test('more than 2 child processes per CPU: advice to use threads, with the memory the processes hold', () => {
    const r = only(
      run(input({ driver: 'workerpool', profile: 'process', maxWorkers: 17, workers: 3, memory: { sampledWorkers: 3, totalMb: 150, averageMb: 50, minMb: 48, maxMb: 52 } }, { cpuCount: 8 })),
      'worker-pool-use-threads',
    );
    assert.equal(r.severity, 'info');
    assert.equal(r.title, "Process pool 'images' may start 17 child processes on 8 CPU(s): threads would cost far less, if the tasks need no isolation");
    assert.deepEqual(r.evidence, [
      'maxWorkers 17: more than 2 processes per CPU (8 CPU(s)), one task each',
      'each child process holds a whole Node runtime: 50 MB resident on average, 150 MB across 3 live worker(s)',
      '3 live now, 0% of the capacity in use',
    ]);
    assert.match(r.fixes[0] ?? '', /workerType: 'thread'/);
    assert.match(r.fixes[2] ?? '', /lower maxWorkers from 17 to 8/);
  });

  test('silent: at most 2 per CPU, a thread pool, or the CPU count unknown', () => {
    none(run(input({ profile: 'process', maxWorkers: 16 }, { cpuCount: 8 })), 'worker-pool-use-threads');
    none(run(input({ profile: 'thread', maxWorkers: 64 }, { cpuCount: 8 })), 'worker-pool-use-threads');
    none(run(input({ profile: 'process', maxWorkers: 64 })), 'worker-pool-use-threads');
    assert.equal(run(input({ profile: 'process', maxWorkers: 17 }, { cpuCount: 8 }), { workerProcessesPerCpu: 3 }).length, 0);
  });
});

describe('recommend with worker pools', () => {
  test('critical first, connection pools before worker pools; formatRecommendation numbers the fixes', () => {
    const pools = [{ stats: poolStatsFixture({ counters: { doubleReleases: 1 } }) }];
    const critical = input({ poolName: 'hot', maxWorkers: 2, capacityUsed: 2, queueSize: 1 }, { cpuCount: 4 });
    const found = recommend({ pools, workerPools: [critical] });
    assert.deepEqual(found.map((r) => [r.id, r.poolName]), [['worker-pool-utilization', 'hot'], ['fix-misuse', 'main']]);
    const text = formatRecommendation(found[0] as Recommendation);
    assert.match(text, /^\[CRITICAL\] Worker pool 'hot' is at 100% of its capacity/);
    assert.match(text, /\n {2}You can address this by:\n {4}1\. Raise maxThreads from 2 to 3/);
    assert.deepEqual(recommend({ pools: [] }), [], 'no workerPools: nothing');
  });

  test('RECOMMENDATION_IDS has each worker rule, and api.md documents every id', () => {
    for (const id of ['worker-pool-utilization', 'worker-pool-lower-min', 'worker-memory-high', 'worker-memory-growth', 'worker-pool-use-threads']) {
      assert.ok((RECOMMENDATION_IDS as readonly string[]).includes(id), id);
    }
    const doc = readFileSync(fileURLToPath(new URL('../../docs/reference/api.md', import.meta.url)), 'utf8');
    for (const id of RECOMMENDATION_IDS) assert.ok(doc.includes(`| \`${id}\` |`), `api.md documents ${id}`);
  });
});
