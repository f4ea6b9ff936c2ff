import { describeValue } from '../errors.js';
import type { PoolscopeLogger } from '../core/logger.js';
import {
  POOL_SIZING_FIELDS,
  logWarnings,
  parseIntegerText,
  sizingProblems,
  sizingWarnings,
  throwIfProblems,
  type PoolConfigProblem,
  type PoolConfigWarning,
  type PoolSizingField,
  type SizingLabel,
} from './pool-config-validation.js';
import { maskDatabaseUrl } from './database-url.js';

/**
 * A pg.Pool config from the environment (seed 004): defaults per NODE_ENV, `DATABASE_POOL_*` overrides,
 * `DATABASE_URL` passed through, every value validated, and a report of where each value came from.
 *
 *     const pool = new pg.Pool(loadPoolConfig());
 *
 * See docs/reference/config.md.
 */

/** The NODE_ENV values with a row of defaults. Unset, empty or any other value gets `development`'s row. */
export const POOL_ENVIRONMENTS = ['development', 'test', 'production'] as const;
export type PoolEnvironment = (typeof POOL_ENVIRONMENTS)[number];

/** The sizing part of a pg.Pool config. */
export interface PoolSizing {
  readonly min: number;
  readonly max: number;
  readonly idleTimeoutMillis: number;
  readonly connectionTimeoutMillis: number;
}

/** What `loadPoolConfig()` returns: a config `new pg.Pool(config)` accepts as is. */
export interface PoolConfig extends PoolSizing {
  /** `DATABASE_URL`, when set (with its password: pass it to pg, never log it; see `poolConfigLogLine()`). */
  readonly connectionString?: string;
}

/** The defaults per environment (seed 004's table). */
export const POOL_CONFIG_DEFAULTS: Readonly<Record<PoolEnvironment, PoolSizing>> = Object.freeze({
  development: Object.freeze({ min: 2, max: 10, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5_000 }),
  test: Object.freeze({ min: 1, max: 5, idleTimeoutMillis: 5_000, connectionTimeoutMillis: 3_000 }),
  production: Object.freeze({ min: 5, max: 20, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 }),
});

/** The environment variable that overrides each field. */
export const POOL_CONFIG_VARIABLES = Object.freeze({
  min: 'DATABASE_POOL_MIN',
  max: 'DATABASE_POOL_MAX',
  idleTimeoutMillis: 'DATABASE_POOL_IDLE_TIMEOUT',
  connectionTimeoutMillis: 'DATABASE_POOL_CONNECTION_TIMEOUT',
  connectionString: 'DATABASE_URL',
} as const satisfies Record<PoolSizingField | 'connectionString', string>);

/** Where a value came from: the defaults row of an environment, or an environment variable. */
export type PoolConfigSource =
  | { readonly kind: 'default'; readonly environment: PoolEnvironment }
  | { readonly kind: 'env'; readonly variable: string };

export interface PoolConfigSources {
  readonly min: PoolConfigSource;
  readonly max: PoolConfigSource;
  readonly idleTimeoutMillis: PoolConfigSource;
  readonly connectionTimeoutMillis: PoolConfigSource;
  /** Absent when DATABASE_URL is not set (pg then reads PGHOST, PGUSER, ... itself). */
  readonly connectionString?: PoolConfigSource;
}

/** What `loadPoolConfigReport()` found: the config, where each value came from, and the warnings. */
export interface PoolConfigReport {
  /** The config to give pg.Pool. Holds DATABASE_URL's password: log `poolConfigLogLine(report)`, not this. */
  readonly config: PoolConfig;
  /** The defaults row used. */
  readonly environment: PoolEnvironment;
  /** NODE_ENV as read (trimmed); undefined when unset or empty. */
  readonly nodeEnv: string | undefined;
  readonly sources: PoolConfigSources;
  readonly warnings: readonly PoolConfigWarning[];
}

export interface LoadPoolConfigOptions {
  /** Where to read the variables. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Gets the startup line (`poolConfigLogLine()`) at `info` and each warning at `warn`. Default: nothing is logged
   * (the report has both).
   */
  readonly logger?: PoolscopeLogger;
}

/**
 * The pg.Pool config for this environment: `new pg.Pool(loadPoolConfig())`. Throws PoolConfigError
 * (POOLSCOPE_ERR_CONFIG_INVALID) naming every variable with an unusable value. Use `loadPoolConfigReport()` for
 * the sources and warnings too.
 */
export function loadPoolConfig(options: LoadPoolConfigOptions = {}): PoolConfig {
  return loadPoolConfigReport(options).config;
}

