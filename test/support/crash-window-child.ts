/**
 * Child process for test/integration/crash-windows.test.ts. Runs one scenario in which a server session is
 * terminated (FATAL 57P01) while poolscope lends its client out, and prints one JSON line (CrashWindowReport). A
 * missing 'error' listener kills this process (`Unhandled 'error' event`, exit code 1), which is what the test looks
 * for; exit code 3 means the scenario itself could not be set up.
 *
 *     node --import tsx test/support/crash-window-child.ts <scenario> <databaseUrl> <adminUrl> [tenantPrefix]
 *
 * The hand-over scenarios are made deterministic without timing: a pg.Client subclass blocks this process's event
 * loop (spawnSync of terminate-backend-child.ts) right after it has written its startup message (or a marked
 * query), until the server has answered (ReadyForQuery) and the session has been terminated. When the loop resumes,
 * one read returns [... ReadyForQuery, ErrorResponse FATAL], which pg parses in one synchronous pass: the client is
 * handed over on ReadyForQuery (pg-pool removes its idle 'error' listener) and the FATAL is emitted right after,
 * before any promise continuation can run.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Inspector, trackPgPool, withClient, withTransaction } from '../../src/index.js';
import { TenantPools } from '../../src/tenants/tenant-pools.js';

export const CRASH_WINDOW_SCENARIOS = [
  'tenants-with-client-new-connection',
  'tenants-with-client-queued-handover',
  'tenants-verify-on-open',
  'with-client-new-connection',
  'with-client-new-connection-untracked',
  'with-transaction-new-connection',
  'with-client-timer',
  'with-client-timer-untracked',
  'with-client-timer-fn-rejects',
  'with-client-fatal-query',
  'with-transaction-timer',
] as const;
export type CrashWindowScenario = (typeof CRASH_WINDOW_SCENARIOS)[number];

/** How a promise settled, as plain JSON. */
export interface Settled {
  readonly status: 'fulfilled' | 'rejected';
  readonly value?: unknown;
  readonly message?: string;
  readonly code?: string;
  readonly causeCode?: string;
}

export interface CrashWindowReport {
  readonly scenario: CrashWindowScenario;
  /** The backend pid the terminator killed (hand-over scenarios) or the test killed (timer scenarios). */
  readonly terminatedPid: number | null;
  /** The call under test. */
  readonly outcome: Settled;
  /** Other calls made meanwhile (the query that held the connection in the queued hand-over). */
  readonly others: Settled[];
  /** The next call on the same pool, after the failure. */
  readonly next: Settled;
  /** Extra facts per scenario (pool counts, suspect flag, pids, committed rows). */
  readonly facts: Record<string, unknown>;
}

const MARKER = 'crash_window_marker';
const [scenarioArg, databaseUrl, adminUrl, tenantPrefix = 'pscw_'] = process.argv.slice(2);
if (!CRASH_WINDOW_SCENARIOS.includes(scenarioArg as CrashWindowScenario) || databaseUrl === undefined || adminUrl === undefined) {
  process.stderr.write(`usage: crash-window-child.ts <${CRASH_WINDOW_SCENARIOS.join('|')}> <databaseUrl> <adminUrl> [tenantPrefix]\n`);
  process.exit(3);
}
const scenario = scenarioArg as CrashWindowScenario;
const applicationName = `pscw_${process.pid}`;

// ---- the terminating hook ---------------------------------------------------------------------------------------

type Arm = { readonly kind: 'startup' } | { readonly kind: 'query'; readonly marker: string };
let armed: Arm | undefined;
let terminatedPid: number | null = null;

/** Blocks this event loop until the session is idle after its answer and has been terminated. */
function blockAndTerminate(marker: string): void {
  const script = fileURLToPath(new URL('./terminate-backend-child.ts', import.meta.url));
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, adminUrl as string, applicationName, marker], { encoding: 'utf8', env });
  if (result.status !== 0) {
    process.stderr.write(`crash-window-child: could not terminate the session: ${result.stderr || String(result.error)}\n`);
    process.exit(3);
  }
  terminatedPid = Number(result.stdout.trim());
}

interface ConnectionInternals {
  once(event: 'connect', listener: () => void): unknown;
  query(text: string): void;
}

