import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import type { Mysql2PoolConfig } from './mysql2-types.js';
import { mysql2ProgramNameOf } from './mysql2-program-name.js';

/** What poolscope reads of a mysql2 pool's settings (lib/pool_config.js): an allowlist, never the password. */

/** A mysql2 pool's settings as poolscope shows them: the common fields and mysql2's own names. */
export interface Mysql2PoolConfigSnapshot extends PoolConfigSnapshot {
  /** Most connections the pool opens; 0 means no limit (mysql2's rule). */
  readonly connectionLimit?: number;
  /** Most callers queued for a connection before getConnection fails with "Queue limit reached."; 0: no limit. */
  readonly queueLimit?: number;
  /** false: getConnection fails at once ("No connections available.") instead of queueing. */
  readonly waitForConnections?: boolean;
  /** Most idle connections kept; idle ones above it are closed. */
  readonly maxIdle?: number;
  /** Milliseconds after which an idle connection is closed (mysql2's `idleTimeout`). */
  readonly idleTimeout?: number;
  /** The `program_name` connection attribute new connections send (see trackMysql2Pool), when set. */
  readonly program_name?: string;
}

/** The allowlisted settings of a mysql2 pool. */
export function mysql2ConfigSnapshot(config: Mysql2PoolConfig): Mysql2PoolConfigSnapshot {
  const out: Record<string, unknown> = {};
  for (const key of ['connectionLimit', 'queueLimit', 'maxIdle', 'idleTimeout'] as const) {
    const value = config[key];
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  }
  if (typeof config.waitForConnections === 'boolean') out.waitForConnections = config.waitForConnections;
  const connection = config.connectionConfig;
  for (const key of ['host', 'database', 'user'] as const) {
    const value = connection[key];
    if (typeof value === 'string' && value !== '') out[key] = value;
  }
  const port = typeof connection.port === 'string' ? Number(connection.port) : connection.port;
  if (typeof port === 'number' && Number.isFinite(port)) out.port = port;
  if (connection.ssl !== undefined && connection.ssl !== null) out.ssl = Boolean(connection.ssl);
  const programName = mysql2ProgramNameOf(connection);
  if (programName !== undefined) out.program_name = programName;
  return out as Mysql2PoolConfigSnapshot;
}

/** The pool's maximum: `connectionLimit` (mysql2's default 10; 0 = no limit, shown as 0 like an unknown max). */
export function mysql2MaxOf(config: Mysql2PoolConfig): number {
  const limit = config.connectionLimit;
  return typeof limit === 'number' && Number.isFinite(limit) && limit >= 0 ? limit : 10;
}
