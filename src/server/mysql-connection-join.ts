import type { LeaseSnapshot } from '../core/lease.js';
import type { InspectorSnapshot, PoolConfigSnapshot, PoolSnapshot } from '../core/pool-snapshot.js';
import type { LeaseMatch } from './pid-join.js';
import type { MysqlActivityReport, MysqlFeatureAvailability, MysqlSessionSnapshot } from './mysql-activity.js';

/**
 * Joins the app's view (leases, with the connection id of each checked-out mysql2 connection as `backendPid`) to a
 * MySQL / MariaDB server's view (readMysqlActivity) by connection id: the MySQL counterpart of pidJoin. Pure: no I/O,
 * no clock; give it a snapshot and a report taken close together.
 */

/** One held lease and what the server says about its connection. */
export interface MysqlLeaseServerView {
  readonly poolName: string;
  readonly leaseId: number;
  /** The connection id (the lease's `backendPid`). */
  readonly connectionId: number | null;
  /** `found`, `no-pid` (the lease has no connection id), `not-in-report` (see LeaseMatch). */
  readonly match: LeaseMatch;
  readonly lease: LeaseSnapshot;
  /** The session as the server lists it; null unless `match` is `found`. */
  readonly server: MysqlSessionSnapshot | null;
}

/** Which server sessions count as a pool's: null = any value. */
export interface MysqlSessionScope {
  /** The pool's `program_name` (used only when the report has program names). */
  readonly programName: string | null;
  readonly database: string | null;
  readonly user: string | null;
}

/** One pool: its leases joined to the server, and the sessions in its scope no lease holds. */
export interface MysqlPoolServerView {
  readonly poolName: string;
  readonly scope: MysqlSessionScope;
  /** Held leases, in the snapshot's order (longest held first). */
  readonly leases: readonly MysqlLeaseServerView[];
  /**
   * Sessions in the scope that no lease of the snapshot holds (idle in the pool, or opened elsewhere with the same
   * settings), the reading session excluded. Empty when the scope has no field set.
   */
  readonly unheldSessions: readonly MysqlSessionSnapshot[];
}

/** What `connectionIdJoin` returns: JSON-serialisable. */
export interface MysqlJoinReport {
  readonly appTakenAt: string;
  readonly serverTakenAt: string;
  /** Whether sessions could be told apart by program_name (else the scope is database and user only). */
  readonly programNames: MysqlFeatureAvailability;
  readonly pools: readonly MysqlPoolServerView[];
}

/**
 * Joins leases to server sessions by connection id.
 *
 * ```ts
 * const joined = connectionIdJoin(inspector.snapshotAll(), await readMysqlActivity(admin));
 * ```
 */
export function connectionIdJoin(app: InspectorSnapshot | PoolSnapshot, server: MysqlActivityReport): MysqlJoinReport {
  const pools = 'pools' in app ? app.pools : [app];
  const sessionsById = new Map<number, MysqlSessionSnapshot>();
  for (const session of server.sessions) sessionsById.set(session.connectionId, session);
  const held = new Set<number>();
  for (const pool of pools) for (const lease of pool.holders) if (lease.backendPid !== null) held.add(lease.backendPid);
  return {
    appTakenAt: app.takenAt,
    serverTakenAt: server.takenAt,
    programNames: server.programNames,
    pools: pools.map((pool) => {
      const scope = mysqlSessionScope(pool.config, server.programNames.available);
      const scoped = scope.programName !== null || scope.database !== null || scope.user !== null;
      return {
        poolName: pool.poolName,
        scope,
        leases: pool.holders.map((lease) => leaseView(lease, sessionsById)),
        unheldSessions: scoped ? server.sessions.filter((s) => !s.self && !held.has(s.connectionId) && inScope(s, scope)) : [],
      };
    }),
  };
}

/** A mysql2 pool's sessions, as its (password-free) config tells: program_name (when the server shows it), database, user. */
export function mysqlSessionScope(config: PoolConfigSnapshot & { readonly program_name?: string }, programNames: boolean): MysqlSessionScope {
  return {
    programName: programNames ? (config.program_name ?? null) : null,
    database: config.database ?? null,
    user: config.user ?? null,
  };
}

function inScope(session: MysqlSessionSnapshot, scope: MysqlSessionScope): boolean {
  return (
    (scope.programName === null || session.programName === scope.programName) &&
    (scope.database === null || session.database === scope.database) &&
    (scope.user === null || session.user === scope.user)
  );
}

function leaseView(lease: LeaseSnapshot, sessionsById: ReadonlyMap<number, MysqlSessionSnapshot>): MysqlLeaseServerView {
  const session = lease.backendPid === null ? undefined : sessionsById.get(lease.backendPid);
  const match: LeaseMatch = lease.backendPid === null ? 'no-pid' : session === undefined ? 'not-in-report' : 'found';
  return { poolName: lease.poolName, leaseId: lease.id, connectionId: lease.backendPid, match, lease, server: session ?? null };
}
