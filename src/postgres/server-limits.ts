import { ServerViewError } from '../errors.js';

/**
 * The server's connection limits and use, in one statement any role may run: shared by the capacity check
 * (src/config/server-capacity-check.ts) and the cluster totals (src/cluster/cluster-totals.ts).
 *
 * `current_setting(name, true)` (missing_ok) answers NULL for a setting the server does not have: reserved_connections
 * exists from PostgreSQL 16 on; before that it counts as 0. `used_connections` counts client backends on the whole
 * server (every database and role), as the server view does; a role without pg_read_all_stats still sees every
 * backend's type, so the count is complete.
 */
export const SERVER_LIMITS_SQL = `SELECT current_setting('server_version_num')::int AS server_version_num,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections,
       coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved_connections,
       (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used_connections`;

/** A row of `SERVER_LIMITS_SQL`, read. */
export interface ServerLimits {
  readonly serverVersionNumber: number;
  readonly maxConnections: number;
  readonly superuserReservedConnections: number;
  /** reserved_connections (PostgreSQL 16+), else 0. */
  readonly reservedConnections: number;
  /** Client backends on the whole server when read. */
  readonly usedConnections: number;
}

/**
 * Reads a row of `SERVER_LIMITS_SQL`; throws `POOLSCOPE_ERR_SERVER_UNEXPECTED_ANSWER` naming the column that is not a
 * whole number. `reader` names who asked, for the message (e.g. `checkServerCapacity`).
 */
export function serverLimitsOf(row: unknown, reader: string): ServerLimits {
  const r = (row ?? {}) as Record<string, unknown>;
  return {
    serverVersionNumber: integerColumn(reader, r, 'server_version_num'),
    maxConnections: integerColumn(reader, r, 'max_connections'),
    superuserReservedConnections: integerColumn(reader, r, 'superuser_reserved_connections'),
    reservedConnections: r.reserved_connections === null || r.reserved_connections === undefined ? 0 : integerColumn(reader, r, 'reserved_connections'),
    usedConnections: r.used_connections === null || r.used_connections === undefined ? 0 : integerColumn(reader, r, 'used_connections'),
  };
}

function integerColumn(reader: string, row: Record<string, unknown>, column: string): number {
  const value = row[column];
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number)) {
    throw new ServerViewError('POOLSCOPE_ERR_SERVER_UNEXPECTED_ANSWER', reader, `${reader} got no integer ${column} from the server (got ${String(value)}).`);
  }
  return number;
}
