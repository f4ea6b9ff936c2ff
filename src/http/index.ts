// poolscope/http: the ops routes (health, readiness, metrics, the JSON API) and the ways to serve them: a handler
// for any server, node:http, Express, Fastify. Needs no optional peer: the Express and Fastify types are structural,
// and /metrics serves whatever source it is given (a PrometheusExporter from poolscope/prometheus, a prom-client
// Registry).

export { createOpsHandler, OPS_ROUTES } from './ops-handler.js';
export type { OpsHandler, OpsHandlerOptions, OpsRouteInfo, OpsRouteAccess } from './ops-handler.js';
export { startOpsServer, createOpsRequestListener } from './node-server.js';
export type { OpsServer, OpsServerOptions } from './node-server.js';
export { opsExpressMiddleware } from './express-middleware.js';
export type { OpsExpressMiddleware, ExpressRequestLike, ExpressResponseLike } from './express-middleware.js';
export { opsFastifyPlugin } from './fastify-plugin.js';
export type { OpsFastifyPlugin, FastifyInstanceLike, FastifyRequestLike, FastifyReplyLike, FastifyRouteLike } from './fastify-plugin.js';
export { DEFAULT_OPS_ALLOWLIST } from './ops-access.js';
export type { OpsAccessOptions } from './ops-access.js';
export type { OpsRequest, OpsRequestHeaders } from './ops-request.js';
export type { OpsResponse, OpsErrorBody } from './ops-response.js';

// The answers' shapes.
export type { LivenessReport } from './health-route.js';
export type { ReadyzReport, ReadyzPoolReport } from './readyz-route.js';
export { POOL_HEALTH_STATUSES, poolHealthStatus } from './pool-health-route.js';
export type { PoolHealthReport, PoolHealthStatus } from './pool-health-route.js';
export type { HealthDetailsReport } from './health-details-route.js';
export type { MetricsSource } from './metrics-route.js';
export type { PoolApiView, PoolListReport, SnapshotListReport } from './pool-api-routes.js';
export type { RecommendationsReport } from './recommendations-route.js';
export type { WorkerPoolApiView, WorkerPoolDetailView, WorkerPoolListReport, WorkerPoolMemoryNote } from './worker-pool-routes.js';
export type { ServerViewSource } from './server-view-route.js';

export { HttpListenError } from '../errors.js';
export type { HttpRouteErrorCode } from '../errors.js';
