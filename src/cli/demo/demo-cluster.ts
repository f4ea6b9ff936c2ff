import { clusterApplicationName } from '../../cluster/cluster-application-name.js';
import { clusterChannelName } from '../../cluster/cluster-messages.js';
import type { ClusterNode } from '../../cluster/cluster-node.js';
import { maskConnectionString } from '../../core/connection-string-mask.js';
import { PoolscopeError, messageOf } from '../../errors.js';
import { CliUsageError, type CliIo } from '../cli-command.js';
import { secretFromEnvFlag } from '../flag-parser.js';
import type { DemoApp, DemoAppClusterOptions } from './demo-app.js';
import type { DemoDatabase } from './demo-database.js';

/** `poolscope demo --cluster`: the flags' checks, where the node joins, and what the demo prints about it. */

/** The cluster the demo joins (`--cluster`, `--node`, `--cluster-secret-env`). */
export interface DemoClusterOptions {
  /** The cluster's name, checked as ClusterNode checks it. */
  readonly name: string;
  /** The node's name; undefined: the inspector's instanceId (`<host>-<pid>`). */
  readonly node?: string;
  /** Read from the variable `--cluster-secret-env` names. */
  readonly secret?: string;
  /** That variable's name (printed in the hints; never the secret). */
  readonly secretEnv?: string;
}

/** `--cluster`, `--node` and `--cluster-secret-env`, checked as ClusterNode checks them (the code in the message). */
export function demoClusterOf(name: string | undefined, node: string | undefined, secretEnv: string | undefined, env: CliIo['env']): DemoClusterOptions | undefined {
  if (name === undefined) {
    const orphan = node !== undefined ? '--node' : secretEnv !== undefined ? '--cluster-secret-env' : undefined;
    if (orphan !== undefined) throw new CliUsageError(`${orphan} needs --cluster NAME (the cluster to join).`);
    return undefined;
  }
  usableName('--cluster', () => clusterChannelName(name));
  if (node !== undefined) usableName('--node', () => clusterApplicationName(name, node));
  const secret = secretFromEnvFlag('cluster-secret-env', secretEnv, env);
  return { name, ...(node === undefined ? {} : { node }), ...(secret === undefined ? {} : { secret, secretEnv }) };
}

/** Runs a name check of the cluster module; its coded error becomes a usage error naming the flag and the code. */
function usableName(flag: string, check: () => unknown): void {
  try {
    check();
  } catch (error) {
    throw new CliUsageError(`${flag}: ${error instanceof PoolscopeError ? `${error.code}: ` : ''}${messageOf(error)}`);
  }
}

/**
 * Where the demo's node joins: the server's own database (the one --database-url or DATABASE_URL names), shared by
 * every demo on that server, not the scratch database each demo makes for its app. LISTEN/NOTIFY and the members
 * (pg_stat_activity) are per database.
 */
export function demoAppCluster(cluster: DemoClusterOptions, db: DemoDatabase): DemoAppClusterOptions {
  return { cluster: cluster.name, connectionString: db.adminUrl, ...(cluster.node === undefined ? {} : { node: cluster.node }), ...(cluster.secret === undefined ? {} : { secret: cluster.secret }) };
}

/** The URL to show for `--database-url`: whole for the throw-away embedded server (to paste), else masked. */
export function shownAdminUrl(db: DemoDatabase): string {
  return db.kind === 'embedded' ? db.adminUrl : maskConnectionString(db.adminUrl);
}

export function printClusterLine(app: DemoApp, db: DemoDatabase, out: (text: string) => void): void {
  const node = app.clusterNode;
  if (node === undefined) return;
  out(`Cluster: joined ${JSON.stringify(node.cluster)} as node ${node.node} on ${maskConnectionString(db.adminUrl)} (application_name ${node.applicationName})\n`);
}

export function printClusterHints(node: ClusterNode, db: DemoDatabase, cluster: DemoClusterOptions | undefined, out: (text: string) => void): void {
  const secretEnv = cluster?.secretEnv;
  const shared = db.kind === 'embedded' ? ' (this demo runs an embedded PostgreSQL: other demos join it with --database-url as above)' : '';
  out(
    [
      `Cluster ${JSON.stringify(node.cluster)}: this app is node ${node.node}${shared}. Ask every node:`,
      `  npx poolscope cluster --database-url '${shownAdminUrl(db)}' --cluster ${shellWord(node.cluster)}${secretEnv === undefined ? '' : ` --secret-env ${secretEnv}`}`,
      `  another instance: npx poolscope demo --keep-running --database-url '${shownAdminUrl(db)}' --cluster ${shellWord(node.cluster)} --node <name>${secretEnv === undefined ? '' : ` --cluster-secret-env ${secretEnv}`}`,
      '',
    ].join('\n'),
  );
}

/** A cluster name as one shell word (quoted when it has anything but A-Z a-z 0-9 _ . : -). */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_.:-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}
