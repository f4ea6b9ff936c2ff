// poolscope/config: pool sizing from the environment (NODE_ENV defaults, DATABASE_POOL_* overrides), its
// validation, pool parameters in a database URL, connection-string masking, and the server's connection budget.
// Needs no optional peer to load; checkServerCapacity({ connectionString }) loads pg when called (PgUnavailableError,
// from poolscope, when it is not installed).

export { loadPoolConfig, loadPoolConfigReport, poolConfigLogLine, POOL_CONFIG_DEFAULTS } from './pool-config.js';
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
} from './pool-config.js';
export { validatePoolConfig, POOL_CONFIG_WARNING_CODES } from './pool-config-validation.js';
export type { PoolConfigWarning, PoolConfigWarningCode, PoolConfigInput, ValidatePoolConfigOptions } from './pool-config-validation.js';
export { withPoolParameters, poolUrlParametersFromConfig } from './database-url.js';
export type { PoolUrlParameters } from './database-url.js';
export { maskConnectionString } from '../core/connection-string-mask.js';
export { checkServerCapacity } from './server-capacity-check.js';
export type { ServerCapacityCheckOptions, ServerCapacityReport, CapacityQueryable, CapacityClientSource } from './server-capacity-check.js';

export { PoolConfigError } from '../errors.js';
