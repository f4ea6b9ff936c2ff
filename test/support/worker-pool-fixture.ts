/**
 * Worker pool readings built by hand, for tests of what reads them (recommendations, the CLI report, routes): stats of
 * a quiet pool, workers, and snapshots, each with any field overridden. Utilization and level follow the overrides'
 * capacityUsed and capacity (seed 002's bounds) unless given.
 */
import type { WorkerPoolCounters, WorkerPoolSnapshot, WorkerPoolStats, WorkerSnapshot } from '../../src/core/worker-pool-stats.js';
import { workerPoolLevel, workerPoolUtilizationPercent } from '../../src/core/worker-pool-level.js';
import { EMPTY_DISTRIBUTION } from './pool-stats-fixture.js';

export const WORKER_T0 = '2026-01-20T10:30:00.000Z';

/** Every counter at zero. */
export const ZERO_WORKER_COUNTERS: WorkerPoolCounters = Object.freeze({
  tasksQueued: 0, tasksStarted: 0, tasksCompleted: 0, tasksFailed: 0, tasksRejected: 0, workersStarted: 0, workersExited: 0,
  workersCrashed: 0, workerErrors: 0,
});

/** Fields to override; `counters` is merged into ZERO_WORKER_COUNTERS. */
export type WorkerPoolStatsOverrides = Partial<Omit<WorkerPoolStats, 'counters'>> & { counters?: Partial<WorkerPoolCounters> };

/**
 * Stats of thread pool "images" (Piscina, 4 workers of 1 task, min 0, none busy, tracked a minute, no memory reading)
 * with `over` applied; capacity is maxWorkers x tasksPerWorker unless given.
 */
export function workerPoolStatsFixture(over: WorkerPoolStatsOverrides = {}): WorkerPoolStats {
  const { counters, ...rest } = over;
  const maxWorkers = rest.maxWorkers ?? 4;
  const tasksPerWorker = rest.tasksPerWorker ?? 1;
  const capacity = rest.capacity ?? maxWorkers * tasksPerWorker;
  const used = rest.capacityUsed ?? 0;
  const workers = rest.workers ?? maxWorkers;
  return {
    poolName: 'images', driver: 'piscina', timestamp: WORKER_T0, profile: 'thread', workers, busyWorkers: 0,
    availableWorkers: workers, startingWorkers: 0, minWorkers: 0, maxWorkers, tasksPerWorker, capacity, capacityUsed: used,
    capacityAvailable: Math.max(0, capacity - used), utilizationPercent: workerPoolUtilizationPercent(used, capacity),
    level: workerPoolLevel(used, capacity), averageLoadPerWorker: workers === 0 ? null : Math.round((used / workers) * 100) / 100,
    queueSize: 0, queueLimit: null, trackedForMillis: 60_000, runTime: EMPTY_DISTRIBUTION, waitTime: EMPTY_DISTRIBUTION,
    memory: { sampledWorkers: 0, totalMb: null, averageMb: null, minMb: null, maxMb: null },
    ...rest,
    counters: { ...ZERO_WORKER_COUNTERS, ...counters },
  };
}

/** A live, idle thread worker `id` (thread id 10 + id) with no memory reading, with `over` applied. */
export function workerFixture(id: number, over: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return {
    id, threadId: 10 + id, pid: null, profile: 'thread', capacity: 1, load: 0, status: 'available', startedAt: WORKER_T0,
    exitedAt: null, exitCode: null, exitSignal: null, crashed: false, lastError: null, memoryMb: null,
    memoryStatus: 'not-available', memorySource: 'v8-heap-used', memorySampledAt: null,
    memoryNote: "no answer from the worker thread: load poolscope/worker in the worker's file (import 'poolscope/worker')",
    memoryTrend: null, ...over,
  };
}

/** A snapshot of `stats` with `workers` and a small config. */
export function workerPoolSnapshotFixture(stats: WorkerPoolStats, workers: readonly WorkerSnapshot[] = []): WorkerPoolSnapshot {
  return { poolName: stats.poolName, takenAt: stats.timestamp, stats, config: { maxWorkers: stats.maxWorkers }, workers };
}
