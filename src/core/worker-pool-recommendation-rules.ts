import { formatMillis } from './format-millis.js';
import type {
  Recommendation,
  RecommendedChange,
  ResolvedRecommendationThresholds as Thresholds,
  WorkerPoolRecommendationInput,
} from './recommendation-types.js';
import type { WorkerProfile } from './worker-pool-adapter.js';
import type { WorkerMemoryTrend, WorkerPoolStats, WorkerSnapshot } from './worker-pool-stats.js';

/**
 * Seed 002's recommendation rules for worker pools (Piscina, workerpool): pure functions over one worker pool's
 * snapshot (and the CPU count), each returning one Recommendation with its evidence and numbered fixes, or null.
 *
 * Not judged: whether a thread pool's tasks block their worker's event loop. poolscope sees a task's start and end
 * from the app's thread; whether the time between was spent computing or awaiting is visible only inside the worker
 * (its event loop utilization), which the adapters do not read.
 */

/** Utilization at or above which waiting tasks call for more workers (seed 002's critical bound). */
const GROW_AT_PERCENT = 90;
/** A growing worker's memory may dip below its first sample, or below its peak at the end, by this share of its growth. */
const GROWTH_SLACK = 0.25;
/** Fewest samples for "growing across samples". */
const GROWTH_MIN_SAMPLES = 3;

/** The pool at or above seed 002's HIGH bound (> 80%; CRITICAL > 90%): capacity, queue, and more workers when they would help. */
export function workerPoolUtilization({ snapshot, cpuCount }: WorkerPoolRecommendationInput, t: Thresholds): Recommendation | null {
  const s = snapshot.stats;
  if (s.level !== 'HIGH' && s.level !== 'CRITICAL') return null;
  const names = optionNames(s.driver);
  const rejected = s.counters.tasksRejected;
  const waiting = s.queueSize > 0 || rejected > 0 || waitedLong(s, t);
  const evidence = [
    `utilization ${s.utilizationPercent}% now: ${s.capacityUsed} of ${s.capacity} task slot(s) in use (${s.maxWorkers} worker(s) x ${s.tasksPerWorker} task(s) per worker), ${s.busyWorkers} worker(s) at capacity`,
    s.queueSize > 0
      ? `${s.queueSize} task(s) waiting for a worker (queue limit ${s.queueLimit ?? 'none'})`
      : 'no task waiting in the queue now',
  ];
  if (rejected > 0) evidence.push(`${rejected} task(s) refused by the full queue since tracking`);
  if (s.waitTime.count > 0) {
    evidence.push(`queue wait p95 ${formatMillis(s.waitTime.p95Millis)}; run time p50 ${formatMillis(s.runTime.p50Millis)}, p95 ${formatMillis(s.runTime.p95Millis)}`);
  }
  const fixes: string[] = [];
  let change: RecommendedChange | null = null;
  if (cpuCount !== undefined && s.maxWorkers >= cpuCount) {
    fixes.push(
      `The pool already has ${s.maxWorkers} worker(s) for ${cpuCount} CPU(s): for CPU-bound tasks more workers only take turns; make each task cheaper, or spread the load over more instances`,
    );
  } else if (cpuCount !== undefined && waiting && s.utilizationPercent >= GROW_AT_PERCENT) {
    const to = Math.min(cpuCount, Math.max(s.maxWorkers + 1, Math.ceil(s.maxWorkers * 1.5)));
    change = { option: names.maxWorkers, from: s.maxWorkers, to };
    fixes.push(
      `Raise ${names.maxWorkers} from ${s.maxWorkers} to ${to}: tasks wait while every slot is taken, and this machine has ${cpuCount} CPU(s) (a CPU-bound task keeps one busy; beyond that, workers only take turns)`,
    );
  } else {
    fixes.push(`If tasks start to wait, raise ${names.maxWorkers} (now ${s.maxWorkers}), up to the number of CPUs for CPU-bound tasks`);
  }
  if (s.driver === 'piscina' && s.profile === 'thread') {
    fixes.push(`If the tasks mostly await I/O rather than compute, let each worker run several at once: concurrentTasksPerWorker (now ${s.tasksPerWorker})`);
  }
  if (s.queueLimit === null) {
    fixes.push(`Bound the queue (${names.queueLimit}) so that overload is refused at once instead of waiting without limit`);
  } else if (rejected > 0) {
    fixes.push(`Callers get the pool's queue-full error: retry later or shed load there, or raise ${names.queueLimit} from ${s.queueLimit} if a longer wait is acceptable`);
  }
  return {
    id: 'worker-pool-utilization',
    poolName: s.poolName,
    severity: s.level === 'CRITICAL' ? 'critical' : 'warning',
    title: `Worker pool '${s.poolName}' is at ${s.utilizationPercent}% of its capacity (${s.capacityUsed}/${s.capacity}, ${s.level})${waiting ? ' and tasks wait for a worker' : ''}`,
    evidence,
    fixes,
    change,
  };
}