/** Like `loadPoolConfig()`, and says where each value came from and what looks wrong. */
export function loadPoolConfigReport(options: LoadPoolConfigOptions = {}): PoolConfigReport {
  const env = options.env ?? process.env;
  const nodeEnvText = env.NODE_ENV?.trim();
  const nodeEnv = nodeEnvText === undefined || nodeEnvText === '' ? undefined : nodeEnvText;
  const environment: PoolEnvironment = isPoolEnvironment(nodeEnv) ? nodeEnv : 'development';
  const defaults = POOL_CONFIG_DEFAULTS[environment];
  const warnings: PoolConfigWarning[] = [];
  if (nodeEnv !== undefined && !isPoolEnvironment(nodeEnv)) {
    warnings.push({
      code: 'POOLSCOPE_WARN_CONFIG_UNKNOWN_NODE_ENV',
      variable: 'NODE_ENV',
      value: nodeEnv,
      message:
        `NODE_ENV=${describeValue(nodeEnv)} is not one of ${POOL_ENVIRONMENTS.join(', ')}: using the development pool ` +
        'defaults. Set NODE_ENV to one of those, or set DATABASE_POOL_MIN/MAX/IDLE_TIMEOUT/CONNECTION_TIMEOUT explicitly.',
    });
  }

  const values: Partial<Record<PoolSizingField, number>> = {};
  const sources: Partial<Record<PoolSizingField, PoolConfigSource>> = {};
  const labels = {} as Record<PoolSizingField, SizingLabel>;
  const problems: PoolConfigProblem[] = [];
  for (const field of POOL_SIZING_FIELDS) {
    const variable = POOL_CONFIG_VARIABLES[field];
    const raw = env[variable];
    if (raw === undefined) {
      values[field] = defaults[field];
      sources[field] = { kind: 'default', environment };
      labels[field] = { variable, value: defaults[field], note: `the ${environment} default` };
      continue;
    }
    sources[field] = { kind: 'env', variable };
    labels[field] = { variable, value: raw };
    const parsed = parseIntegerText(variable, raw, field);
    if (typeof parsed === 'number') values[field] = parsed;
    else problems.push(parsed);
  }
  problems.push(...sizingProblems(values, labels));
  throwIfProblems(problems);
  warnings.push(...sizingWarnings(values, labels));

  const sized = values as Record<PoolSizingField, number>;
  const connectionString = env[POOL_CONFIG_VARIABLES.connectionString];
  const hasUrl = connectionString !== undefined && connectionString !== '';
  const config: PoolConfig = {
    min: sized.min,
    max: sized.max,
    idleTimeoutMillis: sized.idleTimeoutMillis,
    connectionTimeoutMillis: sized.connectionTimeoutMillis,
    ...(hasUrl ? { connectionString } : {}),
  };
  const report: PoolConfigReport = {
    config,
    environment,
    nodeEnv,
    sources: {
      ...(sources as Record<PoolSizingField, PoolConfigSource>),
      ...(hasUrl ? { connectionString: { kind: 'env', variable: POOL_CONFIG_VARIABLES.connectionString } } : {}),
    },
    warnings,
  };
  if (options.logger !== undefined) {
    const line = poolConfigLogLine(report);
    options.logger.info(line.fields, line.message);
    logWarnings(warnings, options.logger);
  }
  return report;
}

/** The structured fields of the startup line: the config with the password masked, and the variables that set it. */
export interface PoolConfigLogFields {
  readonly environment: PoolEnvironment;
  readonly nodeEnv: string | null;
  readonly min: number;
  readonly max: number;
  readonly idleTimeoutMillis: number;
  readonly connectionTimeoutMillis: number;
  /** Masked (`postgres://app:***@db/app`); null when DATABASE_URL is not set. */
  readonly connectionString: string | null;
  /** The fields set by an environment variable, and which: `{ max: 'DATABASE_POOL_MAX' }`. */
  readonly overrides: Readonly<Record<string, string>>;
  readonly warningCount: number;
}

/** The startup line: what to log, at info. */
export interface PoolConfigLogLine {
  readonly fields: PoolConfigLogFields;
  readonly message: string;
}

/**
 * The startup line for a report, password masked:
 *
 *     Pool config (production defaults, NODE_ENV="production"): min=5 max=50 [DATABASE_POOL_MAX]
 *     idleTimeoutMillis=30000 connectionTimeoutMillis=10000 connectionString=postgres://app:***@db:5432/app [DATABASE_URL]
 *
 * (one line). A value set by a variable is followed by the variable's name in brackets; the others are the
 * environment's defaults.
 */
export function poolConfigLogLine(report: PoolConfigReport): PoolConfigLogLine {
  const { config, sources } = report;
  const overrides: Record<string, string> = {};
  const parts: string[] = [];
  for (const field of POOL_SIZING_FIELDS) {
    const source = sources[field];
    const setBy = source.kind === 'env' ? ` [${source.variable}]` : '';
    if (source.kind === 'env') overrides[field] = source.variable;
    parts.push(`${field}=${config[field]}${setBy}`);
  }
  const masked = config.connectionString === undefined ? null : maskDatabaseUrl(config.connectionString);
  if (masked === null) {
    parts.push('connectionString unset (pg reads PGHOST, PGUSER, PGDATABASE, ...)');
  } else {
    overrides.connectionString = POOL_CONFIG_VARIABLES.connectionString;
    parts.push(`connectionString=${masked} [${POOL_CONFIG_VARIABLES.connectionString}]`);
  }
  const nodeEnv = report.nodeEnv === undefined ? 'NODE_ENV unset' : `NODE_ENV=${describeValue(report.nodeEnv)}`;
  const warned = report.warnings.length === 0 ? '' : ` (${report.warnings.length} warning${report.warnings.length === 1 ? '' : 's'})`;
  return {
    fields: {
      environment: report.environment,
      nodeEnv: report.nodeEnv ?? null,
      min: config.min,
      max: config.max,
      idleTimeoutMillis: config.idleTimeoutMillis,
      connectionTimeoutMillis: config.connectionTimeoutMillis,
      connectionString: masked,
      overrides,
      warningCount: report.warnings.length,
    },
    message: `Pool config (${report.environment} defaults, ${nodeEnv}): ${parts.join(' ')}${warned}`,
  };
}

function isPoolEnvironment(value: string | undefined): value is PoolEnvironment {
  return (POOL_ENVIRONMENTS as readonly (string | undefined)[]).includes(value);
}
