import { isoAt } from './monotonic-clock.js';
import type { WorkerReading, WorkerStatus } from './worker-pool-adapter.js';
import { workerPoolLevel, workerPoolUtilizationPercent } from './worker-pool-level.js';
import type {
  WorkerMemoryStatus,
  WorkerPoolMemorySummary,
  WorkerPoolSnapshot,
  WorkerPoolStats,
  WorkerSnapshot,
} from './worker-pool-stats.js';
import type { WorkerPoolHistorySample } from './worker-pool-history.js';
import type { WorkerPoolState } from './worker-pool-state.js';
import { HEAP_ANSWER_TIMEOUT_MILLIS } from './worker-pool-state.js';
import type { WorkerRecord } from './worker-record.js';

/** Builds the JSON-serialisable readings of a worker pool (stats, snapshot) from its state. */

/** What a thread worker's memory reads when it never answered (the helper is not loaded, or the worker is parked). */
export const NO_HEAP_HELPER_NOTE =
  "no answer from the worker thread: load poolscope/worker in the worker's file (import 'poolscope/worker')";

/** The status of a worker from its record (the latest reading applied). */
export function workerStatus(record: WorkerRecord, capacity: number): WorkerStatus {
  if (record.exitedAt !== undefined) return 'exited';
  if (!record.ready) return 'starting';
  if (record.load === null) return 'unknown';
  return record.load >= capacity ? 'busy' : 'available';
}

/** The pool's stats now (reads the library's workers; samples memory when the last sample is old). */
export function workerPoolStats(state: WorkerPoolState, now: number, readings?: readonly WorkerReading[]): WorkerPoolStats {
  const current = readings ?? state.syncWorkers(now);
  state.sampleMemory(now, false);
  const adapter = state.adapter;
  const tasksPerWorker = adapter.tasksPerWorker();
  let busy = 0;
  let available = 0;
  let starting = 0;
  for (const reading of current) {
    // A ready worker whose load the library does not give (status unknown) is neither busy nor available.
    if (!reading.ready) starting += 1;
    else if (reading.load !== null && reading.load >= tasksPerWorker) busy += 1;
    else if (reading.load !== null) available += 1;
  }
  const used = capacityUsedOf(current, state.running);
  const maxWorkers = adapter.maxWorkers();
  const capacity = maxWorkers * tasksPerWorker;
  return {
    poolName: state.name,
    driver: adapter.driver,
    timestamp: isoAt(state.clock, now),
    profile: adapter.profile,
    workers: current.length,
    busyWorkers: busy,
    availableWorkers: available,
    startingWorkers: starting,
    minWorkers: adapter.minWorkers(),
    maxWorkers,
    tasksPerWorker,
    capacity,
    capacityUsed: used,
    capacityAvailable: Math.max(0, capacity - used),
    utilizationPercent: workerPoolUtilizationPercent(used, capacity),
    level: workerPoolLevel(used, capacity, state.options.thresholds),
    averageLoadPerWorker: current.length === 0 ? null : Math.round((used / current.length) * 100) / 100,
    queueSize: adapter.queueSize(),
    queueLimit: adapter.queueLimit(),
    counters: { ...state.counters },
    trackedForMillis: Math.max(0, Math.round(now - state.trackedAt)),
    runTime: state.runTime.snapshot(),
    waitTime: state.waitTime.snapshot(),
    memory: memorySummary(state),
  };
}

/**
 * Tasks running now: the workers' loads summed; when the library does not give a worker's load, at least the tasks
 * seen starting and not finished (`running`).
 */
export function capacityUsedOf(readings: readonly WorkerReading[], running: number): number {
  let used = 0;
  let unknown = false;
  for (const reading of readings) {
    used += reading.load ?? 0;
    if (reading.ready && reading.load === null) unknown = true;
  }
  return unknown ? Math.max(used, running) : used;
}

/** Stats, config and every worker (live by id, then the recently exited, newest first). */
export function workerPoolSnapshot(state: WorkerPoolState, now: number): WorkerPoolSnapshot {
  const readings = state.syncWorkers(now);
  const stats = workerPoolStats(state, now, readings);
  const live = [...state.live.values()].sort((a, b) => a.id - b.id);
  const exited = [...state.exited].reverse();
  return {
    poolName: state.name,
    takenAt: stats.timestamp,
    stats,
    config: state.adapter.config(),
    workers: [...live, ...exited].map((record) => workerSnapshot(state, record, now)),
  };
}