/** Utilization stayed low since tracking (long enough) while minWorkers keeps more workers alive than the load needs. */
export function workerPoolLowerMin({ snapshot }: WorkerPoolRecommendationInput, t: Thresholds): Recommendation | null {
  const s = snapshot.stats;
  if (s.trackedForMillis < t.workerLowUtilizationMillis || s.capacity <= 0 || s.level !== 'LOW') return null;
  if (s.queueSize > 0 || s.counters.tasksRejected > 0 || waitedLong(s, t)) return null;
  const inFlight = s.runTime.sumMillis / s.trackedForMillis;
  const averagePercent = (inFlight / s.capacity) * 100;
  if (averagePercent >= t.workerLowUtilizationPercent) return null;
  const to = Math.max(1, Math.ceil(inFlight / s.tasksPerWorker));
  if (s.minWorkers <= to) return null;
  const names = optionNames(s.driver);
  const each = s.memory.averageMb === null ? '' : `, about ${s.memory.averageMb} MB each`;
  return {
    id: 'worker-pool-lower-min',
    poolName: s.poolName,
    severity: 'info',
    title: `Worker pool '${s.poolName}' keeps ${s.minWorkers} workers alive but ran ${round2(inFlight)} task(s) at once on average over ${formatMillis(s.trackedForMillis)}`,
    evidence: [
      `average ${round2(inFlight)} task(s) in flight since tracking (${round1(averagePercent)}% of the capacity of ${s.capacity}): ${s.runTime.count} completed task(s) ran ${formatMillis(s.runTime.sumMillis)} in ${formatMillis(s.trackedForMillis)}`,
      s.waitTime.count > 0 ? `tasks did not wait for a worker: queue wait p95 ${formatMillis(s.waitTime.p95Millis)}` : 'no task has started since tracking',
      `${names.minWorkers} ${s.minWorkers} keeps ${s.minWorkers} worker(s) alive (${s.workers} live now${each})`,
    ],
    fixes: [
      `Lower ${names.minWorkers} from ${s.minWorkers} to ${to}: idle workers hold memory, and the pool still starts workers up to ${names.maxWorkers} ${s.maxWorkers} when load comes`,
      'Check a busy period first: this is the average since the pool was tracked, and a daily peak may need the workers warm',
    ],
    change: { option: names.minWorkers, from: s.minWorkers, to },
  };
}

