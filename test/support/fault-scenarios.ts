/**
 * The fault scenarios of issue 17, table-driven: each scenario runs on each pool kind (test/support/fault-kits.ts)
 * whose backend it applies to, through the fault proxy (test/support/fault-proxy.ts) in front of a server the test
 * file owns (test/support/fault-backends.ts), and every run is judged by the same invariant checker
 * (test/support/fault-invariants.ts): nothing uncaught or unhandled, counters never negative, callers get the
 * driver's own errors or coded PoolscopeErrors, the tracker agrees with the driver at rest with no lease held, and a
 * unit of work succeeds again once the fault is healed. The readiness probe (`view.probe()` of every pool, and
 * `GET /readyz` through createOpsHandler) is asked during each fault: it must answer (200 or 503, within its bound,
 * never a rejection) and say 200 again after the fault healed.
 *
 * A test file calls `faultScenarioSuite(kit, environment)` once per kind; `environment` is the file's backend and a
 * proxy to it (one per file, shared by its kinds). Short timeouts and small pools keep each scenario to a few
 * seconds; bounds are guards against hangs, never timing assertions.
 */
import { before, describe, test } from 'node:test';
import { Inspector } from '../../src/core/inspector.js';
import { createOpsHandler, type OpsHandler } from '../../src/http/ops-handler.js';
import type { OpsRequest } from '../../src/http/ops-request.js';
import type { ReadyzReport } from '../../src/http/readyz-route.js';
import type { FaultBackend } from './fault-backends.js';
import { bounded, describeError, FaultInvariants, settle, type FaultRunReport } from './fault-invariants.js';
import type { FaultKit } from './fault-kits.js';
import type { CutKind, FaultProxy } from './fault-proxy.js';
import { eventually } from './wait-for.js';

/** Every scenario, in the order of the table in docs/reliability.md. */
export const FAULT_SCENARIO_IDS = [
  'restart-fast-under-load',
  'restart-immediate-under-load',
  'terminate-held',
  'terminate-idle',
  'terminate-mid-query',
  'stall-past-acquire-timeout',
  'cut-all-rst',
  'cut-all-fin',
  'refuse-new-while-old-work',
  'blackhole-new-while-old-work',
  'slow-network',
  'blocked-loop-while-killed',
  'cut-mid-stream',
] as const;
export type FaultScenarioId = (typeof FAULT_SCENARIO_IDS)[number];

/** The pool settings of a scenario. */
export interface ScenarioSettings {
  readonly max: number;
  readonly acquireTimeoutMillis: number;
}

const DEFAULT_SETTINGS: ScenarioSettings = { max: 2, acquireTimeoutMillis: 800 };
/** How long each readiness ping may take (the ops handler's probeTimeoutMillis). */
const PROBE_TIMEOUT_MILLIS = 500;
/** A probe or /readyz answer later than its timeout plus this is a hang. */
const PROBE_SLACK_MILLIS = 5000;
/** How long the event loop is blocked while the server kills a connection. */
const BLOCK_MILLIS = 1000;
/** A failing unit of load waits this long before the next (a refused connect fails at once). */
const LOAD_BACKOFF_MILLIS = 20;
/** Bytes a connection may pass in the cut-mid-stream scenario (inside a handshake or a result). */
const CUT_AFTER_BYTES = 150;
const READYZ: OpsRequest = { method: 'GET', path: '/readyz', query: {}, headers: {}, remoteAddress: '127.0.0.1' };

/** The file's server and the proxy in front of it. */
export interface FaultEnvironment {
  readonly backend: FaultBackend;
  readonly proxy: FaultProxy;
}

/** What a scenario body gets. */
export interface ScenarioRun<H> {
  readonly kit: FaultKit<H>;
  readonly handle: H;
  readonly backend: FaultBackend;
  readonly proxy: FaultProxy;
  readonly inv: FaultInvariants;
  readonly settings: ScenarioSettings;
  /** Runs `concurrency` callers doing units of work back to back until stopped. */
  load(concurrency: number): Load;
  /** Asks view.probe() of every pool and GET /readyz now; each must answer within its bound. */
  probe(when: string): Promise<void>;
}

