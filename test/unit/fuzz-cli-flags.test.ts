// Properties of the CLI's flags (issue 17): parseFlags over any argv accepts exactly what a reference model of the
// documented syntax accepts (strict: no positionals, no unknown or short options, `--flag value` / `--flag=value`,
// a value starting with a dash only after `=`), with the last value of each flag, and refuses the rest with a
// CliUsageError (never another error); valid flags round-trip in any order and spelling; every command's argument
// parser throws nothing but usage errors; a secret given to the CLI is never echoed in a usage error; integerFlag
// equals its model. Seeded and bounded: test/support/fuzz-kit.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CliUsageError } from '../../src/cli/cli-command.js';
import { integerFlag, parseFlags, secretFromEnvFlag, type CliFlag } from '../../src/cli/flag-parser.js';
import { INSPECT_FLAGS, parseInspectArgs } from '../../src/cli/inspect-options.js';
import { STRESS_FLAGS, parseStressArgs } from '../../src/cli/stress-options.js';
import { CLUSTER_FLAGS, parseClusterArgs } from '../../src/cli/commands/cluster-command.js';
import { DB_FLAGS, parseDbArgs } from '../../src/cli/commands/db-command.js';
import { DEMO_FLAGS, parseDemoArgs } from '../../src/cli/commands/demo-command.js';
import { fuzzSuite } from '../support/fuzz-kit.js';

const fuzz = fuzzSuite(import.meta.url);

// ---- the reference model ----------------------------------------------------------------------------------------

type ModelResult = { readonly ok: true; readonly values: ReadonlyMap<string, string | true> } | { readonly ok: false };

/** The documented syntax, read left to right. */
function modelParse(args: readonly string[], flags: readonly CliFlag[]): ModelResult {
  const byName = new Map(flags.map((flag) => [flag.name, flag]));
  const values = new Map<string, string | true>();
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--') return i + 1 === args.length ? { ok: true, values } : { ok: false }; // only positionals follow
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const flag = byName.get(equals === -1 ? arg.slice(2) : arg.slice(2, equals));
      if (flag === undefined) return { ok: false };
      if (flag.type === 'boolean') {
        if (equals !== -1) return { ok: false };
        values.set(flag.name, true);
      } else if (equals !== -1) {
        values.set(flag.name, arg.slice(equals + 1));
      } else {
        const next = args[i + 1];
        // A separate value may not look like an option (`-x`, `--`): that needs `--flag=-x`. A lone `-` is a value.
        if (next === undefined || (next.startsWith('-') && next.length > 1)) return { ok: false };
        values.set(flag.name, next);
        i += 1;
      }
      continue;
    }
    return { ok: false }; // a positional, a lone '-', or a short option (none is declared)
  }
  return { ok: true, values };
}

// ---- generators -------------------------------------------------------------------------------------------------

const REAL_FLAG_SETS: readonly (readonly CliFlag[])[] = [STRESS_FLAGS, INSPECT_FLAGS, DB_FLAGS, DEMO_FLAGS, CLUSTER_FLAGS];

const flagSet: fc.Arbitrary<readonly CliFlag[]> = fc.oneof(
  fc.constantFrom(...REAL_FLAG_SETS),
  fc
    // Two characters at least, as every real flag: node's parseArgs reads `-x` as a one-letter flag named x.
    .uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{1,8}$/), fc.constantFrom('string', 'boolean') as fc.Arbitrary<'string' | 'boolean'>), {
      minLength: 1,
      maxLength: 6,
      selector: ([name]) => name,
    })
    .map((list) => list.map(([name, type]) => ({ name, type, summary: name }))),
);

/** A value a user may type: plain, empty, dash-led, with `=`, spaces, Unicode. */
const flagValue = fc.oneof(
  fc.constantFrom('', '-', '-x', '--', '--url', '-5', '5', 'a=b', '=', ' ', 'http://127.0.0.1:3000', 'text', 'json'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

/** Argument words for a flag set: its flags in both spellings, and what goes wrong on a command line. */
function argsFor(flags: readonly CliFlag[]): fc.Arbitrary<string[]> {
  const names = flags.map((flag) => flag.name);
  const word = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...names), flagValue).map(([name, value]) => [`--${name}`, value]) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...names), flagValue).map(([name, value]) => [`--${name}=${value}`]) },
    { weight: 3, arbitrary: fc.constantFrom(...names).map((name) => [`--${name}`]) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom('--', '-', '-h', '-abc', '--nope', '--=x', '---x', '--__proto__', '--constructor=1', 'positional', '—url'),
        fc.constantFrom(...names).map((name) => `--${name.toUpperCase()}`),
        fc.string({ maxLength: 8 }),
      ).map((arg) => [arg]),
    },
  );
  return fc.array(word, { maxLength: 6 }).map((words) => words.flat());
}