/** pg.Client that runs blockAndTerminate once armed: after its startup message, or after a query with the marker. */
class HookedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    const connection = (this as unknown as { connection: ConnectionInternals }).connection;
    connection.once('connect', () => {
      if (armed?.kind !== 'startup') return;
      armed = undefined;
      // Registered before pg's own 'connect' listener (which writes the startup message): run once it has.
      process.nextTick(() => blockAndTerminate(''));
    });
    const sendQuery = connection.query.bind(connection);
    connection.query = (text: string): void => {
      sendQuery(text); // written to the socket now
      const arm = armed;
      if (arm?.kind === 'query' && text.includes(arm.marker)) {
        armed = undefined;
        blockAndTerminate(arm.marker);
      }
    };
  }
}

// ---- helpers ----------------------------------------------------------------------------------------------------

async function settle(promise: Promise<unknown>): Promise<Settled> {
  try {
    const value = await promise;
    return { status: 'fulfilled', value: json(value) };
  } catch (error) {
    const e = error as { message?: unknown; code?: unknown; cause?: { code?: unknown } };
    return {
      status: 'rejected',
      message: String(e?.message ?? error),
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
      ...(typeof e?.cause?.code === 'string' ? { causeCode: e.cause.code } : {}),
    };
  }
}

function json(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value)) as unknown;
}

function pidOf(client: unknown): number {
  return (client as { processID: number }).processID;
}

function helperPool(tracked: boolean): { pool: pg.Pool; inspector: Inspector | undefined } {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, application_name: applicationName, Client: HookedClient });
  if (!tracked) return { pool, inspector: undefined };
  const inspector = new Inspector({ historyIntervalMillis: 0 });
  trackPgPool(inspector, pool, { name: 'main' });
  return { pool, inspector };
}

async function terminateFromOutside(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1, 20000)', [pid]);
    terminatedPid = pid;
  } finally {
    await admin.end();
  }
}

/** Terminates the client's session from another connection and waits (no query) until pg has seen its socket close. */
async function killWhileAwaiting(client: pg.PoolClient): Promise<void> {
  // Not events.once(): it would listen for 'error' too, which is the very listener under test.
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  await terminateFromOutside(pidOf(client));
  await ended;
}

// ---- scenarios --------------------------------------------------------------------------------------------------

async function tenantsScenario(): Promise<CrashWindowReport> {
  const tenantId = 't1';
  const base = new URL(databaseUrl as string);
  const tenants = new TenantPools<pg.Pool>({
    Pool: pg.Pool,
    connectionString: databaseUrl as string,
    databasePrefix: tenantPrefix,
    tenantConnectionString: (database) => {
      const url = new URL(base);
      url.pathname = `/${database}`;
      url.searchParams.set('application_name', applicationName);
      return url.toString();
    },
    perTenantMax: 1,
    connectionTimeoutMillis: 60_000,
    verifyOnOpen: scenario !== 'tenants-with-client-new-connection',
    poolConfig: { Client: HookedClient },
  });
  try {
    await tenants.ensureDatabase(tenantId);
    const poolCounts = () => {
      const stats = tenants.stats().tenants.find((t) => t.tenantId === tenantId);
      return { total: stats?.total ?? null, suspect: stats?.suspect ?? null };
    };
    let outcome: Settled;
    const others: Settled[] = [];
    if (scenario === 'tenants-with-client-new-connection') {
      armed = { kind: 'startup' };
      outcome = await settle(tenants.withClient(tenantId, (client) => client.query('SELECT 1')));
    } else if (scenario === 'tenants-with-client-queued-handover') {
      await tenants.get(tenantId); // opened and verified: one idle connection
      armed = { kind: 'query', marker: MARKER };
      // The query takes the idle connection; withClient queues behind it (max 1) and gets the connection when the
      // query's callback releases it, inside the same parse that then reads the FATAL.
      const held = tenants.query(tenantId, `SELECT 1 AS ${MARKER}`);
      const lent = tenants.withClient(tenantId, () => 'value');
      others.push(await settle(held.then((result) => result.rows)));
      outcome = await settle(lent);
    } else {
      armed = { kind: 'startup' };
      outcome = await settle(tenants.get(tenantId).then(() => 'opened'));
    }
    const facts: Record<string, unknown> = { afterFailure: poolCounts() };
    const next = await settle(tenants.query<{ n: number }>(tenantId, 'SELECT 2 AS n').then((result) => result.rows));
    facts.afterNext = poolCounts();
    return { scenario, terminatedPid, outcome, others, next, facts };
  } finally {
    await tenants.dropDatabase(tenantId).catch(() => undefined);
    await tenants.close();
  }
}

