import { CliUsageError } from './cli-command.js';
import type { CliFlag } from './flag-parser.js';
import { choiceFlag, httpUrlFlag, integerFlag, parseFlags } from './flag-parser.js';

/** Output formats of `poolscope inspect`. */
export const INSPECT_FORMATS = ['text', 'json'] as const;
export type InspectFormat = (typeof INSPECT_FORMATS)[number];

/** Default `--timeout` of each API request. */
export const DEFAULT_INSPECT_TIMEOUT_MILLIS = 10_000;
/** Largest `--timeout`. */
export const MAX_INSPECT_TIMEOUT_MILLIS = 600_000;

/** Every flag of `poolscope inspect` (help text and docs/reference/cli.md follow this list). */
export const INSPECT_FLAGS: readonly CliFlag[] = Object.freeze([
  { name: 'url', type: 'string', value: 'URL', summary: "the app's base URL, where its poolscope ops routes are served (required)" },
  { name: 'pool', type: 'string', value: 'NAME', summary: 'only this pool or worker pool' },
  { name: 'detailed', type: 'boolean', summary: 'list every holder and waiter (lease, owner, held time, transaction, query, file:line) and every worker' },
  { name: 'recommendations', type: 'boolean', summary: 'add the recommendations (/api/recommendations)' },
  { name: 'format', type: 'string', value: 'text|json', summary: 'output format (default text)' },
  { name: 'token', type: 'string', value: 'T', summary: 'bearer token of the ops routes (default: env POOLSCOPE_TOKEN)' },
  { name: 'prefix', type: 'string', value: 'PATH', summary: "the ops routes' prefix, e.g. /ops (default none)" },
  { name: 'timeout', type: 'string', value: 'MS', summary: `per request (default ${DEFAULT_INSPECT_TIMEOUT_MILLIS})` },
] as const satisfies readonly CliFlag[]);

/** What `poolscope inspect` was asked to do. */
export interface InspectOptions {
  readonly url: URL;
  readonly pool: string | undefined;
  readonly detailed: boolean;
  readonly recommendations: boolean;
  readonly format: InspectFormat;
  readonly token: string | undefined;
  readonly prefix: string;
  readonly timeoutMillis: number;
}

/** The same shape OpsHandler accepts: '' or /segment[/segment...]. */
const PREFIX_SHAPE = /^(?:\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*$/;

/** Parses the arguments of `poolscope inspect`; throws CliUsageError. */
export function parseInspectArgs(args: readonly string[], env: Readonly<Record<string, string | undefined>>): InspectOptions {
  const flags = parseFlags(args, INSPECT_FLAGS);
  const urlText = flags.string('url');
  if (urlText === undefined) throw new CliUsageError('--url is required, e.g. --url http://127.0.0.1:3000.');
  const url = httpUrlFlag('url', urlText);
  const pool = flags.string('pool');
  if (pool === '') throw new CliUsageError('--pool needs a pool name.');
  const prefix = flags.string('prefix') ?? '';
  if (!PREFIX_SHAPE.test(prefix)) {
    throw new CliUsageError(`--prefix must be a path such as /ops (leading slash, no trailing slash), not ${JSON.stringify(prefix)}.`);
  }
  const tokenFlag = flags.string('token');
  if (tokenFlag === '') throw new CliUsageError('--token needs a value (or set POOLSCOPE_TOKEN).');
  const envToken = env.POOLSCOPE_TOKEN;
  return {
    url,
    pool,
    detailed: flags.boolean('detailed'),
    recommendations: flags.boolean('recommendations'),
    format: choiceFlag('format', flags.string('format'), INSPECT_FORMATS, 'text'),
    token: tokenFlag ?? (envToken === undefined || envToken === '' ? undefined : envToken),
    prefix,
    timeoutMillis: integerFlag('timeout', flags.string('timeout'), DEFAULT_INSPECT_TIMEOUT_MILLIS, 1, MAX_INSPECT_TIMEOUT_MILLIS),
  };
}
