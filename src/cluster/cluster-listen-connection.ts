import { SERVER_LIMITS_SQL, serverLimitsOf, type ServerLimits } from '../postgres/server-limits.js';
import { ClusterError, messageOf } from '../errors.js';
import { loadPgExport, pgExportOf } from '../postgres/pg-module-loader.js';
import { CLUSTER_NAME_TAKEN_SQL, clusterNodeLockKey } from './cluster-application-name.js';

/**
 * The one dedicated connection of a cluster node (not from the app's pools): opened with the node's application_name,
 * checked for a name clash, locked, and LISTENing on the cluster's channel. pg is loaded on demand or given.
 */

/** A NOTIFY as pg's Client emits it. */
export interface PgNotification {
  readonly channel: string;
  readonly payload?: string;
}

/** What the node uses of a `pg.Client`. */
export interface ListenClient {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<unknown>;
  on(event: 'notification', listener: (message: PgNotification) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

export type ListenClientClass = new (config: Record<string, unknown>) => ListenClient;

/**
 * Every chunk of a message in one statement (so one transaction: delivered together, in order), with parameters.
 * One statement rather than `BEGIN; SELECT pg_notify(...) ...; COMMIT` so that no other query the node sends on the
 * same connection (a reply while a request goes out) can land inside the transaction.
 */
export const CLUSTER_NOTIFY_SQL = 'SELECT pg_notify($1, t.payload) FROM unnest($2::text[]) WITH ORDINALITY AS t(payload, n)';

/** The pg.Client class: from the `pg` option (the module or the Client class), else `import('pg')`. */
export async function resolveClientClass(pg: unknown): Promise<ListenClientClass> {
  if (pg !== undefined) {
    const found = typeof pg === 'function' ? pg : pgExportOf(pg, 'Client');
    if (typeof found !== 'function') {
      throw new ClusterError('POOLSCOPE_ERR_CLUSTER_JOIN_FAILED', 'The pg option has no Client class: pass the pg module (import pg from "pg") or pg.Client.');
    }
    return found as ListenClientClass;
  }
  const need = {
    feature: 'ClusterNode',
    missing: 'ClusterNode opens its own connection with pg: install pg (npm install pg) or pass the pg module as the pg option.',
    noExport: 'The loaded pg module has no Client class: pass the pg module as the pg option.',
  };
  return (await loadPgExport('Client', need)) as ListenClientClass;
}

/**
 * How long opening the LISTEN connection may take until the server's first ReadyForQuery (pg's
 * `connectionTimeoutMillis`). Without it a connect swallowed by the network (a partition, a blackholed port, a
 * server that accepts and never answers) would hang `join()` forever, and a reconnection attempt would never end, so
 * the node would stay `reconnecting` after the network healed.
 */
export const LISTEN_CONNECT_TIMEOUT_MILLIS = 10_000;

export interface OpenListenOptions {
  readonly Client: ListenClientClass;
  readonly connectionString: string;
  readonly applicationName: string;
  readonly channel: string;
  readonly cluster: string;
  readonly node: string;
  /** Attached before connect, so nothing the client emits is ever unhandled. */
  readonly onNotification: (message: PgNotification) => void;
  readonly onError: (error: unknown) => void;
  readonly onEnd: () => void;
}

/**
 * Connects, refuses a taken name (`POOLSCOPE_ERR_CLUSTER_NODE_NAME_TAKEN`), takes the name's advisory lock and
 * LISTENs. On any failure the client is ended and the promise rejects with a coded `ClusterError`.
 */
export async function openListenConnection(options: OpenListenOptions): Promise<ListenClient> {
  const client = new options.Client({
    connectionString: options.connectionString,
    application_name: options.applicationName,
    keepAlive: true,
    connectionTimeoutMillis: LISTEN_CONNECT_TIMEOUT_MILLIS,
  });
  client.on('error', options.onError);
  client.on('end', options.onEnd);
  client.on('notification', options.onNotification);
  try {
    await client.connect();
    const taken = await client.query(CLUSTER_NAME_TAKEN_SQL, [options.applicationName]);
    const pids = taken.rows.map((row) => (row as { pid?: unknown }).pid);
    if (pids.length > 0) throw nameTaken(options, `session pid ${pids.join(', ')} already carries it`);
    const lock = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS locked', [clusterNodeLockKey(options.applicationName)]);
    if ((lock.rows[0] as { locked?: unknown } | undefined)?.locked !== true) {
      throw nameTaken(options, 'another session holds its lock (a node of that name is joining right now)');
    }
    // The channel is always 50 bytes of a-z 0-9 _ (cluster-messages.ts): a plain identifier, no quoting needed.
    await client.query(`LISTEN ${options.channel}`);
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    if (error instanceof ClusterError) throw error;
    throw new ClusterError(
      'POOLSCOPE_ERR_CLUSTER_JOIN_FAILED',
      `Cluster node '${options.node}' could not join cluster '${options.cluster}': ${messageOf(error)}. Check the connection string and that the role may connect.`,
      { cause: error },
    );
  }
}

function nameTaken(options: OpenListenOptions, how: string): ClusterError {
  return new ClusterError(
    'POOLSCOPE_ERR_CLUSTER_NODE_NAME_TAKEN',
    `Node name '${options.node}' is taken in cluster '${options.cluster}': application_name '${options.applicationName}' is in use (${how}). ` +
      'Give each instance its own node option (default: the inspector instanceId, <host>-<pid>); if that session is a stale one of this node, wait for it to end or pg_terminate_backend() it.',
  );
}

/** The server's connection limits and use (src/postgres/server-limits.ts), read on the node's connection. */
export async function readServerLimits(client: ListenClient): Promise<ServerLimits> {
  const { rows } = await client.query(SERVER_LIMITS_SQL);
  return serverLimitsOf(rows[0], 'ClusterNode.snapshot');
}
