import { PoolConfigError, describeValue } from '../errors.js';
import type { PoolscopeLogger } from '../core/logger.js';

/**
 * The rules a pool configuration must meet (seed 004), for values read from the environment and for configs given
 * in code. Errors are collected, not stopped at the first: `validatePoolConfig()` throws one PoolConfigError that
 * names the first problem in its `variable`/`value` fields and lists every problem in its message. Warnings are
 * returned (and logged when a logger is given), never thrown.
 */

/** The four sizing fields of a pg.Pool config poolscope reads, validates and reports. */
export const POOL_SIZING_FIELDS = ['min', 'max', 'idleTimeoutMillis', 'connectionTimeoutMillis'] as const;
export type PoolSizingField = (typeof POOL_SIZING_FIELDS)[number];

/** Shortest timeout accepted (both timeouts), in milliseconds. */
export const MIN_POOL_TIMEOUT_MILLIS = 1000;
/** Longest delay a Node.js timer can wait (2^31 - 1 ms, about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_DELAY_MILLIS = 2_147_483_647;
/** `max` above this draws POOLSCOPE_WARN_CONFIG_MAX_HIGH. */
export const HIGH_POOL_MAX = 100;
/** `min` above this draws POOLSCOPE_WARN_CONFIG_MIN_HIGH. */
export const HIGH_POOL_MIN = 50;
/** pg-pool's `max` when none is given (what `min` is compared with when a config in code has no `max`). */
export const PG_DEFAULT_POOL_MAX = 10;

/** The codes of the warnings the config functions return. Stable: match on them, not on the message. */
export const POOL_CONFIG_WARNING_CODES = [
  'POOLSCOPE_WARN_CONFIG_MAX_HIGH',
  'POOLSCOPE_WARN_CONFIG_MIN_HIGH',
  'POOLSCOPE_WARN_CONFIG_UNKNOWN_NODE_ENV',
  'POOLSCOPE_WARN_CONFIG_SERVER_CAPACITY',
] as const;
export type PoolConfigWarningCode = (typeof POOL_CONFIG_WARNING_CODES)[number];

/** Something that works but probably is not what you want. `variable` names the setting, `value` its value. */
export interface PoolConfigWarning {
  readonly code: PoolConfigWarningCode;
  readonly variable: string;
  readonly value: unknown;
  readonly message: string;
}

/** One value that breaks a rule; what PoolConfigError is built from. */
export interface PoolConfigProblem {
  readonly variable: string;
  readonly value: unknown;
  /** What is wrong, e.g. `is not a whole number` (reads after `VARIABLE="value" `). */
  readonly problem: string;
  /** How to fix it, a sentence. */
  readonly fix: string;
}

/** A config given in code: any object with (some of) pg.Pool's sizing fields; other fields are ignored. */
export type PoolConfigInput = { readonly [F in PoolSizingField]?: unknown };

export interface ValidatePoolConfigOptions {
  /** Gets each warning at `warn` (fields: code, variable, value). Default: warnings are only returned. */
  readonly logger?: PoolscopeLogger;
}

/**
 * Checks a pg.Pool config given in code (e.g. `{ max: 20, idleTimeoutMillis: 30000 }`). Fields left out are not
 * checked (pg uses its own defaults), except that `min` is compared with pg's default `max` (10) when `max` is
 * left out. Throws PoolConfigError (POOLSCOPE_ERR_CONFIG_INVALID) naming every broken value; returns the warnings.
 */
