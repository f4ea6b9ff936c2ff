// poolscope/tenants: one pg pool per tenant (database per tenant), with admission limits, a connection budget,
// LRU eviction, health and database DDL. Built on the pg adapter (src/adapters/pg): see
// docs/reference/architecture.md for the layers. See docs/reference/tenants.md.

export { TenantPools, TENANT_POOL_STATES } from './tenant-pools.js';
export type {
  TenantPoolsStats,
  TenantPoolStats,
  TenantPoolsCounters,
  SystemPoolStats,
  TenantDatabaseResult,
  TenantQueryResult,
  TenantPoolState,
} from './tenant-pools.js';
export type { TenantPoolsOptions, TenantPgPool, TenantPgPoolConfig, TenantPgPoolConstructor } from './tenant-pools-config.js';
export { TENANT_EVENT_CHANNELS, TENANT_EVENT_TYPES, TENANT_CLOSE_REASONS, TENANT_EVICTION_REASONS } from './tenant-pool-events.js';
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
} from './tenant-pool-events.js';
export { quoteIdentifier, tenantDatabaseName, isValidTenantId, maxTenantIdLength, TENANT_ID_PATTERN, MAX_IDENTIFIER_BYTES } from './tenant-id.js';
export { TenantPoolError, IdentifierError } from '../errors.js';
export type { TenantErrorCode } from '../errors.js';
