import { IdentifierError } from '../errors.js';

/**
 * Scratch databases on a server poolscope was pointed at (the demo's `poolscope_demo_<hex>`, the tests'
 * `poolscope_test_<label>_<pid>_<hex>`): names checked and quoted, URLs derived, and a drop that first ends the
 * sessions still connected. Driver-agnostic: callers pass a connected client.
 */

/** What is used of a connected pg.Client. */
export interface ScratchAdminClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A pg.Client not yet connected. */
export interface ProbeClient extends ScratchAdminClient {
  connect(): Promise<unknown>;
  end(): Promise<unknown>;
}

/** True when the client can connect and run `SELECT 1` (give it a connection timeout); always ends it. */
export async function serverAnswers(client: ProbeClient): Promise<boolean> {
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const SCRATCH_NAME = /^[a-z0-9_]{1,63}$/;

/** The name as a quoted identifier; throws for anything but 1-63 characters of `a-z 0-9 _` (never quoted raw). */
export function quoteScratchName(name: string): string {
  if (!SCRATCH_NAME.test(name)) {
    throw new IdentifierError(name, `refusing to use ${JSON.stringify(name)} as a scratch database name (1-63 of a-z 0-9 _)`);
  }
  return `"${name}"`;
}

/** The connection string with its database swapped for `name`. */
export function scratchDatabaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Drops the database, terminating its sessions first (`WITH (FORCE)` from PostgreSQL 13). Before 13 a session may
 * reconnect between terminate and drop: then it retries a few times. A missing database is not an error.
 */
export async function dropScratchDatabase(client: ScratchAdminClient, name: string): Promise<void> {
  const quoted = quoteScratchName(name);
  const version = await client.query(`SELECT current_setting('server_version_num') AS v`);
  const force = Number((version.rows[0] as { v?: string } | undefined)?.v ?? 0) >= 130000;
  for (let attempt = 1; ; attempt += 1) {
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    try {
      await client.query(`DROP DATABASE IF EXISTS ${quoted}${force ? ' WITH (FORCE)' : ''}`);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== '55006' || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