export function validatePoolConfig(config: PoolConfigInput, options: ValidatePoolConfigOptions = {}): readonly PoolConfigWarning[] {
  if (config === null || typeof config !== 'object') {
    throw new PoolConfigError('config', config, 'is not an object', 'Pass a pg.Pool config such as { max: 20, idleTimeoutMillis: 30000 }.');
  }
  const values: Partial<Record<PoolSizingField, number>> = {};
  const problems: PoolConfigProblem[] = [];
  for (const field of POOL_SIZING_FIELDS) {
    const value = config[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      problems.push({ variable: field, value, problem: 'is not an integer', fix: `Set ${field} to a whole number ${EXAMPLES[field]}.` });
    } else {
      values[field] = value;
    }
  }
  const labels: Record<PoolSizingField, SizingLabel> = {
    min: { variable: 'min', value: config.min },
    max: { variable: 'max', value: config.max },
    idleTimeoutMillis: { variable: 'idleTimeoutMillis', value: config.idleTimeoutMillis },
    connectionTimeoutMillis: { variable: 'connectionTimeoutMillis', value: config.connectionTimeoutMillis },
  };
  if (values.max === undefined && config.max === undefined) {
    labels.max = { variable: 'max', value: PG_DEFAULT_POOL_MAX, note: "pg's default when max is not set" };
    values.max = PG_DEFAULT_POOL_MAX;
  }
  problems.push(...sizingProblems(values, labels));
  throwIfProblems(problems);
  const warnings = sizingWarnings(values, labels);
  logWarnings(warnings, options.logger);
  return warnings;
}

// ---- shared by the environment loader ---------------------------------------------------------------------------

/** How a value is named in messages: the variable (or field) it came from, its value as given, and a note. */
export interface SizingLabel {
  readonly variable: string;
  /** As given: the raw string for an environment variable, the number for a default or a config in code. */
  readonly value: unknown;
  /** Where a value nobody set came from, e.g. `the production default`. */
  readonly note?: string;
}

const EXAMPLES: Record<PoolSizingField, string> = {
  min: 'of connections such as 2',
  max: 'of connections such as 20',
  idleTimeoutMillis: 'of milliseconds such as 30000',
  connectionTimeoutMillis: 'of milliseconds such as 10000',
};

/** A whole number written in decimal, optionally negative, after trimming surrounding whitespace. */
const INTEGER_TEXT = /^-?[0-9]+$/;

/**
 * Reads an environment variable's text as an integer: surrounding whitespace is trimmed (a CRLF .env file leaves
 * `\r`); anything else that is not plain decimal digits (empty, `1.5`, `1e3`, `0x10`, `1_000`, `+5`) is a problem.
 */
export function parseIntegerText(variable: string, raw: string, field: PoolSizingField): number | PoolConfigProblem {
  const text = raw.trim();
  const unset = `or unset ${variable} to use the default`;
  if (text === '') {
    return { variable, value: raw, problem: 'is empty', fix: `Set it to a whole number ${EXAMPLES[field]}, ${unset}.` };
  }
  if (!INTEGER_TEXT.test(text)) {
    return { variable, value: raw, problem: 'is not a whole number', fix: `Set it to a whole number ${EXAMPLES[field]}, ${unset}.` };
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    return { variable, value: raw, problem: 'is too large to be a count or a duration', fix: `Set it to a whole number ${EXAMPLES[field]}, ${unset}.` };
  }
  return value + 0; // -0 -> 0
}

