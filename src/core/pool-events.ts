import { ChannelEventBus } from './event-bus.js';
import type { LeaseSnapshot } from './lease.js';
import type { OwnerSnapshot } from './owner-context.js';
import type { PoolStats } from './pool-stats.js';
import type { PoolSnapshot } from './pool-snapshot.js';
import type { AlertSnapshot } from './alert-rules.js';
import type { DirtyReleasePolicy } from './pool-tracker-options.js';
import type {
  WorkerCapacityReachedEvent,
  WorkerExitedEvent,
  WorkerPoolSaturatedEvent,
  WorkerPoolTrackedEvent,
  WorkerPoolUntrackedEvent,
  WorkerTaskExecutedEvent,
} from './worker-pool-events.js';

export type {
  WorkerCapacityReachedEvent,
  WorkerExitedEvent,
  WorkerPoolSaturatedEvent,
  WorkerPoolTrackedEvent,
  WorkerPoolUntrackedEvent,
  WorkerTaskExecutedEvent,
} from './worker-pool-events.js';

/**
 * Everything poolscope reports, as a typed union, published to `inspector.on(type, listener)` and to a named
 * `node:diagnostics_channel` per type. Payloads are built only when someone listens.
 */

export interface LeaseAcquiredEvent {
  readonly type: 'lease-acquired';
  readonly poolName: string;
  readonly lease: LeaseSnapshot;
}

export interface LeaseReleasedEvent {
  readonly type: 'lease-released';
  readonly poolName: string;
  readonly lease: LeaseSnapshot;
  /** True when the release destroyed the connection (`release(err)`, or a dirty release with `onDirtyRelease: 'destroy'`). */
  readonly destroyed: boolean;
}

/** A lease has been held longer than `leakThresholdMillis` (once per lease, HikariCP semantics). */
export interface LeakSuspectedEvent {
  readonly type: 'leak-suspected';
  readonly poolName: string;
  readonly lease: LeaseSnapshot;
  readonly thresholdMillis: number;
  readonly message: string;
}

/** A lease earlier reported as a suspected leak was returned ("unleaked"). */
export interface LeakReturnedEvent {
  readonly type: 'leak-returned';
  readonly poolName: string;
  readonly lease: LeaseSnapshot;
  readonly message: string;
}

/** A connection was released inside an open or failed transaction. */
export interface DirtyReleaseEvent {
  readonly type: 'dirty-release';
  readonly poolName: string;
  readonly lease: LeaseSnapshot;
  /** Where `release()` was called. */
  readonly releaseLocation: string | null;
  /** True when the connection was destroyed instead of returned (`onDirtyRelease: 'destroy'`). */
  readonly destroyed: boolean;
  /** What was done with the connection (`onDirtyRelease`): returned as is, rolled back first, or destroyed. */
  readonly action: DirtyReleasePolicy;
  readonly message: string;
}

/**
 * A checkout received a connection still inside a transaction that an earlier lease left open (a dirty release
 * with `onDirtyRelease: 'report'`). Reported once per dirty release, naming the lease that left it open; the
 * holders that merely inherit it are not reported as dirty releases of their own.
 */
export interface InheritedTransactionEvent {
  readonly type: 'inherited-transaction';
  readonly poolName: string;
  /** The checkout that received the open transaction. */
  readonly lease: LeaseSnapshot;
  /** The lease that released the connection inside the transaction (its owner, acquire site, release site). */
  readonly leftOpenBy: LeaseSnapshot;
  /** Where the earlier lease called `release()`. */
  readonly releaseLocation: string | null;
  /** The statement that opened the transaction (BEGIN ...), when poolscope saw it. */
  readonly openedBy: string | null;
  readonly message: string;
}

/** `release()` was called again for a checkout already released. */
export interface DoubleReleaseEvent {
  readonly type: 'double-release';
  readonly poolName: string;
  readonly lease: LeaseSnapshot;
  readonly releaseLocation: string | null;
  readonly message: string;
}

/**
 * A release that hit someone else's checkout: a stale release of a connection since handed to another lease, or a
 * release from an owner scope other than the one holding the lease.
 */
export interface ForeignReleaseEvent {
  readonly type: 'foreign-release';
  readonly poolName: string;
  /** The lease that was (or would have been) released. */
  readonly lease: LeaseSnapshot;
  /** The owner in whose scope `release()` ran. */
  readonly releasedBy: OwnerSnapshot | null;
  readonly releaseLocation: string | null;
  readonly message: string;
}

/**
 * A resource the pool never lent was given back to it (a resource of another pool, or an object that only looks like
 * one): the pool refused it. No lease is involved. Reported by adapters whose pools can tell (tarn, generic-pool).
 */
export interface UnknownReleaseEvent {
  readonly type: 'unknown-release';
  readonly poolName: string;
  /** The owner in whose scope the release ran. */
  readonly releasedBy: OwnerSnapshot | null;
  readonly releaseLocation: string | null;
  readonly message: string;
}

/** `release()` was called while queries sent on the connection had not completed (a missing `await`). */
export interface ReleaseInFlightEvent {
  readonly type: 'release-in-flight';
  readonly poolName: string;
  readonly lease: LeaseSnapshot;
  readonly releaseLocation: string | null;
  readonly message: string;
}

/** An owner scope (request, job) ended while still holding a lease. */
export interface OwnerEndedHoldingEvent {
  readonly type: 'owner-ended-holding';
  readonly poolName: string;
  readonly owner: OwnerSnapshot;
  readonly lease: LeaseSnapshot;
  readonly message: string;
}

