import { IdentifierError } from '../errors.js';
import { dropDatabase } from '../postgres/database-drop.js';
import { quoteIdentifier } from '../postgres/identifier-quoting.js';
import type { PgClientLike, PgRowsRunner } from '../postgres/pg-client-shapes.js';

/**
 * Scratch databases on a server poolscope was pointed at (the demo's `poolscope_demo_<hex>`, the tests'
 * `poolscope_test_<label>_<pid>_<hex>`): names checked and quoted, URLs derived, and a drop that first ends the
 * sessions still connected. Driver-agnostic: callers pass a connected client.
 */

/** What is used of a connected pg.Client. */
export type ScratchAdminClient = PgRowsRunner;

/** A pg.Client not yet connected. */
export type ProbeClient = PgClientLike;

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

/** The name, checked: throws for anything but 1-63 characters of `a-z 0-9 _`. */
export function checkScratchName(name: string): string {
  if (!SCRATCH_NAME.test(name)) {
    throw new IdentifierError(name, `refusing to use ${JSON.stringify(name)} as a scratch database name (1-63 of a-z 0-9 _)`);
  }
  return name;
}

/** The name, checked, as a quoted identifier. */
export function quoteScratchName(name: string): string {
  return quoteIdentifier(checkScratchName(name));
}

/** The connection string with its database swapped for `name`. */
export function scratchDatabaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Drops the scratch database, ending the sessions still connected to it (src/postgres/database-drop.ts). A missing
 * database is not an error.
 */
export async function dropScratchDatabase(client: ScratchAdminClient, name: string): Promise<void> {
  await dropDatabase(client, checkScratchName(name));
}
