// Properties of the pool config (issue 17): loadPoolConfig over any environment equals a small reference model of
// the documented rules (seed 004: NODE_ENV rows, DATABASE_POOL_* overrides, whole numbers, ranges, warnings), or
// throws one PoolConfigError naming the first bad variable and listing every other; validatePoolConfig over any
// values in code does the same; what the loader accepts, the validator accepts. Seeded: test/support/fuzz-kit.ts.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { POOL_CONFIG_DEFAULTS, POOL_CONFIG_VARIABLES, loadPoolConfig, loadPoolConfigReport } from '../../src/config/pool-config.js';
import { validatePoolConfig } from '../../src/config/pool-config-validation.js';
import { PoolConfigError } from '../../src/errors.js';
import { fuzzSuite } from '../support/fuzz-kit.js';

const fuzz = fuzzSuite(import.meta.url);

const FIELDS = ['min', 'max', 'idleTimeoutMillis', 'connectionTimeoutMillis'] as const;
type Field = (typeof FIELDS)[number];
const ENVIRONMENTS = ['development', 'test', 'production'] as const;
const MIN_TIMEOUT = 1000;
const MAX_TIMER = 2 ** 31 - 1;

// ---- the reference model ----------------------------------------------------------------------------------------

interface ModelProblem {
  readonly variable: string;
}
interface ModelResult {
  /** The values, when valid. */
  readonly values: Record<Field, number> | undefined;
  /** The problems, in the order the rules are documented: unreadable values first (by field), then ranges. */
  readonly problems: readonly ModelProblem[];
  readonly warnings: readonly string[];
}

