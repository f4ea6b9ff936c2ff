import { HttpRouteError, InternalError, OptionsError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import { DEFAULT_PROBE_TIMEOUT_MILLIS } from '../core/reachability-probe.js';
import { DashboardAssets } from './dashboard-assets.js';
import { DashboardStream, DEFAULT_STREAM_INTERVAL_MILLIS } from './dashboard-stream.js';
import { healthDetailsRoute } from './health-details-route.js';
import { healthRoute } from './health-route.js';
import { metricsRoute, validateMetricsSource } from './metrics-route.js';
import type { MetricsSource } from './metrics-route.js';
import type { OpsAccessOptions } from './ops-access.js';
import { OpsAccess } from './ops-access.js';
import type { OpsRequest } from './ops-request.js';
import type { OpsResponse } from './ops-response.js';
import { errorResponse, streamResponse } from './ops-response.js';
import { poolDetailRoute, poolListRoute, snapshotListRoute, snapshotRoute } from './pool-api-routes.js';
import { poolHealthRoute } from './pool-health-route.js';
import { workerPoolDetailRoute, workerPoolListRoute } from './worker-pool-routes.js';
import { readyzRoute } from './readyz-route.js';
import { recommendationsRoute } from './recommendations-route.js';
import { ServerViewRoute, validateServerViewSource } from './server-view-route.js';
import { clusterSnapshotRoute, validateClusterSource } from './cluster-route.js';
import { OPS_ROUTES } from './ops-routes.js';
import type { OpsRouteInfo } from './ops-routes.js';
import type { ClusterSnapshotSource } from './cluster-route.js';
import type { ServerViewSource } from './server-view-route.js';

/** Options of the ops routes (every adapter takes these). All optional. */
export interface OpsHandlerOptions extends OpsAccessOptions {
  /** Path prefix of every route: `''` (default, so `/health`) or e.g. `/ops` (`/ops/health`). No trailing slash. */
  readonly prefix?: string;
  /** How long `/readyz` waits for each pool's database to answer. Default 2000. */
  readonly probeTimeoutMillis?: number;
  /**
   * What `/metrics` serves: `new PrometheusExporter(inspector)` from 'poolscope/prometheus', or a prom-client
   * Registry. Without it `/metrics` answers 404 `POOLSCOPE_ERR_HTTP_METRICS_DISABLED`.
   */
  readonly metrics?: MetricsSource;
  /**
   * Receives an error raised inside a route (the caller gets a 500 `POOLSCOPE_ERR_HTTP_INTERNAL` without details).
   * Default: the inspector's own `onError` (`inspector.reportError`), so one hook sees every poolscope failure.
   */
  readonly onError?: (error: unknown) => void;
  /** How often `/api/stream` sends each client a `tick`. Default 1000; at least 100. */
  readonly streamIntervalMillis?: number;
  /**
   * The database's view for `/api/server` and the dashboard's panel: `new ActivityInspector({ connectionString })`
   * from 'poolscope/server' (you close it), or anything with its `activity()` method. Without it `/api/server`
   * answers 404 `POOLSCOPE_ERR_HTTP_SERVER_VIEW_DISABLED` and the dashboard shows no database panel.
   */
  readonly serverView?: ServerViewSource;
  /**
   * The cluster node for `/api/cluster/snapshot`: a joined `ClusterNode` (docs/reference/cluster.md; you join and
   * leave it), or anything with its `snapshot(options)` method. Without it `/api/cluster/snapshot` answers 404
   * `POOLSCOPE_ERR_HTTP_CLUSTER_DISABLED` and the dashboard shows no cluster panel.
   */
  readonly cluster?: ClusterSnapshotSource;
}

// The route catalogue lives in ops-routes.ts; re-exported here, where it was.
export { OPS_ROUTE_ACCESS, OPS_ROUTES } from './ops-routes.js';
export type { OpsRouteAccess, OpsRouteInfo } from './ops-routes.js';

/** Methods every route answers. */
const ALLOWED_METHODS = 'GET, HEAD';
const PREFIX_SHAPE = /^(?:\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*$/;
const POOL_PATH = '/api/pools/';
const WORKER_POOL_PATH = '/api/worker-pools/';
const ASSET_PATH = '/dashboard/assets/';
/** Routes with a `:name` segment: the literal part before it, and the pattern. */
const PARAM_ROUTES = [
  [POOL_PATH, '/api/pools/:name'],
  [WORKER_POOL_PATH, '/api/worker-pools/:name'],
  [ASSET_PATH, '/dashboard/assets/:file'],
] as const;
const STREAM_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** A route found for a path. */
interface RouteMatch {
  readonly info: OpsRouteInfo;
  /** The `:name` segment, still percent-encoded. */
  readonly param: string | undefined;
}

/**
 * The ops routes behind any server: turns an OpsRequest into an OpsResponse. Adapters (node:http, Express, Fastify)
 * only translate. `handle()` never rejects: refusals are JSON errors and a failure inside a route is a 500 whose
 * error goes to `onError`.
 *
 * Order of checks: `/health` is answered to anyone; every other path (known or not) first passes the access check
 * (403), then is matched (404), then its method (405 with `allow: GET, HEAD`).
 */
export class OpsHandler {
  /** The prefix in force (`''` or `/something`). */
  readonly prefix: string;
  readonly #inspector: Inspector;
  readonly #access: OpsAccess;
  readonly #probeTimeoutMillis: number;
  readonly #metrics: MetricsSource | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #streamIntervalMillis: number;
  readonly #serverView: ServerViewRoute;
  readonly #cluster: ClusterSnapshotSource | undefined;
  #stream: DashboardStream | undefined;
  #assets: DashboardAssets | undefined;

  constructor(inspector: Inspector, options: OpsHandlerOptions = {}) {
    if (inspector === null || typeof inspector !== 'object' || typeof inspector.poolNames !== 'function') {
      throw new OptionsError('inspector', inspector, 'an Inspector (new Inspector())');
    }
    if (options === null || typeof options !== 'object') {
      throw new OptionsError('options', options, 'an object (or nothing) of ops route options');
    }
    const prefix: unknown = options.prefix ?? '';
    if (typeof prefix !== 'string' || !PREFIX_SHAPE.test(prefix)) {
      throw new OptionsError('prefix', prefix, "'' or a path such as '/ops' or '/internal/ops' (leading slash, no trailing slash, no query)");
    }
    const timeout: unknown = options.probeTimeoutMillis ?? DEFAULT_PROBE_TIMEOUT_MILLIS;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
      throw new OptionsError('probeTimeoutMillis', timeout, 'a number of milliseconds > 0');
    }
    const onError: unknown = options.onError;
    if (onError !== undefined && typeof onError !== 'function') {
      throw new OptionsError('onError', onError, 'a function (error) => void');
    }
    const interval: unknown = options.streamIntervalMillis ?? DEFAULT_STREAM_INTERVAL_MILLIS;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 100) {
      throw new OptionsError('streamIntervalMillis', interval, 'a number of milliseconds >= 100 (default 1000)');
    }
    this.#streamIntervalMillis = interval;
    this.prefix = prefix;
    this.#inspector = inspector;
    this.#access = new OpsAccess(options);
    this.#probeTimeoutMillis = timeout;
    this.#metrics = validateMetricsSource(options.metrics);
    const serverView = validateServerViewSource(options.serverView);
    this.#cluster = validateClusterSource(options.cluster);
    this.#onError = (error) => {
      try {
        if (typeof onError === 'function') onError(error);
        else inspector.reportError(error);
      } catch {
        // The error hook itself failed: nothing safe is left to tell.
      }
    };
    this.#serverView = new ServerViewRoute(serverView, { onError: this.#onError });
  }

  /** The full path pattern of every route, prefix included (`/ops/api/pools/:name`), for frameworks' routers. */
  get routePaths(): string[] {
    return OPS_ROUTES.map((route) => `${this.prefix}${route.path}`);
  }

  /** True when `path` (without query string) is one of the routes, whatever the method. */
  matches(path: string): boolean {
    return this.#match(path) !== undefined;
  }

  /** Answers one request. Never rejects. A HEAD answer has the status and headers of the GET one, and no body. */
  async handle(request: OpsRequest): Promise<OpsResponse> {
    const response = await this.#answer(request);
    const head = typeof request.method === 'string' && request.method.toUpperCase() === 'HEAD';
    if (!head || (response.body === '' && response.stream === undefined)) return response;
    const { stream: _stream, ...rest } = response;
    return { ...rest, body: '' };
  }

  async #answer(request: OpsRequest): Promise<OpsResponse> {
    try {
      const method = String(request.method).toUpperCase();
      const match = this.#match(request.path);
      if (match?.info.access !== 'public') {
        const decision = this.#access.check(request.remoteAddress, request.headers);
        if (!decision.allowed) {
          return errorResponse(
            403,
            'POOLSCOPE_ERR_HTTP_FORBIDDEN',
            `This ops route is restricted and the caller (address ${decision.clientAddress ?? 'unknown'}) is not allowed: ` +
              'call it from an allowlisted network (option allowlist; loopback and private ranges by default)' +
              (this.#access.hasToken ? ' or send Authorization: Bearer <token>.' : ', or configure a token and send Authorization: Bearer <token>.'),
          );
        }
      }
      if (match === undefined) {
        return errorResponse(
          404,
          'POOLSCOPE_ERR_HTTP_NOT_FOUND',
          `No ops route at ${JSON.stringify(request.path)}. Routes: ${this.routePaths.join(', ')}.`,
        );
      }
      if (method !== 'GET' && method !== 'HEAD') {
        return errorResponse(
          405,
          'POOLSCOPE_ERR_HTTP_METHOD_NOT_ALLOWED',
          `${this.prefix}${match.info.path} answers GET and HEAD only, not ${method}.`,
          { allow: ALLOWED_METHODS },
        );
      }
      return await this.#serve(match, request);
    } catch (error) {
      if (error instanceof HttpRouteError) return errorResponse(error.status, error.code, error.message);
      this.#onError(error);
      return errorResponse(500, 'POOLSCOPE_ERR_HTTP_INTERNAL', 'The ops route failed; the error was reported to the server (onError).');
    }
  }

  #serve(match: RouteMatch, request: OpsRequest): OpsResponse | Promise<OpsResponse> {
    const inspector = this.#inspector;
    switch (match.info.path) {
      case '/health':
        return healthRoute();
      case '/readyz':
        return readyzRoute(inspector, this.#probeTimeoutMillis);
      case '/health/pool':
        return poolHealthRoute(inspector, request);
      case '/health/details':
        return healthDetailsRoute(inspector);
      case '/metrics':
        return metricsRoute(this.#metrics, request);
      case '/api/pools':
        return poolListRoute(inspector);
      case '/api/pools/:name':
        return poolDetailRoute(inspector, match.param ?? '');
      case '/api/worker-pools':
        return workerPoolListRoute(inspector);
      case '/api/worker-pools/:name':
        return workerPoolDetailRoute(inspector, match.param ?? '');
      case '/api/snapshots':
        return snapshotListRoute(inspector, request);
      case '/api/snapshot':
        return snapshotRoute(inspector);
      case '/api/recommendations':
        return recommendationsRoute(inspector, request);
      case '/api/server':
        return this.#serverView.answer();
      case '/api/cluster/snapshot':
        return clusterSnapshotRoute(this.#cluster, request, this.#onError);
      case '/api/stream': {
        this.#stream ??= new DashboardStream(inspector, {
          intervalMillis: this.#streamIntervalMillis,
          onError: this.#onError,
          serverView: this.#serverView.enabled,
          cluster: this.#cluster !== undefined,
        });
        const stream = this.#stream;
        return streamResponse(STREAM_CONTENT_TYPE, (sink) => stream.connect(sink), { 'x-accel-buffering': 'no' });
      }
      case '/dashboard':
        return (this.#assets ??= new DashboardAssets(this.prefix)).shell();
      case '/dashboard/assets/:file':
        return (this.#assets ??= new DashboardAssets(this.prefix)).asset(match.param ?? '');
      default:
        throw new InternalError(`ops route ${match.info.path} has no implementation`);
    }
  }

  #match(path: string): RouteMatch | undefined {
    if (!path.startsWith(this.prefix)) return undefined;
    const relative = path.slice(this.prefix.length);
    for (const info of OPS_ROUTES) {
      if (info.path === relative) return { info, param: undefined };
    }
    for (const [literal, pattern] of PARAM_ROUTES) {
      if (!relative.startsWith(literal)) continue;
      const param = relative.slice(literal.length);
      const info = OPS_ROUTES.find((route) => route.path === pattern);
      if (param !== '' && !param.includes('/') && info !== undefined) return { info, param };
    }
    return undefined;
  }

  /** Clients of `/api/stream` connected now. */
  get streamClients(): number {
    return this.#stream?.clientCount ?? 0;
  }

  /**
   * Ends every `/api/stream` response (a server shutting down would otherwise wait for the browsers to leave) and
   * stops the stream's timer. The routes keep answering; a new stream client starts it again.
   */
  closeStreams(): void {
    this.#stream?.close();
  }

}

/** Creates the ops routes for `inspector`. Throws OptionsError for a bad option (malformed CIDR, empty token, ...). */
export function createOpsHandler(inspector: Inspector, options: OpsHandlerOptions = {}): OpsHandler {
  return new OpsHandler(inspector, options);
}
