import type { ClusterSnapshot, ClusterSnapshotOptions } from '../cluster/cluster-node.js';
import { HttpRouteError, OptionsError, PoolscopeError } from '../errors.js';
import type { OpsRequest } from './ops-request.js';
import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';

/**
 * Where `GET /api/cluster/snapshot` asks the cluster: a joined `ClusterNode` (src/cluster/cluster-node.ts), or
 * anything with its `snapshot(options)` method.
 */
export interface ClusterSnapshotSource {
  snapshot(options: ClusterSnapshotOptions): Promise<ClusterSnapshot>;
}

/** Default, smallest and largest `timeout` query parameter (milliseconds). */
export const CLUSTER_ROUTE_DEFAULT_TIMEOUT_MILLIS = 3000;
export const CLUSTER_ROUTE_MIN_TIMEOUT_MILLIS = 100;
export const CLUSTER_ROUTE_MAX_TIMEOUT_MILLIS = 30_000;

/** The code of a 503 when the source failed with something that is not a PoolscopeError. */
const FALLBACK_FAILURE_CODE = 'POOLSCOPE_ERR_CLUSTER_SEND_FAILED';
/** The names the cluster messages accept (docs/reference/cluster.md, Messages). */
const NODE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const POOL_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
const MAX_NAMES = 1000;

/** Checks the `cluster` option at setup. */
export function validateClusterSource(source: unknown): ClusterSnapshotSource | undefined {
  if (source === undefined) return undefined;
  const candidate = source as Partial<ClusterSnapshotSource> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.snapshot !== 'function') {
    throw new OptionsError('cluster', source, 'a ClusterNode (joined: await node.join()) or an object with a snapshot(options) method');
  }
  return candidate as ClusterSnapshotSource;
}

/** Parses `nodes`, `pools` and `timeout`; throws HttpRouteError 400. */
export function clusterSnapshotOptionsOf(query: OpsRequest['query']): ClusterSnapshotOptions {
  const nodes = namesOf('nodes', query.nodes, NODE_NAME, '1-64 of A-Z a-z 0-9 _ . : -');
  const pools = namesOf('pools', query.pools, POOL_NAME, '1-100 of A-Z a-z 0-9 _ . : -');
  const timeoutText = query.timeout;
  let timeoutMillis = CLUSTER_ROUTE_DEFAULT_TIMEOUT_MILLIS;
  if (timeoutText !== undefined) {
    timeoutMillis = /^\d{1,6}$/.test(timeoutText) ? Number(timeoutText) : Number.NaN;
    if (!(timeoutMillis >= CLUSTER_ROUTE_MIN_TIMEOUT_MILLIS && timeoutMillis <= CLUSTER_ROUTE_MAX_TIMEOUT_MILLIS)) {
      throw badRequest(
        `timeout must be a whole number of milliseconds from ${CLUSTER_ROUTE_MIN_TIMEOUT_MILLIS} to ${CLUSTER_ROUTE_MAX_TIMEOUT_MILLIS}, not ${JSON.stringify(timeoutText)}.`,
      );
    }
  }
  return { nodes: nodes ?? 'all', ...(pools === undefined ? {} : { pools }), timeoutMillis };
}

function namesOf(parameter: string, text: string | undefined, shape: RegExp, rule: string): string[] | undefined {
  if (text === undefined) return undefined;
  const names = [...new Set(text.split(','))];
  if (names.length > MAX_NAMES) throw badRequest(`${parameter} lists ${names.length} names; at most ${MAX_NAMES}.`);
  const bad = names.find((name) => !shape.test(name));
  if (bad !== undefined) {
    throw badRequest(`${parameter} must be comma-separated names (${rule}, no spaces), and ${JSON.stringify(bad)} is not one.`);
  }
  return names;
}

function badRequest(message: string): HttpRouteError {
  return new HttpRouteError(400, 'POOLSCOPE_ERR_HTTP_BAD_REQUEST', message);
}

/**
 * `GET /api/cluster/snapshot`: the source's `ClusterSnapshot` as JSON, 200 even when partial (`complete: false`,
 * `missing` names the nodes). 404 `POOLSCOPE_ERR_HTTP_CLUSTER_DISABLED` without a source, 400 for bad parameters,
 * 503 with the failure's code when the node cannot ask (the error goes to `onError`; its message is not sent).
 */
export async function clusterSnapshotRoute(
  source: ClusterSnapshotSource | undefined,
  request: OpsRequest,
  onError: (error: unknown) => void,
): Promise<OpsResponse> {
  if (source === undefined) {
    throw new HttpRouteError(
      404,
      'POOLSCOPE_ERR_HTTP_CLUSTER_DISABLED',
      'Cluster snapshots are not enabled on these ops routes. Pass a joined node: { cluster: node } with ' +
        'node = new ClusterNode(inspector, { cluster, connectionString }) after await node.join() (docs/reference/cluster.md).',
    );
  }
  const options = clusterSnapshotOptionsOf(request.query);
  try {
    const result = await source.snapshot(options);
    return jsonResponse(200, result);
  } catch (error) {
    onError(error);
    const code = error instanceof PoolscopeError ? error.code : FALLBACK_FAILURE_CODE;
    return jsonResponse(503, {
      error: code,
      message:
        `This node could not ask the cluster (${code}); the error was reported to the server (onError). ` +
        'Check that the node joined and its connection to the database is up; the next request tries again.',
    });
  }
}
