import type { LeaseSnapshot } from '../core/lease.js';
import type { PoolscopeEvent, PoolscopeEventType } from '../core/pool-events.js';
import type { PoolHistoryPoint } from '../core/pool-history.js';
import type { PoolSnapshot } from '../core/pool-snapshot.js';
import type { PoolStats } from '../core/pool-stats.js';
import type { PoolView } from '../core/pool-view.js';
import type { WorkerProfile } from '../core/worker-pool-adapter.js';
import type { WorkerPoolStats, WorkerSnapshot } from '../core/worker-pool-stats.js';
import type { WorkerPoolView } from '../core/worker-pool-view.js';

/** The data of the dashboard stream's events (docs/reference/http.md, "The dashboard stream"). */

/** The event types the stream's feed carries (everything a person acts on; not lease-acquired/released/query). */
export const FEED_EVENT_TYPES = [
  'leak-suspected',
  'leak-returned',
  'owner-ended-holding',
  'dirty-release',
  'double-release',
  'foreign-release',
  'release-in-flight',
  'inherited-transaction',
  'acquire-timeout',
  'saturated',
  'snapshot-taken',
  'alert-firing',
  'alert-resolved',
  'pool-tracked',
  'pool-untracked',
  'connection-error',
] as const satisfies readonly PoolscopeEventType[];
export type FeedEventType = (typeof FEED_EVENT_TYPES)[number];

/** One entry of the event feed (`event` frames, and `state.events`). */
export interface FeedItem {
  /** Increasing per stream. */
  readonly id: number;
  readonly at: string;
  readonly type: FeedEventType;
  readonly poolName: string | null;
  readonly message: string | null;
  readonly leaseId: number | null;
  readonly snapshotId: number | null;
  /** The user's file:line of the lease concerned (its acquire site), when known. */
  readonly location: string | null;
}

/** A lease as `/api/snapshot` has it, plus flat fields for tables. */
export interface StreamLease extends LeaseSnapshot {
  /** = heldMillis */
  readonly heldForMillis: number;
  readonly queryText: string | null;
  readonly transactionStatus: string;
  readonly transactionDepth: number | null;
}

/** A history sample with its time as a number, and running sums the page can difference. */
export interface StreamHistoryPoint extends PoolHistoryPoint {
  readonly wallMillis: number;
  /** Sum of `acquires` over the points sent to this client so far (differences are what count). */
  readonly acquiresTotal: number;
  /** Sum of `timeouts` over the points sent to this client so far. */
  readonly timeoutsTotal: number;
}

/** One pool in `state` and `tick`. */
export interface PoolFrame {
  readonly poolName: string;
  readonly driver: string;
  readonly stats: PoolStats;
  readonly holders: readonly StreamLease[];
  readonly waiters: readonly StreamLease[];
  /** On `state`: the whole retained history; on `tick`: the points since the previous frame sent to this client. */
  readonly history: readonly StreamHistoryPoint[];
}

/** One worker pool in `state` and `tick` (`workerPools`): its stats and its live workers. */
export interface WorkerPoolFrame {
  readonly poolName: string;
  readonly driver: string;
  readonly profile: WorkerProfile;
  readonly stats: WorkerPoolStats;
  /** The live workers by id (exited ones are left out: `stats.counters` counts them). */
  readonly workers: readonly WorkerSnapshot[];
}

/** What the stream reads of worker pools (an Inspector has both). */
export interface WorkerPoolSource {
  workerPoolNames?(): string[];
  workerPool?(name: string): WorkerPoolView | undefined;
}

/** Every tracked worker pool now; one that cannot be read is left out and its error handed to `onError`. */
export function readWorkerPools(source: WorkerPoolSource, onError: (error: unknown) => void): WorkerPoolFrame[] {
  const frames: WorkerPoolFrame[] = [];
  for (const name of source.workerPoolNames?.() ?? []) {
    const view = source.workerPool?.(name);
    if (view === undefined || view.closed) continue;
    try {
      const snapshot = view.snapshot();
      const workers = snapshot.workers.filter((worker) => worker.status !== 'exited');
      frames.push({ poolName: view.name, driver: view.driver, profile: view.profile, stats: snapshot.stats, workers });
    } catch (error) {
      onError(error);
    }
  }
  return frames;
}