/** A caller waited `connectionTimeoutMillis` and got pg's timeout error. */
export interface AcquireTimeoutEvent {
  readonly type: 'acquire-timeout';
  readonly poolName: string;
  readonly waitMillis: number;
  readonly waiterLocation: string | null;
  readonly stats: PoolStats;
  /** The longest holders at the time, longest first (at most 5). */
  readonly holders: readonly LeaseSnapshot[];
  readonly message: string;
}

/** Utilization reached the saturation threshold, or callers are queued. Followed by a snapshot. */
export interface SaturatedEvent {
  readonly type: 'saturated';
  readonly poolName: string;
  readonly stats: PoolStats;
}

/** A snapshot was taken automatically (saturation) and stored in the ring buffer. */
export interface SnapshotTakenEvent {
  readonly type: 'snapshot-taken';
  readonly poolName: string;
  readonly snapshot: PoolSnapshot;
}

/** A query finished on a leased connection. */
export interface QueryExecutedEvent {
  readonly type: 'query-executed';
  readonly poolName: string;
  readonly leaseId: number;
  readonly text: string;
  readonly durationMillis: number;
  readonly ok: boolean;
}

/** A leased or idle connection emitted `'error'`, or connecting failed. */
export interface ConnectionErrorEvent {
  readonly type: 'connection-error';
  readonly poolName: string;
  readonly leaseId: number | null;
  readonly message: string;
}

/** A pool was registered with the inspector (exporters start reporting it). */
export interface PoolTrackedEvent {
  readonly type: 'pool-tracked';
  readonly poolName: string;
  readonly driver: string;
}

/** A pool was untracked (`untrack`, or the inspector closed); its metrics disappear. */
export interface PoolUntrackedEvent {
  readonly type: 'pool-untracked';
  readonly poolName: string;
}

/** An alert rule's condition held for its duration (`for:`) on a pool. */
export interface AlertFiringEvent {
  readonly type: 'alert-firing';
  readonly poolName: string;
  readonly alert: AlertSnapshot;
  readonly message: string;
}

/** A firing alert's condition no longer holds (or its pool went away). */
export interface AlertResolvedEvent {
  readonly type: 'alert-resolved';
  readonly poolName: string;
  readonly alert: AlertSnapshot;
  /** How long it fired. */
  readonly firingMillis: number;
  readonly message: string;
}

/** Every event poolscope emits. */
export type PoolscopeEvent =
  | LeaseAcquiredEvent
  | LeaseReleasedEvent
  | LeakSuspectedEvent
  | LeakReturnedEvent
  | DirtyReleaseEvent
  | InheritedTransactionEvent
  | DoubleReleaseEvent
  | ForeignReleaseEvent
  | UnknownReleaseEvent
  | ReleaseInFlightEvent
  | OwnerEndedHoldingEvent
  | AcquireTimeoutEvent
  | SaturatedEvent
  | SnapshotTakenEvent
  | QueryExecutedEvent
  | ConnectionErrorEvent
  | PoolTrackedEvent
  | PoolUntrackedEvent
  | AlertFiringEvent
  | AlertResolvedEvent
  | WorkerPoolSaturatedEvent
  | WorkerCapacityReachedEvent
  | WorkerTaskExecutedEvent
  | WorkerExitedEvent
  | WorkerPoolTrackedEvent
  | WorkerPoolUntrackedEvent;

export type PoolscopeEventType = PoolscopeEvent['type'];

/** The event of a given type. */
export type PoolscopeEventOf<T extends PoolscopeEventType> = Extract<PoolscopeEvent, { type: T }>;

/** The `node:diagnostics_channel` name of each event type. Subscribe with `diagnostics_channel.subscribe(name, fn)`. */
export const EVENT_CHANNELS = {
  'lease-acquired': 'poolscope:lease:acquired',
  'lease-released': 'poolscope:lease:released',
  'leak-suspected': 'poolscope:leak:suspected',
  'leak-returned': 'poolscope:leak:returned',
  'dirty-release': 'poolscope:release:dirty',
  'inherited-transaction': 'poolscope:checkout:inherited-transaction',
  'double-release': 'poolscope:release:double',
  'foreign-release': 'poolscope:release:foreign',
  'unknown-release': 'poolscope:release:unknown',
  'release-in-flight': 'poolscope:release:in-flight',
  'owner-ended-holding': 'poolscope:owner:ended-holding',
  'acquire-timeout': 'poolscope:acquire:timeout',
  saturated: 'poolscope:pool:saturated',
  'snapshot-taken': 'poolscope:snapshot:taken',
  'query-executed': 'poolscope:query:executed',
  'connection-error': 'poolscope:connection:error',
  'pool-tracked': 'poolscope:pool:tracked',
  'pool-untracked': 'poolscope:pool:untracked',
  'alert-firing': 'poolscope:alert:firing',
  'alert-resolved': 'poolscope:alert:resolved',
  'worker-pool-saturated': 'poolscope:worker-pool:saturated',
  'worker-capacity-reached': 'poolscope:worker:capacity-reached',
  'worker-task-executed': 'poolscope:worker:task-executed',
  'worker-exited': 'poolscope:worker:exited',
  'worker-pool-tracked': 'poolscope:worker-pool:tracked',
  'worker-pool-untracked': 'poolscope:worker-pool:untracked',
} as const satisfies Record<PoolscopeEventType, string>;

/** Every event type, in catalogue order. */
export const EVENT_TYPES = Object.keys(EVENT_CHANNELS) as PoolscopeEventType[];

export { ChannelEventBus, EventTopic } from './event-bus.js';

/** An inspector's events (`EVENT_CHANNELS`). */
export class EventBus extends ChannelEventBus<PoolscopeEvent> {
  constructor(onError: (error: unknown) => void) {
    super(EVENT_CHANNELS, onError);
  }
}