export interface FaultScenario {
  readonly id: FaultScenarioId;
  readonly title: string;
  /** Why it does not apply to this kind on this backend, or undefined. */
  skip?(kit: FaultKit<unknown>, backend: FaultBackend): string | undefined;
  readonly settings?: Partial<ScenarioSettings>;
  run<H>(run: ScenarioRun<H>): Promise<void>;
}

/** Callers doing units of work back to back; each unit's error is judged by the invariants. */
export class Load {
  successes = 0;
  failures = 0;
  readonly #loops: Promise<void>[];
  readonly #inv: FaultInvariants;
  #stopped = false;

  constructor(concurrency: number, unit: () => Promise<void>, inv: FaultInvariants) {
    this.#inv = inv;
    this.#loops = Array.from({ length: concurrency }, async () => {
      while (!this.#stopped) {
        const outcome = await inv.attempt('a unit of load', unit);
        if (outcome.ok) this.successes += 1;
        else {
          this.failures += 1;
          await sleep(LOAD_BACKOFF_MILLIS);
        }
      }
    });
  }

  /** Waits (bounded) until `predicate` holds; a miss is recorded as a violation, not thrown. */
  async until(predicate: () => boolean, what: string, boundMillis = 20_000): Promise<void> {
    try {
      await eventually(predicate, () => `${what} (load: ${this.successes} ok, ${this.failures} failed)`, boundMillis);
    } catch (error) {
      this.#inv.fail((error as Error).message);
    }
  }

  /** Stops after each caller's current unit; a unit that does not settle within the bound is a violation. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const finished = await settle(() => bounded(Promise.all(this.#loops), 20_000, 'the load callers to finish their last unit'));
    if (!finished.ok) this.#inv.fail(describeError(finished.error));
  }
}

function sleep(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis));
}

// ---- the scenarios ----------------------------------------------------------------------------------------------

function restartScenario(id: FaultScenarioId, mode: 'fast' | 'immediate'): FaultScenario {
  return {
    id,
    title: `the server restarts (${mode}) while callers run`,
    skip: (_kit, backend) => backend.restartUnavailable,
    async run({ backend, load, probe, settings }) {
      const running = load(settings.max + 1);
      await running.until(() => running.successes >= 3, 'load to run before the restart');
      const restarting = backend.restart(mode);
      await probe(`while the server restarts (${mode})`);
      await restarting;
      const before = running.successes;
      await running.until(() => running.successes >= before + 5, 'the load to succeed again after the restart', 30_000);
      await running.stop();
    },
  };
}

function cutAllScenario(id: FaultScenarioId, kind: CutKind): FaultScenario {
  return {
    id,
    title: `every connection cut at once (${kind === 'rst' ? 'reset' : 'orderly close'}) under load`,
    async run({ kit, handle, proxy, load, probe, settings }) {
      await kit.warm(handle, settings.max);
      const running = load(settings.max + 1);
      await running.until(() => running.successes >= 3, 'load to run before the cut');
      const before = running.successes;
      const cut = proxy.cutAll(kind);
      await probe(`right after ${cut} connections were cut (${kind})`);
      await running.until(() => running.successes >= before + 5, 'the load to succeed again on new connections');
      await running.stop();
    },
  };
}

function newConnectionsScenario(id: FaultScenarioId, mode: 'refuse' | 'blackhole'): FaultScenario {
  return {
    id,
    title: `new connections ${mode === 'refuse' ? 'refused' : 'blackholed'} while open ones work`,
    async run({ kit, handle, proxy, inv, probe, settings }) {
      await kit.warm(handle, settings.max);
      if (mode === 'refuse') proxy.refuseNew();
      else proxy.blackholeNew();
      for (let round = 0; round < 3; round += 1) {
        const outcomes = await Promise.all(Array.from({ length: settings.max }, () => inv.attempt('work on an open connection', () => kit.work(handle))));
        const failed = outcomes.filter((outcome) => !outcome.ok);
        if (failed.length > 0) {
          inv.fail(`an open connection failed while only new ones were ${mode}d: ${failed.map((f) => (f.ok ? '' : describeError(f.error))).join('; ')}`);
        }
      }
      await probe(`new connections ${mode}d, open ones idle`);
      proxy.cutAll('rst');
      await probe(`new connections ${mode}d, none open`);
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const outcome = await inv.attempt('work needing a new connection', () => bounded(kit.work(handle), 15_000, 'a unit needing a new connection'));
        if (outcome.ok) inv.fail(`a unit succeeded although every new connection was ${mode}d`);
      }
    },
  };
}

export const FAULT_SCENARIOS: readonly FaultScenario[] = [
  restartScenario('restart-fast-under-load', 'fast'),
  restartScenario('restart-immediate-under-load', 'immediate'),
  {
    id: 'terminate-held',
    title: 'the server terminates a connection a caller holds',
    async run({ kit, handle, backend, inv, probe }) {
      await inv.attempt('the holder of the terminated connection', () =>
        kit.scoped(handle, async (session) => {
          await session.query('SELECT 1');
          await backend.terminate(session.id);
          const next = await settle(() => session.query('SELECT 1'));
          if (next.ok) {
            inv.fail('a statement succeeded on a terminated session');
            return;
          }
          inv.callerError(next.error, 'a statement on the terminated session');
          throw next.error;
        }),
      );
      await probe('after a held connection was terminated');
    },
  },
  {
    id: 'terminate-idle',
    title: 'the server terminates idle connections',
    async run({ kit, handle, backend, inv, probe, settings }) {
      await kit.warm(handle, settings.max);
      let idle: number[] = [];
      try {
        await eventually(async () => {
          idle = (await backend.sessions()).filter((session) => session.state === 'idle').map((session) => session.id);
          return idle.length > 0;
        }, 'idle sessions of the pool on the server');
      } catch (error) {
        inv.fail((error as Error).message);
      }
      for (const id of idle) await backend.terminate(id);
      await probe(`after ${idle.length} idle connection(s) were terminated`);
      for (let i = 0; i < 4; i += 1) await inv.attempt('work after idle connections were terminated', () => kit.work(handle));
    },
  },
  {
    id: 'terminate-mid-query',
    title: 'the server terminates a connection in the middle of a statement',
    async run({ kit, handle, backend, inv, probe }) {
      const running = inv.attempt('the caller whose statement was killed', () => kit.scoped(handle, async (session) => void (await session.query(backend.sleepSql(10)))));
      let target: number | undefined;
      try {
        await eventually(async () => {
          target = (await backend.sessions()).find((session) => session.state === 'active' && /sleep/i.test(session.query))?.id;
          return target !== undefined;
        }, 'the long statement to run on the server');
      } catch (error) {
        inv.fail((error as Error).message);
      }
      if (target !== undefined) await backend.terminate(target);
      await probe('after a connection was terminated mid-statement');
      const outcome = await settle(() => bounded(running, 15_000, 'the killed statement to settle'));
      if (!outcome.ok) inv.fail(describeError(outcome.error));
      else if (outcome.value.ok) inv.fail('a statement whose session was terminated succeeded');
    },
  },
  {
    id: 'stall-past-acquire-timeout',
    title: 'the server stalls past the acquire timeout, then heals',
    async run({ kit, handle, proxy, inv, probe, settings }) {
      await kit.warm(handle, 1);
      proxy.stall();
      let failed = 0;
      const units = Array.from({ length: settings.max + 2 }, (_, i) =>
        inv.attempt(`caller ${i} during the stall`, () => kit.work(handle)).then((outcome) => {
          if (!outcome.ok) failed += 1;
          return outcome;
        }),
      );
      if (kit.acquireTimeout) {
        try {
          await eventually(() => failed >= 1, 'a caller to give up (acquire or connect timeout) during the stall');
        } catch (error) {
          inv.fail((error as Error).message);
        }
      } else {
        await sleep(settings.acquireTimeoutMillis * 2); // no acquire timeout: the callers wait; past where one would be
      }
      await probe('during the stall');
      proxy.pass();
      const settled = await settle(() => bounded(Promise.all(units), 20_000, 'the callers of the stall to settle once it healed'));
      if (!settled.ok) inv.fail(describeError(settled.error));
    },
  },
  cutAllScenario('cut-all-rst', 'rst'),
  cutAllScenario('cut-all-fin', 'fin'),
  newConnectionsScenario('refuse-new-while-old-work', 'refuse'),
  newConnectionsScenario('blackhole-new-while-old-work', 'blackhole'),
  {
    id: 'slow-network',
    title: 'a slow network (10-100 ms per chunk): slower, never failing',
    settings: { acquireTimeoutMillis: 5000 },
    async run({ kit, handle, proxy, inv, load, probe, settings }) {
      proxy.latency(10, 100);
      await kit.warm(handle, settings.max);
      const running = load(settings.max);
      await running.until(() => running.successes >= 10, 'ten units through the slow network', 30_000);
      await probe('through the slow network');
      await running.stop();
      if (running.failures > 0) inv.fail(`${running.failures} unit(s) failed on a network that only delayed them`);
    },
  },
  {
    id: 'blocked-loop-while-killed',
    title: 'the event loop is blocked for a second while the server kills the held connection',
    async run({ kit, handle, backend, inv, probe }) {
      // The holder goes on with a statement once the loop runs again.
      await inv.attempt('the holder that queries after the blocked second', () =>
        kit.scoped(handle, async (session) => {
          await session.query('SELECT 1');
          backend.killWhileBlocked(session.id, BLOCK_MILLIS);
          const next = await settle(() => session.query('SELECT 1'));
          if (next.ok) {
            inv.fail('a statement succeeded on a session killed while the loop was blocked');
            return;
          }
          inv.callerError(next.error, 'a statement on the killed session');
          throw next.error;
        }),
      );
      await probe('after the first blocked kill');
      // The holder returns without another statement, after the driver has read the end of the session (the shape
      // that crashed TenantPools.withClient: the end arrives while the connection is lent out and idle).
      await inv.attempt('the holder that returns after the blocked second', () =>
        kit.scoped(handle, async (session) => {
          await session.query('SELECT 1');
          backend.killWhileBlocked(session.id, BLOCK_MILLIS);
          await sleep(100);
        }),
      );
      await probe('after the second blocked kill');
    },
  },
  {
    id: 'cut-mid-stream',
    title: `connections cut after ${CUT_AFTER_BYTES} bytes (inside handshakes and results), then healed`,
    async run({ proxy, load, probe, settings }) {
      const running = load(settings.max);
      await running.until(() => running.successes >= 2, 'load to run before the cuts');
      proxy.cutAfter(CUT_AFTER_BYTES);
      const failuresBefore = running.failures;
      await running.until(() => running.failures >= failuresBefore + 2, 'callers to see connections cut mid-stream');
      await probe('while connections are cut mid-stream');
      proxy.pass();
      const before = running.successes;
      await running.until(() => running.successes >= before + 3, 'the load to succeed again once cuts stopped');
      await running.stop();
    },
  },
];

// ---- the suite ----------------------------------------------------------------------------------------------------

/**
 * Registers one `describe` for `kit`: a test per scenario. `environment` resolves the file's backend and proxy (or a
 * reason to skip every scenario of this kit).
 */
