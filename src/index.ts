// Public API of poolscope. Explicit named exports only; types with `export type`.

export {
  ERROR_CODES,
  PoolscopeError,
  PoolNameError,
  PoolTrackingError,
  OptionsError,
  InspectorClosedError,
  TransactionRollbackError,
  HttpRouteError,
  HttpListenError,
  PoolConfigError,
  TenantPoolError,
  LeakedConnectionsError,
  ConnectionDestroyedError,
  PoolPingError,
  PgUnavailableError,
  ServerViewError,
  IdentifierError,
} from './errors.js';
export type { PoolscopeErrorCode, HttpRouteErrorCode, TenantErrorCode, ServerViewErrorCode } from './errors.js';

export { Inspector } from './core/inspector.js';
export type { InspectorOptions, AlertOptions, HttpRequestLike, HttpResponseLike } from './core/inspector.js';
export { PoolTracker, DURATION_KINDS } from './core/pool-tracker.js';
export { formatMillis } from './core/format-millis.js';
export type { AcquireTimeoutReport, ReleaseVerdict, TrackerContext, DurationKind, DurationListener } from './core/pool-tracker.js';
export { DEFAULT_PROBE_TIMEOUT_MILLIS, PROBE_SKIP_REASONS } from './core/reachability-probe.js';
export type { ReachabilityReport, ProbeSkipReason } from './core/reachability-probe.js';
export {
  ALERT_SEVERITIES,
  DEFAULT_ALERT_RULES,
  AlertEvaluator,
  utilizationAboveRule,
  callersWaitingRule,
} from './core/alert-rules.js';
export type { AlertRule, AlertSeverity, AlertSnapshot, AlertTransition } from './core/alert-rules.js';
export {
  recommend,
  poolRecommendationInputs,
  formatRecommendation,
  RECOMMENDATION_IDS,
  RECOMMENDATION_SEVERITIES,
} from './core/recommendations.js';
export type {
  Recommendation,
  RecommendationId,
  RecommendationSeverity,
  RecommendedChange,
  RecommendationInput,
  PoolRecommendationInput,
  ServerCapacity,
  RecommendationThresholds,
} from './core/recommendations.js';
export type { PoolTrackingOptions, PoolTrackingDefaults, ResolvedPoolTrackingOptions } from './core/pool-tracker-options.js';
export type { PoolAdapter } from './core/pool-adapter.js';
export type { PoolStats, PoolCounters } from './core/pool-stats.js';
export type { PoolSnapshot, InspectorSnapshot, MultiPoolOwner, PoolConfigSnapshot, SnapshotReason } from './core/pool-snapshot.js';
export { SNAPSHOT_REASONS } from './core/pool-snapshot.js';
export type { LeaseSnapshot, LeaseState, TransactionStatus } from './core/lease.js';
export { LEASE_STATES, TRANSACTION_STATUSES } from './core/lease.js';
export type { OwnerOptions, OwnerSnapshot } from './core/owner-context.js';
export type { DistributionSnapshot } from './core/histogram.js';
export { Histogram, bucketUpperBoundMillis } from './core/histogram.js';
export type { HealthLevel, HealthThresholds } from './core/pool-health.js';
export { HEALTH_LEVELS, healthLevel, utilizationPercent } from './core/pool-health.js';
export type { PoolHistoryPoint } from './core/pool-history.js';
export type { StackCaptureMode, FormattedStack } from './core/stack-capture.js';
export { STACK_CAPTURE_MODES } from './core/stack-capture.js';
export { DEFAULT_LEAK_THRESHOLD_MILLIS } from './core/leak-detector.js';
export type { Clock } from './core/monotonic-clock.js';
export { EVENT_CHANNELS, EVENT_TYPES } from './core/pool-events.js';
export type {
  PoolscopeEvent,
  PoolscopeEventType,
  PoolscopeEventOf,
  LeaseAcquiredEvent,
  LeaseReleasedEvent,
  LeakSuspectedEvent,
  LeakReturnedEvent,
  DirtyReleaseEvent,
  DoubleReleaseEvent,
  ForeignReleaseEvent,
  ReleaseInFlightEvent,
  OwnerEndedHoldingEvent,
  AcquireTimeoutEvent,
  SaturatedEvent,
  SnapshotTakenEvent,
  QueryExecutedEvent,
  ConnectionErrorEvent,
  PoolTrackedEvent,
  PoolUntrackedEvent,
  AlertFiringEvent,
  AlertResolvedEvent,
} from './core/pool-events.js';