/** Decimal digits, optionally negative, with surrounding whitespace: the only text that is a number. */
function parseText(raw: string): number | undefined {
  const text = raw.replace(/^\s+|\s+$/g, '');
  if (!/^-?[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value + 0 : undefined;
}

/** The range rules over the readable values; `maxOf` is the max to compare min with (pg's 10 when not given). */
function rangeProblems(values: Partial<Record<Field, number>>, name: (field: Field) => string, maxOf: number | undefined): ModelProblem[] {
  const problems: ModelProblem[] = [];
  const { min } = values;
  if (values.max !== undefined && values.max < 1) problems.push({ variable: name('max') });
  if (min !== undefined && min < 0) problems.push({ variable: name('min') });
  if (min !== undefined && maxOf !== undefined && min >= 0 && maxOf >= 1 && min > maxOf) problems.push({ variable: name('min') });
  for (const field of ['idleTimeoutMillis', 'connectionTimeoutMillis'] as const) {
    const value = values[field];
    if (value !== undefined && (value < MIN_TIMEOUT || value > MAX_TIMER)) problems.push({ variable: name(field) });
  }
  return problems;
}

function sizingWarnings(values: Partial<Record<Field, number>>): string[] {
  const warnings: string[] = [];
  if (values.max !== undefined && values.max > 100) warnings.push('POOLSCOPE_WARN_CONFIG_MAX_HIGH');
  if (values.min !== undefined && values.min > 50) warnings.push('POOLSCOPE_WARN_CONFIG_MIN_HIGH');
  return warnings;
}

function modelFromEnv(env: Readonly<Record<string, string | undefined>>): ModelResult & { environment: string } {
  const nodeEnv = env.NODE_ENV?.replace(/^\s+|\s+$/g, '');
  const environment = (ENVIRONMENTS as readonly string[]).includes(nodeEnv ?? '') ? (nodeEnv as (typeof ENVIRONMENTS)[number]) : 'development';
  const values: Partial<Record<Field, number>> = {};
  const problems: ModelProblem[] = [];
  for (const field of FIELDS) {
    const raw = env[POOL_CONFIG_VARIABLES[field]];
    if (raw === undefined) {
      values[field] = POOL_CONFIG_DEFAULTS[environment][field];
      continue;
    }
    const parsed = parseText(raw);
    if (parsed === undefined) problems.push({ variable: POOL_CONFIG_VARIABLES[field] });
    else values[field] = parsed;
  }
  problems.push(...rangeProblems(values, (field) => POOL_CONFIG_VARIABLES[field], values.max));
  const warnings = nodeEnv !== undefined && nodeEnv !== '' && environment !== nodeEnv ? ['POOLSCOPE_WARN_CONFIG_UNKNOWN_NODE_ENV'] : [];
  warnings.push(...sizingWarnings(values));
  return { values: problems.length === 0 ? (values as Record<Field, number>) : undefined, problems, warnings, environment };
}

function modelFromCode(config: Partial<Record<Field, unknown>>): ModelResult {
  const values: Partial<Record<Field, number>> = {};
  const problems: ModelProblem[] = [];
  for (const field of FIELDS) {
    const value = config[field];
    if (value === undefined) continue;
    if (typeof value === 'number' && Number.isSafeInteger(value)) values[field] = value;
    else problems.push({ variable: field });
  }
  // pg's default max (10) stands in for a max left out, not for an unusable one.
  const maxOf = config.max === undefined ? 10 : values.max;
  problems.push(...rangeProblems(values, (field) => field, maxOf));
  return { values: problems.length === 0 ? (values as Record<Field, number>) : undefined, problems, warnings: sizingWarnings(values) };
}

// ---- generators -------------------------------------------------------------------------------------------------

const padding = fc.string({ unit: fc.constantFrom(' ', '\t', '\r', '\n'), maxLength: 2 });
/** Text of a variable: mostly numbers around the limits, padded; then the look-alikes that are not whole numbers. */
const variableText = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        padding,
        fc.oneof(
          fc.integer({ min: -3, max: 120 }),
          fc.integer({ min: 990, max: 1010 }),
          fc.constantFrom(MAX_TIMER - 1, MAX_TIMER, MAX_TIMER + 1, Number.MAX_SAFE_INTEGER),
          fc.integer({ min: -1e6, max: 3e9 }),
        ),
        fc.boolean(),
        padding,
      )
      .map(([before, value, zeros, after]) => `${before}${zeros && value >= 0 ? '00' : ''}${value}${after}`),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom('', ' ', '1.5', '1e3', '0x10', '1_000', '+5', '-0', '\u0661\u0662', '9007199254740993', '99999999999999999999', '10 0', '5;', 'NaN', 'Infinity', '\u00a010'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);
const nodeEnvText = fc.option(
  fc.oneof(fc.constantFrom(...ENVIRONMENTS, ' production ', 'Production', 'prod', 'staging', '', ' '), fc.string({ maxLength: 6 })),
  { nil: undefined },
);
const environment = fc
  .record(
    {
      NODE_ENV: nodeEnvText,
      DATABASE_POOL_MIN: variableText,
      DATABASE_POOL_MAX: variableText,
      DATABASE_POOL_IDLE_TIMEOUT: variableText,
      DATABASE_POOL_CONNECTION_TIMEOUT: variableText,
      DATABASE_URL: fc.constantFrom('postgres://app:S3cret@db/app', ''),
    },
    { requiredKeys: [] },
  )
  .map((env) => Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)) as Record<string, string>);

// ---- properties -------------------------------------------------------------------------------------------------

fuzz.property('loadPoolConfig: any environment gives the model\'s config and warnings, or one PoolConfigError naming every bad variable', () =>
  fc.property(environment, (env) => {
    const model = modelFromEnv(env);
    let report: ReturnType<typeof loadPoolConfigReport>;
    try {
      report = loadPoolConfigReport({ env });
    } catch (error) {
      assert.ok(error instanceof PoolConfigError, `only PoolConfigError, not ${String(error)}`);
      assert.equal(error.code, 'POOLSCOPE_ERR_CONFIG_INVALID');
      assert.ok(model.values === undefined, `the model accepts ${JSON.stringify(env)}, the loader threw: ${error.message}`);
      assert.equal(error.variable, model.problems[0]?.variable, error.message);
      for (const problem of model.problems) assert.ok(error.message.includes(problem.variable), `${problem.variable} is not named: ${error.message}`);
      assert.ok(!error.message.includes('S3cret'), 'the database URL is never in the message');
      return;
    }
    assert.ok(model.values !== undefined, `the model refuses ${JSON.stringify(env)} (${JSON.stringify(model.problems)}); the loader accepted it`);
    const { config } = report;
    assert.deepEqual(
      { min: config.min, max: config.max, idleTimeoutMillis: config.idleTimeoutMillis, connectionTimeoutMillis: config.connectionTimeoutMillis },
      model.values,
    );
    assert.equal(report.environment, model.environment);
    assert.deepEqual(report.warnings.map((w) => w.code).sort(), [...model.warnings].sort());
    for (const field of FIELDS) {
      const variable = POOL_CONFIG_VARIABLES[field];
      assert.deepEqual(report.sources[field], env[variable] === undefined ? { kind: 'default', environment: model.environment } : { kind: 'env', variable });
    }
    assert.equal(config.connectionString, env.DATABASE_URL === '' ? undefined : env.DATABASE_URL);
    // Every value is one pg.Pool takes: whole, min <= max, timeouts a timer can wait.
    assert.ok(config.max >= 1 && config.min >= 0 && config.min <= config.max && !Object.is(config.min, -0));
  }),
);

