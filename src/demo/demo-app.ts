/**
 * The demo app: a small order service on a real PostgreSQL, laid out like seed 001's backend and misbehaving the
 * way seed 001 says real apps do. poolscope watches it; `poolscope demo` drives it and prints what poolscope found.
 *
 * - pool `main` (max 10): HTTP handlers. Healthy (/api/orders), slow (/api/report) and three planted misuses, one
 *   per leak pattern of seed 001, each at a line marked `// @...` below (tests find the lines by those markers):
 *     1. missing finally: release() only on the success path, an error leaks the connection (@leak-error-path);
 *     2. early return without release (@leak-early-return);
 *     3. async work not awaited: released while its query still runs (@release-not-awaited, checkout @checkout-not-awaited).
 * - pool `listen` (max 4): three connections held by design with LISTEN (outbox handlers), tracked expectFull.
 * - the ops routes on the same HTTP server: /health, /readyz, /health/pool, /health/details, /metrics, /api/*.
 *
 * Reached only through `poolscope demo` (src/cli/commands/demo-command.ts), never from the package root.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { ConnectionDestroyedError, PoolscopeError } from '../errors.js';
import { Inspector } from '../core/inspector.js';
import type { InspectorOptions } from '../core/inspector.js';
import { trackPgPool } from '../adapters/pg/pg-adapter.js';
import { withClient } from '../adapters/pg/pg-transactions.js';
import type { MetricsSource } from '../http/metrics-route.js';
import { startOpsServer } from '../http/node-server.js';
import type { OpsServer } from '../http/node-server.js';
import { loadPg } from './demo-database.js';

/** How an endpoint of the demo behaves. */
export const DEMO_ENDPOINT_KINDS = ['healthy', 'slow', 'leaky'] as const;
export type DemoEndpointKind = (typeof DEMO_ENDPOINT_KINDS)[number];

export interface DemoEndpoint {
  /** GET path (the request owner label is `GET <path>`). */
  readonly path: string;
  readonly kind: DemoEndpointKind;
  /** What it does, and for a leaky one which seed 001 pattern it plants. */
  readonly description: string;
  /** The marker comment at its planted line in this file (`// <marker>`), for leaky endpoints. */
  readonly marker: string | null;
}

/** The app's endpoints, in the order the demo prints them. */
export const DEMO_ENDPOINTS: readonly DemoEndpoint[] = Object.freeze([
  { path: '/api/orders', kind: 'healthy', description: 'latest orders: one short query through withClient()', marker: null },
  { path: '/api/report', kind: 'slow', description: 'sales report: holds a connection 300-800 ms (pg_sleep)', marker: null },
  {
    path: '/api/orders/export',
    kind: 'leaky',
    description: 'leak 1, missing finally: release() only on the success path; an error leaves the connection leaked inside an open transaction',
    marker: '@leak-error-path',
  },
  {
    path: '/api/customers/lookup',
    kind: 'leaky',
    description: 'leak 2, early return: "not found" returns before release()',
    marker: '@leak-early-return',
  },
  {
    path: '/api/orders/checkout',
    kind: 'leaky',
    description: 'leak 3, async work not awaited: released in finally while the audit INSERT still runs',
    marker: '@release-not-awaited',
  },
] as const satisfies readonly DemoEndpoint[]);

/** A planted misuse: the endpoint and the line of this file poolscope should name. */
export interface PlantedSite {
  readonly endpoint: DemoEndpoint;
  /** `path:line` of the marked line, the path relative to the working directory as poolscope reports it. */
  readonly site: string;
}

/**
 * Where each leaky endpoint plants its misuse: the line that ends with the endpoint's marker comment, in the file
 * stack traces name for this module (the .ts under tsx or with `--enable-source-maps`, the .js when built). The
 * demo checks poolscope's reports against these.
 */
export function plantedSites(cwd: string = process.cwd()): PlantedSite[] {
  const file = fileStacksName();
  const lines = readFileSync(file, 'utf8').split('\n');
  const relative = path.relative(cwd, file);
  const shown = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
  return DEMO_ENDPOINTS.flatMap((endpoint) => {
    if (endpoint.marker === null) return [];
    const index = lines.findIndex((line) => line.trimEnd().endsWith(`// ${endpoint.marker}`));
    return index === -1 ? [] : [{ endpoint, site: `${shown}:${index + 1}` }];
  });
}