export {
  METRIC_CATALOG,
  DEFAULT_DURATION_BUCKETS_SECONDS,
  validateBucketsSeconds,
  CONNECTION_STATES,
  PROMETHEUS_METRIC_TYPES,
  OTEL_INSTRUMENT_KINDS,
  OTEL_POOL_NAME_ATTRIBUTE,
  OTEL_STATE_ATTRIBUTE,
  PROMETHEUS_POOL_NAME_LABEL,
  PROMETHEUS_STATE_LABEL,
} from './exporters/metric-catalog.js';
export type {
  MetricDefinition,
  ScalarMetricDefinition,
  PerStateMetricDefinition,
  HistogramMetricDefinition,
  PrometheusMetricType,
  OtelInstrumentKind,
  ConnectionState,
} from './exporters/metric-catalog.js';
export { StatsLogger, statsLogLine } from './exporters/stats-logger.js';
export type { StatsLoggerOptions, StatsLogFields, StatsLogLine, PoolscopeLogger } from './exporters/stats-logger.js';

export {
  trackPgPool,
  acquireTimeoutReportOf,
  PG_ACQUIRE_TIMEOUT_MESSAGE,
  generatedApplicationName,
  pgApplicationNameOf,
  PG_APPLICATION_NAME_SOURCES,
} from './adapters/pg/pg-adapter.js';
export { maskConnectionString } from './core/connection-string-mask.js';
export type { PgApplicationNameResolution, PgApplicationNameSource } from './adapters/pg/pg-adapter.js';
export { MAX_APPLICATION_NAME_LENGTH } from './core/pool-tracker-options.js';
export { withClient, withTransaction, savepointDepth, ISOLATION_LEVELS } from './adapters/pg/pg-transactions.js';
export type { IsolationLevel, TransactionOptions } from './adapters/pg/pg-transactions.js';
export type { PgPoolLike, PgPoolClientLike, PgConnectable, PgQueryable, PgClientOf } from './adapters/pg/pg-types.js';

export {
  loadPoolConfig,
  loadPoolConfigReport,
  poolConfigLogLine,
  POOL_CONFIG_DEFAULTS,
  POOL_CONFIG_VARIABLES,
  POOL_ENVIRONMENTS,
} from './config/pool-config.js';
export type {
  PoolConfig,
  PoolSizing,
  PoolEnvironment,
  PoolConfigReport,
  PoolConfigSource,
  PoolConfigSources,
  LoadPoolConfigOptions,
  PoolConfigLogLine,
  PoolConfigLogFields,
} from './config/pool-config.js';
export { validatePoolConfig, POOL_CONFIG_WARNING_CODES } from './config/pool-config-validation.js';
export type { PoolConfigWarning, PoolConfigWarningCode, PoolConfigInput, ValidatePoolConfigOptions } from './config/pool-config-validation.js';
export { withPoolParameters, poolUrlParametersFromConfig, maskDatabaseUrl, POOL_URL_PARAMETERS } from './config/database-url.js';
export type { PoolUrlParameters } from './config/database-url.js';
export { checkServerCapacity, SERVER_CAPACITY_SQL } from './config/server-capacity-check.js';
export type {
  ServerCapacityCheckOptions,
  ServerCapacityReport,
  CapacityQueryable,
  CapacityClientSource,
} from './config/server-capacity-check.js';

