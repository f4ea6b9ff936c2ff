import { quoteIdentifier } from './identifier-quoting.js';
import type { PgSqlRunner } from './pg-client-shapes.js';
import { sqlStateOf } from './pg-client-shapes.js';

/** Tries of a drop before PostgreSQL 13, when a session reconnects between terminate and drop. */
const DROP_ATTEMPTS = 5;
/** PostgreSQL 13, the first with `DROP DATABASE ... WITH (FORCE)`. */
const FORCE_FROM_VERSION = 130000;

/** The server's `server_version_num` (e.g. 160004). */
export async function serverVersionNumber(runner: PgSqlRunner): Promise<number> {
  const result = (await runner.query(`SELECT current_setting('server_version_num') AS v`)) as { rows: { v?: string }[] };
  return Number(result.rows[0]?.v ?? 0);
}

/**
 * `DROP DATABASE IF EXISTS`, ending the sessions still connected to it: `WITH (FORCE)` from PostgreSQL 13; before
 * that, terminate its sessions and drop, retried a few times (a session may reconnect in between: SQLSTATE 55006).
 * A missing database is not an error. `version` (server_version_num) is read from the server when not given.
 */
export async function dropDatabase(runner: PgSqlRunner, name: string, version?: number): Promise<void> {
  const quoted = quoteIdentifier(name);
  if ((version ?? (await serverVersionNumber(runner))) >= FORCE_FROM_VERSION) {
    await runner.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
    return;
  }
  for (let attempt = 1; ; attempt += 1) {
    await runner.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    try {
      await runner.query(`DROP DATABASE IF EXISTS ${quoted}`);
      return;
    } catch (error) {
      if (sqlStateOf(error) !== '55006' || attempt >= DROP_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt).unref());
    }
  }
}