/**
 * The path V8's stack frames give this module: the source-mapped .ts file when source maps are on and it exists,
 * else the module's own file.
 */
function fileStacksName(): string {
  const own = fileURLToPath(import.meta.url);
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder);
  const frame = /\((file:\/\/[^)]+?|\/[^)]+?):\d+:\d+\)/.exec(holder.stack?.split('\n')[1] ?? '');
  const named = frame?.[1];
  if (named === undefined) return own;
  const file = named.startsWith('file://') ? fileURLToPath(named) : named;
  return existsSync(file) ? file : own;
}

/** Names of the demo's pools. */
export const DEMO_POOLS = { main: 'main', listen: 'listen' } as const;
/** application_name of each pool's connections (what `poolscope db` groups by). */
export const DEMO_APPLICATION_NAMES = { main: 'poolscope-demo-main', listen: 'poolscope-demo-listen' } as const;
/** Channels the listen pool's handlers LISTEN on (three connections held by design). */
export const DEMO_LISTEN_CHANNELS = ['order_created', 'order_paid', 'order_shipped'] as const;

export interface DemoAppOptions {
  /** Connection string of the (scratch) database the app may create its tables in. */
  readonly databaseUrl: string;
  /** HTTP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** `max` of the main pool. Default 10. */
  readonly mainMax?: number;
  /** Leak threshold of the main pool. Default 1500 (short, for the demo; production default is 30 s). */
  readonly leakThresholdMillis?: number;
  /** `connectionTimeoutMillis` of the main pool (acquire timeout). Default 2000, seed 001's. */
  readonly connectionTimeoutMillis?: number;
  /** Errors raised inside poolscope (the inspector's onError). Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

/** A running demo app. */
export interface DemoApp {
  /** `http://127.0.0.1:<port>`: the app's endpoints and the ops routes. */
  readonly url: string;
  readonly port: number;
  readonly inspector: Inspector;
  /** False when prom-client is not installed (then /metrics answers 404 and says why). */
  readonly metricsEnabled: boolean;
  /** application_name of each pool's sessions. */
  readonly applicationNames: typeof DEMO_APPLICATION_NAMES;
  /**
   * Stops the HTTP server, closes the inspector, releases the LISTEN connections, ends both pools (destroying the
   * connections the planted leaks still hold). Idempotent.
   */
  close(): Promise<void>;
}

/** Demo thresholds: short, so a leak is reported within seconds instead of production's 30 s. */
export function demoInspectorOptions(onError?: (error: unknown) => void): InspectorOptions {
  return {
    historyIntervalMillis: 250,
    alerts: { intervalMillis: 250 },
    defaults: { stackCapture: 'always', saturationCooldownMillis: 1000 },
    ...(onError === undefined ? {} : { onError }),
  };
}

/** Creates the schema, the pools, the inspector and the HTTP server; resolves once it listens. */
export async function startDemoApp(options: DemoAppOptions): Promise<DemoApp> {
  const pgModule = await loadPg();
  const mainMax = options.mainMax ?? 10;
  const main = new pgModule.Pool({
    connectionString: options.databaseUrl,
    max: mainMax,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 2000,
    idleTimeoutMillis: 30_000,
    application_name: DEMO_APPLICATION_NAMES.main,
  });
  const listen = new pgModule.Pool({
    connectionString: options.databaseUrl,
    max: DEMO_LISTEN_CHANNELS.length + 1,
    application_name: DEMO_APPLICATION_NAMES.listen,
  });
  // An idle connection that dies (the scratch database dropped under it) must not crash the demo.
  main.on('error', () => undefined);
  listen.on('error', () => undefined);

  const inspector = new Inspector(demoInspectorOptions(options.onError));
  const handlers: OutboxHandler[] = [];
  let server: OpsServer | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (server !== undefined) await server.close();
      inspector.close();
      await Promise.all(handlers.splice(0).map((handler) => handler.stop()));
      await Promise.all([endPool(main), endPool(listen)]);
    })();
    return closing;
  };

  try {
    trackPgPool(inspector, main, { name: DEMO_POOLS.main, leakThresholdMillis: options.leakThresholdMillis ?? 1500 });
    trackPgPool(inspector, listen, { name: DEMO_POOLS.listen, expectFull: true });
    await createSchema(main);
    for (const channel of DEMO_LISTEN_CHANNELS) handlers.push(await startOutboxHandler(inspector, listen, channel));

    const metrics = await prometheusSource(inspector);
    const app = inspector.wrapHttpHandler((req: IncomingMessage, res: ServerResponse) => {
      void route(main, req, res);
    });
    server = await startOpsServer(inspector, {
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      fallback: app,
      ...(metrics === undefined ? {} : { metrics }),
    });
    return {
      url: server.url,
      port: server.port,
      inspector,
      metricsEnabled: metrics !== undefined,
      applicationNames: DEMO_APPLICATION_NAMES,
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

// ---- the app ----------------------------------------------------------------------------------------------------

async function createSchema(pool: pg.Pool): Promise<void> {
  await withClient(pool, async (client) => {
    await client.query(`
      CREATE TABLE IF NOT EXISTS orders (
        id serial PRIMARY KEY,
        customer text NOT NULL,
        total_cents integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS audit_log (id serial PRIMARY KEY, action text NOT NULL, at timestamptz NOT NULL DEFAULT now());
      INSERT INTO orders (customer, total_cents)
        SELECT 'customer ' || i, i * 125 FROM generate_series(1, 50) AS i;
    `);
  });
}

/** An outbox handler (seed 001): a job holding one connection of the listen pool, with LISTEN, until stopped. */
interface OutboxHandler {
  stop(): Promise<void>;
}

async function startOutboxHandler(inspector: Inspector, pool: pg.Pool, channel: string): Promise<OutboxHandler> {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const done = inspector.runAs({ label: `outbox ${channel}`, kind: 'job' }, async () => {
    const client = await pool.connect(); // @listen-hold
    try {
      await client.query(`LISTEN ${channel}`);
      client.on('notification', () => undefined);
      listening();
      await stopped;
      await client.query('UNLISTEN *');
    } finally {
      client.release();
    }
  });
  await Promise.race([ready, done]);
  return {
    stop() {
      stop();
      return done.catch(() => undefined);
    },
  };
}

async function route(pool: pg.Pool, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://demo.invalid');
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'only GET' });
    switch (url.pathname) {
      case '/':
        return send(res, 200, { endpoints: DEMO_ENDPOINTS.map(({ path, kind, description }) => ({ path, kind, description })) });
      case '/api/orders':
        return send(res, 200, { orders: await latestOrders(pool) });
      case '/api/report':
        return send(res, 200, await salesReport(pool));
      case '/api/orders/export':
        return send(res, 200, await exportOrders(pool));
      case '/api/customers/lookup':
        return await lookupCustomer(pool, url.searchParams.get('name') ?? '', res);
      case '/api/orders/checkout':
        return send(res, 200, await checkout(pool));
      default:
        return send(res, 404, { error: `no route ${url.pathname}; try GET /` });
    }
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    // pg's acquire timeout: the pool is exhausted (poolscope appended who holds the connections to the message).
    const status = error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message) ? 503 : 500;
    return send(res, status, { error: message });
  }
}

