// Pool configuration from the environment (seed 004): defaults per NODE_ENV, DATABASE_POOL_* overrides, every
// validation error naming its variable and value, the warnings, the startup line (password masked), the URL helper
// for ORMs, and the arithmetic of the server capacity check. Fake env objects only; no network.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PoolConfig as PgPoolConfig } from 'pg';
import { PoolConfigError } from '../../src/errors.js';
import { recordingLogger, type LoggedLine } from '../support/recording-logger.js';
import {
  POOL_CONFIG_DEFAULTS,
  loadPoolConfig,
  loadPoolConfigReport,
  poolConfigLogLine,
  type PoolConfigReport,
} from '../../src/config/pool-config.js';
import { POOL_CONFIG_WARNING_CODES, validatePoolConfig } from '../../src/config/pool-config-validation.js';
import { maskDatabaseUrl, poolUrlParametersFromConfig, withPoolParameters } from '../../src/config/database-url.js';
import { buildCapacityReport, checkServerCapacity, type CapacityQueryable } from '../../src/config/server-capacity-check.js';

type Env = Record<string, string | undefined>;

function load(env: Env): PoolConfigReport {
  return loadPoolConfigReport({ env });
}

/** Runs fn, expects a PoolConfigError, returns it. */
function configError(fn: () => unknown): PoolConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PoolConfigError, `expected PoolConfigError, got ${String(error)}`);
    assert.equal(error.code, 'POOLSCOPE_ERR_CONFIG_INVALID');
    return error;
  }
  assert.fail('expected a PoolConfigError, nothing was thrown');
}

