// The fault scenarios of issue 17 for the worker pools: real Piscina (threads) and workerpool (threads and child
// processes) pools over the fixture workers (test/fixtures/workers/), each kind built by a WorkerFaultKit
// (test/support/worker-fault-kit.ts), every run judged by the fault suite's invariant checker
// (test/support/fault-invariants.ts: nothing uncaught or unhandled, callers get the library's own errors or coded
// PoolscopeErrors, recovery within a bound) and by WorkerWatch (at rest, the tracker's counts equal the library's own,
// no task counted as running). Tasks that must run while a fault happens are held until the test creates a file
// (holdUntilFile), so nothing depends on timing; bounds are guards against hangs, never timing assertions.
import { describe, test, type TestContext } from 'node:test';
import { Inspector } from '../../src/core/inspector.js';
import type { PoolscopeEventOf } from '../../src/core/pool-events.js';
import { bounded, describeError, FaultInvariants, HangError, settle } from '../support/fault-invariants.js';
import { newGate, WORKER_FAULT_KITS, WorkerWatch, type Gate, type WorkerFaultKit, type WorkerPoolUnderTest } from '../support/worker-fault-kit.js';
import { eventually } from '../support/wait-for.js';

/** Workers per pool (one task each): room for tasks held running beside the faulty one. */
const WORKERS = 3;
/** A caller that has not settled within this is a hang. */
const CALL_BOUND_MILLIS = 15_000;
/** A bound per test against hangs (never a timing assertion). */
const TEST_TIMEOUT_MILLIS = 30_000;

interface ScenarioContext {
  readonly kit: WorkerFaultKit;
  readonly name: string;
  readonly inspector: Inspector;
  readonly pool: WorkerPoolUnderTest;
  readonly inv: FaultInvariants;
  readonly watch: WorkerWatch;
  readonly gate: Gate;
  readonly exited: PoolscopeEventOf<'worker-exited'>[];
  /** Tracks another pool of the kit (closed after the test). */
  newPool(name: string): WorkerPoolUnderTest;
}

interface WorkerScenario {
  readonly id: string;
  readonly title: string;
  /** Why it does not apply to this kind, or undefined. */
  skip?(kit: WorkerFaultKit): string | undefined;
  /** Runs the fault; returns the pool recovery is asked of (a new one when the fault closed the pool). */
  run(context: ScenarioContext): Promise<WorkerPoolUnderTest>;
}

/** Starts `count` tasks held on the gate and waits (bounded) until they all run. */
async function holdRunning(context: ScenarioContext, count: number): Promise<Promise<unknown>[]> {
  const { pool, inv, gate } = context;
  const held = Array.from({ length: count }, () => pool.run('holdUntilFile', gate.path));
  for (const task of held) task.catch(() => undefined); // judged where they are awaited
  try {
    await eventually(() => pool.view.stats().capacityUsed >= count, () => `${count} held task(s) running: ${JSON.stringify(pool.view.stats())}`);
  } catch (error) {
    inv.fail((error as Error).message);
  }
  return held;
}

/** Awaits a call that must fail with the library's own error, never hang; returns the error (undefined if none). */
async function expectFailure(inv: FaultInvariants, call: Promise<unknown>, where: string): Promise<unknown> {
  const outcome = await settle(() => bounded(call, CALL_BOUND_MILLIS, where));
  if (outcome.ok) {
    inv.fail(`${where}: succeeded (${JSON.stringify(outcome.value)}) where it must fail`);
    return undefined;
  }
  if (outcome.error instanceof HangError) {
    inv.fail(outcome.error.message);
    return undefined;
  }
  inv.callerError(outcome.error, where);
  return outcome.error;
}

/** Releases the held tasks and checks every one finished with its result, bounded. */
async function releaseHeld(context: ScenarioContext, held: readonly Promise<unknown>[], where: string): Promise<void> {
  context.gate.open();
  for (const [i, task] of held.entries()) {
    const outcome = await context.inv.attempt(`${where} (held task ${i})`, () => bounded(task, CALL_BOUND_MILLIS, `${where} (held task ${i})`));
    if (outcome.ok && outcome.value !== 'released') context.inv.fail(`${where}: held task ${i} returned ${JSON.stringify(outcome.value)}`);
  }
}

/** Live worker ids now. */
function liveIds(pool: WorkerPoolUnderTest): Set<number> {
  return new Set(pool.view.snapshot().workers.filter((worker) => worker.status !== 'exited').map((worker) => worker.id));
}

