/**
 * The demo app: a small order service on a real PostgreSQL, laid out like seed 001's backend and misbehaving the
 * way seed 001 says real apps do. poolscope watches it; `poolscope demo` drives it and prints what poolscope found.
 *
 * - pool `main` (max 10): HTTP handlers. Healthy (/api/orders), slow (/api/report) and three planted misuses, one
 *   per leak pattern of seed 001 (demo-leak-sites.ts, each at a line marked `// @...`); tracked with queryComments,
 *   so the database's view (`poolscope db`) names the route and the line behind each statement;
 * - pool `listen` (max 4): three connections held by design with LISTEN (demo-outbox.ts), tracked expectFull;
 * - the ops routes on the same HTTP server: /health, /readyz, /health/pool, /health/details, /metrics, /api/*;
 * - with the `cluster` option, a ClusterNode that joins the cluster and backs /api/cluster/snapshot.
 * This file starts and stops it all: pools, inspector, schema, outbox handlers, the HTTP server.
 *
 * Reached only through `poolscope demo` (src/cli/commands/demo-command.ts), never from the package root.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { ConnectionDestroyedError } from '../../errors.js';
import { Inspector } from '../../core/inspector.js';
import type { InspectorOptions } from '../../core/inspector.js';
import { trackPgPool } from '../../adapters/pg/pg-adapter.js';
import { ClusterNode } from '../../cluster/cluster-node.js';
import type { MetricsSource } from '../../http/metrics-route.js';
import { startOpsServer } from '../../http/node-server.js';
import type { OpsServer } from '../../http/node-server.js';
import { endPool } from '../../postgres/pg-pool-ending.js';
import { loadPg } from './demo-database.js';
import { DEMO_APPLICATION_NAMES, DEMO_LISTEN_CHANNELS, DEMO_POOLS } from './demo-endpoints.js';
import { startOutboxHandler } from './demo-outbox.js';
import type { OutboxHandler } from './demo-outbox.js';
import { createSchema } from './demo-order-queries.js';
import { routeDemoRequest } from './demo-routes.js';

/**
 * The demo's own folder, as stack frames name it (this module's folder, and the package's src/cli/demo and
 * dist/cli/demo, for source-mapped and built runs): the demo plays the user's app, so poolscope is told its frames
 * are application code (`applicationFrames`) and reports its planted leaks at their file:line, although the folder
 * is inside poolscope (also when installed under node_modules/poolscope).
 */
export const DEMO_APPLICATION_FRAMES: readonly RegExp[] = Object.freeze(demoFramePatterns());