const flagsAndArgs = flagSet.chain((flags) => fc.tuple(fc.constant(flags), argsFor(flags)));

// ---- properties -------------------------------------------------------------------------------------------------

fuzz.property('parseFlags: any argv is accepted exactly when the model accepts it, with the same values; else a CliUsageError', () =>
  fc.property(flagsAndArgs, ([flags, args]) => {
    const model = modelParse(args, flags);
    let parsed: ReturnType<typeof parseFlags>;
    try {
      parsed = parseFlags(args, flags);
    } catch (error) {
      assert.ok(error instanceof CliUsageError, `only CliUsageError, not ${String(error)}`);
      assert.ok(error.message.length > 0);
      assert.ok(!model.ok, `the model accepts ${JSON.stringify(args)}; parseFlags said: ${error.message}`);
      return;
    }
    assert.ok(model.ok, `the model refuses ${JSON.stringify(args)}; parseFlags accepted it`);
    for (const flag of flags) {
      const value = model.values.get(flag.name);
      if (flag.type === 'string') {
        assert.equal(parsed.string(flag.name), value, `--${flag.name} of ${JSON.stringify(args)}`);
        assert.equal(parsed.boolean(flag.name), false);
      } else {
        assert.equal(parsed.boolean(flag.name), value === true, `--${flag.name} of ${JSON.stringify(args)}`);
        assert.equal(parsed.string(flag.name), undefined);
      }
    }
    // Names that are no flag read as absent, prototype names included.
    for (const name of ['nope', 'constructor', '__proto__', 'toString']) {
      if (flags.some((flag) => flag.name === name)) continue;
      assert.equal(parsed.string(name), undefined);
      assert.equal(parsed.boolean(name), false);
    }
  }),
);

fuzz.property('parseFlags: valid flags round-trip in any order and spelling, the last value of a repeated flag winning', () =>
  fc.property(
    flagSet.chain((flags) =>
      fc.tuple(
        fc.constant(flags),
        fc.array(fc.tuple(fc.constantFrom(...flags), flagValue, fc.boolean()), { maxLength: 8 }),
        fc.boolean(),
      ),
    ),
    ([flags, given, endMarker]) => {
      const args: string[] = [];
      const expected = new Map<string, string | true>();
      for (const [flag, value, separate] of given) {
        if (flag.type === 'boolean') {
          args.push(`--${flag.name}`);
          expected.set(flag.name, true);
        } else {
          // A value that looks like an option goes after '='; any other either way.
          if (separate && !(value.startsWith('-') && value.length > 1)) args.push(`--${flag.name}`, value);
          else args.push(`--${flag.name}=${value}`);
          expected.set(flag.name, value);
        }
      }
      if (endMarker) args.push('--');
      const parsed = parseFlags(args, flags);
      for (const flag of flags) {
        if (flag.type === 'string') assert.equal(parsed.string(flag.name), expected.get(flag.name), JSON.stringify(args));
        else assert.equal(parsed.boolean(flag.name), expected.has(flag.name), JSON.stringify(args));
      }
    },
  ),
);

/** Each command's parser, with the environment it reads. */
const COMMANDS: readonly { readonly name: string; readonly flags: readonly CliFlag[]; readonly parse: (args: string[], env: Record<string, string>) => unknown }[] = [
  { name: 'stress', flags: STRESS_FLAGS, parse: parseStressArgs },
  { name: 'inspect', flags: INSPECT_FLAGS, parse: parseInspectArgs },
  { name: 'cluster', flags: CLUSTER_FLAGS, parse: parseClusterArgs },
  { name: 'db', flags: DB_FLAGS, parse: (args) => parseDbArgs(args) },
  { name: 'demo', flags: DEMO_FLAGS, parse: parseDemoArgs },
];

/** URLs with a password (`S3cretPW`), given only to the URL flags: the password must never be echoed. */
const passwordUrl = fc.constantFrom(
  'http://u:S3cretPW@127.0.0.1:3000',
  'http://127.0.0.1:3000/?password=S3cretPW',
  'https://u:S3cretPW@example.com/#x',
  'postgres://app:S3cretPW@127.0.0.1:5432/app',
  'postgres://app:4242?S3cretPW@127.0.0.1:5432/app',
  'postgresql://127.0.0.1/app?password=S3cretPW',
  'mysql://app:S3cretPW@127.0.0.1/app',
  'app:S3cretPW@127.0.0.1/app',
  'postgres://app:S3cretPW@[::1/app',
);