async function helperScenario(): Promise<CrashWindowReport> {
  const tracked = !scenario.endsWith('-untracked');
  const { pool, inspector } = helperPool(tracked);
  try {
    const facts: Record<string, unknown> = {};
    let outcome: Settled;
    let next: Settled;
    if (scenario.startsWith('with-client-new-connection')) {
      armed = { kind: 'startup' };
      outcome = await settle(withClient(pool, () => 'value'));
      facts.totalAfterFailure = pool.totalCount;
      next = await settle(withClient(pool, async (client) => (await client.query<{ n: number }>('SELECT 2 AS n')).rows));
    } else if (scenario === 'with-transaction-new-connection') {
      armed = { kind: 'startup' };
      outcome = await settle(withTransaction(pool, () => 'value'));
      facts.totalAfterFailure = pool.totalCount;
      next = await settle(withTransaction(pool, async (client) => (await client.query<{ n: number }>('SELECT 2 AS n')).rows));
    } else if (scenario.startsWith('with-client-timer') && scenario !== 'with-client-timer-fn-rejects') {
      let firstPid = 0;
      outcome = await settle(
        withClient(pool, async (client) => {
          firstPid = pidOf(client);
          await killWhileAwaiting(client);
          return 'value';
        }),
      );
      facts.totalAfterFailure = pool.totalCount;
      let secondPid = 0;
      next = await settle(
        withClient(pool, async (client) => {
          secondPid = pidOf(client);
          return (await client.query<{ n: number }>('SELECT 2 AS n')).rows;
        }),
      );
      facts.samePid = firstPid === secondPid;
    } else if (scenario === 'with-client-fatal-query') {
      // The session ends under fn's own query: the FATAL is that query's error, and pg emits 'error' only later,
      // when the socket closes. Released without the error, the client would go back idle and that 'error' would
      // reach the pool (which has no 'error' listener here).
      outcome = await settle(
        withClient(pool, (client) => {
          terminatedPid = pidOf(client);
          return client.query('SELECT pg_terminate_backend(pg_backend_pid())');
        }),
      );
      facts.totalAfterFailure = pool.totalCount;
      next = await settle(withClient(pool, async (client) => (await client.query<{ n: number }>('SELECT 2 AS n')).rows));
    } else if (scenario === 'with-client-timer-fn-rejects') {
      outcome = await settle(
        withClient(pool, async (client) => {
          await killWhileAwaiting(client);
          throw new Error('fn failed on its own');
        }),
      );
      facts.totalAfterFailure = pool.totalCount;
      next = await settle(withClient(pool, async (client) => (await client.query<{ n: number }>('SELECT 2 AS n')).rows));
    } else {
      await pool.query('CREATE TABLE IF NOT EXISTS crash_window_items (label text NOT NULL)');
      outcome = await settle(
        withTransaction(pool, async (client) => {
          await client.query("INSERT INTO crash_window_items VALUES ('killed')");
          await killWhileAwaiting(client);
          return 'value';
        }),
      );
      facts.totalAfterFailure = pool.totalCount;
      next = await settle(withTransaction(pool, (client) => client.query("INSERT INTO crash_window_items VALUES ('kept')").then(() => 'committed')));
      const { rows } = await pool.query<{ label: string }>('SELECT label FROM crash_window_items ORDER BY label');
      facts.committed = rows.map((row) => row.label);
    }
    if (inspector !== undefined) {
      const stats = inspector.stats('main');
      facts.used = stats.used;
      facts.releases = stats.counters.releases;
    }
    return { scenario, terminatedPid, outcome, others: [], next, facts };
  } finally {
    inspector?.close();
    await pool.end();
  }
}

const report = scenario.startsWith('tenants-') ? await tenantsScenario() : await helperScenario();
process.stdout.write(`${JSON.stringify(report)}\n`);