export function faultScenarioSuite<H>(kit: FaultKit<H>, environment: () => Promise<FaultEnvironment | string>): void {
  describe(`faults: ${kit.kind}`, () => {
    let env: FaultEnvironment | string = 'environment not started';
    before(async () => {
      env = await environment();
    });

    for (const scenario of FAULT_SCENARIOS) {
      test(`${scenario.id}: ${scenario.title}`, async (t) => {
        if (typeof env === 'string') {
          t.skip(env);
          return;
        }
        const { backend, proxy } = env;
        const reason = scenario.skip?.(kit as FaultKit<unknown>, backend);
        if (reason !== undefined) {
          t.skip(reason);
          return;
        }
        const report = await runScenario(kit, scenario, backend, proxy);
        const seen = Object.entries(report.callerErrors).map(([key, count]) => `${key} x${count}`).join('; ');
        t.diagnostic(`callers got: ${seen === '' ? 'no error' : seen}; onError: ${report.internalErrors}`);
      });
    }
  });
}

async function runScenario<H>(kit: FaultKit<H>, scenario: FaultScenario, backend: FaultBackend, proxy: FaultProxy): Promise<FaultRunReport> {
  const settings: ScenarioSettings = { ...DEFAULT_SETTINGS, ...scenario.settings };
  proxy.pass();
  const holder: { handle?: H } = {};
  const inv = FaultInvariants.begin({
    label: `${kit.kind}: ${scenario.id}`,
    isDriverError: kit.isDriverError,
    pools: () => (holder.handle === undefined ? [] : kit.pools(holder.handle)),
  });
  const inspector = new Inspector({ historyIntervalMillis: 0, alerts: false, onError: (error) => inv.internalError(error) });
  try {
    const handle = await kit.create({
      url: proxy.urlThrough(backend.url),
      max: settings.max,
      acquireTimeoutMillis: settings.acquireTimeoutMillis,
      inspector,
      onError: (error) => inv.internalError(error),
    });
    holder.handle = handle;
    const ops = createOpsHandler(inspector, { probeTimeoutMillis: PROBE_TIMEOUT_MILLIS });
    await scenario.run({
      kit,
      handle,
      backend,
      proxy,
      inv,
      settings,
      load: (concurrency) => new Load(concurrency, () => kit.work(handle), inv),
      probe: (when) => probeNow(kit, handle, ops, inv, when),
    });
    proxy.pass();
    await inv.healed('a unit of work', () => kit.work(handle));
    await readyAgain(ops, inv);
    await inv.atRest();
    return inv.finish();
  } catch (error) {
    inv.abandon();
    throw error;
  } finally {
    proxy.pass();
    if (holder.handle !== undefined) await settle(() => bounded(kit.end(holder.handle as H), 15_000, `ending the ${kit.kind} pool`));
    inspector.close();
  }
}

