/**
 * The demo's planted misuse: three handlers of the `main` pool, one per leak pattern of seed 001, each at a line
 * marked `// @...` (poolscope must report each at its line; the tests and `poolscope demo` find the lines by those
 * markers, through plantedSites()):
 *   1. missing finally: release() only on the success path, an error leaks the connection (@leak-error-path);
 *   2. early return without release (@leak-early-return);
 *   3. async work not awaited: released while its query still runs (@release-not-awaited, checkout @checkout-not-awaited).
 * This folder plays the user's app: the demo passes it to poolscope as `applicationFrames` (demo-app.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { PoolscopeError, messageOf } from '../../errors.js';
import { DEMO_ENDPOINTS } from './demo-endpoints.js';
import type { DemoEndpoint } from './demo-endpoints.js';

/** What a handler answers: the HTTP status and the JSON body. */
export interface DemoAnswer {
  readonly status: number;
  readonly body: unknown;
}

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

/** Seed 001 leak pattern 1, "missing finally block": release() runs only when nothing throws. */
export async function exportOrders(pool: pg.Pool): Promise<unknown> {
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
    throw new PoolscopeError('POOLSCOPE_ERR_DEMO_EXPORT_FAILED', `export failed: ${messageOf(error)}`, { cause: error });
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
export async function lookupCustomer(pool: pg.Pool, name: string): Promise<DemoAnswer> {
  const client = await pool.connect(); // @leak-early-return
  const { rows } = await client.query('SELECT id, customer, total_cents FROM orders WHERE customer = $1', [name]);
  if (rows.length === 0) return { status: 404, body: { error: `no customer ${JSON.stringify(name)}` } }; // leak: no release()
  client.release();
  return { status: 200, body: { customer: name, orders: rows } };
}

/** Seed 001 leak pattern 3, "async work not awaited": released while the audit INSERT is still running. */
export async function checkout(pool: pg.Pool): Promise<unknown> {
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
