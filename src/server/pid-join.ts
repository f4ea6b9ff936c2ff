import type { LeaseSnapshot } from '../core/lease.js';
import type { InspectorSnapshot, PoolConfigSnapshot, PoolSnapshot } from '../core/pool-snapshot.js';
import type { ServerActivityReport, ServerSessionSnapshot } from './activity-inspector.js';

/**
 * Joins the app's view (leases, with the backend PID of each checked-out connection) to the server's view
 * (pg_stat_activity) by PID. Pure: no I/O, no clock; give it a snapshot and a report taken close together.
 */

/** How a held lease was matched to a server session. */
export const LEASE_MATCHES = ['found', 'no-pid', 'not-in-report'] as const;
/**
 * `found`: the report has a session with the lease's backend PID; `no-pid`: the lease has no backend PID (the
 * driver did not tell it); `not-in-report`: no session with that PID in the report (the report was filtered, the
 * connection closed, or the report is older than the connection).
 */
export type LeaseMatch = (typeof LEASE_MATCHES)[number];

/** Which server sessions belong to a pool. null = any value. */
export interface SessionScope {
  readonly applicationName: string | null;
  readonly database: string | null;
  readonly user: string | null;
}

/** Overrides of a pool's scope: a string sets the field, null lifts it, undefined keeps what the config says. */
export interface SessionScopeOptions {
  readonly applicationName?: string | null;
  readonly database?: string | null;
  readonly user?: string | null;
}

export interface PidJoinOptions {
  /** Scope applied to every pool (over what its config says). */
  readonly scope?: SessionScopeOptions;
  /** Scope of one pool, by pool name (over `scope`). */
  readonly poolScopes?: Readonly<Record<string, SessionScopeOptions>>;
}

/** A lease of the app's that holds the backend with this PID. */
export interface HoldingLease {
  readonly poolName: string;
  readonly leaseId: number;
  /** file:line:col that checked the connection out, when a stack was captured. */
  readonly location: string | null;
  /** Owner label (request, job), if any. */
  readonly owner: string | null;
}

/** A session blocking a lease's connection, named from both sides when possible. */
export interface BlockerView {
  readonly pid: number;
  /** The app's lease holding the blocking backend, when it is one of the snapshot's. */
  readonly heldBy: HoldingLease | null;
  /** The blocking session as the server reported it, when it is in the report. */
  readonly session: ServerSessionSnapshot | null;
}

/** One held lease and what the server says about its connection. */
export interface LeaseServerView {
  readonly poolName: string;
  readonly leaseId: number;
  readonly backendPid: number | null;
  readonly match: LeaseMatch;
  /** The app's view (owner, location, held time, transaction depth, query). */
  readonly lease: LeaseSnapshot;
  /** The server's view (state, query, wait event, transaction age); null unless `match` is `found`. */
  readonly server: ServerSessionSnapshot | null;
  /** The sessions it waits for (pg_blocking_pids), resolved to leases and server sessions where known. */
  readonly blockedBy: readonly BlockerView[];
}

/** One pool: its leases joined to the server, and the server sessions in its scope that no lease holds. */
export interface PoolServerView {
  readonly poolName: string;
  /** Which sessions count as this pool's (from its config and the options). */
  readonly scope: SessionScope;
  /** Held leases, in the snapshot's order (longest held first). */
  readonly leases: readonly LeaseServerView[];
  /**
   * Sessions in the scope that no lease of the snapshot holds: connections idle in the pool, or opened outside
   * poolscope (another process, another pool with the same settings). Empty when the scope has no field set.
   */
  readonly unheldSessions: readonly ServerSessionSnapshot[];
}

/** What `pidJoin` returns: JSON-serialisable. */
export interface PidJoinReport {
  /** When the app's snapshot was taken (app clock). */
  readonly appTakenAt: string;
  /** When the server report was read (server clock). */
  readonly serverTakenAt: string;
  readonly pools: readonly PoolServerView[];
}

/**
 * Joins leases to server sessions by backend PID.
 *
 * ```ts
 * const report = await activity.activity();
 * const joined = pidJoin(inspector.snapshotAll(), report);
 * ```
 */
