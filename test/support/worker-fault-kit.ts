/**
 * The worker pools' side of the fault suite (issue 17): piscina and workerpool have no server and no socket, so they
 * get a kit of their own shape rather than a FaultKit (test/support/fault-kits.ts). A `WorkerFaultKit` builds a real
 * pool of one library and profile over the fixture workers (test/fixtures/workers/), tracks it, runs a task by name,
 * reads the library's own counts and closes the pool the library's way; `isDriverError` says which errors are the
 * library's own. The invariants are those of the socket pools, judged with the same checker
 * (test/support/fault-invariants.ts: nothing uncaught or unhandled, callers get the library's own errors or coded
 * PoolscopeErrors, recovery polled within a bound) plus `WorkerWatch`: counters sampled while the scenario runs, and
 * at rest the tracker's counts equal to the library's own with no task counted as running.
 *
 * Bounds are guards against hangs, never timing assertions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import workerpool from 'workerpool';
import type { Inspector } from '../../src/core/inspector.js';
import type { WorkerPoolView } from '../../src/core/worker-pool-view.js';
import { trackPiscina } from '../../src/adapters/piscina/index.js';
import { trackWorkerpool } from '../../src/adapters/workerpool/index.js';
import { describeError, type DriverErrorTest, type FaultInvariants } from './fault-invariants.js';
import { eventually } from './wait-for.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/workers/', import.meta.url));
const PISCINA_WORKER = pathToFileURL(path.join(FIXTURES, 'piscina-worker.mjs')).href;
const WORKERPOOL_WORKER = path.join(FIXTURES, 'workerpool-worker.mjs');

/** The tasks of test/fixtures/workers/tasks.mjs. */
export type WorkerTaskName = 'echo' | 'spin' | 'sleep' | 'holdUntilFile' | 'leak' | 'fail' | 'crash';

/** The message of the error the `fail` task throws in the suite: the task's own error, as the caller must get it. */
export const TASK_FAILURE_MESSAGE = 'the task failed on purpose (fault suite)';

export interface RunOptions {
  /** Piscina: run(..., { signal }). */
  readonly signal?: AbortSignal;
  /** workerpool: exec(...).timeout(ms) (workerpool's task timeout, started when the task starts on a worker). */
  readonly timeoutMillis?: number;
}

/** What the library itself says about its pool. */
export interface LibraryCounts {
  /** Live workers. */
  readonly workers: number;
  /** Tasks waiting for a worker (piscina.queueSize, workerpool stats().pendingTasks). */
  readonly queueSize: number;
  /** Tasks running now (workerpool stats().activeTasks), or null where the library does not say (Piscina). */
  readonly running: number | null;
}

/** One tracked pool of a kit. */
export interface WorkerPoolUnderTest {
  readonly view: WorkerPoolView;
  run(task: WorkerTaskName, arg: unknown, options?: RunOptions): Promise<unknown>;
  counts(): LibraryCounts;
  /** Closes the pool the library's way while tasks may run: piscina.destroy(), workerpool terminate(true). */
  terminate(): Promise<void>;
}

export interface WorkerFaultKit {
  /** `piscina`, `workerpool-thread`, `workerpool-process`. */
  readonly kind: string;
  readonly driver: 'piscina' | 'workerpool';
  readonly profile: 'thread' | 'process';
  /** Tracks a new pool of `workers` workers (one task each) under `name`; the pool is closed by `cleanup`. */
  create(inspector: Inspector, name: string, workers: number, cleanup: (close: () => Promise<unknown>) => void): WorkerPoolUnderTest;
  /** True for an error the library produces itself (or the task's own error, passed through). */
  readonly isDriverError: DriverErrorTest;
}

function isTaskOwnError(error: unknown): boolean {
  return error instanceof Error && error.message === TASK_FAILURE_MESSAGE;
}