/** The worker that ran the faulty task was replaced: one of `before` exited (the pool asking), a new one is live. */
async function expectReplaced(context: ScenarioContext, before: ReadonlySet<number>, what: string): Promise<void> {
  const { pool, inv } = context;
  try {
    await eventually(
      async () => {
        const workers = pool.view.snapshot().workers;
        const gone = workers.filter((worker) => before.has(worker.id) && worker.status === 'exited');
        if (gone.length === 0) return false;
        if ([...liveIds(pool)].some((id) => !before.has(id))) return true;
        await settle(() => bounded(pool.run('echo', 'nudge'), CALL_BOUND_MILLIS, 'a task starting a new worker')); // a pool that starts workers on demand
        return false;
      },
      () => `${what}: a worker exited and a new one live (${JSON.stringify(pool.view.snapshot().workers.map((w) => [w.id, w.status]))})`,
    );
  } catch (error) {
    inv.fail((error as Error).message);
    return;
  }
  const crashed = pool.view.snapshot().workers.filter((worker) => before.has(worker.id) && worker.status === 'exited' && worker.crashed);
  if (crashed.length > 0) inv.fail(`${what}: the worker the pool itself ended is reported as crashed (exit code ${crashed[0]?.exitCode})`);
}

const SCENARIOS: readonly WorkerScenario[] = [
  {
    id: 'task-throws',
    title: 'a task throws while others run',
    async run(context) {
      const { pool, inv } = context;
      const held = await holdRunning(context, 2);
      const error = await expectFailure(inv, pool.run('fail', null), 'the task that throws');
      if (error !== undefined && !(error instanceof Error && /failed on purpose/.test(error.message))) inv.fail(`the thrower got ${describeError(error)}, not the task's own error`);
      if (pool.view.stats().counters.workersExited !== 0) inv.fail('a worker exited because a task threw');
      await releaseHeld(context, held, 'beside the thrower');
      return pool;
    },
  },
  {
    id: 'worker-exits-mid-task',
    title: 'a worker exits mid-task (process.exit) while others run',
    async run(context) {
      const { pool, inv, exited } = context;
      const held = await holdRunning(context, 2);
      await expectFailure(inv, pool.run('crash', 3), 'the task whose worker exited');
      try {
        await eventually(() => exited.some((event) => event.exitCode === 3), 'a worker-exited event with exit code 3');
      } catch (error) {
        inv.fail((error as Error).message);
      }
      const event = exited.find((e) => e.exitCode === 3);
      const worker = pool.view.snapshot().workers.find((w) => w.id === event?.workerId);
      if (event !== undefined && (worker?.status !== 'exited' || worker.crashed !== true)) {
        inv.fail(`the exited worker #${event.workerId} reads ${JSON.stringify([worker?.status, worker?.crashed])}, not exited and crashed`);
      }
      const counters = pool.view.stats().counters;
      if (counters.workersCrashed !== 1) inv.fail(`workersCrashed is ${counters.workersCrashed}, not 1`);
      await releaseHeld(context, held, 'beside the exiting worker');
      return pool;
    },
  },
  {
    id: 'pool-terminated-under-tasks',
    title: 'the pool is terminated while tasks run and wait (destroy(), terminate(true))',
    async run(context) {
      const { kit, pool, inv, gate, exited, inspector, name } = context;
      const held = await holdRunning(context, WORKERS);
      const queued = pool.run('holdUntilFile', gate.path);
      queued.catch(() => undefined);
      try {
        await eventually(() => pool.view.stats().queueSize === 1, () => `a task queued: ${JSON.stringify(pool.view.stats())}`);
      } catch (error) {
        inv.fail((error as Error).message);
      }
      const terminating = settle(() => bounded(pool.terminate(), CALL_BOUND_MILLIS, `${kit.driver} closing its pool`));
      for (const [i, task] of [...held, queued].entries()) await expectFailure(inv, task, `caller ${i} of the terminated pool`);
      const closed = await terminating;
      if (!closed.ok) {
        if (closed.error instanceof HangError) inv.fail(closed.error.message);
        else inv.callerError(closed.error, 'closing the pool');
      }
      await context.watch.atRest('after the pool was terminated');
      if (exited.length > 0) inv.fail(`worker-exited for ${exited.length} worker(s) the pool itself terminated (exit codes ${exited.map((e) => e.exitCode).join(', ')})`);
      const untracked = await settle(() => inspector.untrackWorkerPool(name));
      if (!untracked.ok) inv.fail(`untracking the terminated pool threw ${describeError(untracked.error)}`);
      else if (!pool.view.closed) inv.fail('the view is not closed after untrack');
      const read = await settle(() => [pool.view.stats(), pool.view.snapshot()]);
      if (!read.ok) inv.fail(`reading the untracked view threw ${describeError(read.error)}`);
      return context.newPool(name); // the name is free again
    },
  },
  {
    id: 'task-timeout-blocked-worker',
    title: 'a task past its timeout on a worker blocked by CPU (exec(...).timeout(ms)): the worker is replaced',
    skip: (kit) => (kit.driver === 'workerpool' ? undefined : 'workerpool only (Piscina has no task timeout: see task-aborted)'),
    async run(context) {
      const { pool, inv } = context;
      const held = await holdRunning(context, 1);
      const spinning = pool.run('spin', 20_000, { timeoutMillis: 300 });
      spinning.catch(() => undefined);
      try {
        await eventually(() => pool.view.stats().capacityUsed === 2, 'the spinning task running');
      } catch (error) {
        inv.fail((error as Error).message);
      }
      const before = liveIds(pool);
      const error = await expectFailure(inv, spinning, 'the task past its timeout');
      if (error !== undefined && (error as Error).name !== 'TimeoutError') inv.fail(`the timed-out caller got ${describeError(error)}, not workerpool's TimeoutError`);
      await expectReplaced(context, before, 'after the timeout');
      await releaseHeld(context, held, 'beside the timed-out task');
      return pool;
    },
  },
  {
    id: 'task-aborted',
    title: 'a running task aborted through its AbortSignal (run(..., { signal })): the worker is replaced',
    skip: (kit) => (kit.driver === 'piscina' ? undefined : 'Piscina only (workerpool takes no AbortSignal: see task-timeout-blocked-worker)'),
    async run(context) {
      const { pool, inv } = context;
      const held = await holdRunning(context, 1);
      const controller = new AbortController();
      const aborted = pool.run('spin', 20_000, { signal: controller.signal });
      aborted.catch(() => undefined);
      try {
        await eventually(() => pool.view.stats().capacityUsed === 2, 'the task to abort running');
      } catch (error) {
        inv.fail((error as Error).message);
      }
      const before = liveIds(pool);
      controller.abort();
      const error = await expectFailure(inv, aborted, 'the aborted task');
      if (error !== undefined && (error as Error).name !== 'AbortError') inv.fail(`the aborted caller got ${describeError(error)}, not Piscina's AbortError`);
      await expectReplaced(context, before, 'after the abort');
      await releaseHeld(context, held, 'beside the aborted task');
      return pool;
    },
  },
];