fuzz.property('loadPoolConfig: whole numbers written with any surrounding whitespace round-trip exactly', () =>
  fc.property(
    fc.integer({ min: 1, max: 500 }).chain((max) =>
      fc.record({
        max: fc.constant(max),
        min: fc.integer({ min: 0, max }),
        idleTimeoutMillis: fc.integer({ min: MIN_TIMEOUT, max: MAX_TIMER }),
        connectionTimeoutMillis: fc.integer({ min: MIN_TIMEOUT, max: MAX_TIMER }),
      }),
    ),
    fc.array(fc.tuple(padding, padding), { minLength: 4, maxLength: 4 }),
    (values, pads) => {
      const env: Record<string, string> = {};
      FIELDS.forEach((field, index) => {
        const [before, after] = pads[index] ?? ['', ''];
        env[POOL_CONFIG_VARIABLES[field]] = `${before}${values[field]}${after}`;
      });
      assert.deepEqual(loadPoolConfig({ env }), { ...values });
    },
  ),
);

/** Values a config written in code may hold. */
const codeValue = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.integer({ min: -3, max: 120 }), fc.integer({ min: 990, max: 1010 }), fc.constantFrom(MAX_TIMER, MAX_TIMER + 1, -0)) },
  { weight: 2, arbitrary: fc.constantFrom(1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '10', null, true, 10n, [], {}) },
  { weight: 1, arbitrary: fc.anything() },
);
const codeConfig = fc.record(
  { min: codeValue, max: codeValue, idleTimeoutMillis: codeValue, connectionTimeoutMillis: codeValue, host: fc.string() },
  { requiredKeys: [] },
);

fuzz.property('validatePoolConfig: any values in code give the model\'s warnings, or one PoolConfigError naming every bad field', () =>
  fc.property(codeConfig, (config) => {
    const model = modelFromCode(config);
    let warnings: ReturnType<typeof validatePoolConfig>;
    try {
      warnings = validatePoolConfig(config);
    } catch (error) {
      assert.ok(error instanceof PoolConfigError, `only PoolConfigError, not ${String(error)}`);
      assert.ok(model.values === undefined, `the model accepts ${fc.stringify(config)}, the validator threw: ${error.message}`);
      assert.equal(error.variable, model.problems[0]?.variable, error.message);
      for (const problem of model.problems) assert.ok(error.message.includes(problem.variable), `${problem.variable} is not named: ${error.message}`);
      return;
    }
    assert.ok(model.values !== undefined, `the model refuses ${fc.stringify(config)} (${JSON.stringify(model.problems)}); the validator accepted it`);
    assert.deepEqual(warnings.map((w) => w.code).sort(), [...model.warnings].sort());
  }),
);

fuzz.property('validatePoolConfig: anything that is not an object is one PoolConfigError on `config`', () =>
  fc.property(fc.oneof(fc.constantFrom(null, undefined), fc.string(), fc.double(), fc.boolean(), fc.bigInt()), (value) => {
    assert.throws(
      () => validatePoolConfig(value as never),
      (error: unknown) => error instanceof PoolConfigError && error.variable === 'config',
    );
  }),
);

fuzz.property('what the environment loader accepts, the in-code validator accepts with the same sizing warnings', () =>
  fc.property(environment, (env) => {
    let report: ReturnType<typeof loadPoolConfigReport>;
    try {
      report = loadPoolConfigReport({ env });
    } catch {
      return; // the first property covers refusals
    }
    const sizing = (codes: readonly { code: string }[]): string[] => codes.map((w) => w.code).filter((code) => code !== 'POOLSCOPE_WARN_CONFIG_UNKNOWN_NODE_ENV').sort();
    assert.deepEqual(sizing(validatePoolConfig(report.config)), sizing(report.warnings));
  }),
);
