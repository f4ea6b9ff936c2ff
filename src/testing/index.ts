// poolscope/testing: isolated, tracked test pools and a leak assertion for test suites (node:test, vitest, jest).
// See docs/guides/testing.md.

export { TestPools, createTestPool } from './test-pools.js';
export type { TestPoolsOptions, TestPoolOptions, TestPoolLike } from './test-pool-options.js';
export type { TestPool } from './test-pools.js';
export { loadPgPool } from './pg-pool-loader.js';
export type { PgPoolConstructor } from './pg-pool-loader.js';
export { assertNoLeakedConnections } from './leaked-connections.js';
export { DEFAULT_LEAK_CHECK_GRACE_MILLIS, DEFAULT_LEAK_CHECK_POLL_MILLIS, LEAK_CHECK_APPLICATION_NAME } from './leak-check-plan.js';
export type { NoLeakedConnectionsOptions } from './leak-check-plan.js';
export { LeakedConnectionsError } from '../errors.js';
