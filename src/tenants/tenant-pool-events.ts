import { ChannelEventBus } from '../core/event-bus.js';

/**
 * What `TenantPools` reports: a typed union published to `tenantPools.on(type, listener)` and to one named
 * `node:diagnostics_channel` per type (`poolscope:tenant:<what>`). Listeners that throw go to `onError`.
 */

/** Why a tenant pool was closed. */
export const TENANT_CLOSE_REASONS = ['evicted', 'idle-timeout', 'close-tenant', 'close', 'broken', 'dropped', 'connect-failed'] as const;
export type TenantCloseReason = (typeof TENANT_CLOSE_REASONS)[number];

/** Why a tenant pool was evicted: to make room under `maxTenantPools` or `connectionBudget`, or idle too long. */
export const TENANT_EVICTION_REASONS = ['pool-limit', 'connection-budget', 'idle-timeout'] as const;
export type TenantEvictionReason = (typeof TENANT_EVICTION_REASONS)[number];

/** A tenant pool was created, verified (one connection opened) and handed out. */
export interface TenantOpenedEvent {
  readonly type: 'tenant-opened';
  readonly tenantId: string;
  readonly poolName: string;
  readonly database: string;
  readonly max: number;
}

/** A tenant pool is being closed to make room (LRU) or because it was idle; `tenant-closed` follows. */
export interface TenantEvictedEvent {
  readonly type: 'tenant-evicted';
  readonly tenantId: string;
  readonly poolName: string;
  readonly reason: TenantEvictionReason;
  /** The tenant that needed the room (null for idle-timeout). */
  readonly forTenantId: string | null;
  /** How long the pool had not been used. */
  readonly idleMillis: number;
}

/** A tenant pool has ended: its server connections are closed. */
export interface TenantClosedEvent {
  readonly type: 'tenant-closed';
  readonly tenantId: string;
  readonly poolName: string;
  readonly reason: TenantCloseReason;
}

/** A tenant pool was found broken (its connections fail) and is being replaced; the next `get()` opens a new one. */
export interface TenantBrokenEvent {
  readonly type: 'tenant-broken';
  readonly tenantId: string;
  readonly poolName: string;
  /** The PostgreSQL SQLSTATE or Node error code, when there is one (e.g. `3D000`: the database does not exist). */
  readonly code: string | null;
  readonly message: string;
}

/** `ensureDatabase()` created a tenant database (not emitted when it already existed). */
export interface TenantDatabaseCreatedEvent {
  readonly type: 'tenant-database-created';
  readonly tenantId: string;
  readonly database: string;
}

/** `dropDatabase()` dropped a tenant database (not emitted when it did not exist). */
export interface TenantDatabaseDroppedEvent {
  readonly type: 'tenant-database-dropped';
  readonly tenantId: string;
  readonly database: string;
}

/** Every event `TenantPools` emits. */
export type TenantPoolEvent =
  | TenantOpenedEvent
  | TenantEvictedEvent
  | TenantClosedEvent
  | TenantBrokenEvent
  | TenantDatabaseCreatedEvent
  | TenantDatabaseDroppedEvent;

export type TenantPoolEventType = TenantPoolEvent['type'];

/** The event of a given type. */
export type TenantPoolEventOf<T extends TenantPoolEventType> = Extract<TenantPoolEvent, { type: T }>;

/** The `node:diagnostics_channel` name of each tenant event type. */
export const TENANT_EVENT_CHANNELS = {
  'tenant-opened': 'poolscope:tenant:opened',
  'tenant-evicted': 'poolscope:tenant:evicted',
  'tenant-closed': 'poolscope:tenant:closed',
  'tenant-broken': 'poolscope:tenant:broken',
  'tenant-database-created': 'poolscope:tenant:database-created',
  'tenant-database-dropped': 'poolscope:tenant:database-dropped',
} as const satisfies Record<TenantPoolEventType, string>;

/** Every tenant event type, in catalogue order. */
export const TENANT_EVENT_TYPES = Object.keys(TENANT_EVENT_CHANNELS) as TenantPoolEventType[];

/** One TenantPools' dispatch: typed listeners plus the diagnostics channels; listener errors go to `onError`. */
export class TenantEventBus extends ChannelEventBus<TenantPoolEvent> {
  constructor(onError: (error: unknown) => void) {
    super(TENANT_EVENT_CHANNELS, onError);
  }
}
