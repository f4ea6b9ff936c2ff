// poolscope: the names of the quick start (README.md) and the vocabulary they report in. Everything else lives on
// a subpath, one home per name (docs/reference/api.md, "Subpaths"): poolscope/http, poolscope/tenants,
// poolscope/config, poolscope/server, poolscope/cluster, poolscope/mysql2, poolscope/tarn, poolscope/generic-pool,
// poolscope/prometheus, poolscope/otel, poolscope/testing, poolscope/cli (types).
// Loading this module never loads an optional peer (pg, prom-client, @opentelemetry/api, express, fastify).
// Explicit named exports only; types with `export type`.

// Track a pg.Pool, and what an inspector reports.
export { Inspector } from './core/inspector.js';
export type { InspectorOptions, AlertOptions, HttpRequestLike, HttpResponseLike } from './core/inspector.js';
export { trackPgPool } from './adapters/pg/pg-adapter.js';
export type { PoolTrackingOptions, PoolTrackingDefaults } from './core/pool-tracker-options.js';
export type { QueryCommentOptions, QueryCommentField, QueryCommentLease, QueryCommentOtelApi } from './core/query-comment-options.js';
export type { PoolView } from './core/pool-view.js';
export type { PoolTracker, AcquireTimeoutReport, DurationKind, DurationListener } from './core/pool-tracker.js';
export type { PoolAdapter } from './core/pool-adapter.js';
export type { PoolStats, PoolCounters } from './core/pool-stats.js';
export { SNAPSHOT_REASONS } from './core/pool-snapshot.js';
export type { PoolSnapshot, InspectorSnapshot, MultiPoolOwner, PoolConfigSnapshot, SnapshotReason } from './core/pool-snapshot.js';
export { LEASE_STATES, TRANSACTION_STATUSES } from './core/lease.js';
export type { LeaseSnapshot, LeaseState, TransactionStatus } from './core/lease.js';
export type { OwnerOptions, OwnerSnapshot } from './core/owner-context.js';
export type { DistributionSnapshot } from './core/histogram.js';
export { HEALTH_LEVELS } from './core/pool-health.js';
export type { HealthLevel } from './core/pool-health.js';
export type { PoolHistoryPoint } from './core/pool-history.js';
export { STACK_CAPTURE_MODES } from './core/stack-capture.js';
export type { StackCaptureMode, FormattedStack } from './core/stack-capture.js';
export type { ReachabilityReport, ProbeSkipReason } from './core/reachability-probe.js';
export type { Clock } from './core/monotonic-clock.js';
// Worker pools (Piscina, workerpool): what inspector.workerPool(name) reads; the adapters are on poolscope/piscina and
// poolscope/workerpool, the worker helper on poolscope/worker.
export type { WorkerPoolView } from './core/worker-pool-view.js';
export type { WorkerPoolHistoryPoint } from './core/worker-pool-history.js';
export type { WorkerDurationKind, WorkerDurationListener } from './core/worker-pool-state.js';
export type { WorkerPoolTracker, WorkerExit, WorkerTask } from './core/worker-pool-tracker.js';
export type { WorkerPoolAdapter, WorkerPoolConfigSnapshot, WorkerProfile, WorkerReading, WorkerStatus } from './core/worker-pool-adapter.js';
export type { WorkerPoolTrackingOptions } from './core/worker-pool-options.js';
export type { WorkerPoolLevel, WorkerPoolThresholds } from './core/worker-pool-level.js';
export type {
  WorkerPoolStats,
  WorkerPoolCounters,
  WorkerPoolMemorySummary,
  WorkerPoolSnapshot,
  WorkerSnapshot,
  WorkerMemoryStatus,
  WorkerMemorySource,
  WorkerMemoryTrend,
} from './core/worker-pool-stats.js';

// The pg helpers.
export { withClient, withTransaction, savepointDepth, ISOLATION_LEVELS } from './adapters/pg/pg-transactions.js';
export type { IsolationLevel, TransactionOptions } from './adapters/pg/pg-transactions.js';
export { acquireTimeoutReportOf, pgApplicationNameOf } from './adapters/pg/pg-adapter.js';
export type { PgApplicationNameResolution, PgApplicationNameSource } from './adapters/pg/pg-adapter.js';
export type { PgPoolLike, PgPoolClientLike, PgConnectable, PgQueryable, PgClientOf } from './adapters/pg/pg-types.js';

// Events.
export { EVENT_TYPES, EVENT_CHANNELS } from './core/pool-events.js';
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
  WorkerPoolSaturatedEvent,
  WorkerCapacityReachedEvent,
  WorkerTaskExecutedEvent,
  WorkerExitedEvent,
  WorkerPoolTrackedEvent,
  WorkerPoolUntrackedEvent,
} from './core/pool-events.js';

// Alerts and recommendations.
export { DEFAULT_ALERT_RULES, utilizationAboveRule, callersWaitingRule } from './core/alert-rules.js';
export type { AlertRule, AlertSeverity, AlertSnapshot, AlertTransition } from './core/alert-rules.js';
export { recommend, poolRecommendationInputs, workerPoolRecommendationInputs, formatRecommendation, RECOMMENDATION_IDS } from './core/recommendations.js';
export type {
  Recommendation,
  RecommendationId,
  RecommendationSeverity,
  RecommendedChange,
  RecommendationInput,
  PoolRecommendationInput,
  WorkerPoolRecommendationInput,
  ServerCapacity,
  RecommendationThresholds,
} from './core/recommendations.js';

// Logs and the metric catalogue (the exporters themselves: poolscope/prometheus, poolscope/otel).
export { StatsLogger } from './exporters/stats-logger.js';
export type { StatsLoggerOptions, StatsLogFields } from './exporters/stats-logger.js';
export type { PoolscopeLogger } from './core/logger.js';
export { METRIC_CATALOG, WORKER_POOL_METRIC_CATALOG, DEFAULT_DURATION_BUCKETS_SECONDS } from './exporters/metric-catalog.js';
export type {
  MetricDefinition,
  ScalarMetricDefinition,
  PerStateMetricDefinition,
  HistogramMetricDefinition,
  PrometheusMetricType,
  OtelInstrumentKind,
  ConnectionState,
  WorkerPoolMetricDefinition,
  WorkerPoolScalarMetricDefinition,
  WorkerPoolPerStatusMetricDefinition,
  WorkerPoolHistogramMetricDefinition,
  WorkerMetricDefinition,
  LiveWorkerStatus,
} from './exporters/metric-catalog.js';

// The errors the calls above throw or reject with (each subpath exports the errors of its own calls).
export {
  ERROR_CODES,
  PoolscopeError,
  PoolNameError,
  PoolTrackingError,
  OptionsError,
  InspectorClosedError,
  TransactionRollbackError,
  ConnectionDestroyedError,
  PoolPingError,
  PgUnavailableError,
} from './errors.js';
export type { PoolscopeErrorCode } from './errors.js';
