import { CidrList } from '../http/cidr-list.js';
import { apiUrl } from './api-client.js';
import { CliUsageError } from './cli-command.js';
import type { CliFlag } from './flag-parser.js';
import { choiceFlag, httpUrlFlag, integerFlag, parseFlags } from './flag-parser.js';

/** Output formats of `poolscope stress`. */
export const STRESS_FORMATS = ['text', 'json'] as const;
export type StressFormat = (typeof STRESS_FORMATS)[number];

/** Defaults (seed 001's stress script). */
export const STRESS_DEFAULTS = Object.freeze({
  endpoint: '/readyz',
  requests: 50,
  waves: 10,
  delayMillis: 1000,
  timeoutMillis: 10_000,
});

/** Bounds: this is a load generator, so a typo must not turn it into a flood. */
export const STRESS_LIMITS = Object.freeze({
  /** Concurrent requests per wave. */
  maxRequestsPerWave: 1000,
  maxWaves: 100,
  /** requests x waves. */
  maxTotalRequests: 20_000,
  maxDelayMillis: 600_000,
  maxTimeoutMillis: 600_000,
});

/** Every flag of `poolscope stress` (help text and docs/reference/cli.md follow this list). */
export const STRESS_FLAGS: readonly CliFlag[] = Object.freeze([
  { name: 'base-url', type: 'string', value: 'URL', summary: "the app's base URL (required; loopback only unless --allow-remote)" },
  { name: 'endpoint', type: 'string', value: 'PATH', summary: `path requested in every wave (default ${STRESS_DEFAULTS.endpoint})` },
  {
    name: 'requests',
    type: 'string',
    value: 'N',
    summary: `concurrent requests per wave (default ${STRESS_DEFAULTS.requests}, at most ${STRESS_LIMITS.maxRequestsPerWave})`,
  },
  { name: 'waves', type: 'string', value: 'N', summary: `number of waves (default ${STRESS_DEFAULTS.waves}, at most ${STRESS_LIMITS.maxWaves})` },
  { name: 'delay', type: 'string', value: 'MS', summary: `pause between waves (default ${STRESS_DEFAULTS.delayMillis})` },
  { name: 'timeout', type: 'string', value: 'MS', summary: `per request (default ${STRESS_DEFAULTS.timeoutMillis})` },
  { name: 'health-url', type: 'string', value: 'URL', summary: 'where pool health is read (default: base URL + /readyz)' },
  { name: 'format', type: 'string', value: 'text|json', summary: 'output format (default text)' },
  { name: 'token', type: 'string', value: 'T', summary: 'bearer token sent with every request (default: env POOLSCOPE_TOKEN)' },
  { name: 'allow-remote', type: 'boolean', summary: 'allow a host that is not loopback (127.0.0.0/8, ::1, localhost)' },
  { name: 'fail-on-errors', type: 'boolean', summary: 'exit 1 when any request failed (default: failures are reported, exit 0)' },
] as const satisfies readonly CliFlag[]);

/** What `poolscope stress` was asked to do. */
export interface StressOptions {
  readonly baseUrl: URL;
  readonly endpoint: string;
  /** The URL every wave requests (base URL + endpoint). */
  readonly targetUrl: string;
  readonly healthUrl: string;
  readonly requests: number;
  readonly waves: number;
  readonly delayMillis: number;
  readonly timeoutMillis: number;
  readonly format: StressFormat;
  readonly token: string | undefined;
  readonly allowRemote: boolean;
  readonly failOnErrors: boolean;
}

const LOOPBACK = new CidrList('loopback', ['127.0.0.0/8', '::1']);

/**
 * True for a loopback host as a URL spells it: `localhost`, an address in 127.0.0.0/8, `[::1]` (also IPv4-mapped
 * `[::ffff:127.0.0.1]`). Names are not resolved: any other name counts as remote.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || LOOPBACK.has(host);
}

/** Parses the arguments of `poolscope stress`; throws CliUsageError (bounds and the loopback rule included). */
export function parseStressArgs(args: readonly string[], env: Readonly<Record<string, string | undefined>>): StressOptions {
  const flags = parseFlags(args, STRESS_FLAGS);
  const baseText = flags.string('base-url');
  if (baseText === undefined) throw new CliUsageError('--base-url is required, e.g. --base-url http://127.0.0.1:3000.');
  const baseUrl = httpUrlFlag('base-url', baseText);
  const endpoint = flags.string('endpoint') ?? STRESS_DEFAULTS.endpoint;
  if (!endpoint.startsWith('/') || endpoint.startsWith('//') || /\s/.test(endpoint)) {
    throw new CliUsageError(`--endpoint must be a path starting with one slash, such as /api/items, not ${JSON.stringify(endpoint)}.`);
  }
  const requests = boundedCount('requests', flags.string('requests'), STRESS_DEFAULTS.requests, STRESS_LIMITS.maxRequestsPerWave, 'concurrent requests per wave');
  const waves = boundedCount('waves', flags.string('waves'), STRESS_DEFAULTS.waves, STRESS_LIMITS.maxWaves, 'waves');
  if (requests * waves > STRESS_LIMITS.maxTotalRequests) {
    throw new CliUsageError(
      `--requests ${requests} x --waves ${waves} = ${requests * waves} requests; at most ${STRESS_LIMITS.maxTotalRequests} per run ` +
        '(a safety bound of this load generator). Lower one of them.',
    );
  }
  const healthText = flags.string('health-url');
  const healthUrl = healthText === undefined ? apiUrl(baseUrl, '', '/readyz') : httpUrlFlag('health-url', healthText).href;
  const allowRemote = flags.boolean('allow-remote');
  if (!allowRemote) {
    for (const [flag, url] of [['--base-url', baseUrl], ['--health-url', new URL(healthUrl)]] as const) {
      if (!isLoopbackHost(url.hostname)) {
        throw new CliUsageError(
          `${flag} host ${url.hostname} is not loopback (127.0.0.0/8, ::1, localhost). This is a load generator: ` +
            'to aim it at another machine, pass --allow-remote explicitly (and only at a service you run).',
        );
      }
    }
  }
  const tokenFlag = flags.string('token');
  if (tokenFlag === '') throw new CliUsageError('--token needs a value (or set POOLSCOPE_TOKEN).');
  const envToken = env.POOLSCOPE_TOKEN;
  return {
    baseUrl,
    endpoint,
    targetUrl: apiUrl(baseUrl, '', endpoint),
    healthUrl,
    requests,
    waves,
    delayMillis: integerFlag('delay', flags.string('delay'), STRESS_DEFAULTS.delayMillis, 0, STRESS_LIMITS.maxDelayMillis),
    timeoutMillis: integerFlag('timeout', flags.string('timeout'), STRESS_DEFAULTS.timeoutMillis, 1, STRESS_LIMITS.maxTimeoutMillis),
    format: choiceFlag('format', flags.string('format'), STRESS_FORMATS, 'text'),
    token: tokenFlag ?? (envToken === undefined || envToken === '' ? undefined : envToken),
    allowRemote,
    failOnErrors: flags.boolean('fail-on-errors'),
  };
}

function boundedCount(name: string, text: string | undefined, fallback: number, limit: number, what: string): number {
  if (text !== undefined && /^\d+$/.test(text.trim()) && Number(text.trim()) > limit) {
    throw new CliUsageError(`--${name} ${text.trim()} is over the limit: at most ${limit} ${what} (a safety bound of this load generator).`);
  }
  return integerFlag(name, text, fallback, 1, limit);
}
