/**
 * Soak (issue 17): load through every surface of poolscope for N minutes, sample the heap after a full GC every
 * 10 s, and print the heap's slope. Not part of `npm test`.
 *
 *   npm run soak -- --minutes N        (= node --expose-gc --import tsx bench/soak.ts --minutes N)
 *   options: --minutes N (default 5, fractions allowed), --sample-seconds S (default 10),
 *            --warmup-minutes W (samples before W are left out of the slope; default: 20% of a run of 10 minutes
 *            or more, between 3 and 10 minutes; 40% of a shorter one)
 *
 * The inspector keeps 2 minutes of history (HISTORY_RETENTION_MILLIS) instead of the default 15, so that every
 * bounded buffer is full before the slope is measured; other settings are the defaults.
 *
 * What runs, all at once, each at a modest fixed pace (loopback only; this machine's cores are shared):
 *   - pg queries through a tracked pg.Pool, inside owners (`inspector.runAs`): `pool.query`, and checkouts with
 *     `BEGIN ... COMMIT`; every few seconds a lease held past the leak threshold (reported), then returned;
 *   - snapshots (`inspector.snapshotAll()`), serialised as a reader would;
 *   - the ops server (`startOpsServer` on 127.0.0.1, with `PrometheusExporter`): `/metrics` scrapes (plain and
 *     gzip), `/readyz`, `/health/details`, `/api/pools`, `/api/snapshot`, `/api/recommendations`;
 *   - the dashboard stream (`/api/stream`): one client connected throughout, others connecting and leaving;
 *   - tenant churn (`TenantPools` with a limit of 3 pools over 6 tenant databases: LRU evictions, explicit
 *     closes, re-opens), on the same inspector (so /readyz pings the tenant pools too; a get() refused with
 *     POOLSCOPE_ERR_TENANT_LIMIT_REACHED while a ping holds every tenant pool is counted, not an error);
 *   - lightly, when present: a tracked mysql2 pool (if MariaDB/MySQL answers), a tarn pool and a generic-pool of
 *     pg clients.
 *
 * PostgreSQL: DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres (loopback only). A scratch database
 * `poolscope_soak_<hex>` and six tenant databases `poolscope_soak_<hex>_t<n>` are created and dropped at the end
 * (also after Ctrl-C). MySQL: POOLSCOPE_TEST_MYSQL_URL, else mysql://root@127.0.0.1:3306/test; skipped when it does
 * not answer.
 *
 * Prints one line per sample (heap used after GC, RSS, operations so far), then the slope of heap used (least
 * squares over the samples after the warm-up, KB/min), operations per surface, errors, and end-state checks
 * (every lease returned, tracker counts equal to the pool's, every reported leak returned). Exit 0 when no
 * unexpected error happened and the checks hold, 1 otherwise, 2 on bad usage.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Pool as TarnPool } from 'tarn';
import genericPool from 'generic-pool';
import { Inspector } from '../src/core/inspector.js';
import { trackPgPool } from '../src/adapters/pg/pg-adapter.js';
import { trackMysql2Pool } from '../src/adapters/mysql2/index.js';
import { trackTarnPool } from '../src/adapters/tarn/index.js';
import { trackGenericPool } from '../src/adapters/generic-pool/index.js';
import { PrometheusExporter } from '../src/exporters/prometheus-exporter.js';
import { startOpsServer, type OpsServer } from '../src/http/node-server.js';
import { TenantPools } from '../src/tenants/tenant-pools.js';
import { dropScratchDatabase, quoteScratchName, scratchDatabaseUrl } from '../src/provisioning/scratch-database.js';
import { endPool } from '../src/postgres/pg-pool-ending.js';

// ---- options ----------------------------------------------------------------------------------------------------

interface SoakOptions {
  readonly minutes: number;
  readonly sampleSeconds: number;
  readonly warmupMinutes: number;
}

function usage(message: string): never {
  console.error(`soak: ${message}\nUsage: npm run soak -- --minutes N [--sample-seconds S] [--warmup-minutes W]`);
  process.exit(2);
}

function parseOptions(argv: readonly string[]): SoakOptions {
  const values = new Map<string, number>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const match = /^--(minutes|sample-seconds|warmup-minutes)(?:=(.*))?$/.exec(arg);
    if (match === null) usage(`unknown argument ${JSON.stringify(arg)}`);
    const text = match[2] ?? argv[(i += 1)];
    const value = text !== undefined && /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= 0)) usage(`--${match[1]} needs a number, not ${JSON.stringify(text)}`);
    values.set(match[1] ?? '', value);
  }
  const minutes = values.get('minutes') ?? 5;
  if (minutes <= 0 || minutes > 24 * 60) usage('--minutes must be above 0 and at most 1440');
  const sampleSeconds = values.get('sample-seconds') ?? 10;
  if (sampleSeconds < 1) usage('--sample-seconds must be at least 1');
  // Past HISTORY_RETENTION_MILLIS (the largest ring buffer fills by then) on a long run; 40% of a short one.
  const warmupMinutes = values.get('warmup-minutes') ?? (minutes >= 10 ? Math.min(10, Math.max(3, minutes * 0.2)) : minutes * 0.4);
  if (warmupMinutes >= minutes) usage('--warmup-minutes must be shorter than --minutes');
  return { minutes, sampleSeconds, warmupMinutes };
}

/** History kept per pool (the largest ring buffer): full after 2 minutes, well inside the default warm-up. */
const HISTORY_RETENTION_MILLIS = 120_000;

