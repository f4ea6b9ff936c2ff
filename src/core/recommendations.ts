import { availableParallelism } from 'node:os';
import type { Inspector } from './inspector.js';
import type {
  PoolRecommendationInput,
  Recommendation,
  RecommendationInput,
  RecommendationSeverity,
  RecommendationThresholds,
  ResolvedRecommendationThresholds,
  WorkerPoolRecommendationInput,
} from './recommendation-types.js';
import { fixMisuse, investigateLongHolders, lowerMin, raiseMax, serverConnectionBudget, splitPool } from './recommendation-rules.js';
import {
  workerMemoryGrowth,
  workerMemoryHigh,
  workerPoolLowerMin,
  workerPoolUseThreads,
  workerPoolUtilization,
} from './worker-pool-recommendation-rules.js';

/**
 * Recommendations: pure rules over a pool's stats, history and holders (and, when known, the server's connection
 * limit), each giving a severity, the evidence it saw and numbered fixes, in the style of DBConnection's queue
 * error ("You can address this by: 1. ... 2. ...").
 */

export { RECOMMENDATION_IDS, RECOMMENDATION_SEVERITIES } from './recommendation-types.js';
export type {
  PoolRecommendationInput,
  Recommendation,
  RecommendationId,
  RecommendationInput,
  RecommendationSeverity,
  RecommendationThresholds,
  RecommendedChange,
  ServerCapacity,
  WorkerPoolRecommendationInput,
} from './recommendation-types.js';
export { fixMisuse, investigateLongHolders, lowerMin, raiseMax, serverConnectionBudget, splitPool } from './recommendation-rules.js';
export {
  workerMemoryGrowth,
  workerMemoryHigh,
  workerPoolLowerMin,
  workerPoolUseThreads,
  workerPoolUtilization,
} from './worker-pool-recommendation-rules.js';

/**
 * The rules' input for the inspector's pools (every one, or those named): each pool's stats and holders from one
 * snapshot (so they describe the same moment) and its history. Names no longer tracked are skipped.
 */
export function poolRecommendationInputs(inspector: Inspector, names: readonly string[] = inspector.poolNames()): PoolRecommendationInput[] {
  return names.flatMap((name): PoolRecommendationInput[] => {
    if (inspector.pool(name) === undefined) return [];
    const snapshot = inspector.snapshot(name);
    return [{ stats: snapshot.stats, history: inspector.history(name), holders: snapshot.holders }];
  });
}

/**
 * The rules' input for the inspector's worker pools (every one, or those named): each pool's snapshot (its memory is
 * the latest sample, as any read) and this machine's CPU count. Names no longer tracked are skipped.
 */
export function workerPoolRecommendationInputs(
  inspector: Inspector,
  names: readonly string[] = inspector.workerPoolNames(),
): WorkerPoolRecommendationInput[] {
  const cpuCount = availableParallelism();
  return names.flatMap((name): WorkerPoolRecommendationInput[] => {
    const view = inspector.workerPool(name);
    return view === undefined ? [] : [{ snapshot: view.snapshot(), cpuCount }];
  });
}

const WORKER_POOL_RULES = [workerPoolUtilization, workerMemoryGrowth, workerMemoryHigh, workerPoolUseThreads, workerPoolLowerMin] as const;

const SEVERITY_ORDER: Record<RecommendationSeverity, number> = { critical: 0, warning: 1, info: 2 };

/**
 * Runs every rule; the result is ordered critical first, then by pool in input order (connection pools, then worker
 * pools).
 */
export function recommend(input: RecommendationInput, thresholds: RecommendationThresholds = {}): Recommendation[] {
  const t: ResolvedRecommendationThresholds = {
    highUtilizationPercent: thresholds.highUtilizationPercent ?? 80,
    sustainedShare: thresholds.sustainedShare ?? 0.5,
    longHoldMillis: thresholds.longHoldMillis ?? 1000,
    idleShare: thresholds.idleShare ?? 0.75,
    serverBudgetShare: thresholds.serverBudgetShare ?? 0.8,
    workerMemoryMb: thresholds.workerMemoryMb ?? 100,
    workerMemoryGrowthMb: thresholds.workerMemoryGrowthMb ?? 25,
    workerQueueWaitMillis: thresholds.workerQueueWaitMillis ?? 100,
    workerLowUtilizationPercent: thresholds.workerLowUtilizationPercent ?? 20,
    workerLowUtilizationMillis: thresholds.workerLowUtilizationMillis ?? 600_000,
    workerProcessesPerCpu: thresholds.workerProcessesPerCpu ?? 2,
  };
  const out: Recommendation[] = [];
  for (const pool of input.pools) {
    for (const rule of [raiseMax, investigateLongHolders, fixMisuse, lowerMin, splitPool]) {
      const found = rule(pool, t);
      if (found !== null) out.push(found);
    }
  }
  for (const pool of input.workerPools ?? []) {
    for (const rule of WORKER_POOL_RULES) {
      const found = rule(pool, t);
      if (found !== null) out.push(found);
    }
  }
  if (input.server !== undefined) {
    const found = serverConnectionBudget(input.pools, input.server, t);
    if (found !== null) out.push(found);
  }
  return out
    .map((recommendation, index) => ({ recommendation, index }))
    .sort((a, b) => SEVERITY_ORDER[a.recommendation.severity] - SEVERITY_ORDER[b.recommendation.severity] || a.index - b.index)
    .map(({ recommendation }) => recommendation);
}

/** DBConnection-style text: the title, the evidence, then "You can address this by:" and numbered fixes. */
export function formatRecommendation(recommendation: Recommendation): string {
  const lines = [`[${recommendation.severity.toUpperCase()}] ${recommendation.title}`];
  for (const item of recommendation.evidence) lines.push(`  - ${item}`);
  lines.push('  You can address this by:');
  recommendation.fixes.forEach((fix, index) => lines.push(`    ${index + 1}. ${fix}`));
  return lines.join('\n');
}
