import type { AlertSnapshot } from '../core/alert-rules.js';
import type { Inspector } from '../core/inspector.js';
import { utilizationPercent } from '../core/pool-health.js';
import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';
import type { PoolHealthReport, PoolHealthStatus } from './pool-health-route.js';
import { poolHealthReport, worstPoolHealthStatus } from './pool-health-route.js';

/** The body of `GET /health/details`. */
export interface HealthDetailsReport {
  /** The worst status of the pools (`healthy` when none is tracked). */
  readonly status: PoolHealthStatus;
  readonly timestamp: string;
  /** Seed 004's summary, summed over every pool. */
  readonly connectionPool: {
    readonly activeConnections: number;
    readonly idleConnections: number;
    readonly waitingRequests: number;
    readonly totalConnections: number;
    /** Sum of the pools' max. */
    readonly poolSize: number;
    /** Sum of used / sum of max, whole percent. */
    readonly utilization: number;
  };
  /** `GET /health/pool` of every pool, by name. */
  readonly pools: Readonly<Record<string, PoolHealthReport>>;
  /** Pending and firing alerts (`inspector.activeAlerts()`), firing first. */
  readonly alerts: readonly AlertSnapshot[];
}

/** `GET /health/details`: every pool's health, the totals and the active alerts. Always 200. */
export function healthDetailsRoute(inspector: Inspector): OpsResponse {
  const reports = inspector.poolNames().flatMap((name) => {
    const tracker = inspector.pool(name);
    return tracker === undefined ? [] : [poolHealthReport(tracker)];
  });
  let active = 0;
  let idle = 0;
  let waiting = 0;
  let total = 0;
  let size = 0;
  for (const report of reports) {
    active += report.metrics.activeConnections;
    idle += report.metrics.idleConnections;
    waiting += report.metrics.waitingRequests;
    total += report.metrics.totalConnections;
    size += report.metrics.poolSize;
  }
  const body: HealthDetailsReport = {
    status: worstPoolHealthStatus(reports.map((report) => report.status)),
    timestamp: new Date().toISOString(),
    connectionPool: {
      activeConnections: active,
      idleConnections: idle,
      waitingRequests: waiting,
      totalConnections: total,
      poolSize: size,
      utilization: utilizationPercent(active, size),
    },
    // fromEntries defines own properties, so a pool named `__proto__` stays an ordinary key.
    pools: Object.fromEntries(reports.map((report) => [report.poolName, report])),
    alerts: inspector.activeAlerts(),
  };
  return jsonResponse(200, body);
}
