/** The ops routes' catalogue, as docs/reference/http.md lists them (OpsHandler serves them). */

/** Who may call a route. */
export const OPS_ROUTE_ACCESS = ['public', 'restricted'] as const;
export type OpsRouteAccess = (typeof OPS_ROUTE_ACCESS)[number];

/** One ops route, as catalogued in docs/reference/http.md. */
export interface OpsRouteInfo {
  /** Path after the prefix; `:name` is one path segment. */
  readonly path: string;
  readonly access: OpsRouteAccess;
  readonly summary: string;
}

/** Every ops route. Each answers GET and HEAD; other methods get 405. */
export const OPS_ROUTES: readonly OpsRouteInfo[] = Object.freeze([
  { path: '/health', access: 'public', summary: 'liveness: {"status":"ok"}, never touches the database' },
  { path: '/readyz', access: 'restricted', summary: 'readiness: 200 or 503, every pool with a reachability ping' },
  { path: '/health/pool', access: 'restricted', summary: "one pool's health (?pool=NAME)" },
  { path: '/health/details', access: 'restricted', summary: 'every pool, totals and active alerts' },
  { path: '/metrics', access: 'restricted', summary: 'Prometheus exposition (when `metrics` is set)' },
  { path: '/api/pools', access: 'restricted', summary: "every pool's stats and settings" },
  { path: '/api/pools/:name', access: 'restricted', summary: "one pool's stats and settings" },
  { path: '/api/worker-pools', access: 'restricted', summary: "every worker pool's stats and settings (Piscina, workerpool)" },
  { path: '/api/worker-pools/:name', access: 'restricted', summary: 'one worker pool with every worker (status, load, memory)' },
  { path: '/api/snapshots', access: 'restricted', summary: 'automatic snapshots kept (?pool=NAME)' },
  { path: '/api/snapshot', access: 'restricted', summary: 'a fresh snapshot of every pool' },
  { path: '/api/recommendations', access: 'restricted', summary: 'tuning and fix recommendations for every pool and worker pool (?pool=NAME)' },
  { path: '/api/server', access: 'restricted', summary: "the database's view: pg_stat_activity by application and state, headroom (when `serverView` is set)" },
  { path: '/api/cluster/snapshot', access: 'restricted', summary: "every cluster node's snapshot, or who is missing (?nodes=a,b&pools=x,y&timeout=MS; when `cluster` is set)" },
  { path: '/api/stream', access: 'restricted', summary: 'the live dashboard feed (Server-Sent Events: hello, state, tick, event, pools)' },
  { path: '/dashboard', access: 'public', summary: 'the live dashboard page (a static shell: it holds no data)' },
  { path: '/dashboard/assets/:file', access: 'public', summary: "the dashboard's scripts and styles (a fixed list)" },
]);
