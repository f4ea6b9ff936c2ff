import type { InspectorSnapshot } from '../../core/pool-snapshot.js';
import type { PoolApiView, PoolListReport } from '../../http/pool-api-routes.js';
import type { RecommendationsReport } from '../../http/recommendations-route.js';
import type { ApiClientOptions } from '../api-client.js';
import { ApiRequestError, apiUrl, getApiJson } from '../api-client.js';
import type { CliCommand, CliIo } from '../cli-command.js';
import { EXIT_CODES } from '../cli-command.js';
import { flagHelp } from '../flag-parser.js';
import type { InspectOptions } from '../inspect-options.js';
import { INSPECT_FLAGS, parseInspectArgs } from '../inspect-options.js';
import type { InspectReport } from '../inspect-report.js';
import { buildInspectReport, renderInspectJson, renderInspectText } from '../inspect-report.js';
import { colorEnabled } from '../terminal-style.js';

const HELP = `poolscope inspect: show the pools of a running app, read from its poolscope ops routes

Usage: poolscope inspect --url http://HOST:PORT [options]

Options:
${flagHelp(INSPECT_FLAGS)}

Reads GET /api/pools (or /api/pools/NAME), with --detailed /api/snapshot, with --recommendations
/api/recommendations. Markers: the pool's health level: CRITICAL when critical, HIGH at warning, and when
normal LOW (under 60% in use) or GOOD.

Exit codes: 0 ok; 1 a pool (not expectFull) is critical (level critical or over 90% in use); 2 bad usage;
3 unreachable, HTTP error or refused (403); 130 interrupted.

Examples:
  poolscope inspect --url http://127.0.0.1:3000
  poolscope inspect --url http://127.0.0.1:9464 --pool main --detailed --recommendations
  POOLSCOPE_TOKEN=... poolscope inspect --url https://app.internal --prefix /ops --format json
`;

/** `poolscope inspect`: the pools of a running app, as text or JSON; exit 1 when one is critical. */
export const inspectCommand: CliCommand = {
  name: 'inspect',
  summary: "show a running app's pools (stats, holders, recommendations) from its ops routes",
  help: HELP,
  run: async (args, io) => {
    const options = parseInspectArgs(args, io.env);
    let report: InspectReport;
    try {
      report = await readInspectReport(options, io.signal);
    } catch (error) {
      if (!(error instanceof ApiRequestError)) throw error;
      if (error.failure === 'interrupted') return EXIT_CODES.interrupted;
      io.stderr.write(`poolscope inspect: ${error.message}\n`);
      return EXIT_CODES.unreachable;
    }
    io.stdout.write(options.format === 'json' ? renderInspectJson(report) : renderInspectText(report, { color: colorEnabled(io) }));
    return report.critical ? EXIT_CODES.problem : EXIT_CODES.ok;
  },
};

/** Reads the API answers `options` ask for (in parallel) and builds the report. Rejects with ApiRequestError. */
async function readInspectReport(options: InspectOptions, signal: CliIo['signal']): Promise<InspectReport> {
  const client: ApiClientOptions = {
    baseUrl: options.url,
    prefix: options.prefix,
    token: options.token,
    timeoutMillis: options.timeoutMillis,
    signal,
  };
  const pool = options.pool;
  const poolsRead: Promise<PoolListReport> =
    pool === undefined
      ? getApiJson<PoolListReport>(client, '/api/pools')
      : getApiJson<PoolApiView>(client, `/api/pools/${encodeURIComponent(pool)}`).then((view) => ({ timestamp: view.stats.timestamp, pools: [view] }));
  const query = pool === undefined ? '' : `?pool=${encodeURIComponent(pool)}`;
  const [pools, snapshot, recommendations] = await Promise.all([
    poolsRead,
    options.detailed ? getApiJson<InspectorSnapshot>(client, '/api/snapshot') : undefined,
    options.recommendations ? getApiJson<RecommendationsReport>(client, `/api/recommendations${query}`) : undefined,
  ]);
  const url = apiUrl(options.url, options.prefix, '');
  checkShape(url, Array.isArray(pools.pools) && pools.pools.every((view) => typeof view?.stats?.utilizationPercent === 'number'), '/api/pools');
  if (snapshot !== undefined) checkShape(url, Array.isArray(snapshot.pools) && Array.isArray(snapshot.multiPoolOwners), '/api/snapshot');
  if (recommendations !== undefined) checkShape(url, Array.isArray(recommendations.recommendations), '/api/recommendations');
  return buildInspectReport({ url, pools, snapshot, recommendations, pool });
}

function checkShape(url: string, ok: boolean, route: string): void {
  if (!ok) {
    throw new ApiRequestError(`${url}${route}`, 'not-json', `GET ${url}${route} answered JSON that is not poolscope's ${route} (check --url and --prefix)`);
  }
}