// ---- bookkeeping --------------------------------------------------------------------------------------------------

const SURFACES = [
  'pg queries',
  'pg transactions',
  'leaks held and returned',
  'snapshots',
  'metrics scrapes',
  'readyz',
  'other ops routes',
  'stream clients',
  'stream events',
  'tenant queries',
  'tenant closes',
  'tenant limit refusals',
  'mysql2 queries',
  'tarn checkouts',
  'generic-pool checkouts',
] as const;
type Surface = (typeof SURFACES)[number];

const counts = new Map<Surface, number>(SURFACES.map((surface) => [surface, 0]));
const errors: string[] = [];
let errorCount = 0;
const skipped: string[] = [];

function count(surface: Surface, by = 1): void {
  counts.set(surface, (counts.get(surface) ?? 0) + by);
}

function unexpected(where: string, error: unknown): void {
  errorCount += 1;
  const text = `${where}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
  if (errors.length < 20) errors.push(text);
  if (errorCount <= 5) console.error(`  ! ${text}`);
}

let stopping = false;
const stopSignal = new AbortController();
setMaxListeners(200, stopSignal.signal); // one per pausing loop and open stream client

/** Ends the load: every loop finishes its current step, pauses and stream clients end at once. */
function stop(): void {
  stopping = true;
  stopSignal.abort();
}

/** A pause that ends early when the soak stops. */
function sleep(millis: number): Promise<void> {
  return new Promise((resolve) => {
    if (stopping) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      stopSignal.signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, millis);
    timer.unref();
    stopSignal.signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs `step` every `pauseMillis` until the soak stops; a failed step is an unexpected error. */
async function loop(name: string, pauseMillis: number, step: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; !stopping; i += 1) {
    try {
      await step(i);
    } catch (error) {
      unexpected(name, error);
    }
    await sleep(pauseMillis);
  }
}

function assertLoopback(url: string, what: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) usage(`${what} must be on loopback (got ${host})`);
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) usage('run with --expose-gc (npm run soak does)');
  collect();
  collect();
}

/** Least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

// ---- HTTP helpers -------------------------------------------------------------------------------------------------

interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent: false, timeout: 10_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

/** Opens /api/stream, reads until `events` events or `millis` passed, then leaves; resolves to the events seen. */
function streamClient(url: string, events: number, millis: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const openedAt = performance.now();
    let seen = 0;
    let text = '';
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stopSignal.signal.removeEventListener('abort', onStop);
      request.destroy();
      if (error !== undefined) reject(new Error(`${error.message} (after ${Math.round(performance.now() - openedAt)} ms, ${seen} events)`, { cause: error }));
      else resolve(seen);
    };
    const onStop = (): void => finish();
    const request = http.get(url, { agent: false }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        finish(new Error(`/api/stream answered ${response.statusCode}`));
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        const frames = text.split('\n\n');
        text = frames.pop() ?? '';
        for (const frame of frames) {
          if (/^event: /m.test(frame)) {
            if (seen === 0 && !/^event: hello$/m.test(frame)) finish(new Error(`the stream did not start with hello: ${frame.slice(0, 80)}`));
            seen += 1;
          }
        }
        if (seen >= events) finish();
      });
      response.on('error', (error) => (done ? undefined : finish(error)));
    });
    request.on('error', (error) => (done ? undefined : finish(error)));
    const timer = setTimeout(() => finish(), millis);
    stopSignal.signal.addEventListener('abort', onStop, { once: true });
  });
}

// ---- the soak -----------------------------------------------------------------------------------------------------

async function mysqlAnswers(url: string): Promise<boolean> {
  let connection: mysql.Connection | undefined;
  try {
    connection = await mysql.createConnection({ uri: url, connectTimeout: 2000 });
    await connection.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await connection?.end().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  assertLoopback(adminUrl, 'DATABASE_URL');
  const mysqlUrl = process.env.POOLSCOPE_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test';

  process.on('unhandledRejection', (reason) => unexpected('unhandled rejection', reason));
  process.on('uncaughtException', (error) => unexpected('uncaught exception', error));
  const onSignal = (): void => {
    if (stopping) process.exit(130);
    console.log('\nstopping (Ctrl-C again to quit without cleaning up)...');
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const name = `poolscope_soak_${randomBytes(4).toString('hex')}`;
  const tenantIds = ['t0', 't1', 't2', 't3', 't4', 't5'];
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', (error) => unexpected('admin client', error));
  await admin.connect();
  await admin.query(`CREATE DATABASE ${quoteScratchName(name)}`);
  const dbUrl = scratchDatabaseUrl(adminUrl, name);

  const cleanups: (() => Promise<unknown>)[] = [];
  const inspector = new Inspector({
    historyIntervalMillis: 1000,
    historyRetentionMillis: HISTORY_RETENTION_MILLIS,
    onError: (error) => unexpected('inspector onError', error),
  });
  let leaksSuspected = 0;
  let leaksReturned = 0;
  inspector.on('leak-suspected', () => (leaksSuspected += 1));
  inspector.on('leak-returned', () => (leaksReturned += 1));

  console.log(
    `poolscope soak: ${options.minutes} min, heap sampled every ${options.sampleSeconds} s after gc(), slope after ${options.warmupMinutes.toFixed(1)} min of warm-up; ` +
      `database ${name} on ${new URL(adminUrl).host}`,
  );
  const started = performance.now();
  const heap: [number, number][] = [];
  let server: OpsServer | undefined;
  let tenants: TenantPools<pg.Pool> | undefined;
  const loops: Promise<void>[] = [];
  let endState: string[] = [];
  let loadMinutes = 0;
  try {
    // pg, tracked, with owners; a low leak threshold so that held leases are reported and returned.
    const pool = new pg.Pool({ connectionString: dbUrl, max: 8, idleTimeoutMillis: 10_000, application_name: 'poolscope-soak' });
    pool.on('error', (error) => unexpected('pg pool idle client', error));
    const mainView = trackPgPool(inspector, pool, { name: 'soak-main', leakThresholdMillis: 1500 });
    cleanups.push(() => endPool(pool)); // end() and wait for the sockets to close: the database is dropped next
    await pool.query('CREATE TABLE soak_items (id serial PRIMARY KEY, n int NOT NULL, note text)');

    const exporter = new PrometheusExporter(inspector);
    cleanups.push(async () => exporter.close());
    server = await startOpsServer(inspector, { port: 0, host: '127.0.0.1', metrics: exporter, streamIntervalMillis: 500 });
    const base = server.url;

    tenants = new TenantPools<pg.Pool>({
      Pool: pg.Pool,
      connectionString: adminUrl,
      inspector,
      databasePrefix: `${name}_`,
      maxTenantPools: 3,
      // Above the two tenant workers' concurrency: a tenant pool never reaches 'critical' (which /readyz reports).
      perTenantMax: 3,
      systemPoolMax: 2,
      idleTimeoutMillis: 5000,
      onError: (error) => unexpected('tenants onError', error),
    });
    for (const id of tenantIds) await tenants.ensureDatabase(id);

    let mysqlPool: mysql.Pool | undefined;
    if (await mysqlAnswers(mysqlUrl)) {
      mysqlPool = mysql.createPool({ uri: mysqlUrl, connectionLimit: 2 });
      trackMysql2Pool(inspector, mysqlPool, { name: 'soak-mysql2', leakThresholdMillis: 5000 });
      const ending = mysqlPool;
      cleanups.push(() => ending.end());
    } else {
      skipped.push(`mysql2 (no server at ${new URL(mysqlUrl).host})`);
    }

    const newClient = async (): Promise<pg.Client> => {
      const client = new pg.Client({ connectionString: dbUrl });
      client.on('error', (error) => unexpected('tarn/generic-pool client', error));
      await client.connect();
      return client;
    };
    const tarnPool = new TarnPool<pg.Client>({ create: newClient, destroy: (client) => client.end(), min: 0, max: 2, idleTimeoutMillis: 5000 });
    trackTarnPool(inspector, tarnPool, { name: 'soak-tarn', resourceKind: 'pg', leakThresholdMillis: 5000 });
    cleanups.push(() => tarnPool.destroy());
    const gp = genericPool.createPool<pg.Client>({ create: newClient, destroy: (client) => client.end() }, { max: 2, min: 0, idleTimeoutMillis: 5000, evictionRunIntervalMillis: 1000 });
    trackGenericPool(inspector, gp, { name: 'soak-generic-pool', leakThresholdMillis: 5000 });
    cleanups.push(async () => {
      await gp.drain();
      await gp.clear();
    });

    // ---- the load loops ----
    for (let worker = 0; worker < 3; worker += 1) {
      loops.push(
        loop(`pg query worker ${worker}`, 4, async (i) => {
          await inspector.runAs({ label: `GET /items/${i % 50}`, kind: 'request' }, () => pool.query('SELECT $1::int AS n', [i]));
          count('pg queries');
        }),
      );
    }
    loops.push(
      loop('pg transactions', 20, async (i) => {
        await inspector.runAs({ label: `job write#${i}`, kind: 'job' }, async () => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query('INSERT INTO soak_items (n, note) VALUES ($1, $2)', [i, `note ${i}`]);
            if (i % 50 === 0) await client.query('DELETE FROM soak_items WHERE id < (SELECT max(id) - 100 FROM soak_items)');
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        });
        count('pg transactions');
      }),
    );
    loops.push(
      loop('held leases', 5000, async (i) => {
        await inspector.runAs({ label: `job slow-report#${i}`, kind: 'job' }, async () => {
          const client = await pool.connect();
          try {
            await client.query('SELECT 1');
            await sleep(2000); // past leakThresholdMillis: reported as a suspected leak, then returned
          } finally {
            client.release();
          }
        });
        count('leaks held and returned');
      }),
    );
    loops.push(
      loop('snapshots', 500, async () => {
        const snapshot = inspector.snapshotAll();
        if (JSON.stringify(snapshot).length === 0) throw new Error('empty snapshot');
        count('snapshots');
      }),
    );
    loops.push(
      loop('metrics scrapes', 1000, async (i) => {
        const gzip = i % 2 === 0;
        const answer = await httpGet(`${base}/metrics`, gzip ? { 'accept-encoding': 'gzip' } : {});
        if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
        const text = gzip ? gunzipSync(answer.body).toString('utf8') : answer.body.toString('utf8');
        if (!text.includes('db_client_connection_max') || !text.includes('"soak-main"')) throw new Error('/metrics without db_client_connection_max of soak-main');
        count('metrics scrapes');
      }),
    );
    loops.push(
      loop('readyz', 1000, async () => {
        const answer = await httpGet(`${base}/readyz`);
        if (answer.status !== 200) throw new Error(`/readyz answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`);
        count('readyz');
      }),
    );
    const otherRoutes = ['/health', '/health/details', '/api/pools', '/api/snapshot', '/api/recommendations', '/api/pools/soak-main', '/api/snapshots'];
    loops.push(
      loop('other ops routes', 700, async (i) => {
        const path = otherRoutes[i % otherRoutes.length] ?? '/health';
        const answer = await httpGet(`${base}${path}`);
        if (answer.status !== 200) throw new Error(`${path} answered ${answer.status}`);
        JSON.parse(answer.body.toString('utf8'));
        count('other ops routes');
      }),
    );
    // One dashboard client stays for the whole run (reconnecting only if dropped); others come and go.
    loops.push(
      loop('stream (long-lived client)', 100, async () => {
        const events = await streamClient(`${base}/api/stream`, Number.MAX_SAFE_INTEGER, 60_000);
        count('stream clients');
        count('stream events', events);
      }),
    );
    loops.push(
      loop('stream (short clients)', 1500, async (i) => {
        const events = await streamClient(`${base}/api/stream`, 1 + (i % 6), 3000);
        count('stream clients');
        count('stream events', events);
      }),
    );
    const churn = tenants;
    for (let worker = 0; worker < 2; worker += 1) {
      loops.push(
        loop(`tenant worker ${worker}`, 15, async (i) => {
          const id = tenantIds[(i * 7 + worker * 3) % tenantIds.length] ?? 't0';
          try {
            if (i % 3 === 0) await churn.withClient(id, (client) => client.query('SELECT current_database()'));
            else await churn.query(id, 'SELECT 1');
          } catch (error) {
            // Documented, and expected here: a /readyz ping holds a connection of every tenant pool at once for a
            // moment, and a pool with a connection out cannot be evicted. The caller is told to retry.
            if ((error as { code?: unknown }).code !== 'POOLSCOPE_ERR_TENANT_LIMIT_REACHED') throw error;
            count('tenant limit refusals');
            return;
          }
          count('tenant queries');
        }),
      );
    }
    loops.push(
      loop('tenant closes', 2000, async (i) => {
        await churn.closeTenant(tenantIds[i % tenantIds.length] ?? 't0');
        count('tenant closes');
      }),
    );
    if (mysqlPool !== undefined) {
      const my = mysqlPool;
      loops.push(
        loop('mysql2', 100, async (i) => {
          await inspector.runAs({ label: `mysql job#${i}`, kind: 'job' }, () => my.query('SELECT ? AS n', [i]));
          count('mysql2 queries');
        }),
      );
    }
    loops.push(
      loop('tarn', 100, async () => {
        const client = await tarnPool.acquire().promise;
        try {
          await client.query('SELECT 1');
        } finally {
          tarnPool.release(client);
        }
        count('tarn checkouts');
      }),
    );
    loops.push(
      loop('generic-pool', 100, async () => {
        const client = await gp.acquire();
        try {
          await client.query('SELECT 1');
        } finally {
          await gp.release(client);
        }
        count('generic-pool checkouts');
      }),
    );

    // ---- heap samples ----
    const endAt = started + options.minutes * 60_000;
    let nextSample = started + options.sampleSeconds * 1000;
    const sampleLine = (elapsedMillis: number): void => {
      gc();
      const memory = process.memoryUsage();
      heap.push([elapsedMillis / 60_000, memory.heapUsed / 1024]);
      const total = [...counts.values()].reduce((sum, value) => sum + value, 0);
      const seconds = Math.round(elapsedMillis / 1000);
      console.log(
        `[${String(Math.floor(seconds / 60)).padStart(3)}:${String(seconds % 60).padStart(2, '0')}] heap used ${(memory.heapUsed / 1024 / 1024).toFixed(2)} MB, ` +
          `rss ${(memory.rss / 1024 / 1024).toFixed(1)} MB, operations ${total}, errors ${errorCount}`,
      );
    };
    while (!stopping && performance.now() < endAt) {
      await sleep(Math.max(0, Math.min(nextSample, endAt) - performance.now()));
      if (performance.now() >= nextSample) {
        sampleLine(performance.now() - started);
        nextSample += options.sampleSeconds * 1000;
      }
    }
    loadMinutes = (performance.now() - started) / 60_000;
    stop();
    await Promise.all(loops);

    // ---- end state, at rest ----
    await new Promise((resolve) => setTimeout(resolve, 200)); // at rest: the last releases' callbacks have run
    const stats = mainView.stats();
    const holders = inspector.snapshot('soak-main').holders.length;
    const checks: [string, boolean][] = [
      [`soak-main: no lease held at rest (${holders} holders, ${stats.used} used)`, holders === 0 && stats.used === 0],
      [
        `soak-main: tracker counts equal pg's (tracker total ${stats.total} idle ${stats.idle} waiting ${stats.pending}; pg ${pool.totalCount} ${pool.idleCount} ${pool.waitingCount})`,
        stats.total === pool.totalCount && stats.idle === pool.idleCount && stats.pending === pool.waitingCount,
      ],
      [`soak-main: every checkout released once (${stats.counters.acquires} acquires, ${stats.counters.releases} releases)`, stats.counters.acquires === stats.counters.releases],
      [`every reported leak returned (${leaksSuspected} reported, ${leaksReturned} returned)`, leaksSuspected === leaksReturned && leaksSuspected > 0],
    ];
    const busy = inspector.poolNames().flatMap((poolName) => {
      const s = inspector.pool(poolName)?.stats();
      return s === undefined || (s.used === 0 && s.pending === 0 && s.total >= 0 && s.idle >= 0) ? [] : [`${poolName} used ${s.used} waiting ${s.pending}`];
    });
    checks.push([`${inspector.poolNames().length} pools at rest: none holds a connection or has a caller waiting${busy.length === 0 ? '' : ` (${busy.join('; ')})`}`, busy.length === 0]);
    endState = checks.map(([text, ok]) => `${ok ? 'ok  ' : 'FAIL'} ${text}`);
    if (checks.some(([, ok]) => !ok)) errorCount += 1;
  } finally {
    stop();
    await Promise.allSettled(loops);
    await server?.close();
    if (tenants !== undefined) {
      const closing = tenants;
      for (const id of tenantIds) await closing.dropDatabase(id).catch((error: unknown) => unexpected(`drop tenant ${id}`, error));
      await closing.close().catch((error: unknown) => unexpected('tenants close', error));
    }
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => unexpected('cleanup', error));
    inspector.close();
    await dropScratchDatabase(admin, name).catch((error: unknown) => unexpected('drop scratch database', error));
    await admin.end().catch(() => undefined);
  }

  // ---- report ----
  const elapsedMinutes = loadMinutes > 0 ? loadMinutes : (performance.now() - started) / 60_000;
  const afterWarmup = heap.filter(([minute]) => minute >= options.warmupMinutes);
  const kbPerMinute = slope(afterWarmup);
  const first = afterWarmup[0];
  const last = afterWarmup.at(-1);
  console.log('');
  console.log(
    `load ran ${elapsedMinutes.toFixed(2)} min (clean-up ${((performance.now() - started) / 60_000 - elapsedMinutes).toFixed(2)} min); ` +
      `${heap.length} heap samples, ${afterWarmup.length} after the ${options.warmupMinutes.toFixed(1)}-min warm-up`,
  );
  console.log(
    `heap slope after warm-up: ${Number.isNaN(kbPerMinute) ? 'n/a (fewer than 2 samples)' : `${kbPerMinute.toFixed(1)} KB/min`}` +
      (first !== undefined && last !== undefined ? ` (heap used ${(first[1] / 1024).toFixed(2)} MB -> ${(last[1] / 1024).toFixed(2)} MB)` : ''),
  );
  console.log('operations:');
  for (const surface of SURFACES) {
    const value = counts.get(surface) ?? 0;
    console.log(`  ${surface.padEnd(24)} ${String(value).padStart(9)}  (${(value / elapsedMinutes).toFixed(0)}/min)`);
  }
  if (skipped.length > 0) console.log(`skipped: ${skipped.join('; ')}`);
  console.log('end state:');
  for (const line of endState) console.log(`  ${line}`);
  console.log(`unexpected errors: ${errorCount}`);
  for (const text of errors) console.log(`  ${text}`);
  return errorCount === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('soak failed:', error);
    process.exitCode = 1;
  },
);