function demoFramePatterns(): RegExp[] {
  const own = path.dirname(fileURLToPath(import.meta.url));
  const root = path.resolve(own, '..', '..', '..');
  const dirs = new Set([own, path.join(root, 'src', 'cli', 'demo'), path.join(root, 'dist', 'cli', 'demo')]);
  return [...dirs].map((dir) => new RegExp(escapeRegExp(dir + path.sep)));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface DemoAppOptions {
  /** Connection string of the (scratch) database the app may create its tables in. */
  readonly databaseUrl: string;
  /** HTTP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** `max` of the main pool. Default 10. */
  readonly mainMax?: number;
  /** Leak threshold of the main pool. Default 1500 (short, for the demo; production default is 30 s). */
  readonly leakThresholdMillis?: number;
  /** `connectionTimeoutMillis` of the main pool (acquire timeout). Default 2000, seed 001's. */
  readonly connectionTimeoutMillis?: number;
  /** Errors raised inside poolscope (the inspector's onError). Default: ignored. */
  readonly onError?: (error: unknown) => void;
  /** Join this cluster (a ClusterNode on its own connection) and serve /api/cluster/snapshot. Default: none. */
  readonly cluster?: DemoAppClusterOptions;
}

/** The cluster the demo app joins. */
export interface DemoAppClusterOptions {
  readonly cluster: string;
  /** Where the node LISTENs: the database every instance of the cluster shares (not the app's scratch database). */
  readonly connectionString: string;
  /** Default: the inspector's instanceId (`<host>-<pid>`). */
  readonly node?: string;
  readonly secret?: string;
}

/** A running demo app. */
export interface DemoApp {
  /** `http://127.0.0.1:<port>`: the app's endpoints and the ops routes. */
  readonly url: string;
  readonly port: number;
  readonly inspector: Inspector;
  /** False when prom-client is not installed (then /metrics answers 404 and says why). */
  readonly metricsEnabled: boolean;
  /** application_name of each pool's sessions. */
  readonly applicationNames: typeof DEMO_APPLICATION_NAMES;
  /** The joined node (with the `cluster` option), left by `close()`. */
  readonly clusterNode: ClusterNode | undefined;
  /**
   * Stops the HTTP server, closes the inspector, releases the LISTEN connections, ends both pools (destroying the
   * connections the planted leaks still hold). Idempotent.
   */
  close(): Promise<void>;
  /**
   * Gives back the connections of `main` held longer than its leak threshold (the planted leaks): each is released
   * with an error, so pg-pool destroys it and opens a fresh one when needed (demo cleanup: a real app fixes its leak).
   * Returns how many. Used by `--keep-running`'s live load.
   */
  reclaimLeakedConnections(): number;
}

/**
 * Demo thresholds: short, so a leak is reported within seconds instead of production's 30 s. `appName`:
 * 'poolscope-demo'. `instanceId`: the
 * cluster node's name when one is given, so the dashboard's header names the same instance as the cluster does.
 */
export function demoInspectorOptions(onError?: (error: unknown) => void, instanceId?: string): InspectorOptions {
  return {
    // The `app` of its query comments and the dashboard's header (the default would be the CLI's script name).
    appName: 'poolscope-demo',
    historyIntervalMillis: 250,
    alerts: { intervalMillis: 250 },
    defaults: { stackCapture: 'always', saturationCooldownMillis: 1000, applicationFrames: DEMO_APPLICATION_FRAMES },
    ...(onError === undefined ? {} : { onError }),
    ...(instanceId === undefined ? {} : { instanceId }),
  };
}

/** Creates the schema, the pools, the inspector and the HTTP server; resolves once it listens. */
export async function startDemoApp(options: DemoAppOptions): Promise<DemoApp> {
  const pgModule = await loadPg();
  const mainMax = options.mainMax ?? 10;
  const main = new pgModule.Pool({
    connectionString: options.databaseUrl,
    max: mainMax,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 2000,
    idleTimeoutMillis: 30_000,
    application_name: DEMO_APPLICATION_NAMES.main,
  });
  const listen = new pgModule.Pool({
    connectionString: options.databaseUrl,
    max: DEMO_LISTEN_CHANNELS.length + 1,
    application_name: DEMO_APPLICATION_NAMES.listen,
  });
  // An idle connection that dies (the scratch database dropped under it) must not crash the demo.
  main.on('error', () => undefined);
  listen.on('error', () => undefined);
  const leakThresholdMillis = options.leakThresholdMillis ?? 1500;
  // The clients of 'main' checked out now, with when (for reclaimLeakedConnections).
  const checkedOut = new Map<pg.PoolClient, number>();
  main.on('acquire', (client) => checkedOut.set(client, performance.now()));
  main.on('release', (_error, client) => checkedOut.delete(client));
  main.on('remove', (client) => checkedOut.delete(client as pg.PoolClient));
  const reclaimLeakedConnections = (): number => {
    const cutoff = performance.now() - leakThresholdMillis;
    let reclaimed = 0;
    for (const [client, since] of [...checkedOut]) {
      if (since > cutoff) continue;
      checkedOut.delete(client);
      try {
        client.release(new ConnectionDestroyedError('poolscope demo: a planted leak reclaimed by --keep-running'));
        reclaimed += 1;
      } catch {
        // released meanwhile
      }
    }
    return reclaimed;
  };

  const inspector = new Inspector(demoInspectorOptions(options.onError, options.cluster?.node));
  const handlers: OutboxHandler[] = [];
  let server: OpsServer | undefined;
  let clusterNode: ClusterNode | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (server !== undefined) await server.close();
      await clusterNode?.leave();
      inspector.close();
      await Promise.all(handlers.splice(0).map((handler) => handler.stop()));
      await Promise.all([endDemoPool(main), endDemoPool(listen)]);
    })();
    return closing;
  };

  try {
    // queryComments: each statement names its route, file:line and lease in pg_stat_activity (`poolscope db` shows them).
    trackPgPool(inspector, main, { name: DEMO_POOLS.main, leakThresholdMillis, queryComments: true });
    trackPgPool(inspector, listen, { name: DEMO_POOLS.listen, expectFull: true });
    await createSchema(main);
    for (const channel of DEMO_LISTEN_CHANNELS) handlers.push(await startOutboxHandler(inspector, listen, channel));

    if (options.cluster !== undefined) {
      const { cluster, connectionString, node, secret } = options.cluster;
      clusterNode = new ClusterNode(inspector, { cluster, connectionString, pg: pgModule, ...(node === undefined ? {} : { node }), ...(secret === undefined ? {} : { secret }) });
      await clusterNode.join();
    }
    const metrics = await prometheusSource(inspector);
    const app = inspector.wrapHttpHandler((req: IncomingMessage, res: ServerResponse) => {
      void routeDemoRequest(main, req, res);
    });
    server = await startOpsServer(inspector, {
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      fallback: app,
      ...(metrics === undefined ? {} : { metrics }),
      ...(clusterNode === undefined ? {} : { cluster: clusterNode }),
    });
    return {
      url: server.url,
      port: server.port,
      inspector,
      metricsEnabled: metrics !== undefined,
      applicationNames: DEMO_APPLICATION_NAMES,
      clusterNode,
      close,
      reclaimLeakedConnections,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** `/metrics` through poolscope's PrometheusExporter, when prom-client (an optional peer dependency) is installed. */
async function prometheusSource(inspector: Inspector): Promise<MetricsSource | undefined> {
  try {
    const { PrometheusExporter } = await import('../../exporters/prometheus-exporter.js');
    return new PrometheusExporter(inspector);
  } catch {
    return undefined;
  }
}

/**
 * Ends a pool of the demo. The planted leaks never come back: after a short wait the clients still out are
 * destroyed (demo cleanup only, the app's own code never does this).
 */
async function endDemoPool(pool: pg.Pool): Promise<void> {
  if (pool.ending) return;
  await endPool(pool, { destroyCheckedOutAfterMillis: 500 }).catch(() => undefined);
}