/** Healthy: one short query, released by withClient whatever happens. */
async function latestOrders(pool: pg.Pool): Promise<unknown[]> {
  return withClient(pool, async (client) => {
    const { rows } = await client.query('SELECT id, customer, total_cents FROM orders ORDER BY id DESC LIMIT 5');
    return rows;
  });
}

/** Slow: holds its connection 300-800 ms (a report query doing real work would). */
async function salesReport(pool: pg.Pool): Promise<unknown> {
  const seconds = (300 + Math.floor(Math.random() * 500)) / 1000;
  return withClient(pool, async (client) => {
    const { rows } = await client.query(
      'SELECT count(*)::int AS orders, sum(total_cents)::int AS total_cents FROM orders, pg_sleep($1::float8)',
      [seconds],
    );
    return rows[0];
  });
}

/** Seed 001 leak pattern 1, "missing finally block": release() runs only when nothing throws. */
async function exportOrders(pool: pg.Pool): Promise<unknown> {
  const client = await pool.connect(); // @leak-error-path
  try {
    await client.query('BEGIN');
    await client.query("INSERT INTO audit_log (action) VALUES ('export')");
    const { rows } = await client.query<OrderRow>('SELECT id, customer, total_cents FROM orders ORDER BY id');
    const csv = toCsv(rows); // throws: a bug in the CSV code
    await client.query('COMMIT');
    client.release(); // never reached on error: the connection leaks, idle in an open transaction
    return { exported: rows.length, bytes: csv.length };
  } catch (error) {
    throw new PoolscopeError('POOLSCOPE_ERR_DEMO_EXPORT_FAILED', `export failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

interface OrderRow {
  readonly id: number;
  readonly customer: string;
  readonly total_cents: number;
  readonly created_at?: Date;
}

/** The export's CSV: reads created_at, which the query above forgot to select. */
function toCsv(rows: readonly OrderRow[]): string {
  return rows.map((row) => [row.id, row.customer, row.total_cents, (row.created_at as Date).toISOString()].join(',')).join('\n');
}

/** Seed 001 leak pattern 2, "early return without release". */
async function lookupCustomer(pool: pg.Pool, name: string, res: ServerResponse): Promise<void> {
  const client = await pool.connect(); // @leak-early-return
  const { rows } = await client.query('SELECT id, customer, total_cents FROM orders WHERE customer = $1', [name]);
  if (rows.length === 0) return send(res, 404, { error: `no customer ${JSON.stringify(name)}` }); // leak: no release()
  client.release();
  return send(res, 200, { customer: name, orders: rows });
}

/** Seed 001 leak pattern 3, "async work not awaited": released while the audit INSERT is still running. */
async function checkout(pool: pg.Pool): Promise<unknown> {
  const client = await pool.connect(); // @checkout-not-awaited
  try {
    const { rows } = await client.query('SELECT id, total_cents FROM orders ORDER BY id LIMIT 1');
    recordAudit(client, 'checkout'); // missing await
    return { order: rows[0] };
  } finally {
    client.release(); // @release-not-awaited
  }
}

/** Writes an audit row (slowly: a busy table). Returns a promise its caller should await. */
async function recordAudit(client: pg.PoolClient, action: string): Promise<void> {
  try {
    await client.query('INSERT INTO audit_log (action) SELECT $1::text FROM pg_sleep(0.1)', [action]);
  } catch {
    // The demo ignores audit failures (the connection may be closed by then).
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

// ---- plumbing ---------------------------------------------------------------------------------------------------

/** `/metrics` through poolscope's PrometheusExporter, when prom-client (an optional peer dependency) is installed. */
async function prometheusSource(inspector: Inspector): Promise<MetricsSource | undefined> {
  try {
    const { PrometheusExporter } = await import('../exporters/prometheus-exporter.js');
    return new PrometheusExporter(inspector);
  } catch {
    return undefined;
  }
}

/**
 * Ends a pool. pool.end() waits for every checked-out client, and the planted leaks never come back: after a short
 * wait the clients still out are released with an error, which makes pg-pool destroy them (pg-pool's `_clients`
 * list: demo cleanup only, the app's own code never does this).
 */
async function endPool(pool: pg.Pool): Promise<void> {
  if (pool.ending) return;
  const ended = pool.end().catch(() => undefined);
  const finished = await Promise.race([ended.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500))]);
  if (finished) return;
  const clients = (pool as unknown as { _clients?: { release?: (error: Error) => void }[] })._clients ?? [];
  for (const client of [...clients]) {
    try {
      client.release?.(new ConnectionDestroyedError('poolscope demo cleanup: connection leaked on purpose'));
    } catch {
      // already released
    }
  }
  await ended;
}