/**
 * Piscina's own errors: the task's error passed through, an AbortError (run with an aborted signal), and its plain
 * Errors by message (dist/errors.js: the pool destroyed; a worker that exited under the task).
 */
function isPiscinaError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (isTaskOwnError(error)) return true;
  if (error.name === 'AbortError') return true;
  return /^(Terminating worker thread|worker exited with code: -?\d+|Task queue is at limit|Close operation timed out)$/.test(error.message);
}

/**
 * workerpool's own errors: the task's error passed through, its Promise.TimeoutError and CancellationError, and its
 * plain Errors by message (Pool.js, WorkerHandler.js: a worker that died, the pool or worker terminated).
 */
function isWorkerpoolError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (isTaskOwnError(error)) return true;
  if (error instanceof workerpool.Promise.TimeoutError || error instanceof workerpool.Promise.CancellationError) return true;
  return /^(Workerpool Worker terminated Unexpectedly|Worker terminated|Worker Terminating|Pool terminated|Max queue size of \d+ reached)/.test(error.message);
}

export const PISCINA_KIT: WorkerFaultKit = {
  kind: 'piscina',
  driver: 'piscina',
  profile: 'thread',
  isDriverError: isPiscinaError,
  create(inspector, name, workers, cleanup) {
    const pool = new Piscina({ filename: PISCINA_WORKER, minThreads: workers, maxThreads: workers, atomics: 'async' });
    cleanup(() => pool.destroy());
    const view = trackPiscina(inspector, pool, { name });
    return {
      view,
      run: (task, arg, options = {}) => pool.run(task === 'fail' ? TASK_FAILURE_MESSAGE : arg, { name: task, ...(options.signal ? { signal: options.signal } : {}) }),
      counts: () => ({ workers: pool.threads.length, queueSize: pool.queueSize, running: null }),
      terminate: () => pool.destroy(),
    };
  },
};

function workerpoolKit(workerType: 'thread' | 'process'): WorkerFaultKit {
  return {
    kind: `workerpool-${workerType}`,
    driver: 'workerpool',
    profile: workerType,
    isDriverError: isWorkerpoolError,
    create(inspector, name, workers, cleanup) {
      const pool = workerpool.pool(WORKERPOOL_WORKER, { workerType, minWorkers: workers, maxWorkers: workers });
      cleanup(() => Promise.resolve(pool.terminate(true)));
      const view = trackWorkerpool(inspector, pool, { name });
      return {
        view,
        run: (task, arg, options = {}) => {
          const promise = pool.exec(task, [task === 'fail' ? TASK_FAILURE_MESSAGE : arg]);
          // workerpool's own promises are thenables: the caller awaits a native one.
          return Promise.resolve(options.timeoutMillis === undefined ? promise : promise.timeout(options.timeoutMillis));
        },
        counts: () => {
          const stats = pool.stats();
          return { workers: stats.totalWorkers, queueSize: stats.pendingTasks, running: stats.activeTasks };
        },
        terminate: () => Promise.resolve(pool.terminate(true)),
      };
    },
  };
}

export const WORKER_FAULT_KITS: readonly WorkerFaultKit[] = [PISCINA_KIT, workerpoolKit('thread'), workerpoolKit('process')];

/** A file whose creation releases every task held on it (holdUntilFile). */
export interface Gate {
  readonly path: string;
  open(): void;
  remove(): void;
}