async function runScenario(t: TestContext, kit: WorkerFaultKit, scenario: WorkerScenario): Promise<void> {
  const name = `faults-${kit.kind}`;
  const inv = FaultInvariants.begin({ label: `${kit.kind}: ${scenario.id}`, isDriverError: kit.isDriverError, pools: () => [] });
  const inspector = new Inspector({ alerts: false, historyIntervalMillis: 0, onError: (error) => inv.internalError(error) });
  const closers: (() => Promise<unknown>)[] = [];
  const gate = newGate();
  t.after(async () => {
    gate.open(); // releases anything still held before the pools close
    for (const close of closers) await settle(() => bounded(Promise.resolve().then(close), CALL_BOUND_MILLIS, 'closing a pool'));
    inspector.close();
    gate.remove();
  });
  const watches: WorkerWatch[] = [];
  try {
    const newPool = (poolName: string): WorkerPoolUnderTest => {
      const created = kit.create(inspector, poolName, WORKERS, (close) => closers.push(close));
      watches.push(new WorkerWatch(created, inv));
      return created;
    };
    const pool = newPool(name);
    const watch = watches[0] as WorkerWatch;
    const exited: PoolscopeEventOf<'worker-exited'>[] = [];
    inspector.on('worker-exited', (event) => void exited.push(event));
    await inv.healed('a first task (workers up)', () => pool.run('echo', 'warm'));
    const healTarget = await scenario.run({ kit, name, inspector, pool, inv, watch, gate, exited, newPool });
    const healWatch = watches[watches.length - 1] as WorkerWatch;
    await healWatch.atRest('after the fault');
    await inv.healed('an echo task after the fault', async () => {
      const value = await healTarget.run('echo', 'after');
      if (value !== 'after') throw new Error(`echo returned ${JSON.stringify(value)}`);
    });
    await healWatch.atRest('after recovery');
    for (const watch of watches) watch.stop();
    const report = inv.finish();
    t.diagnostic(`caller errors: ${JSON.stringify(report.callerErrors)}; internal errors: ${report.internalErrors}`);
  } finally {
    for (const watch of watches) watch.stop();
    inv.abandon();
  }
}

for (const kit of WORKER_FAULT_KITS) {
  describe(`faults: ${kit.kind} (${kit.profile})`, () => {
    for (const scenario of SCENARIOS) {
      const skip = scenario.skip?.(kit);
      test(`${scenario.id}: ${scenario.title}`, { timeout: TEST_TIMEOUT_MILLIS, ...(skip ? { skip } : {}) }, (t) => runScenario(t, kit, scenario));
    }
  });
}