/** Seed 002's memory check: the workers' average memory above the threshold (100 MB by default). */
export function workerMemoryHigh({ snapshot }: WorkerPoolRecommendationInput, t: Thresholds): Recommendation | null {
  const s = snapshot.stats;
  const m = s.memory;
  if (m.averageMb === null || m.averageMb <= t.workerMemoryMb) return null;
  const largest = liveWorkers(snapshot)
    .filter((worker) => worker.memoryMb !== null)
    .sort((a, b) => (b.memoryMb ?? 0) - (a.memoryMb ?? 0))
    .slice(0, 3);
  const names = optionNames(s.driver);
  return {
    id: 'worker-memory-high',
    poolName: s.poolName,
    severity: 'warning',
    title: `Workers of '${s.poolName}' use ${m.averageMb} MB each on average (${sourceWords(s.profile)}), above ${t.workerMemoryMb} MB`,
    evidence: [
      `average ${m.averageMb} MB per worker over ${m.sampledWorkers} sampled worker(s): min ${m.minMb} MB, max ${m.maxMb} MB, total ${m.totalMb} MB`,
      `largest: ${largest.map((worker) => `${workerName(worker)} ${worker.memoryMb} MB`).join(', ')}`,
    ],
    fixes: [
      'Look at what the worker keeps between tasks: module-level caches, Maps or arrays that only grow, results kept after they were returned',
      capHeapFix(s.driver, s.profile),
      `If the tasks need this memory by design (large inputs), budget for it (${m.totalMb} MB across ${m.sampledWorkers} worker(s) now): pass data in chunks, or lower ${names.maxWorkers} (now ${s.maxWorkers})`,
    ],
    change: null,
  };
}

/** A worker whose memory grew across its samples and did not come back down: a leak in the task code, likely. */
export function workerMemoryGrowth({ snapshot }: WorkerPoolRecommendationInput, t: Thresholds): Recommendation | null {
  const s = snapshot.stats;
  const growing = liveWorkers(snapshot)
    .filter((worker) => isGrowing(worker.memoryTrend, t))
    .sort((a, b) => (b.memoryTrend?.growthMb ?? 0) - (a.memoryTrend?.growthMb ?? 0));
  const top = growing[0]?.memoryTrend;
  if (top === undefined || top === null) return null;
  const overLimit = growing.some((worker) => (worker.memoryTrend?.lastMb ?? 0) > t.workerMemoryMb);
  return {
    id: 'worker-memory-growth',
    poolName: s.poolName,
    severity: overLimit ? 'critical' : 'warning',
    title: `${growing.length} worker(s) of '${s.poolName}' keep growing (up to +${round1(top.growthMb)} MB across their memory samples): a leak in the task code?`,
    evidence: [
      ...growing.slice(0, 3).map((worker) => {
        const trend = worker.memoryTrend as WorkerMemoryTrend;
        return `${workerName(worker)}: ${trend.firstMb} MB -> ${trend.lastMb} MB across ${trend.samples} samples in ${formatMillis(trend.spanMillis)} (+${round1(trend.growthMb)} MB, lowest ${trend.minMb} MB)`;
      }),
      `${growing.length} of ${liveWorkers(snapshot).length} live worker(s) grew by ${t.workerMemoryGrowthMb} MB or more without coming back down (${sourceWords(s.profile)})`,
    ],
    fixes: [
      'Find what the task keeps: call v8.writeHeapSnapshot() inside the worker before and after a batch of tasks and compare the two in Chrome DevTools (Memory, Comparison); look at module-level arrays, Maps, caches and listeners that only grow',
      capHeapFix(s.driver, s.profile),
      'After the fix, watch the memory trend of each worker (`poolscope inspect --detailed`, column trend) stay flat',
    ],
    change: null,
  };
}