/** view.probe() of every pool and GET /readyz, now: each must settle within its bound with a well-formed answer. */
async function probeNow<H>(kit: FaultKit<H>, handle: H, ops: OpsHandler, inv: FaultInvariants, when: string): Promise<void> {
  const bound = PROBE_TIMEOUT_MILLIS + PROBE_SLACK_MILLIS;
  const probes = kit.pools(handle).map(async (pool) => {
    const outcome = await settle(() => bounded(pool.view.probe(PROBE_TIMEOUT_MILLIS), bound, `${pool.name}: view.probe()`));
    if (!outcome.ok) {
      inv.fail(`${when}: view.probe() of ${pool.name} did not answer: ${describeError(outcome.error)}`);
      return;
    }
    const report = outcome.value;
    if (![true, false, null].includes(report.reachable) || (report.reachable === false && typeof report.error !== 'string')) {
      inv.fail(`${when}: view.probe() of ${pool.name} answered ${JSON.stringify(report)}`);
    }
  });
  const readyz = settle(() => bounded(ops.handle(READYZ), bound, 'GET /readyz'));
  await Promise.all(probes);
  const answer = await readyz;
  if (!answer.ok) {
    inv.fail(`${when}: /readyz did not answer: ${describeError(answer.error)}`);
    return;
  }
  const { status, body } = answer.value;
  const parsed = settle(() => JSON.parse(String(body)) as ReadyzReport);
  const report = await parsed;
  if (![200, 503].includes(status) || !report.ok || !Array.isArray(report.value.pools)) {
    inv.fail(`${when}: /readyz answered ${status} ${String(body).slice(0, 300)}`);
  }
}

/** After the fault healed, /readyz says 200 again (bounded). */
async function readyAgain(ops: OpsHandler, inv: FaultInvariants): Promise<void> {
  let last = 'no answer';
  try {
    await eventually(
      async () => {
        const answer = await ops.handle(READYZ);
        last = `${answer.status} ${String(answer.body).slice(0, 400)}`;
        return answer.status === 200;
      },
      () => `/readyz to answer 200 after the fault healed (last: ${last})`,
      20_000,
    );
  } catch (error) {
    inv.fail((error as Error).message);
  }
}
