// poolscope/mysql2: tracks mysql2 pools (callback and promise). Loads nothing of mysql2 (an optional peer): any
// object shaped like a mysql2 pool is accepted; see docs/reference/adapter-mysql2.md.

export { trackMysql2Pool } from './mysql2-adapter.js';
export type { Mysql2AnyPoolLike, Mysql2PoolLike, Mysql2PromisePoolLike } from './mysql2-types.js';
export { MYSQL2_CAPABILITIES } from './mysql2-types.js';
export { mysql2ConfigSnapshot } from './mysql2-pool-config.js';
export type { Mysql2PoolConfigSnapshot } from './mysql2-pool-config.js';
export { MYSQL2_NO_CONNECTIONS_MESSAGE, MYSQL2_QUEUE_LIMIT_MESSAGE } from './mysql2-pool-limits.js';
export { MYSQL_PROGRAM_NAME_ATTRIBUTE, mysql2ProgramNameOf } from './mysql2-program-name.js';
// The explanation poolscope attaches to a "pool full" rejection (the same report as pg's acquire timeout).
export { acquireTimeoutReportOf } from '../../core/acquire-timeout-report.js';
export { generatedApplicationName } from '../pg/pg-application-name.js';