/**
 * A history sample of the pool now: the workers' loads, capacity, queue, the task counters and the latest memory
 * readings (it never asks the workers for new ones).
 */
export function workerPoolHistorySample(state: WorkerPoolState, now: number): WorkerPoolHistorySample {
  const readings = state.syncWorkers(now);
  const adapter = state.adapter;
  const capacity = adapter.maxWorkers() * adapter.tasksPerWorker();
  const used = capacityUsedOf(readings, state.running);
  const counters = state.counters;
  return {
    wallMillis: state.clock.toWallMillis(now),
    workers: readings.length,
    capacity,
    capacityUsed: used,
    utilizationPercent: workerPoolUtilizationPercent(used, capacity),
    queueSize: adapter.queueSize(),
    completedTotal: counters.tasksCompleted,
    failedTotal: counters.tasksFailed,
    rejectedTotal: counters.tasksRejected,
    memoryTotalMb: memorySummary(state).totalMb ?? Number.NaN,
  };
}

function workerSnapshot(state: WorkerPoolState, record: WorkerRecord, now: number): WorkerSnapshot {
  const capacity = state.adapter.tasksPerWorker();
  const memory = record.memory;
  const at = (t: number | undefined): string | null => (t === undefined ? null : isoAt(state.clock, t));
  const note = memoryNote(state, record, now);
  const status: WorkerMemoryStatus = note === null ? 'sampled' : note.pending ? 'pending' : 'not-available';
  return {
    id: record.id,
    threadId: record.threadId,
    pid: record.pid,
    profile: state.adapter.profile,
    capacity,
    load: record.exitedAt === undefined ? record.load : null,
    status: workerStatus(record, capacity),
    startedAt: at(record.startedAt),
    exitedAt: at(record.exitedAt),
    exitCode: record.exitCode,
    exitSignal: record.exitSignal,
    crashed: record.crashed,
    lastError: record.lastError,
    memoryMb: note === null ? memory.lastMb : null,
    memoryStatus: status,
    memorySource: memory.source,
    memorySampledAt: note === null ? at(memory.lastAt) : null,
    memoryNote: note?.text ?? null,
    memoryTrend: memory.trend(),
  };
}

/** Why a worker has no current memory reading (`pending`: one is on its way), or null when it has one. */
function memoryNote(state: WorkerPoolState, record: WorkerRecord, now: number): { text: string; pending: boolean } | null {
  if (record.exitedAt !== undefined) return { text: 'the worker has exited', pending: false };
  const memory = record.memory;
  if (state.adapter.profile === 'process') {
    if (memory.failure !== null) return { text: memory.failure, pending: false };
    if (memory.sampled) return null;
    if (record.pid === null) return { text: 'the worker process has no pid (it did not start)', pending: false };
    return { text: 'not read yet', pending: true };
  }
  if (memory.sampled) return null;
  if (record.threadId === null) return { text: 'the worker thread has no id', pending: false };
  if (record.heapAskedAt === undefined || now - record.heapAskedAt < HEAP_ANSWER_TIMEOUT_MILLIS) {
    return { text: 'asked the worker thread; no answer yet', pending: true };
  }
  const hint = state.adapter.threadMemoryHint?.() ?? null;
  return { text: hint === null ? NO_HEAP_HELPER_NOTE : `${NO_HEAP_HELPER_NOTE}; ${hint}`, pending: false };
}

/** Memory across the live workers with a reading (their latest sample). */
export function memorySummary(state: WorkerPoolState): WorkerPoolMemorySummary {
  let count = 0;
  let total = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const record of state.live.values()) {
    const memory = record.memory;
    if (!memory.sampled || memory.failure !== null) continue;
    const mb = memory.lastMb;
    count += 1;
    total += mb;
    if (mb < min) min = mb;
    if (mb > max) max = mb;
  }
  if (count === 0) return { sampledWorkers: 0, totalMb: null, averageMb: null, minMb: null, maxMb: null };
  const round = (value: number): number => Math.round(value * 100) / 100;
  return { sampledWorkers: count, totalMb: round(total), averageMb: round(total / count), minMb: min, maxMb: max };
}