/** The range rules over values that are integers already: positive max, non-negative min, min <= max, timeouts. */
export function sizingProblems(
  values: Partial<Record<PoolSizingField, number>>,
  labels: Record<PoolSizingField, SizingLabel>,
): PoolConfigProblem[] {
  const problems: PoolConfigProblem[] = [];
  const { min, max } = values;
  if (max !== undefined && max < 1) {
    problems.push({ ...named(labels.max), problem: 'must be at least 1', fix: `Set ${labels.max.variable} to the most connections the pool may open, e.g. 20.` });
  }
  if (min !== undefined && min < 0) {
    problems.push({ ...named(labels.min), problem: 'must not be negative', fix: `Set ${labels.min.variable} to 0 or more.` });
  }
  if (min !== undefined && max !== undefined && min >= 0 && max >= 1 && min > max) {
    const maxLabel = labels.max;
    const maxText = maxLabel.note === undefined ? `${maxLabel.variable} (${max})` : `the pool's max (${max}, ${maxLabel.note})`;
    problems.push({
      ...named(labels.min),
      problem: `is greater than ${maxText}`,
      fix: `Lower ${labels.min.variable} to ${max} or less, or set ${maxLabel.variable} to ${min} or more.`,
    });
  }
  for (const field of ['idleTimeoutMillis', 'connectionTimeoutMillis'] as const) {
    const value = values[field];
    if (value === undefined) continue;
    const label = labels[field];
    if (value < MIN_POOL_TIMEOUT_MILLIS) {
      const zero = value === 0 ? ' (0 would disable the timeout in pg; poolscope wants every wait bounded)' : '';
      problems.push({
        ...named(label),
        problem: `is under ${MIN_POOL_TIMEOUT_MILLIS} ms${zero}`,
        fix: `Set ${label.variable} to ${MIN_POOL_TIMEOUT_MILLIS} milliseconds or more, e.g. ${field === 'idleTimeoutMillis' ? 30000 : 10000}.`,
      });
    } else if (value > MAX_TIMER_DELAY_MILLIS) {
      problems.push({
        ...named(label),
        problem: `is over ${MAX_TIMER_DELAY_MILLIS} ms, the longest delay a Node.js timer can wait (a longer one fires after 1 ms)`,
        fix: `Set ${label.variable} to ${MAX_TIMER_DELAY_MILLIS} or less.`,
      });
    }
  }
  return problems;
}

/** The warnings over valid values: max above 100, min above 50. */
export function sizingWarnings(
  values: Partial<Record<PoolSizingField, number>>,
  labels: Record<PoolSizingField, SizingLabel>,
): PoolConfigWarning[] {
  const warnings: PoolConfigWarning[] = [];
  if (values.max !== undefined && values.max > HIGH_POOL_MAX) {
    warnings.push({
      code: 'POOLSCOPE_WARN_CONFIG_MAX_HIGH',
      ...named(labels.max),
      message:
        `${labels.max.variable}=${values.max} is very high (over ${HIGH_POOL_MAX}): that many connections per process may ` +
        'overwhelm PostgreSQL (each connection is a server process). Check it against max_connections with ' +
        'checkServerCapacity(), lower it, or put PgBouncer in front.',
    });
  }
  if (values.min !== undefined && values.min > HIGH_POOL_MIN) {
    warnings.push({
      code: 'POOLSCOPE_WARN_CONFIG_MIN_HIGH',
      ...named(labels.min),
      message:
        `${labels.min.variable}=${values.min} is very high (over ${HIGH_POOL_MIN}): the pool keeps that many idle ` +
        'connections open on the server even when nothing uses them. Lower it unless the traffic needs them warm.',
    });
  }
  return warnings;
}

/**
 * Throws one PoolConfigError for all the problems: its `variable` and `value` are the first problem's, its message
 * names the first and lists the others after `Also invalid:`.
 */
export function throwIfProblems(problems: readonly PoolConfigProblem[]): void {
  const [first, ...rest] = problems;
  if (first === undefined) return;
  const also =
    rest.length === 0
      ? ''
      : ` Also invalid: ${rest.map((p) => `${p.variable}=${describeValue(p.value)} ${p.problem} (${asClause(p.fix)})`).join('; ')}.`;
  throw new PoolConfigError(first.variable, first.value, first.problem, `${first.fix}${also}`);
}

/** Passes each warning to the logger's `warn`, if there is a logger. */
export function logWarnings(warnings: readonly PoolConfigWarning[], logger: PoolscopeLogger | undefined): void {
  if (logger === undefined) return;
  for (const warning of warnings) {
    logger.warn({ code: warning.code, variable: warning.variable, value: warning.value }, warning.message);
  }
}

function named(label: SizingLabel): { variable: string; value: unknown } {
  return { variable: label.variable, value: label.value };
}

/** `Set it to 5.` -> `set it to 5`, to go inside parentheses after another sentence. */
function asClause(sentence: string): string {
  const body = sentence.endsWith('.') ? sentence.slice(0, -1) : sentence;
  return body.charAt(0).toLowerCase() + body.slice(1);
}