export function newGate(): Gate {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'poolscope-worker-fault-gate-'));
  const file = path.join(dir, 'open');
  return { path: file, open: () => writeFileSync(file, ''), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** How often the tracker's figures are sampled while a scenario runs. */
const SAMPLE_MILLIS = 10;

/**
 * Watches one tracked worker pool during a scenario: samples its figures (never negative, never more running than
 * capacity, never more tasks settled than queued) and judges it at rest against the library's own counts. Findings
 * go to the run's FaultInvariants, so `inv.finish()` reports them with the rest.
 */
export class WorkerWatch {
  readonly #pool: WorkerPoolUnderTest;
  readonly #inv: FaultInvariants;
  readonly #sampler: NodeJS.Timeout;

  constructor(pool: WorkerPoolUnderTest, inv: FaultInvariants) {
    this.#pool = pool;
    this.#inv = inv;
    this.#sampler = setInterval(() => this.sample(), SAMPLE_MILLIS);
    this.#sampler.unref();
  }

  sample(): void {
    const view = this.#pool.view;
    if (view.closed) return;
    let stats;
    try {
      stats = view.stats();
    } catch (error) {
      this.#inv.fail(`${view.name}: stats() threw ${describeError(error)}`);
      return;
    }
    const figures: Record<string, number> = { workers: stats.workers, capacityUsed: stats.capacityUsed, queueSize: stats.queueSize, ...stats.counters };
    for (const [name, value] of Object.entries(figures)) {
      if (!(value >= 0)) this.#inv.fail(`${view.name}: ${name} is ${value}`);
    }
    if (stats.capacityUsed > stats.capacity) this.#inv.fail(`${view.name}: capacityUsed ${stats.capacityUsed} above capacity ${stats.capacity}`);
    const c = stats.counters;
    if (c.tasksCompleted + c.tasksFailed + c.tasksRejected > c.tasksQueued) {
      this.#inv.fail(`${view.name}: more tasks settled (${c.tasksCompleted} + ${c.tasksFailed} + ${c.tasksRejected} rejected) than queued (${c.tasksQueued})`);
    }
    if (c.tasksStarted > c.tasksQueued) this.#inv.fail(`${view.name}: ${c.tasksStarted} tasks started for ${c.tasksQueued} queued`);
  }

  /** Why the pool is not at rest with agreeing counts, or undefined when it is (every caller has settled). */
  restProblem(): string | undefined {
    const view = this.#pool.view;
    if (view.closed) return undefined;
    const snapshot = view.snapshot();
    const stats = snapshot.stats;
    const own = this.#pool.counts();
    const name = view.name;
    if (stats.capacityUsed !== 0) return `${name}: capacityUsed ${stats.capacityUsed} with no task running`;
    if (own.running !== null && own.running !== stats.capacityUsed) return `${name}: capacityUsed ${stats.capacityUsed} but the library runs ${own.running}`;
    if (stats.queueSize !== own.queueSize) return `${name}: queueSize ${stats.queueSize} but the library's queue holds ${own.queueSize}`;
    if (stats.queueSize !== 0) return `${name}: queueSize ${stats.queueSize} with no caller waiting`;
    const running = snapshot.workers.filter((worker) => worker.status !== 'exited' && (worker.load ?? 0) > 0);
    if (running.length > 0) return `${name}: worker(s) ${running.map((w) => `#${w.id} load ${w.load} (${w.status})`).join(', ')} still counted as running a task`;
    if (stats.workers !== own.workers) return `${name}: ${stats.workers} live worker(s) but the library has ${own.workers}`;
    const c = stats.counters;
    if (c.tasksCompleted + c.tasksFailed + c.tasksRejected !== c.tasksQueued) {
      return `${name}: at rest, ${c.tasksQueued} tasks queued but ${c.tasksCompleted} completed + ${c.tasksFailed} failed + ${c.tasksRejected} rejected`;
    }
    return undefined;
  }

  /** Waits (bounded) until the pool is at rest with agreeing counts; a miss is recorded as a violation. */
  async atRest(when: string, boundMillis = 10_000): Promise<void> {
    this.sample();
    try {
      await eventually(() => this.restProblem() === undefined, () => `at rest ${when}: ${this.restProblem() ?? 'now it is'}`, boundMillis);
    } catch (error) {
      this.#inv.fail((error as Error).message);
    }
  }

  stop(): void {
    clearInterval(this.#sampler);
  }
}
