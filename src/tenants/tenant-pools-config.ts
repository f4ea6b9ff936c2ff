import { OptionsError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { PoolTrackingDefaults } from '../core/pool-tracker-options.js';
import { nonNegative, positiveInteger } from '../core/pool-tracker-options.js';
import type { PgPoolLike } from '../adapters/pg/pg-types.js';
import { validateDatabasePrefix } from './tenant-id.js';

/**
 * Options of `TenantPools`, their defaults and validation. Setup throws OptionsError naming the first bad option.
 */

/**
 * What `TenantPools` needs of a pool: a `pg.Pool` (structural; poolscope never imports pg at runtime): what the pg
 * adapter tracks, plus `query()` and `end()`.
 */
export interface TenantPgPool extends PgPoolLike {
  query(...args: never[]): unknown;
  end(...args: never[]): unknown;
}

/** The config `TenantPools` gives each pool it creates (plus `poolConfig`). */
export interface TenantPgPoolConfig {
  connectionString: string;
  max: number;
  min?: number;
  idleTimeoutMillis: number;
  connectionTimeoutMillis: number;
}

/** A pool constructor: `pg.Pool`, or a subclass. */
export type TenantPgPoolConstructor<P extends TenantPgPool> = new (config: TenantPgPoolConfig) => P;

/** Options of `new TenantPools(options)`. Only `Pool` and `connectionString` are required. */
export interface TenantPoolsOptions<P extends TenantPgPool = TenantPgPool> {
  /** The pool class, e.g. `pg.Pool` (taken as an option so poolscope does not import pg). */
  readonly Pool: TenantPgPoolConstructor<P>;
  /** The system database (e.g. `postgres://app@db/app`); tenant databases are reached by swapping its database name. */
  readonly connectionString: string;
  /** Where CREATE/DROP DATABASE run. Default: the system pool. */
  readonly adminConnectionString?: string;
  /** Builds a tenant's connection string from its database name. Default: `connectionString` with the database swapped. */
  readonly tenantConnectionString?: (database: string) => string;
  /** The inspector that tracks every pool. Default: one created (and closed) by TenantPools. */
  readonly inspector?: Inspector;
  /** Tenant database = prefix + tenant id. Default `'tenant_'`. */
  readonly databasePrefix?: string;
  /** Tenant pools open at once; the least recently used idle one is evicted to open another. Default 50. */
  readonly maxTenantPools?: number;
  /** `max` of each tenant pool. Default 5. */
  readonly perTenantMax?: number;
  /** `min` of each tenant pool (pg-pool >= 3.8 keeps that many idle connections). Default 0. */
  readonly perTenantMin?: number;
  /** Connections all tenant pools together may open (sum of their `max`, never exceeded). Default 80. */
  readonly connectionBudget?: number;
  /** `max` of the system pool (not part of the budget). Default 2. */
  readonly systemPoolMax?: number;
  /** pg's per-connection idle timeout in every pool. Default 10000. */
  readonly idleTimeoutMillis?: number;
  /** pg's connect timeout in every pool (0 = wait forever, not recommended). Default 5000. */
  readonly connectionTimeoutMillis?: number;
  /** Close a tenant pool unused (no lease out) for this long. Default 300000 (5 min); 0 disables. */
  readonly idleTenantTimeoutMillis?: number;
  /** How often idle tenant pools are looked for. Default: half of idleTenantTimeoutMillis, between 10 ms and 30 s. */
  readonly sweepIntervalMillis?: number;
  /** Open and return one connection before a new tenant pool is handed out (so a missing database fails get()). Default true. */
  readonly verifyOnOpen?: boolean;
  /** Extra pg settings for every pool (ssl, user, password, statement_timeout...). Never logged or exposed. */
  readonly poolConfig?: Readonly<Record<string, unknown>>;
  /** Inspector pool name of a tenant pool = prefix + tenant id. Default `'tenant:'`. */
  readonly poolNamePrefix?: string;
  /** Inspector pool name of the system pool. Default `'system'`. */
  readonly systemPoolName?: string;
  /** Tracking options for tenant pools (leak threshold, stack capture...). */
  readonly tracking?: PoolTrackingDefaults;
  /** Tracking options for the system pool. */
  readonly systemTracking?: PoolTrackingDefaults;
  /** Errors inside TenantPools' own work or listeners (never thrown into your code). Default: inspector.reportError. */
  readonly onError?: (error: unknown) => void;
}

export const DEFAULT_DATABASE_PREFIX = 'tenant_';
export const DEFAULT_MAX_TENANT_POOLS = 50;
export const DEFAULT_PER_TENANT_MAX = 5;
export const DEFAULT_CONNECTION_BUDGET = 80;
export const DEFAULT_SYSTEM_POOL_MAX = 2;
export const DEFAULT_TENANT_IDLE_TIMEOUT_MILLIS = 10_000;
export const DEFAULT_TENANT_CONNECTION_TIMEOUT_MILLIS = 5_000;
export const DEFAULT_IDLE_TENANT_TIMEOUT_MILLIS = 300_000;

/** Options after defaults and validation. */
export interface ResolvedTenantPoolsOptions<P extends TenantPgPool> {
  readonly Pool: TenantPgPoolConstructor<P>;
  readonly connectionString: string;
  readonly adminConnectionString: string | undefined;
  readonly tenantConnectionString: (database: string) => string;
  readonly inspector: Inspector | undefined;
  readonly databasePrefix: string;
  readonly maxTenantPools: number;
  readonly perTenantMax: number;
  readonly perTenantMin: number;
  readonly connectionBudget: number;
  readonly systemPoolMax: number;
  readonly idleTimeoutMillis: number;
  readonly connectionTimeoutMillis: number;
  readonly idleTenantTimeoutMillis: number;
  readonly sweepIntervalMillis: number;
  readonly verifyOnOpen: boolean;
  readonly poolConfig: Readonly<Record<string, unknown>>;
  readonly poolNamePrefix: string;
  readonly systemPoolName: string;
  readonly tracking: PoolTrackingDefaults;
  readonly systemTracking: PoolTrackingDefaults;
  readonly onError: ((error: unknown) => void) | undefined;
}

/** Applies defaults and validates; throws OptionsError naming the first bad option. */
export function resolveTenantPoolsOptions<P extends TenantPgPool>(options: TenantPoolsOptions<P>): ResolvedTenantPoolsOptions<P> {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError('options', options, 'an object { Pool, connectionString, ... } for new TenantPools()');
  }
  if (typeof options.Pool !== 'function') {
    throw new OptionsError('Pool', options.Pool, "the pool class, e.g. `import pg from 'pg'` then { Pool: pg.Pool }");
  }
  const connectionString = connectionUrl('connectionString', options.connectionString, true) as string;
  const adminConnectionString = connectionUrl('adminConnectionString', options.adminConnectionString, false);
  const tenantConnectionString = optionalFunction('tenantConnectionString', options.tenantConnectionString, '(database) => connection string');
  const onError = optionalFunction('onError', options.onError, '(error) => void');
  const inspector = options.inspector;
  if (inspector !== undefined && (inspector === null || typeof inspector !== 'object' || typeof inspector.registerPool !== 'function')) {
    throw new OptionsError('inspector', inspector, 'a poolscope Inspector (new Inspector())');
  }
  const databasePrefix = validateDatabasePrefix(options.databasePrefix ?? DEFAULT_DATABASE_PREFIX);
  const maxTenantPools = positiveInteger('maxTenantPools', options.maxTenantPools, DEFAULT_MAX_TENANT_POOLS);
  const perTenantMax = positiveInteger('perTenantMax', options.perTenantMax, DEFAULT_PER_TENANT_MAX);
  const perTenantMin = wholeNumber('perTenantMin', options.perTenantMin, 0);
  if (perTenantMin > perTenantMax) {
    throw new OptionsError('perTenantMin', perTenantMin, `a whole number <= perTenantMax (${perTenantMax})`);
  }
  const connectionBudget = positiveInteger('connectionBudget', options.connectionBudget, Math.max(DEFAULT_CONNECTION_BUDGET, perTenantMax));
  if (connectionBudget < perTenantMax) {
    throw new OptionsError('connectionBudget', connectionBudget, `a whole number >= perTenantMax (${perTenantMax}), or no tenant pool could open`);
  }
  const idleTenantTimeoutMillis = nonNegative('idleTenantTimeoutMillis', options.idleTenantTimeoutMillis, DEFAULT_IDLE_TENANT_TIMEOUT_MILLIS);
  const defaultSweep = Math.min(30_000, Math.max(10, Math.floor(idleTenantTimeoutMillis / 2)));
  const sweepIntervalMillis = nonNegative('sweepIntervalMillis', options.sweepIntervalMillis, defaultSweep);
  if (options.sweepIntervalMillis !== undefined && sweepIntervalMillis < 1) {
    throw new OptionsError('sweepIntervalMillis', sweepIntervalMillis, 'a number of milliseconds >= 1');
  }
  const poolConfig = options.poolConfig ?? {};
  if (poolConfig === null || typeof poolConfig !== 'object' || Array.isArray(poolConfig)) {
    throw new OptionsError('poolConfig', poolConfig, 'an object of pg pool settings, e.g. { ssl: true }');
  }
  const poolNamePrefix = options.poolNamePrefix ?? 'tenant:';
  if (typeof poolNamePrefix !== 'string' || !/^[A-Za-z0-9_.:-]{0,30}$/.test(poolNamePrefix)) {
    throw new OptionsError('poolNamePrefix', poolNamePrefix, "up to 30 characters of A-Z a-z 0-9 _ . : - (e.g. 'tenant:')");
  }
  const systemPoolName = options.systemPoolName ?? 'system';
  if (typeof systemPoolName !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(systemPoolName)) {
    throw new OptionsError('systemPoolName', systemPoolName, "1-100 characters of A-Z a-z 0-9 _ . : - (e.g. 'system')");
  }
  const verifyOnOpen = options.verifyOnOpen ?? true;
  if (typeof verifyOnOpen !== 'boolean') throw new OptionsError('verifyOnOpen', verifyOnOpen, 'true or false');
  for (const key of ['tracking', 'systemTracking'] as const) {
    const value = options[key];
    if (value !== undefined && (value === null || typeof value !== 'object')) {
      throw new OptionsError(key, value, 'an object of pool tracking options (e.g. { leakThresholdMillis: 10000 })');
    }
  }
  return {
    Pool: options.Pool,
    connectionString,
    adminConnectionString,
    tenantConnectionString: tenantConnectionString ?? ((database) => withDatabase(connectionString, database)),
    inspector,
    databasePrefix,
    maxTenantPools,
    perTenantMax,
    perTenantMin,
    connectionBudget,
    systemPoolMax: positiveInteger('systemPoolMax', options.systemPoolMax, DEFAULT_SYSTEM_POOL_MAX),
    idleTimeoutMillis: nonNegative('idleTimeoutMillis', options.idleTimeoutMillis, DEFAULT_TENANT_IDLE_TIMEOUT_MILLIS),
    connectionTimeoutMillis: nonNegative('connectionTimeoutMillis', options.connectionTimeoutMillis, DEFAULT_TENANT_CONNECTION_TIMEOUT_MILLIS),
    idleTenantTimeoutMillis,
    sweepIntervalMillis,
    verifyOnOpen,
    poolConfig,
    poolNamePrefix,
    systemPoolName,
    tracking: options.tracking ?? {},
    systemTracking: options.systemTracking ?? {},
    onError,
  };
}

/** `postgres://u@h:5432/app?x=1` with its database swapped for `database` (query string and credentials kept). */
export function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function connectionUrl(option: string, value: unknown, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  const expected = "a postgres:// URL, e.g. 'postgres://app@127.0.0.1:5432/app'";
  if (typeof value !== 'string' || value === '') throw new OptionsError(option, maskedValue(value), expected);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OptionsError(option, '(unparseable, not shown)', expected);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new OptionsError(option, `${url.protocol}//...`, expected);
  }
  return value;
}

function maskedValue(value: unknown): unknown {
  return typeof value === 'string' ? '(not shown)' : value;
}

function optionalFunction<F>(option: string, value: F | undefined, expected: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw new OptionsError(option, value, `a function ${expected}`);
  return value;
}

function wholeNumber(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new OptionsError(option, value, 'a whole number >= 0');
  }
  return value;
}
