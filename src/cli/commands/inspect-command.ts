import type { InspectorSnapshot } from '../../core/pool-snapshot.js';
import type { PoolApiView, PoolListReport } from '../../http/pool-api-routes.js';
import type { RecommendationsReport } from '../../http/recommendations-route.js';
import type { WorkerPoolDetailView, WorkerPoolListReport } from '../../http/worker-pool-routes.js';
import type { ApiClientOptions } from '../api-client.js';
import { ApiRequestError, apiUrl, getApiJson, isNotFound } from '../api-client.js';
import type { CliCommand, CliIo } from '../cli-command.js';
import { EXIT_CODES } from '../cli-command.js';
import { flagHelp } from '../flag-parser.js';
import type { InspectOptions } from '../inspect-options.js';
import { INSPECT_FLAGS, parseInspectArgs } from '../inspect-options.js';
import type { InspectReport } from '../inspect-report.js';
import { buildInspectReport, renderInspectJson, renderInspectText } from '../inspect-report.js';
import { colorEnabled } from '../terminal-style.js';
import type { WorkerPoolSource } from '../worker-pool-report.js';

const HELP = `poolscope inspect: show the pools of a running app, read from its poolscope ops routes

Usage: poolscope inspect --url http://HOST:PORT [options]

Options:
${flagHelp(INSPECT_FLAGS)}

Reads GET /api/pools and /api/worker-pools (or /api/pools/NAME and /api/worker-pools/NAME), with --detailed
/api/snapshot and each worker pool's /api/worker-pools/NAME, with --recommendations /api/recommendations.
Markers: a pool's health level: CRITICAL when critical, HIGH at warning, and when normal LOW (under 60% in
use) or GOOD; a worker pool's level (seed 002: CRITICAL above 90%, HIGH above 80%, GOOD from 60%, LOW).

Exit codes: 0 ok; 1 a pool (not expectFull) is critical (level critical or over 90% in use) or a worker
pool is CRITICAL; 2 bad usage; 3 unreachable, HTTP error or refused (403); 130 interrupted.

Examples:
  poolscope inspect --url http://127.0.0.1:3000
  poolscope inspect --url http://127.0.0.1:9464 --pool main --detailed --recommendations
  POOLSCOPE_TOKEN=... poolscope inspect --url https://app.internal --prefix /ops --format json
`;

/** `poolscope inspect`: the pools of a running app, as text or JSON; exit 1 when one is critical. */
export const inspectCommand: CliCommand = {
  name: 'inspect',
  summary: "show a running app's pools and worker pools (stats, holders, workers, recommendations) from its ops routes",
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
  const url = apiUrl(options.url, options.prefix, '');
  const query = pool === undefined ? '' : `?pool=${encodeURIComponent(pool)}`;
  const [{ pools, workerPools }, snapshot, recommendations] = await Promise.all([
    pool === undefined ? readAllPools(client, url, options.detailed) : readOnePool(client, pool, options.detailed),
    options.detailed ? getApiJson<InspectorSnapshot>(client, '/api/snapshot') : undefined,
    options.recommendations ? getApiJson<RecommendationsReport>(client, `/api/recommendations${query}`) : undefined,
  ]);
  checkShape(url, Array.isArray(pools.pools) && pools.pools.every((view) => typeof view?.stats?.utilizationPercent === 'number'), '/api/pools');
  if (snapshot !== undefined) checkShape(url, Array.isArray(snapshot.pools) && Array.isArray(snapshot.multiPoolOwners), '/api/snapshot');
  if (recommendations !== undefined) checkShape(url, Array.isArray(recommendations.recommendations), '/api/recommendations');
  return buildInspectReport({ url, pools, workerPools, snapshot, recommendations, pool });
}

/** What the pool reads give: the connection pools, and the worker pools (undefined: the app has no such route). */
interface PoolReads {
  readonly pools: PoolListReport;
  readonly workerPools: readonly WorkerPoolSource[] | undefined;
}

/**
 * `/api/pools` and `/api/worker-pools` (then, with --detailed, each worker pool's detail). An app on a poolscope
 * without worker pools answers the latter 404 (or, mounted in an app, something that is not its JSON): no worker
 * pools then, not an error.
 */
async function readAllPools(client: ApiClientOptions, url: string, detailed: boolean): Promise<PoolReads> {
  const [pools, list] = await Promise.all([
    getApiJson<PoolListReport>(client, '/api/pools'),
    getApiJson<WorkerPoolListReport>(client, '/api/worker-pools').catch((error: unknown) => {
      if (isNotFound(error) || (error instanceof ApiRequestError && error.failure === 'not-json')) return undefined;
      throw error;
    }),
  ]);
  if (list === undefined) return { pools, workerPools: undefined };
  checkShape(url, Array.isArray(list.workerPools) && list.workerPools.every((view) => typeof view?.stats?.utilizationPercent === 'number'), '/api/worker-pools');
  if (!detailed) return { pools, workerPools: list.workerPools };
  const workerPools: WorkerPoolSource[] = await Promise.all(
    list.workerPools.map((entry): Promise<WorkerPoolSource> =>
      getApiJson<WorkerPoolDetailView>(client, `/api/worker-pools/${encodeURIComponent(entry.poolName)}`).catch((error: unknown) => {
        if (isNotFound(error)) return entry; // untracked since the list was read: its stats, without workers
        throw error;
      }),
    ),
  );
  checkShape(url, workerPools.every((view) => view.workers === undefined || Array.isArray(view.workers)), '/api/worker-pools/:name');
  return { pools, workerPools };
}

/**
 * `--pool NAME`: `/api/pools/NAME` and `/api/worker-pools/NAME` (connection pools and worker pools have namespaces
 * of their own: the name may be either, or both). Rejects with the pool read's 404 when neither has it.
 */
async function readOnePool(client: ApiClientOptions, pool: string, detailed: boolean): Promise<PoolReads> {
  const encoded = encodeURIComponent(pool);
  const [view, detail] = await Promise.allSettled([
    getApiJson<PoolApiView>(client, `/api/pools/${encoded}`),
    getApiJson<WorkerPoolDetailView>(client, `/api/worker-pools/${encoded}`),
  ]);
  let workerPools: WorkerPoolSource[] | undefined;
  if (detail.status === 'fulfilled') {
    const { workers, takenAt: _takenAt, ...entry } = detail.value;
    workerPools = [detailed && Array.isArray(workers) ? { ...entry, workers } : entry];
  } else if (isNotFound(detail.reason)) {
    workerPools = detail.reason.code === 'POOLSCOPE_ERR_POOL_NOT_TRACKED' ? [] : undefined;
  } else if (!(detail.reason instanceof ApiRequestError && detail.reason.failure === 'not-json')) {
    throw detail.reason;
  }
  if (view.status === 'fulfilled') return { pools: { timestamp: view.value.stats.timestamp, pools: [view.value] }, workerPools };
  const error: unknown = view.reason;
  const worker = workerPools?.[0];
  if (!isNotFound(error) || error.code !== 'POOLSCOPE_ERR_POOL_NOT_TRACKED') throw error;
  if (worker !== undefined) return { pools: { timestamp: worker.stats.timestamp, pools: [] }, workerPools };
  if (workerPools === undefined) throw error;
  throw new ApiRequestError(error.url, error.failure, `${error.message} No worker pool has that name either.`, error.status, error.code);
}

function checkShape(url: string, ok: boolean, route: string): void {
  if (!ok) {
    throw new ApiRequestError(`${url}${route}`, 'not-json', `GET ${url}${route} answered JSON that is not poolscope's ${route} (check --url and --prefix)`);
  }
}