export function pidJoin(
  app: InspectorSnapshot | PoolSnapshot,
  server: ServerActivityReport,
  options: PidJoinOptions = {},
): PidJoinReport {
  const pools = 'pools' in app ? app.pools : [app];
  const sessionsByPid = new Map<number, ServerSessionSnapshot>();
  for (const session of server.sessions) sessionsByPid.set(session.pid, session);
  const holdersByPid = new Map<number, HoldingLease>();
  for (const pool of pools) {
    for (const lease of pool.holders) {
      if (lease.backendPid !== null) holdersByPid.set(lease.backendPid, holdingLease(lease));
    }
  }
  return {
    appTakenAt: app.takenAt,
    serverTakenAt: server.takenAt,
    pools: pools.map((pool) => {
      const scope = sessionScope(pool.config, options.scope, options.poolScopes?.[pool.poolName]);
      return {
        poolName: pool.poolName,
        scope,
        leases: pool.holders.map((lease) => leaseView(lease, sessionsByPid, holdersByPid)),
        unheldSessions: scopeIsSet(scope)
          ? server.sessions.filter((s) => !holdersByPid.has(s.pid) && inScope(s, scope))
          : [],
      };
    }),
  };
}

/**
 * The sessions a pool opens, as far as its (password-free) config tells: application_name, database and user from
 * the connection string (which wins in pg) or the config fields. For a pg pool the config's application_name is the
 * one poolscope generated for it (see trackPgPool), or the pool's own, or PGAPPNAME / fallback_application_name
 * (the pg adapter fills those in). Other environment defaults (PGDATABASE, PGUSER) are not read: pass them in
 * `overrides` if the pool relies on them.
 */
export function sessionScope(config: PoolConfigSnapshot, ...overrides: readonly (SessionScopeOptions | undefined)[]): SessionScope {
  const fromUrl = connectionStringScope(config.connectionString);
  let scope: SessionScope = {
    applicationName: fromUrl.applicationName ?? config.application_name ?? null,
    database: fromUrl.database ?? config.database ?? null,
    user: fromUrl.user ?? config.user ?? null,
  };
  for (const override of overrides) {
    if (override === undefined) continue;
    scope = {
      applicationName: override.applicationName === undefined ? scope.applicationName : override.applicationName,
      database: override.database === undefined ? scope.database : override.database,
      user: override.user === undefined ? scope.user : override.user,
    };
  }
  return scope;
}

function connectionStringScope(connectionString: string | undefined): Partial<Record<keyof SessionScope, string>> {
  if (connectionString === undefined) return {};
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return {};
  }
  const out: Partial<Record<keyof SessionScope, string>> = {};
  const database = safeDecode(url.pathname.replace(/^\//, ''));
  if (database !== '') out.database = database;
  const user = safeDecode(url.username);
  if (user !== '') out.user = user;
  const applicationName = url.searchParams.get('application_name');
  if (applicationName !== null) out.applicationName = applicationName;
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function scopeIsSet(scope: SessionScope): boolean {
  return scope.applicationName !== null || scope.database !== null || scope.user !== null;
}

function inScope(session: ServerSessionSnapshot, scope: SessionScope): boolean {
  return (
    (scope.applicationName === null || session.applicationName === scope.applicationName) &&
    (scope.database === null || session.database === scope.database) &&
    (scope.user === null || session.user === scope.user)
  );
}

function holdingLease(lease: LeaseSnapshot): HoldingLease {
  return { poolName: lease.poolName, leaseId: lease.id, location: lease.location, owner: lease.owner?.label ?? null };
}

function leaseView(
  lease: LeaseSnapshot,
  sessionsByPid: ReadonlyMap<number, ServerSessionSnapshot>,
  holdersByPid: ReadonlyMap<number, HoldingLease>,
): LeaseServerView {
  const session = lease.backendPid === null ? undefined : sessionsByPid.get(lease.backendPid);
  const match: LeaseMatch = lease.backendPid === null ? 'no-pid' : session === undefined ? 'not-in-report' : 'found';
  return {
    poolName: lease.poolName,
    leaseId: lease.id,
    backendPid: lease.backendPid,
    match,
    lease,
    server: session ?? null,
    blockedBy: (session?.blockedBy ?? []).map((pid) => ({
      pid,
      heldBy: holdersByPid.get(pid) ?? null,
      session: sessionsByPid.get(pid) ?? null,
    })),
  };
}