async function rejectsWithConfigError(promise: Promise<unknown>): Promise<PoolConfigError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PoolConfigError, `expected PoolConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('defaults per NODE_ENV (seed 004 table)', () => {
  const table = [
    ['development', { min: 2, max: 10, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5_000 }],
    ['test', { min: 1, max: 5, idleTimeoutMillis: 5_000, connectionTimeoutMillis: 3_000 }],
    ['production', { min: 5, max: 20, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 }],
  ] as const;

  for (const [nodeEnv, expected] of table) {
    test(`NODE_ENV=${nodeEnv}: min ${expected.min}, max ${expected.max}, idle ${expected.idleTimeoutMillis} ms, connect ${expected.connectionTimeoutMillis} ms`, () => {
      const report = load({ NODE_ENV: nodeEnv });
      assert.deepEqual(report.config, expected);
      assert.equal(report.environment, nodeEnv);
      assert.equal(report.nodeEnv, nodeEnv);
      assert.deepEqual(report.warnings, []);
      for (const field of ['min', 'max', 'idleTimeoutMillis', 'connectionTimeoutMillis'] as const) {
        assert.deepEqual(report.sources[field], { kind: 'default', environment: nodeEnv });
      }
      assert.equal(report.sources.connectionString, undefined);
      assert.deepEqual(POOL_CONFIG_DEFAULTS[nodeEnv], expected);
    });
  }

  test('NODE_ENV unset or empty: development defaults, no warning', () => {
    for (const env of [{}, { NODE_ENV: '' }, { NODE_ENV: '  ' }]) {
      const report = load(env);
      assert.equal(report.environment, 'development');
      assert.equal(report.nodeEnv, undefined);
      assert.deepEqual(report.config, POOL_CONFIG_DEFAULTS.development);
      assert.deepEqual(report.warnings, []);
    }
  });

  test('an unknown NODE_ENV: development defaults and a warning naming the value', () => {
    const report = load({ NODE_ENV: 'staging' });
    assert.equal(report.environment, 'development');
    assert.equal(report.nodeEnv, 'staging');
    assert.deepEqual(report.config, POOL_CONFIG_DEFAULTS.development);
    assert.equal(report.warnings.length, 1);
    const [warning] = report.warnings;
    assert.equal(warning?.code, 'POOLSCOPE_WARN_CONFIG_UNKNOWN_NODE_ENV');
    assert.equal(warning?.variable, 'NODE_ENV');
    assert.equal(warning?.value, 'staging');
    assert.match(warning?.message ?? '', /NODE_ENV="staging".*development/);
  });

  test('NODE_ENV is matched exactly after trimming: "production\\r" is production, "Production" is not', () => {
    assert.equal(load({ NODE_ENV: 'production\r' }).environment, 'production');
    const report = load({ NODE_ENV: 'Production' });
    assert.equal(report.environment, 'development');
    assert.equal(report.warnings[0]?.code, 'POOLSCOPE_WARN_CONFIG_UNKNOWN_NODE_ENV');
  });

  test('reads process.env when no env is given', () => {
    const config = loadPoolConfig();
    assert.equal(typeof config.max, 'number');
    assert.ok(config.max >= 1);
  });

  test('the defaults table cannot be changed by accident', () => {
    assert.throws(() => {
      (POOL_CONFIG_DEFAULTS.production as { max: number }).max = 1;
    }, TypeError);
  });
});

describe('overrides', () => {
  const overrides = [
    ['DATABASE_POOL_MIN', 'min', '3', 3],
    ['DATABASE_POOL_MAX', 'max', '42', 42],
    ['DATABASE_POOL_IDLE_TIMEOUT', 'idleTimeoutMillis', '12000', 12_000],
    ['DATABASE_POOL_CONNECTION_TIMEOUT', 'connectionTimeoutMillis', '2500', 2_500],
  ] as const;

  for (const [variable, field, raw, value] of overrides) {
    test(`${variable}=${raw} sets ${field} and is reported as its source; the rest stay production defaults`, () => {
      const report = load({ NODE_ENV: 'production', [variable]: raw });
      assert.deepEqual(report.config, { ...POOL_CONFIG_DEFAULTS.production, [field]: value });
      assert.deepEqual(report.sources[field], { kind: 'env', variable });
      for (const other of ['min', 'max', 'idleTimeoutMillis', 'connectionTimeoutMillis'] as const) {
        if (other !== field) assert.deepEqual(report.sources[other], { kind: 'default', environment: 'production' });
      }
    });
  }

  test('seed 004 "production custom": min 10, max 50', () => {
    const config = loadPoolConfig({ env: { NODE_ENV: 'production', DATABASE_POOL_MIN: '10', DATABASE_POOL_MAX: '50' } });
    assert.deepEqual(config, { min: 10, max: 50, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  });

  test('DATABASE_URL is passed through as connectionString, unchanged', () => {
    const url = 'postgresql://app:s3cret@db:5432/app?sslmode=require';
    const report = load({ DATABASE_URL: url });
    assert.equal(report.config.connectionString, url);
    assert.deepEqual(report.sources.connectionString, { kind: 'env', variable: 'DATABASE_URL' });
  });

  test('DATABASE_URL unset or empty: no connectionString key at all (pg reads PG* variables)', () => {
    for (const env of [{}, { DATABASE_URL: '' }]) {
      const config = loadPoolConfig({ env });
      assert.equal('connectionString' in config, false);
    }
  });

  test('surrounding whitespace is trimmed (" 5", "20\\r" from a CRLF .env file)', () => {
    const config = loadPoolConfig({ env: { DATABASE_POOL_MIN: ' 5', DATABASE_POOL_MAX: '20\r', DATABASE_POOL_IDLE_TIMEOUT: '\t30000 ' } });
    assert.equal(config.min, 5);
    assert.equal(config.max, 20);
    assert.equal(config.idleTimeoutMillis, 30_000);
  });

  test('min may equal max, min may be 0, and "-0" reads as 0', () => {
    assert.equal(loadPoolConfig({ env: { DATABASE_POOL_MIN: '10', DATABASE_POOL_MAX: '10' } }).min, 10);
    assert.ok(Object.is(loadPoolConfig({ env: { DATABASE_POOL_MIN: '0' } }).min, 0));
    assert.ok(Object.is(loadPoolConfig({ env: { DATABASE_POOL_MIN: '-0' } }).min, 0));
  });

  test('timeouts of exactly 1000 ms are accepted', () => {
    const config = loadPoolConfig({ env: { DATABASE_POOL_IDLE_TIMEOUT: '1000', DATABASE_POOL_CONNECTION_TIMEOUT: '1000' } });
    assert.equal(config.idleTimeoutMillis, 1000);
    assert.equal(config.connectionTimeoutMillis, 1000);
  });
});

describe('errors: PoolConfigError naming the variable and its value', () => {
  const variables = ['DATABASE_POOL_MIN', 'DATABASE_POOL_MAX', 'DATABASE_POOL_IDLE_TIMEOUT', 'DATABASE_POOL_CONNECTION_TIMEOUT'] as const;
  const notIntegers = [
    ['abc', 'is not a whole number'],
    ['1.5', 'is not a whole number'],
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['1e3', 'is not a whole number'],
    ['0x10', 'is not a whole number'],
    ['+5', 'is not a whole number'],
    ['1_000', 'is not a whole number'],
    ['5 5', 'is not a whole number'],
    ['99999999999999999999', 'is too large'],
  ] as const;

  for (const variable of variables) {
    for (const [raw, problem] of notIntegers) {
      test(`${variable}=${JSON.stringify(raw)} ${problem}`, () => {
        const error = configError(() => load({ [variable]: raw }));
        assert.equal(error.variable, variable);
        assert.equal(error.value, raw);
        assert.ok(error.message.startsWith(`${variable}=${JSON.stringify(raw)} ${problem}`), error.message);
      });
    }
  }

  test('DATABASE_POOL_MAX=0 and -3 are refused: max must be at least 1', () => {
    for (const raw of ['0', '-3']) {
      const error = configError(() => load({ DATABASE_POOL_MAX: raw }));
      assert.equal(error.variable, 'DATABASE_POOL_MAX');
      assert.equal(error.value, raw);
      assert.match(error.message, new RegExp(`^DATABASE_POOL_MAX="${raw}" must be at least 1\\.`));
    }
  });

  test('DATABASE_POOL_MIN=-1 is refused: min must not be negative', () => {
    const error = configError(() => load({ DATABASE_POOL_MIN: '-1' }));
    assert.equal(error.variable, 'DATABASE_POOL_MIN');
    assert.equal(error.value, '-1');
    assert.match(error.message, /^DATABASE_POOL_MIN="-1" must not be negative\./);
  });

  test('min > max (seed 004: MIN=30, MAX=20) names both and how to fix it', () => {
    const error = configError(() => load({ DATABASE_POOL_MIN: '30', DATABASE_POOL_MAX: '20' }));
    assert.equal(error.variable, 'DATABASE_POOL_MIN');
    assert.equal(error.value, '30');
    assert.equal(
      error.message,
      'DATABASE_POOL_MIN="30" is greater than DATABASE_POOL_MAX (20). Lower DATABASE_POOL_MIN to 20 or less, or set DATABASE_POOL_MAX to 30 or more.',
    );
  });

  test("min > max when max is the environment's default says so", () => {
    const error = configError(() => load({ NODE_ENV: 'test', DATABASE_POOL_MIN: '6' }));
    assert.equal(error.variable, 'DATABASE_POOL_MIN');
    assert.match(error.message, /greater than the pool's max \(5, the test default\)/);
    assert.match(error.message, /set DATABASE_POOL_MAX to 6 or more/);
  });

  for (const variable of ['DATABASE_POOL_IDLE_TIMEOUT', 'DATABASE_POOL_CONNECTION_TIMEOUT'] as const) {
    test(`${variable} under 1000 ms (999, 0) is refused`, () => {
      for (const raw of ['999', '0']) {
        const error = configError(() => load({ [variable]: raw }));
        assert.equal(error.variable, variable);
        assert.equal(error.value, raw);
        assert.match(error.message, new RegExp(`^${variable}="${raw}" is under 1000 ms`));
      }
    });

    test(`${variable} over the longest Node.js timer (2147483648) is refused`, () => {
      const error = configError(() => load({ [variable]: '2147483648' }));
      assert.equal(error.variable, variable);
      assert.match(error.message, /longest delay a Node\.js timer can wait/);
      assert.equal(loadPoolConfig({ env: { [variable]: '2147483647' } }) !== undefined, true);
    });
  }

  test('every problem is reported at once: the first in variable/value, all in the message', () => {
    const error = configError(() =>
      load({ DATABASE_POOL_MAX: 'abc', DATABASE_POOL_MIN: '-1', DATABASE_POOL_IDLE_TIMEOUT: '500', DATABASE_POOL_CONNECTION_TIMEOUT: '1.5' }),
    );
    assert.equal(error.variable, 'DATABASE_POOL_MAX');
    assert.equal(error.value, 'abc');
    assert.match(error.message, /^DATABASE_POOL_MAX="abc" is not a whole number\./);
    assert.match(error.message, /Also invalid: /);
    assert.match(error.message, /DATABASE_POOL_CONNECTION_TIMEOUT="1\.5" is not a whole number/);
    assert.match(error.message, /DATABASE_POOL_MIN="-1" must not be negative/);
    assert.match(error.message, /DATABASE_POOL_IDLE_TIMEOUT="500" is under 1000 ms/);
  });

  test('a config that fails is never half-returned: nothing is logged', () => {
    const lines: LoggedLine[] = [];
    configError(() => loadPoolConfigReport({ env: { DATABASE_POOL_MAX: 'x' }, logger: recordingLogger(lines) }));
    assert.deepEqual(lines, []);
  });
});

describe('warnings', () => {
  test('DATABASE_POOL_MAX=101 warns "may overwhelm PostgreSQL"; 100 does not', () => {
    assert.deepEqual(load({ DATABASE_POOL_MAX: '100' }).warnings, []);
    const report = load({ DATABASE_POOL_MAX: '101' });
    assert.equal(report.config.max, 101);
    assert.equal(report.warnings.length, 1);
    const [warning] = report.warnings;
    assert.equal(warning?.code, 'POOLSCOPE_WARN_CONFIG_MAX_HIGH');
    assert.equal(warning?.variable, 'DATABASE_POOL_MAX');
    assert.equal(warning?.value, '101');
    assert.match(warning?.message ?? '', /^DATABASE_POOL_MAX=101 is very high \(over 100\).*may overwhelm PostgreSQL/);
  });

  test('DATABASE_POOL_MIN=51 warns; 50 does not', () => {
    assert.deepEqual(load({ DATABASE_POOL_MIN: '50', DATABASE_POOL_MAX: '60' }).warnings, []);
    const report = load({ DATABASE_POOL_MIN: '51', DATABASE_POOL_MAX: '60' });
    assert.equal(report.warnings.length, 1);
    assert.equal(report.warnings[0]?.code, 'POOLSCOPE_WARN_CONFIG_MIN_HIGH');
    assert.equal(report.warnings[0]?.variable, 'DATABASE_POOL_MIN');
    assert.equal(report.warnings[0]?.value, '51');
    assert.match(report.warnings[0]?.message ?? '', /^DATABASE_POOL_MIN=51 is very high \(over 50\)/);
  });

  test('warnings go to the logger at warn, after the startup line at info', () => {
    const lines: LoggedLine[] = [];
    loadPoolConfigReport({ env: { NODE_ENV: 'qa', DATABASE_POOL_MIN: '60', DATABASE_POOL_MAX: '150' }, logger: recordingLogger(lines) });
    assert.deepEqual(
      lines.map((l) => [l.level, l.fields.code]),
      [
        ['info', undefined],
        ['warn', 'POOLSCOPE_WARN_CONFIG_UNKNOWN_NODE_ENV'],
        ['warn', 'POOLSCOPE_WARN_CONFIG_MAX_HIGH'],
        ['warn', 'POOLSCOPE_WARN_CONFIG_MIN_HIGH'],
      ],
    );
    assert.match(lines[0]?.message ?? '', /^Pool config \(development defaults, NODE_ENV="qa"\): min=60 \[DATABASE_POOL_MIN\] max=150 \[DATABASE_POOL_MAX\]/);
    assert.match(lines[0]?.message ?? '', /\(3 warnings\)$/);
  });

  test('every warning code is catalogued', () => {
    const report = load({ NODE_ENV: 'qa', DATABASE_POOL_MIN: '60', DATABASE_POOL_MAX: '150' });
    for (const warning of report.warnings) assert.ok(POOL_CONFIG_WARNING_CODES.includes(warning.code));
  });
});

describe('startup log line', () => {
  test('shows the effective config, marks overrides, masks the password', () => {
    const report = load({ NODE_ENV: 'production', DATABASE_POOL_MAX: '50', DATABASE_URL: 'postgres://app:s3cret@db:5432/app' });
    const line = poolConfigLogLine(report);
    assert.equal(
      line.message,
      'Pool config (production defaults, NODE_ENV="production"): min=5 max=50 [DATABASE_POOL_MAX] idleTimeoutMillis=30000 ' +
        'connectionTimeoutMillis=10000 connectionString=postgres://app:***@db:5432/app [DATABASE_URL]',
    );
    assert.deepEqual(line.fields, {
      environment: 'production',
      nodeEnv: 'production',
      min: 5,
      max: 50,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
      connectionString: 'postgres://app:***@db:5432/app',
      overrides: { max: 'DATABASE_POOL_MAX', connectionString: 'DATABASE_URL' },
      warningCount: 0,
    });
    assert.doesNotMatch(JSON.stringify(line), /s3cret/);
  });

  test('a password-looking query parameter is masked too; text that is not a URL is hidden whole', () => {
    const withParam = poolConfigLogLine(load({ DATABASE_URL: 'postgres://app@db/app?password=s3cret' }));
    assert.doesNotMatch(JSON.stringify(withParam), /s3cret/);
    const notUrl = poolConfigLogLine(load({ DATABASE_URL: 'app:s3cret@db/app' }));
    assert.doesNotMatch(JSON.stringify(notUrl), /s3cret/);
    assert.equal(notUrl.fields.connectionString, '***');
  });

  test('without DATABASE_URL and NODE_ENV, says so', () => {
    const line = poolConfigLogLine(load({}));
    assert.match(line.message, /^Pool config \(development defaults, NODE_ENV unset\): min=2 max=10 idleTimeoutMillis=10000 connectionTimeoutMillis=5000 connectionString unset/);
    assert.equal(line.fields.connectionString, null);
    assert.equal(line.fields.nodeEnv, null);
  });

  test('with a logger, loadPoolConfig logs the line once at info and nothing else when all is well', () => {
    const lines: LoggedLine[] = [];
    loadPoolConfig({ env: { DATABASE_URL: 'postgres://app:s3cret@db/app' }, logger: recordingLogger(lines) });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'info');
    assert.doesNotMatch(JSON.stringify(lines), /s3cret/);
  });
});

describe('validatePoolConfig (configs given in code)', () => {
  test('a good config passes with no warnings', () => {
    assert.deepEqual(validatePoolConfig({ min: 2, max: 20, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 }), []);
  });

  test("takes pg's own PoolConfig type, and loadPoolConfig()'s result is one", () => {
    const pgConfig: PgPoolConfig = { max: 20, min: 2, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000, host: 'db', ssl: false };
    assert.deepEqual(validatePoolConfig(pgConfig), []);
    const loaded: PgPoolConfig = loadPoolConfig({ env: { DATABASE_URL: 'postgres://app@db/app' } });
    assert.equal(loaded.connectionString, 'postgres://app@db/app');
  });

  test('fields left out are not checked; other fields are ignored', () => {
    assert.deepEqual(validatePoolConfig({ max: 20 }), []);
    assert.deepEqual(validatePoolConfig({ host: 'db', application_name: 'api' } as object), []);
  });

  test('each rule, naming the field and its value', () => {
    const cases = [
      [{ max: 0 }, 'max', 0, /^max=0 must be at least 1\./],
      [{ max: 2.5 }, 'max', 2.5, /^max=2\.5 is not an integer\./],
      [{ max: '20' }, 'max', '20', /^max="20" is not an integer\./],
      [{ min: -1 }, 'min', -1, /^min=-1 must not be negative\./],
      [{ min: 30, max: 20 }, 'min', 30, /^min=30 is greater than max \(20\)\./],
      [{ idleTimeoutMillis: 500 }, 'idleTimeoutMillis', 500, /^idleTimeoutMillis=500 is under 1000 ms/],
      [{ connectionTimeoutMillis: 0 }, 'connectionTimeoutMillis', 0, /^connectionTimeoutMillis=0 is under 1000 ms \(0 would disable/],
      [{ connectionTimeoutMillis: Number.NaN }, 'connectionTimeoutMillis', Number.NaN, /^connectionTimeoutMillis=NaN is not an integer/],
    ] as const;
    for (const [config, variable, value, message] of cases) {
      const error = configError(() => validatePoolConfig(config));
      assert.equal(error.variable, variable);
      assert.ok(Object.is(error.value, value));
      assert.match(error.message, message);
    }
  });

  test("min without max is compared with pg's default max (10)", () => {
    assert.deepEqual(validatePoolConfig({ min: 10 }), []);
    const error = configError(() => validatePoolConfig({ min: 11 }));
    assert.match(error.message, /^min=11 is greater than the pool's max \(10, pg's default when max is not set\)/);
  });

  test('warnings are returned and logged, with the field names', () => {
    const lines: LoggedLine[] = [];
    const warnings = validatePoolConfig({ min: 51, max: 101 }, { logger: recordingLogger(lines) });
    assert.deepEqual(
      warnings.map((w) => [w.code, w.variable, w.value]),
      [
        ['POOLSCOPE_WARN_CONFIG_MAX_HIGH', 'max', 101],
        ['POOLSCOPE_WARN_CONFIG_MIN_HIGH', 'min', 51],
      ],
    );
    assert.deepEqual(lines.map((l) => [l.level, l.fields.code]), [
      ['warn', 'POOLSCOPE_WARN_CONFIG_MAX_HIGH'],
      ['warn', 'POOLSCOPE_WARN_CONFIG_MIN_HIGH'],
    ]);
  });

  test('the config loaded from the environment passes validatePoolConfig', () => {
    for (const NODE_ENV of ['development', 'test', 'production']) {
      assert.deepEqual(validatePoolConfig(loadPoolConfig({ env: { NODE_ENV } })), []);
    }
  });

  test('not an object is refused', () => {
    const error = configError(() => validatePoolConfig(null as unknown as object));
    assert.equal(error.variable, 'config');
  });
});

describe('withPoolParameters (connection_limit, pool_timeout for Prisma)', () => {
  const url = 'postgresql://app:s3cret@db:5432/app';

  test('adds both parameters to a URL without a query', () => {
    assert.equal(withPoolParameters(url, { connectionLimit: 10, poolTimeoutSeconds: 20 }), `${url}?connection_limit=10&pool_timeout=20`);
  });

  test('keeps other parameters byte for byte and in order, replaces existing ones, keeps the fragment', () => {
    const given = `${url}?sslmode=require&connection_limit=3&options=-c%20search_path%3Dapp&pool_timeout=1&connection_limit=4#frag`;
    assert.equal(
      withPoolParameters(given, { connectionLimit: 10, poolTimeoutSeconds: 20 }),
      `${url}?sslmode=require&options=-c%20search_path%3Dapp&connection_limit=10&pool_timeout=20#frag`,
    );
  });

  test('an encoded parameter name is recognised and replaced', () => {
    assert.equal(withPoolParameters(`${url}?connection%5Flimit=3`, { connectionLimit: 7 }), `${url}?connection_limit=7`);
  });

  test('undefined leaves a parameter as it is; nothing to set returns the URL unchanged', () => {
    assert.equal(withPoolParameters(`${url}?pool_timeout=5`, { connectionLimit: 10 }), `${url}?pool_timeout=5&connection_limit=10`);
    assert.equal(withPoolParameters(`${url}?x=1`, {}), `${url}?x=1`);
  });

  test('the password is kept in the result (the ORM needs it)', () => {
    assert.match(withPoolParameters(url, { connectionLimit: 1 }), /app:s3cret@db/);
  });

  test('a bad number is a PoolConfigError naming it', () => {
    const cases = [
      [{ connectionLimit: 0 }, 'connectionLimit', 0],
      [{ connectionLimit: 2.5 }, 'connectionLimit', 2.5],
      [{ poolTimeoutSeconds: 0 }, 'poolTimeoutSeconds', 0],
      [{ poolTimeoutSeconds: -1 }, 'poolTimeoutSeconds', -1],
      [{ poolTimeoutSeconds: '10' as unknown as number }, 'poolTimeoutSeconds', '10'],
    ] as const;
    for (const [parameters, variable, value] of cases) {
      const error = configError(() => withPoolParameters(url, parameters));
      assert.equal(error.variable, variable);
      assert.equal(error.value, value);
      assert.match(error.message, /is not a whole number >= 1/);
      assert.doesNotMatch(error.message, /s3cret/);
    }
  });

  test('a string that is not a URL is refused without echoing it (it may hold a password)', () => {
    for (const bad of ['app:s3cret@db/app', 's3cret', '']) {
      const error = configError(() => withPoolParameters(bad, { connectionLimit: 1 }));
      assert.equal(error.variable, 'url');
      assert.equal(error.value, '***');
      assert.doesNotMatch(error.message, /s3cret/);
    }
  });

  test('poolUrlParametersFromConfig: connection_limit = max, pool_timeout = connection timeout rounded up to seconds', () => {
    assert.deepEqual(poolUrlParametersFromConfig({ max: 20, connectionTimeoutMillis: 10_000 }), { connectionLimit: 20, poolTimeoutSeconds: 10 });
    assert.deepEqual(poolUrlParametersFromConfig({ max: 5, connectionTimeoutMillis: 1_500 }), { connectionLimit: 5, poolTimeoutSeconds: 2 });
    const config = loadPoolConfig({ env: { NODE_ENV: 'production' } });
    assert.equal(withPoolParameters(url, poolUrlParametersFromConfig(config)), `${url}?connection_limit=20&pool_timeout=10`);
  });

  test('maskDatabaseUrl masks a URL and hides other text whole', () => {
    assert.equal(maskDatabaseUrl(url), 'postgresql://app:***@db:5432/app');
    assert.equal(maskDatabaseUrl('app:s3cret@db/app'), '***');
  });
});

