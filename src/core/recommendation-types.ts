import type { LeaseSnapshot } from './lease.js';
import type { PoolHistoryPoint } from './pool-history.js';
import type { PoolStats } from './pool-stats.js';
import type { WorkerPoolSnapshot } from './worker-pool-stats.js';

/**
 * The vocabulary of recommendations: severities, rule ids, what a recommendation says, what the rules read (a pool's
 * stats, history and holders, a worker pool's snapshot, the server's capacity) and the thresholds they use.
 */

export const RECOMMENDATION_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type RecommendationSeverity = (typeof RECOMMENDATION_SEVERITIES)[number];

/** Every rule, by id. */
export const RECOMMENDATION_IDS = [
  'raise-max',
  'investigate-long-holders',
  'fix-misuse',
  'lower-min',
  'server-connection-budget',
  'split-pool',
  // Worker pools (seed 002); `poolName` is then the worker pool's name.
  'worker-pool-utilization',
  'worker-pool-lower-min',
  'worker-memory-high',
  'worker-memory-growth',
  'worker-pool-use-threads',
] as const;
export type RecommendationId = (typeof RECOMMENDATION_IDS)[number];

/** A concrete setting change, when the rule can compute one. */
export interface RecommendedChange {
  readonly option: string;
  readonly from: number;
  readonly to: number;
}

export interface Recommendation {
  readonly id: RecommendationId;
  /** The pool it is about; null for advice about every pool together (the server's budget). */
  readonly poolName: string | null;
  readonly severity: RecommendationSeverity;
  /** One line: what is wrong. */
  readonly title: string;
  /** What the rule saw (numbers, file:line). */
  readonly evidence: readonly string[];
  /** What to do, most likely fix first. */
  readonly fixes: readonly string[];
  readonly change: RecommendedChange | null;
}

/** What the rules read about one pool. History and holders are optional: rules that need them stay silent without. */
export interface PoolRecommendationInput {
  readonly stats: PoolStats;
  /** Samples oldest first (inspector.history(name)). */
  readonly history?: readonly PoolHistoryPoint[];
  /** Held leases right now (snapshot.holders). */
  readonly holders?: readonly LeaseSnapshot[];
}

/** The server's side of the budget (from pg_stat_activity / SHOW max_connections). */
export interface ServerCapacity {
  readonly maxConnections: number;
  /** superuser_reserved_connections + reserved_connections. */
  readonly reservedConnections: number;
  /** How many app instances run these pools (each opens its own). Default 1. */
  readonly instances?: number;
}

/** What the rules read about one worker pool (Piscina, workerpool). */
export interface WorkerPoolRecommendationInput {
  /** Its snapshot: stats, settings and every worker with its memory trend (`inspector.workerPool(name).snapshot()`). */
  readonly snapshot: WorkerPoolSnapshot;
  /** The CPUs its workers share (`os.availableParallelism()`); the advice that sizes against CPUs needs it. */
  readonly cpuCount?: number;
}

export interface RecommendationInput {
  readonly pools: readonly PoolRecommendationInput[];
  /** Worker pools (seed 002's rules); none when absent. */
  readonly workerPools?: readonly WorkerPoolRecommendationInput[];
  readonly server?: ServerCapacity;
}

/** Thresholds the rules use; every field has a default. */
export interface RecommendationThresholds {
  /** Utilization counted as high. Default 80. */
  readonly highUtilizationPercent?: number;
  /** Share of history samples that must be high for "stays high". Default 0.5. */
  readonly sustainedShare?: number;
  /** A holder held longer than this is worth a look. Default 1000. */
  readonly longHoldMillis?: number;
  /** Share of open connections idle, on average, for "idle connections dominate". Default 0.75. */
  readonly idleShare?: number;
  /** Share of the server's usable connections that the pools' maxima may take before a warning. Default 0.8. */
  readonly serverBudgetShare?: number;
  /** Worker pools: average memory per worker (MB) above which it is worth a look (seed 002). Default 100. */
  readonly workerMemoryMb?: number;
  /** Worker pools: growth of one worker's memory across its samples (MB) that reads as a leak. Default 25. */
  readonly workerMemoryGrowthMb?: number;
  /** Worker pools: a queue wait p95 (ms) at or above this counts as tasks waiting for a worker. Default 100. */
  readonly workerQueueWaitMillis?: number;
  /** Worker pools: average utilization since tracking (percent) below which the pool is oversized. Default 20. */
  readonly workerLowUtilizationPercent?: number;
  /** Worker pools: the least time tracked before "low for long" is judged. Default 600000 (10 min). */
  readonly workerLowUtilizationMillis?: number;
  /** Worker pools: child processes per CPU above which a process pool is advised to use threads. Default 2. */
  readonly workerProcessesPerCpu?: number;
}

/** The thresholds with every default filled in, as the rules receive them. */
export type ResolvedRecommendationThresholds = Required<RecommendationThresholds>;