/** Values shaped for each flag: URLs of every kind, numbers around the bounds, names, formats. */
const commandValue = fc.oneof(
  flagValue,
  fc.constantFrom(
    'http://127.0.0.1:3000',
    'http://localhost:8080/base',
    'https://[::1]:3000',
    'http://10.0.0.5:3000',
    'http://127.0.0.1:3000/?x=1',
    'ftp://127.0.0.1',
    'postgresql://127.0.0.1/db',
    'mysql://x@y',
    'not a url',
    '/api/items',
    '//evil',
    '0',
    '1',
    '50',
    '20000',
    '600000',
    '600001',
    '99999999999999999999',
    ' 7 ',
    '1e3',
    'text',
    'json',
    'JSON',
    'main',
    'a,b',
    'a,,b',
    '/ops',
    'ops/',
    'POOLSCOPE_CLUSTER_SECRET',
    'SHORT_SECRET',
    'lower_case',
    '1BAD',
  ),
);

fuzz.property('commands: every command\'s argument parser returns options or throws a CliUsageError, nothing else', () =>
  fc.property(
    fc.constantFrom(...COMMANDS).chain((command) =>
      fc.tuple(
        fc.constant(command),
        fc
          .array(
            fc.oneof(
              {
                weight: 5,
                arbitrary: fc
                  .constantFrom(...command.flags)
                  .chain((flag) => fc.tuple(fc.constant(flag), flag.name.endsWith('url') ? fc.oneof(commandValue, passwordUrl) : commandValue))
                  .map(([flag, value]) => (flag.type === 'boolean' ? [`--${flag.name}`] : [`--${flag.name}=${value}`])),
              },
              { weight: 1, arbitrary: argsFor(command.flags) },
            ),
            { maxLength: 6 },
          )
          .map((words) => words.flat()),
      ),
    ),
    fc.record(
      {
        DATABASE_URL: fc.oneof(passwordUrl, fc.constantFrom('mysql://x', '')),
        POOLSCOPE_TOKEN: fc.constantFrom('T0ken', ''),
        POOLSCOPE_CLUSTER_SECRET: fc.constantFrom('0123456789abcdef0123', 'short'),
        SHORT_SECRET: fc.constant('abc'),
      },
      { requiredKeys: [] },
    ),
    ([command, args], env) => {
      try {
        command.parse(args, { ...env });
      } catch (error) {
        assert.ok(error instanceof CliUsageError, `poolscope ${command.name} ${JSON.stringify(args)}: ${String(error)}`);
        assert.ok(error.message.length > 0);
        assert.ok(!error.message.includes('S3cretPW'), `a password is echoed: ${error.message}`);
        assert.ok(!error.message.includes('0123456789abcdef0123'), `the cluster secret is echoed: ${error.message}`);
      }
    },
  ),
);

const SECRET = 'QZsecretTOKENxk42';

fuzz.property('commands: a token or secret given on the command line is never echoed in a usage error', () =>
  fc.property(
    fc.constantFrom(...COMMANDS.filter((command) => command.flags.some((flag) => flag.name === 'token' || flag.name === 'secret-env'))).chain((command) =>
      fc.tuple(
        fc.constant(command),
        // Not after a lone '--': what follows it is a positional by definition, and echoed as such.
        argsFor(command.flags).filter((args) => !args.includes('--')),
        argsFor(command.flags),
        command.flags.some((flag) => flag.name === 'token') ? fc.constantFrom('separate', 'equals') : fc.constant('secret-env'),
      ),
    ),
    ([command, before, after, spelling]) => {
      const secretWords = spelling === 'secret-env' ? ['--secret-env', 'FUZZ_SECRET'] : spelling === 'separate' ? ['--token', SECRET] : [`--token=${SECRET}`];
      const args = [...before, ...secretWords, ...after];
      const env = { FUZZ_SECRET: SECRET, POOLSCOPE_TOKEN: SECRET };
      try {
        command.parse(args, env);
      } catch (error) {
        assert.ok(error instanceof CliUsageError, String(error));
        assert.ok(!error.message.includes(SECRET), `poolscope ${command.name} ${JSON.stringify(args)} echoes the secret: ${error.message}`);
      }
    },
  ),
);

