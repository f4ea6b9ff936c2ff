import { parseArgs } from 'node:util';
import { CliUsageError } from './cli-command.js';
import { maskConnectionString } from '../core/connection-string-mask.js';

/**
 * Flags of a CLI command, declared once: parsed with node:util `parseArgs` (strict: unknown flags and positionals
 * are usage errors), listed in `--help`, and checked against docs/reference/cli.md by a test.
 */

/** One `--flag` of a command. */
export interface CliFlag {
  /** Without the dashes: `url` for `--url`. */
  readonly name: string;
  readonly type: 'string' | 'boolean';
  /** The placeholder shown in help for a string flag (`URL`, `N`, `MS`). */
  readonly value?: string;
  readonly summary: string;
}

/** The values given on the command line. */
export interface ParsedFlags {
  /** The value of a string flag (the last one when repeated), or undefined. */
  string(name: string): string | undefined;
  /** True when a boolean flag was given. */
  boolean(name: string): boolean;
}

/** Parses `args` against `flags`; throws CliUsageError naming the offending argument. */
export function parseFlags(args: readonly string[], flags: readonly CliFlag[]): ParsedFlags {
  const options = Object.fromEntries(flags.map((flag) => [flag.name, { type: flag.type }]));
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new CliUsageError(usageMessageOf(error, flags));
  }
  return {
    string(name) {
      const value = values[name];
      return typeof value === 'string' ? value : undefined;
    },
    boolean(name) {
      return values[name] === true;
    },
  };
}

function usageMessageOf(error: unknown, flags: readonly CliFlag[]): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  // node:util names the argument in quotes: "Unknown option '--nope'", "Option '--url <value>' argument missing".
  const named = /'(-{1,2}[^' =<]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return `unknown option ${named ?? ''}. Options: ${flags.map((flag) => `--${flag.name}`).join(', ')}.`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const positional = /'([^']*)'/.exec(message)?.[1] ?? '';
    return `unexpected argument ${JSON.stringify(shownArgument(positional))}: every value follows its option (e.g. --url http://127.0.0.1:3000).`;
  }
  const flag = flags.find((candidate) => `--${candidate.name}` === named);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined) {
    return flag.type === 'string'
      ? `option --${flag.name} needs a value (--${flag.name} ${flag.value ?? 'VALUE'}; a value starting with a dash: --${flag.name}=-x).`
      : `option --${flag.name} takes no value.`;
  }
  return message;
}

/**
 * An argument as a usage error may echo it: a URL's password masked (`poolscope db postgres://app:pw@db/app`, the
 * URL given without its flag, or `--database-url=...` after `--`), anything else as given.
 */
function shownArgument(text: string): string {
  const equals = text.indexOf('=');
  if (text.startsWith('-') && equals !== -1) return `${text.slice(0, equals + 1)}${shownArgument(text.slice(equals + 1))}`;
  return text.includes('://') ? maskConnectionString(text) : text;
}

/** A whole number given to `--name`, within [min, max]; `text` undefined gives `fallback`. */
export function integerFlag(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliUsageError(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}.`);
  }
  return value;
}

/** One of `choices` given to `--name`; `text` undefined gives `fallback`. */
export function choiceFlag<T extends string>(name: string, text: string | undefined, choices: readonly T[], fallback: T): T {
  if (text === undefined) return fallback;
  const found = choices.find((choice) => choice === text);
  if (found === undefined) {
    throw new CliUsageError(`--${name} must be one of ${choices.join(', ')}, not ${JSON.stringify(text)}.`);
  }
  return found;
}

/** The options part of a command's help: one aligned line per flag. */
export function flagHelp(flags: readonly CliFlag[]): string {
  const labels = flags.map((flag) => `--${flag.name}${flag.type === 'string' ? ` ${flag.value ?? 'VALUE'}` : ''}`);
  const width = Math.max(...labels.map((label) => label.length));
  return flags.map((flag, index) => `  ${(labels[index] ?? '').padEnd(width)}  ${flag.summary}`).join('\n');
}

/**
 * An http(s) URL given to `--name`. Refuses other schemes, user:password in the URL (use --token), and a query or
 * fragment (paths are appended to it).
 */
export function httpUrlFlag(name: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliUsageError(`--${name} must be an http(s) URL such as http://127.0.0.1:3000, not ${JSON.stringify(maskConnectionString(text))}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliUsageError(`--${name} must be an http:// or https:// URL, not ${url.protocol}// (${JSON.stringify(maskConnectionString(text))}).`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new CliUsageError(`--${name} must not carry a user or password; pass a bearer token with --token (or POOLSCOPE_TOKEN).`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new CliUsageError(`--${name} must not have a query string or fragment (${JSON.stringify(maskConnectionString(text))}).`);
  }
  return url;
}

/** A postgres:// or postgresql:// URL, else a usage error naming where it came from. */
export function checkDatabaseUrl(url: string, source: string): string {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new CliUsageError(`${source} is not a URL: use postgres://user@host:port/database`);
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new CliUsageError(`${source} must start with postgres:// or postgresql://, not ${protocol}//`);
  }
  return url;
}

/** The fewest bytes a cluster secret may have (the cluster's own check: POOLSCOPE_ERR_CLUSTER_INVALID_SECRET). */
export const MIN_SECRET_BYTES = 16;

/**
 * A secret read from the environment variable that `--<flag> VAR` names (never the secret itself as a flag value: it
 * would land in the shell history and in `ps`). `varName` undefined gives undefined. Usage errors: not a variable
 * name (the value is not echoed when long: it may be the secret), the variable unset or empty, shorter than 16 bytes.
 */
export function secretFromEnvFlag(flag: string, varName: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (varName === undefined) return undefined;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(varName)) {
    throw new CliUsageError(
      `--${flag} takes the NAME of an environment variable (e.g. POOLSCOPE_CLUSTER_SECRET), not ${JSON.stringify(varName.length > 40 ? '<long value>' : varName)}; never the secret itself.`,
    );
  }
  // Only a string counts: `toString` or `__proto__` would otherwise read what every object inherits.
  const value: unknown = Object.hasOwn(env, varName) ? env[varName] : undefined;
  const secret = typeof value === 'string' ? value : undefined;
  if (secret === undefined || secret === '') {
    // A long name may be the secret pasted in its place (a hex secret starting with a-f is a valid name): not echoed.
    if (varName.length > 40) {
      throw new CliUsageError(
        `--${flag} <${varName.length} characters, not shown>: no environment variable of that name is set (or it is empty). Pass the NAME of the variable (e.g. POOLSCOPE_CLUSTER_SECRET), never the secret itself.`,
      );
    }
    throw new CliUsageError(`--${flag} ${varName}: the environment variable ${varName} is not set or empty.`);
  }
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    throw new CliUsageError(`--${flag} ${varName}: the secret in ${varName} is shorter than ${MIN_SECRET_BYTES} bytes.`);
  }
  return secret;
}
