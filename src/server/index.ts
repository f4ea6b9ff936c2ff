// poolscope/server: the database's own view. ActivityInspector reads pg_stat_activity over a connection of its own
// (never the pool it inspects); pidJoin joins those sessions to poolscope's leases by backend PID. Needs no optional
// peer to load; an ActivityInspector given a connection string loads pg when it connects (PgUnavailableError, from
// poolscope, when it is not installed).

export { ActivityInspector } from './activity-inspector.js';
export type { ActivityInspectorOptions, ActivityClientLike } from './activity-inspector.js';
export type {
  ServerActivityOptions,
  ServerActivityFilters,
  ServerSessionSnapshot,
  ServerQueryTags,
  ServerActivityGroup,
  IdleInTransactionSession,
  IdleInTransactionState,
  LockWaitSession,
  OldestTransaction,
  ServerActivityReport,
} from './activity-report.js';
export { pidJoin, sessionScope, LEASE_MATCHES } from './pid-join.js';
// Reading sqlcommenter comments (queryComments, or any other tool's) from a statement's text.
export { queryTagsOf } from './activity-query-tags.js';
export type {
  LeaseMatch,
  SessionScope,
  SessionScopeOptions,
  PidJoinOptions,
  HoldingLease,
  BlockerView,
  LeaseServerView,
  PoolServerView,
  PidJoinReport,
} from './pid-join.js';

export { ServerViewError } from '../errors.js';
export type { ServerViewErrorCode } from '../errors.js';

// MySQL / MariaDB (the mysql2 adapter's server view): docs/reference/adapter-mysql2.md.
export { readMysqlActivity, DEFAULT_MYSQL_ACTIVITY_MAX_QUERY_TEXT_LENGTH } from './mysql-activity.js';
export type { MysqlActivitySource, MysqlActivityOptions, MysqlActivityReport, MysqlSessionSnapshot, MysqlTransactionSnapshot, MysqlFeatureAvailability } from './mysql-activity.js';
export { connectionIdJoin, mysqlSessionScope } from './mysql-connection-join.js';
export type { MysqlJoinReport, MysqlPoolServerView, MysqlLeaseServerView, MysqlSessionScope } from './mysql-connection-join.js';