/** A process pool allowed far more child processes than CPUs (Node's analogue of seed 002's "> 250 processes"). */
export function workerPoolUseThreads({ snapshot, cpuCount }: WorkerPoolRecommendationInput, t: Thresholds): Recommendation | null {
  const s = snapshot.stats;
  if (s.profile !== 'process' || cpuCount === undefined || cpuCount <= 0) return null;
  const limit = cpuCount * t.workerProcessesPerCpu;
  if (s.maxWorkers <= limit) return null;
  const names = optionNames(s.driver);
  const m = s.memory;
  return {
    id: 'worker-pool-use-threads',
    poolName: s.poolName,
    severity: 'info',
    title: `Process pool '${s.poolName}' may start ${s.maxWorkers} child processes on ${cpuCount} CPU(s): threads would cost far less, if the tasks need no isolation`,
    evidence: [
      `${names.maxWorkers} ${s.maxWorkers}: more than ${t.workerProcessesPerCpu} processes per CPU (${cpuCount} CPU(s)), one task each`,
      m.averageMb === null
        ? 'each child process holds a whole Node runtime (its resident memory was not read)'
        : `each child process holds a whole Node runtime: ${m.averageMb} MB resident on average, ${m.totalMb} MB across ${m.sampledWorkers} live worker(s)`,
      `${s.workers} live now, ${s.utilizationPercent}% of the capacity in use`,
    ],
    fixes: [
      "If the tasks need no process isolation (no native addon that is not thread-safe, no process.exit(), chdir() or process-wide env changes, no crash that must stay contained), run them on threads: workerType: 'thread' (workerpool) or Piscina; a worker thread costs a V8 isolate in this process, not a process",
      'If the tasks mostly wait on I/O rather than compute, they need no worker at all: run them in the main thread with async I/O',
      `If they need processes, size the pool to the CPUs: lower ${names.maxWorkers} from ${s.maxWorkers} to ${cpuCount}`,
    ],
    change: null,
  };
}

/** The settings' names in each library. */
interface WorkerPoolOptionNames {
  readonly maxWorkers: string;
  readonly minWorkers: string;
  readonly queueLimit: string;
}

function optionNames(driver: string): WorkerPoolOptionNames {
  if (driver === 'piscina') return { maxWorkers: 'maxThreads', minWorkers: 'minThreads', queueLimit: 'maxQueue' };
  return { maxWorkers: 'maxWorkers', minWorkers: 'minWorkers', queueLimit: 'maxQueueSize' };
}

/** Tasks waited long for a worker: the queue wait p95 at or above the threshold. */
function waitedLong(s: WorkerPoolStats, t: Thresholds): boolean {
  return s.waitTime.count > 0 && s.waitTime.p95Millis >= t.workerQueueWaitMillis;
}

function isGrowing(trend: WorkerMemoryTrend | null, t: Thresholds): boolean {
  if (trend === null || trend.samples < GROWTH_MIN_SAMPLES) return false;
  const growth = trend.growthMb;
  if (growth < t.workerMemoryGrowthMb || growth < trend.firstMb * GROWTH_SLACK) return false;
  // Grew and stayed up: never far below where it started, and ends near its peak (a sawtooth of garbage does not).
  return trend.firstMb - trend.minMb <= growth * GROWTH_SLACK && trend.maxMb - trend.lastMb <= growth * GROWTH_SLACK;
}

function capHeapFix(driver: string, profile: WorkerProfile): string {
  const how =
    profile === 'process'
      ? "forkOpts: { execArgv: ['--max-old-space-size=N'] }"
      : driver === 'piscina'
        ? 'resourceLimits: { maxOldGenerationSizeMb: N }'
        : 'workerThreadOpts: { resourceLimits: { maxOldGenerationSizeMb: N } }';
  return `Cap each worker's heap so that a runaway worker fails and is replaced instead of growing: ${how}, with N above what one task needs`;
}

function liveWorkers(snapshot: WorkerPoolRecommendationInput['snapshot']): WorkerSnapshot[] {
  return snapshot.workers.filter((worker) => worker.status !== 'exited');
}

/** "worker 3 (thread 12)", "worker 2 (pid 4242)". */
function workerName(worker: WorkerSnapshot): string {
  const where = worker.threadId !== null ? ` (thread ${worker.threadId})` : worker.pid !== null ? ` (pid ${worker.pid})` : '';
  return `worker ${worker.id}${where}`;
}

function sourceWords(profile: WorkerProfile): string {
  return profile === 'thread' ? "the thread's V8 heap in use" : "the child process's resident memory";
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
