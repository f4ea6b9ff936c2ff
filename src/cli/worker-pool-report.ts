import type { WorkerPoolStats, WorkerSnapshot } from '../core/worker-pool-stats.js';
import type { WorkerPoolApiView } from '../http/worker-pool-routes.js';
import { distributionRow } from './latency-summary.js';
import { paint } from './terminal-style.js';
import { textTable } from './text-table.js';
import type { UtilizationMarker } from './utilization-marker.js';
import { MARKER_COLORS } from './utilization-marker.js';

/**
 * The worker pools' part of `poolscope inspect` (seed 002's report: profile details, capacity, utilization marker,
 * queue, tasks, run and wait times, memory per worker, and with --detailed every worker), as pure functions of the
 * API's answers (`/api/worker-pools`, `/api/worker-pools/:name`).
 */

/** One worker pool in the report: the API's view plus the marker and the verdict (and its workers with --detailed). */
export interface InspectWorkerPoolReport extends WorkerPoolApiView {
  /** The pool's level (`stats.level`, seed 002's saturation check on its own thresholds): LOW, GOOD, HIGH, CRITICAL. */
  readonly marker: UtilizationMarker;
  /** The marker is CRITICAL (above the pool's criticalPercent, 90 by default): `inspect` then exits 1. */
  readonly critical: boolean;
  /** With --detailed: every worker (`/api/worker-pools/:name`), live by id, then the recently exited. */
  readonly workers?: readonly WorkerSnapshot[];
}

/** A worker pool as the API gave it: a list entry, or the detail with its workers. */
export type WorkerPoolSource = WorkerPoolApiView & { readonly workers?: readonly WorkerSnapshot[] };

/** A worker pool's report entry; its workers are kept when the source has them. */
export function workerPoolReport(source: WorkerPoolSource): InspectWorkerPoolReport {
  const entry: InspectWorkerPoolReport = {
    poolName: source.poolName,
    driver: source.driver,
    profile: source.profile,
    marker: source.stats.level,
    critical: source.stats.level === 'CRITICAL',
    stats: source.stats,
    config: source.config,
    memoryNotes: source.memoryNotes ?? [],
  };
  return source.workers === undefined ? entry : { ...entry, workers: source.workers };
}

/** The text of one worker pool (no trailing empty line). */
export function workerPoolLines(pool: InspectWorkerPoolReport, color: boolean): string[] {
  const s = pool.stats;
  const marker = paint(`[${pool.marker}]`, MARKER_COLORS[pool.marker], color);
  const lines = [
    `Worker pool ${paint(pool.poolName, 'bold', color)} (${pool.driver}, ${s.profile})  ${marker} ${s.utilizationPercent}% of capacity in use`,
    ...profileLines(s),
    ...keyValueLines([
      ['Workers', `${s.workers} live: ${s.busyWorkers} busy, ${s.availableWorkers} available, ${s.startingWorkers} starting (min ${s.minWorkers}, max ${s.maxWorkers})`],
      ['Capacity', `${s.capacityUsed} used, ${s.capacityAvailable} available of ${s.capacity}`],
      ['Queue', `${s.queueSize} waiting (limit ${s.queueLimit ?? 'none'})`],
      ['Tasks', taskText(s)],
    ]),
    '',
    textTable(
      [['time', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'count'], distributionRow('run', s.runTime), distributionRow('wait', s.waitTime)],
      { align: ['left', 'right', 'right', 'right', 'right', 'right'] },
    ),
    '',
    `  ${memoryText(pool)}`,
  ];
  if (pool.workers !== undefined) lines.push('', ...workerTableLines(pool.workers, s.profile));
  return lines;
}

/** Seed 002's profile section: process profile details, or thread profile details. */
function profileLines(s: WorkerPoolStats): string[] {
  if (s.profile === 'process') {
    return [
      '  Process Profile Details:',
      ...keyValueLines(
        [
          ['Mode', 'Single-process workers (one task per child process)'],
          ['Isolation', 'Full process isolation'],
          ['Concurrency', String(s.capacity)],
        ],
        '    ',
      ),
    ];
  }
  const load = s.averageLoadPerWorker === null ? '-' : String(s.averageLoadPerWorker);
  return [
    '  Thread Profile Details:',
    ...keyValueLines(
      [
        ['Workers', `${s.workers} thread(s)`],
        ['Threads/Worker (tasks per worker)', String(s.tasksPerWorker)],
        ['Total capacity', String(s.capacity)],
        ['Avg load/worker', `${load}/${s.tasksPerWorker}`],
      ],
      '    ',
    ),
  ];
}