/** A stored (automatic) snapshot, in brief. */
export interface SnapshotSummary {
  readonly id: number;
  readonly poolName: string;
  readonly takenAt: string;
  readonly reason: string;
  readonly holders: number;
  readonly waiters: number;
}

/** What a tick computes once per pool for every client: everything but the history. */
export interface PoolReading {
  readonly poolName: string;
  readonly driver: string;
  readonly stats: PoolStats;
  readonly holders: readonly StreamLease[];
  readonly waiters: readonly StreamLease[];
}

/** One client's place in a pool's history: the last sample sent, and the running sums. */
export interface HistoryCursor {
  lastWallMillis: number;
  acquiresTotal: number;
  timeoutsTotal: number;
}

function streamLease(lease: LeaseSnapshot): StreamLease {
  return {
    ...lease,
    heldForMillis: lease.heldMillis,
    queryText: lease.query?.text ?? null,
    transactionStatus: lease.transaction.status,
    transactionDepth: lease.transaction.depth,
  };
}

/** Reads a pool now (stats and a snapshot of holders and waiters). */
export function readPool(view: PoolView): PoolReading {
  const snapshot = view.snapshot('manual');
  return {
    poolName: view.name,
    driver: view.driver,
    stats: snapshot.stats,
    holders: snapshot.holders.map(streamLease),
    waiters: snapshot.waiters.map(streamLease),
  };
}

/** The points of `view` after `cursor` (all when new), advancing the cursor. */
export function historySince(view: PoolView, cursor: HistoryCursor): StreamHistoryPoint[] {
  const since = cursor.lastWallMillis === Number.NEGATIVE_INFINITY ? undefined : cursor.lastWallMillis + 1;
  const out: StreamHistoryPoint[] = [];
  for (const point of view.history(since)) {
    const wallMillis = Date.parse(point.timestamp);
    if (wallMillis <= cursor.lastWallMillis) continue;
    cursor.lastWallMillis = wallMillis;
    cursor.acquiresTotal += point.acquires;
    cursor.timeoutsTotal += point.timeouts;
    out.push({ ...point, wallMillis, acquiresTotal: cursor.acquiresTotal, timeoutsTotal: cursor.timeoutsTotal });
  }
  return out;
}

/** A new cursor (before the first sample). */
export function newHistoryCursor(): HistoryCursor {
  return { lastWallMillis: Number.NEGATIVE_INFINITY, acquiresTotal: 0, timeoutsTotal: 0 };
}

export function snapshotSummary(snapshot: PoolSnapshot): SnapshotSummary {
  return {
    id: snapshot.id,
    poolName: snapshot.poolName,
    takenAt: snapshot.takenAt,
    reason: snapshot.reason,
    holders: snapshot.holders.length,
    waiters: snapshot.waiters.length,
  };
}

/** The feed item of an event (`id` and `at` given by the stream). */
export function feedItem(id: number, at: string, event: Extract<PoolscopeEvent, { type: FeedEventType }>): FeedItem {
  const lease = 'lease' in event ? event.lease : undefined;
  let message: string | null = 'message' in event ? event.message : null;
  let snapshotId: number | null = null;
  let leaseId: number | null = lease?.id ?? null;
  switch (event.type) {
    case 'saturated':
      message = `${event.poolName} saturated: ${event.stats.used}/${event.stats.max} in use, ${event.stats.pending} waiting`;
      break;
    case 'snapshot-taken':
      snapshotId = event.snapshot.id;
      message = `snapshot #${event.snapshot.id} (${event.snapshot.reason}): ${event.snapshot.holders.length} holders, ${event.snapshot.waiters.length} waiters`;
      break;
    case 'pool-tracked':
      message = `pool ${event.poolName} tracked (${event.driver})`;
      break;
    case 'pool-untracked':
      message = `pool ${event.poolName} untracked`;
      break;
    case 'connection-error':
      leaseId = event.leaseId;
      break;
    default:
      break;
  }
  const location = lease?.location ?? (event.type === 'acquire-timeout' ? event.waiterLocation : null);
  return { id, at, type: event.type, poolName: event.poolName, message, leaseId, snapshotId, location };
}
