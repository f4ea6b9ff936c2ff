/** What `ActivityInspector.activity()` reports: the shapes of the server's view (pg_stat_activity), JSON-serialisable. */

/** pg_stat_activity.state values of a session idle inside a transaction. */
export const IDLE_IN_TRANSACTION_STATES = ['idle in transaction', 'idle in transaction (aborted)'] as const;
export type IdleInTransactionState = (typeof IDLE_IN_TRANSACTION_STATES)[number];

/** Optional filters of a report: only sessions with this application_name / database / user. */
export interface ServerActivityOptions {
  readonly applicationName?: string;
  readonly database?: string;
  readonly user?: string;
}

/** The filters a report was taken with; null = not filtered. */
export interface ServerActivityFilters {
  readonly applicationName: string | null;
  readonly database: string | null;
  readonly user: string | null;
}

/**
 * What the sqlcommenter comment at the end of a session's query says (`/*key='value',...*\/`, see
 * docs/reference/query-comments.md): poolscope's fields when the statement came through a pool tracked with
 * `queryComments` (of this process or any other), and every pair of the comment, whoever wrote it.
 */
export interface ServerQueryTags {
  /** The owner's label (`owner`): the request (`GET /orders`) or job that held the connection. */
  readonly owner: string | null;
  /** The file:line:col that checked the connection out (`file`). */
  readonly location: string | null;
  /** The lease id (`lease`), per pool and process. */
  readonly leaseId: number | null;
  /** The pool's name (`pool`). */
  readonly poolName: string | null;
  /** The app's name (`app`: InspectorOptions.appName of the process that sent it). */
  readonly appName: string | null;
  /** The W3C traceparent of the span the statement ran in (`traceparent`). */
  readonly traceparent: string | null;
  /** Every pair of the comment, decoded: poolscope's and other tools' (`route`, `controller`, `framework`, ...). */
  readonly tags: Readonly<Record<string, string>>;
}

/** One client backend as pg_stat_activity shows it. Ages are measured by the server (see takenAt). */
export interface ServerSessionSnapshot {
  readonly pid: number;
  /** '' when the client set none. */
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  /** Client IP address; null for a Unix-socket connection. */
  readonly clientAddress: string | null;
  /**
   * 'active', 'idle', 'idle in transaction', 'idle in transaction (aborted)', 'fastpath function call', 'disabled'
   * (track_activities off), or null when the inspector's role may not see this session's details.
   */
  readonly state: string | null;
  /** Running or last query, cut at maxQueryTextLength; '<insufficient privilege>' for a session the role may not see. */
  readonly query: string | null;
  /**
   * The sqlcommenter comment at the end of the query (read from the whole text, also when `query` is cut), or null
   * when it has none. A statement longer than the server's track_activity_query_size is cut by the server before
   * its comment: then null.
   */
  readonly queryTags: ServerQueryTags | null;
  /** When the connection was opened (ISO-8601). */
  readonly backendStart: string | null;
  /** When its current transaction began; null outside a transaction. */
  readonly transactionStart: string | null;
  /** When its running or last query began. */
  readonly queryStart: string | null;
  /** When `state` last changed. */
  readonly stateChange: string | null;
  /** now() - transactionStart; null outside a transaction. */
  readonly transactionAgeMillis: number | null;
  /** now() - stateChange. */
  readonly stateAgeMillis: number | null;
  /** now() - queryStart. */
  readonly queryAgeMillis: number | null;
  /** e.g. 'Lock', 'Client', 'IO', 'Timeout'; null when not waiting. */
  readonly waitEventType: string | null;
  /** e.g. 'transactionid', 'relation', 'ClientRead', 'PgSleep'. */
  readonly waitEvent: string | null;
  /** pg_blocking_pids(pid) while waiting on a lock; [] otherwise. */
  readonly blockedBy: readonly number[];
  /** How long it has waited on a lock (see docs); null when not waiting on one. */
  readonly lockWaitMillis: number | null;
}

/** Sessions counted by application, user, database and state. */
export interface ServerActivityGroup {
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly state: string | null;
  readonly count: number;
}

/** A session sitting idle inside an open transaction (holding its locks and snapshot). */
export interface IdleInTransactionSession {
  readonly pid: number;
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly state: IdleInTransactionState;
  /** now() - transaction start. */
  readonly transactionAgeMillis: number | null;
  /** now() - state change: how long it has been idle. */
  readonly stateAgeMillis: number | null;
  /** The last query it ran, cut at maxQueryTextLength. */
  readonly query: string | null;
  /** Its query's comment: who sent the last statement, from where. */
  readonly queryTags: ServerQueryTags | null;
}

/** A session waiting for a lock, and the sessions holding it up. */
export interface LockWaitSession {
  readonly pid: number;
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly state: string | null;
  /** The kind of lock awaited ('transactionid', 'relation', 'tuple', ...). */
  readonly waitEvent: string | null;
  /** pg_blocking_pids(pid). */
  readonly blockedBy: readonly number[];
  /** The blocked statement. */
  readonly query: string | null;
  /** Its query's comment. */
  readonly queryTags: ServerQueryTags | null;
  /** How long it has waited (PostgreSQL 14+: since pg_locks.waitstart; before: since the statement began). */
  readonly waitingMillis: number | null;
  readonly transactionAgeMillis: number | null;
}

/** The session with the oldest open transaction (any state: running or idle). */
export interface OldestTransaction {
  readonly pid: number;
  readonly transactionAgeMillis: number;
  readonly state: string | null;
  readonly applicationName: string;
  readonly user: string | null;
  readonly database: string | null;
  readonly query: string | null;
  /** Its query's comment. */
  readonly queryTags: ServerQueryTags | null;
}

/** What `ActivityInspector.activity()` returns: JSON-serialisable. */
export interface ServerActivityReport {
  /** The server's now() when the report was read (ISO-8601); every age is measured from it. */
  readonly takenAt: string;
  /** server_version, e.g. '15.4 (Debian 15.4-1)'. */
  readonly version: string;
  /** server_version_num, e.g. 150004. */
  readonly versionNumber: number;
  readonly maxConnections: number;
  /** superuser_reserved_connections + reserved_connections (the latter on PostgreSQL 16+). */
  readonly reservedConnections: number;
  /** Client backends on the whole server (every database and user, the inspector's own session included). */
  readonly usedConnections: number;
  /** maxConnections - reservedConnections - usedConnections: what ordinary roles can still open (may be < 0). */
  readonly headroom: number;
  /** Backends whose type the inspector's role may not see (not in usedConnections); 0 with pg_read_all_stats. */
  readonly hiddenBackends: number;
  /** The inspector's own session (excluded from everything below). */
  readonly inspectorPid: number;
  readonly filters: ServerActivityFilters;
  /** Largest first. */
  readonly groups: readonly ServerActivityGroup[];
  /** Oldest transaction first. */
  readonly idleInTransaction: readonly IdleInTransactionSession[];
  /** Longest wait first. */
  readonly waitingOnLocks: readonly LockWaitSession[];
  readonly oldestTransaction: OldestTransaction | null;
  /** Every client backend that passes the filters, by pid. */
  readonly sessions: readonly ServerSessionSnapshot[];
}