function taskText(s: WorkerPoolStats): string {
  const c = s.counters;
  const parts = [`${c.tasksCompleted} completed`, `${c.tasksFailed} failed`, `${c.tasksRejected} rejected`];
  if (c.workersCrashed > 0) parts.push(`workers crashed ${c.workersCrashed}`);
  return parts.join(', ');
}

/** `Memory (V8 heap in use): total ..., avg ..., min ..., max ... MB per worker (2 of 2 workers)`, or why not. */
function memoryText(pool: InspectWorkerPoolReport): string {
  const m = pool.stats.memory;
  const [first, ...others] = pool.memoryNotes;
  const reason = first === undefined ? 'no live worker' : `${first.note}${others.length > 0 ? ` (and ${others.length} other reason(s))` : ''}`;
  if (m.sampledWorkers === 0 || m.totalMb === null) return /^not available\b/.test(reason) ? `Memory: ${reason}` : `Memory: not available: ${reason}`;
  const source = pool.stats.profile === 'thread' ? 'V8 heap in use' : 'resident';
  const text = `Memory (${source}): total ${mb(m.totalMb)} MB; per worker avg ${mb(m.averageMb)}, min ${mb(m.minMb)}, max ${mb(m.maxMb)} MB (${m.sampledWorkers} of ${pool.stats.workers} worker(s))`;
  const missing = pool.stats.workers - m.sampledWorkers;
  return missing > 0 && first !== undefined ? `${text}; not available for ${missing}: ${reason}` : text;
}

/** --detailed: id, thread id or pid, status, load/capacity, memory MB, its trend, and a note. */
function workerTableLines(workers: readonly WorkerSnapshot[], profile: WorkerPoolStats['profile']): string[] {
  if (workers.length === 0) return ['  Workers: none'];
  return [
    `  Workers (${workers.length})`,
    textTable(
      [
        ['id', profile === 'thread' ? 'thread' : 'pid', 'status', 'load', 'memory MB', 'trend', 'note'],
        ...workers.map((worker) => [
          String(worker.id),
          String((profile === 'thread' ? worker.threadId : worker.pid) ?? '-'),
          worker.status,
          worker.load === null ? '-' : `${worker.load}/${worker.capacity}`,
          worker.memoryMb === null ? '-' : worker.memoryMb.toFixed(1),
          trendText(worker),
          workerNote(worker),
        ]),
      ],
      { indent: '    ', align: ['right', 'right', 'left', 'right', 'right', 'left', 'left'] },
    ),
  ];
}

function trendText(worker: WorkerSnapshot): string {
  const trend = worker.memoryTrend;
  if (trend === null) return '-';
  const growth = Math.round(trend.growthMb * 10) / 10;
  return `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB in ${trend.samples} samples`;
}

function workerNote(worker: WorkerSnapshot): string {
  if (worker.status === 'exited') {
    const how = worker.crashed ? 'crashed' : 'retired';
    const code = worker.exitSignal !== null ? `signal ${worker.exitSignal}` : worker.exitCode !== null ? `exit code ${worker.exitCode}` : '';
    const error = worker.lastError === null ? '' : `: ${oneLine(worker.lastError)}`;
    return `${how}${code === '' ? '' : ` (${code})`}${error}`;
  }
  return worker.memoryNote === null ? '' : `memory: ${worker.memoryNote}`;
}

function keyValueLines(pairs: readonly (readonly [string, string])[], indent = '  '): string[] {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 1;
  return pairs.map(([key, value]) => `${indent}${`${key}:`.padEnd(width)}  ${value}`);
}

function mb(value: number | null): string {
  return value === null ? '-' : (Math.round(value * 10) / 10).toFixed(1);
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}