test('regression: a secret pasted in place of the variable name is not echoed, even when it reads as a name', () => {
  const pasted = 'c0ffee'.padEnd(64, '9f3a'); // `openssl rand -hex 32` starting with a letter: a valid variable name
  for (const parse of [() => secretFromEnvFlag('secret-env', pasted, {}), () => parseClusterArgs(['--database-url', 'postgres://127.0.0.1/x', '--cluster', 'c', '--secret-env', pasted], {})]) {
    assert.throws(parse, (error: unknown) => error instanceof CliUsageError && !error.message.includes(pasted) && /64 characters, not shown/.test(error.message));
  }
  assert.throws(() => secretFromEnvFlag('secret-env', 'SHORT_NAME', {}), /^CliUsageError: --secret-env SHORT_NAME: the environment variable SHORT_NAME is not set or empty\.$/);
});

test('regression: a database URL given where no value is expected is refused without echoing its password', () => {
  for (const [parse, args] of [
    [parseDbArgs, ['postgres://app:S3cretPW@127.0.0.1:5432/app']],
    [parseDbArgs, ['--format', 'json', '--', '--database-url=postgres://app:S3cretPW@127.0.0.1/app']],
    [(args: string[]) => parseInspectArgs(args, {}), ['--url', 'http://127.0.0.1:3000', 'http://u:S3cretPW@127.0.0.1:3000']],
  ] as const) {
    assert.throws(
      () => parse([...args]),
      (error: unknown) => error instanceof CliUsageError && /^unexpected argument "/.test(error.message) && !error.message.includes('S3cretPW'),
      JSON.stringify(args),
    );
  }
  assert.throws(() => parseDbArgs(['postgres://app:S3cretPW@db/app']), /unexpected argument "postgres:\/\/app:\*\*\*@db\/app"/);
});

test('regression: --secret-env naming what every object inherits (toString, __proto__) is a usage error, not a TypeError', () => {
  for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
    for (const env of [{}, process.env]) {
      assert.throws(() => secretFromEnvFlag('secret-env', name, env), (error: unknown) => error instanceof CliUsageError && /is not set or empty/.test(error.message), name);
    }
  }
});

fuzz.property('secretFromEnvFlag: the secret, or a usage error that echoes neither the secret nor a long value', () =>
  fc.property(fc.oneof(fc.constantFrom('FUZZ_SECRET', 'UNSET', 'SHORT', 'EMPTY', 'toString', '__proto__'), fc.string({ maxLength: 60 }), fc.stringMatching(/^[a-f][0-9a-f]{63}$/), fc.constant(SECRET.repeat(3))), (name) => {
    const env = { FUZZ_SECRET: SECRET, SHORT: 'abc', EMPTY: '' };
    let secret: string | undefined;
    try {
      secret = secretFromEnvFlag('secret-env', name, env);
    } catch (error) {
      assert.ok(error instanceof CliUsageError, String(error));
      assert.ok(!error.message.includes(SECRET), error.message);
      if (name.length > 40) assert.ok(!error.message.includes(name), `a long value is echoed: ${error.message}`);
      return;
    }
    assert.equal(name, 'FUZZ_SECRET');
    assert.equal(secret, SECRET);
  }),
);

fuzz.property('integerFlag: a whole number in range (surrounding whitespace allowed), the fallback when absent, else a usage error', () =>
  fc.property(
    fc.option(fc.oneof(fc.integer({ min: -5, max: 2000 }).map(String), fc.constantFrom('', ' 12 ', '1.0', '1e2', '0x10', '+3', '-0', '007', '99999999999999999999', '\u0661'), fc.string({ maxLength: 6 })), {
      nil: undefined,
    }),
    fc.integer({ min: 0, max: 100 }),
    fc.integer({ min: 0, max: 1500 }),
    (text, min, span) => {
      const max = min + span;
      const trimmed = text?.replace(/^\s+|\s+$/g, '');
      const model = text === undefined ? 7 : trimmed !== undefined && /^[0-9]+$/.test(trimmed) && Number(trimmed) >= min && Number(trimmed) <= max ? Number(trimmed) : undefined;
      let value: number | undefined;
      try {
        value = integerFlag('n', text, 7, min, max);
      } catch (error) {
        assert.ok(error instanceof CliUsageError, String(error));
        assert.equal(model, undefined, `refused ${JSON.stringify(text)} in [${min}, ${max}]: ${error.message}`);
        return;
      }
      assert.equal(value, model, `${JSON.stringify(text)} in [${min}, ${max}]`);
    },
  ),
);