describe('server capacity arithmetic (no server: a fake queryable)', () => {
  function fakeServer(row: Record<string, unknown>, queries: string[] = []): CapacityQueryable {
    return {
      query: (text) => {
        queries.push(text);
        return Promise.resolve({ rows: [row] });
      },
    };
  }
  const pg15 = { server_version_num: 150004, max_connections: 100, superuser_reserved_connections: 3, reserved_connections: 0 };
  const pg16 = { server_version_num: 160002, max_connections: 100, superuser_reserved_connections: 3, reserved_connections: 5 };

  test('fits: 97 available on PG 15 (100 - 3), 20 x 4 = 80 planned, no warning', async () => {
    const report = await checkServerCapacity({ client: fakeServer(pg15), max: 20, expectedInstances: 4 });
    assert.equal(report.availableConnections, 97);
    assert.equal(report.plannedConnections, 80);
    assert.equal(report.exceeded, false);
    assert.deepEqual(report.warnings, []);
  });

  test('exactly at the limit does not warn; one more does', () => {
    assert.equal(buildCapacityReport(pg15, 97, 1).exceeded, false);
    const over = buildCapacityReport(pg15, 98, 1);
    assert.equal(over.exceeded, true);
    assert.equal(over.warnings[0]?.code, 'POOLSCOPE_WARN_CONFIG_SERVER_CAPACITY');
  });

  test('PG 16+: reserved_connections is subtracted too, and named in the message', () => {
    const report = buildCapacityReport(pg16, 20, 5);
    assert.equal(report.availableConnections, 92);
    assert.equal(report.plannedConnections, 100);
    assert.equal(report.exceeded, true);
    assert.match(
      report.warnings[0]?.message ?? '',
      /^max 20 x 5 instances = 100 connections, but the server lets ordinary roles open 92 \(max_connections 100 - superuser_reserved_connections 3 - reserved_connections 5\)/,
    );
    assert.match(report.warnings[0]?.message ?? '', /lower max to 18 or less per instance/);
  });

  test('before PG 16, a missing reserved_connections (NULL) counts as 0', () => {
    const report = buildCapacityReport({ ...pg15, reserved_connections: null }, 98, 1);
    assert.equal(report.reservedConnections, 0);
    assert.doesNotMatch(report.warnings[0]?.message ?? '', /- reserved_connections/);
  });

  test('the warning goes to the logger; the given client is only queried, with the one statement', async () => {
    const lines: LoggedLine[] = [];
    const queries: string[] = [];
    await checkServerCapacity({ client: fakeServer(pg15, queries), max: 50, expectedInstances: 2, logger: recordingLogger(lines) });
    assert.equal(queries.length, 1);
    assert.match(queries[0] ?? '', /current_setting\('reserved_connections', true\)/);
    assert.deepEqual(lines.map((l) => [l.level, l.fields.code]), [['warn', 'POOLSCOPE_WARN_CONFIG_SERVER_CAPACITY']]);
  });

  test('bad max or expectedInstances reject with PoolConfigError naming them', async () => {
    const client = fakeServer(pg15);
    for (const [options, variable] of [
      [{ client, max: 0 }, 'max'],
      [{ client, max: 1.5 }, 'max'],
      [{ client, max: 10, expectedInstances: 0 }, 'expectedInstances'],
    ] as const) {
      const error = await rejectsWithConfigError(checkServerCapacity(options));
      assert.equal(error.variable, variable);
    }
  });

  test('neither or both of client and connectionString is refused', async () => {
    await assert.rejects(checkServerCapacity({ max: 10 }), { code: 'POOLSCOPE_ERR_OPTIONS_INVALID' });
    await assert.rejects(checkServerCapacity({ max: 10, client: fakeServer(pg15), connectionString: 'postgres://x@y/z' }), {
      code: 'POOLSCOPE_ERR_OPTIONS_INVALID',
    });
  });

  test('a failing query rejects with an Error naming what failed, the driver error as cause', async () => {
    const cause = new Error('permission denied');
    const client: CapacityQueryable = { query: () => Promise.reject(cause) };
    await assert.rejects(checkServerCapacity({ client, max: 10 }), (error: Error) => {
      assert.match(error.message, /could not read max_connections from PostgreSQL: permission denied/);
      assert.equal(error.cause, cause);
      return true;
    });
  });

  test('with a connection string, the given Client is created, connected, queried and ended', async () => {
    const calls: string[] = [];
    const configs: Record<string, unknown>[] = [];
    class FakeClient {
      constructor(config: Record<string, unknown>) {
        configs.push(config);
      }
      on(event: string) {
        calls.push(`on ${event}`);
      }
      connect() {
        calls.push('connect');
        return Promise.resolve();
      }
      query() {
        calls.push('query');
        return Promise.resolve({ rows: [pg15] });
      }
      end() {
        calls.push('end');
        return Promise.resolve();
      }
    }
    const report = await checkServerCapacity({ connectionString: 'postgres://app:s3cret@db/app', pg: { Client: FakeClient }, max: 10 });
    assert.equal(report.maxConnections, 100);
    assert.deepEqual(calls, ['on error', 'connect', 'query', 'end']);
    assert.equal(configs[0]?.application_name, 'poolscope-capacity-check');
  });
});