export {
  ActivityInspector,
  DEFAULT_ACTIVITY_APPLICATION_NAME,
  DEFAULT_ACTIVITY_STATEMENT_TIMEOUT_MILLIS,
  DEFAULT_ACTIVITY_CONNECTION_TIMEOUT_MILLIS,
  DEFAULT_ACTIVITY_MAX_QUERY_TEXT_LENGTH,
  IDLE_IN_TRANSACTION_STATES,
} from './server/activity-inspector.js';
export type {
  ActivityClientLike,
  ActivityInspectorOptions,
  ServerActivityOptions,
  ServerActivityFilters,
  ServerSessionSnapshot,
  ServerActivityGroup,
  IdleInTransactionSession,
  IdleInTransactionState,
  LockWaitSession,
  OldestTransaction,
  ServerActivityReport,
} from './server/activity-inspector.js';
export { pidJoin, sessionScope, LEASE_MATCHES } from './server/pid-join.js';
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
} from './server/pid-join.js';

export { createOpsHandler, OpsHandler, OPS_ROUTES, OPS_ROUTE_ACCESS } from './http/ops-handler.js';
export type { OpsHandlerOptions, OpsRouteInfo, OpsRouteAccess } from './http/ops-handler.js';
export { OpsAccess, DEFAULT_OPS_ALLOWLIST } from './http/ops-access.js';
export type { OpsAccessOptions, OpsAccessDecision } from './http/ops-access.js';
export { opsRequestOf } from './http/ops-request.js';
export type { OpsRequest, OpsRequestHeaders } from './http/ops-request.js';
export { JSON_CONTENT_TYPE } from './http/ops-response.js';
export type { OpsResponse, OpsErrorBody } from './http/ops-response.js';
export { createOpsRequestListener, startOpsServer } from './http/node-server.js';
export type { OpsServer, OpsServerOptions } from './http/node-server.js';
export { opsExpressMiddleware } from './http/express-middleware.js';
export type { OpsExpressMiddleware, ExpressRequestLike, ExpressResponseLike } from './http/express-middleware.js';
export { opsFastifyPlugin } from './http/fastify-plugin.js';
export type {
  OpsFastifyPlugin,
  FastifyInstanceLike,
  FastifyRequestLike,
  FastifyReplyLike,
  FastifyRouteLike,
} from './http/fastify-plugin.js';
export { poolReadiness } from './http/readyz-route.js';
export type { ReadyzReport, ReadyzPoolReport } from './http/readyz-route.js';
export { POOL_HEALTH_STATUSES, poolHealthStatus } from './http/pool-health-route.js';
export type { PoolHealthReport, PoolHealthStatus } from './http/pool-health-route.js';
export type { HealthDetailsReport } from './http/health-details-route.js';
export type { LivenessReport } from './http/health-route.js';
export type { MetricsSource } from './http/metrics-route.js';
export type { PoolApiView, PoolListReport, SnapshotListReport } from './http/pool-api-routes.js';
export type { RecommendationsReport } from './http/recommendations-route.js';
// The JSON the CLI prints with --format json (documented in docs/reference/cli.md).
export type { InspectReport } from './cli/inspect-report.js';
export type { StressReport } from './cli/stress-report.js';

export { TenantPools, TENANT_POOL_STATES } from './tenants/tenant-pools.js';
export type {
  TenantPoolsStats,
  TenantPoolStats,
  TenantPoolsCounters,
  SystemPoolStats,
  TenantDatabaseResult,
  TenantQueryResult,
  TenantPoolState,
} from './tenants/tenant-pools.js';
export type { TenantPoolsOptions, TenantPgPool, TenantPgPoolConfig, TenantPgPoolConstructor } from './tenants/tenant-pools-config.js';
export { TENANT_EVENT_CHANNELS, TENANT_EVENT_TYPES, TENANT_CLOSE_REASONS, TENANT_EVICTION_REASONS } from './tenants/tenant-pool-events.js';
export type {
  TenantPoolEvent,
  TenantPoolEventType,
  TenantPoolEventOf,
  TenantOpenedEvent,
  TenantEvictedEvent,
  TenantClosedEvent,
  TenantBrokenEvent,
  TenantDatabaseCreatedEvent,
  TenantDatabaseDroppedEvent,
  TenantCloseReason,
  TenantEvictionReason,
} from './tenants/tenant-pool-events.js';
export { quoteIdentifier, tenantDatabaseName, isValidTenantId, maxTenantIdLength, TENANT_ID_PATTERN, MAX_IDENTIFIER_BYTES } from './tenants/tenant-id.js';
