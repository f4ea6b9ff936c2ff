import { createHash } from 'node:crypto';
import { ClusterError } from '../errors.js';
import { assertClusterName, assertNodeName } from './cluster-messages.js';

/**
 * Presence without a heartbeat table (docs/reference/cluster.md): each node's LISTEN connection carries the
 * `application_name` `poolscope-cluster/<cluster>/<node>`, so `pg_stat_activity` tells who is in a cluster now.
 *
 * PostgreSQL keeps at most 63 bytes of an application_name (longer ones are cut without warning) and shows
 * characters outside printable ASCII as `?`. Cutting the node's name would make two nodes look alike and
 * `members()` report a name that does not exist, so the shortening is done here, safely:
 * - the cluster part is the cluster name itself when it is printable ASCII without `/`, does not start with `~`,
 *   and the whole fits in 63 bytes; otherwise `~` and the first 12 hex digits of SHA-256 over the cluster name;
 * - the node part is never cut: a node name too long to fit even then is refused (`POOLSCOPE_ERR_CLUSTER_INVALID_NAME`).
 */

/** Every cluster node's application_name starts with this. */
export const CLUSTER_APPLICATION_PREFIX = 'poolscope-cluster/';
/** PostgreSQL's limit (NAMEDATALEN - 1). */
export const APPLICATION_NAME_MAX_BYTES = 63;
/** Hex digits of the hashed cluster part. */
const CLUSTER_TAG_HASH_DIGITS = 12;
const PRINTABLE_WITHOUT_SLASH = /^[\x20-\x2e\x30-\x7e]+$/;

/** The part of the application_name that names the cluster (see above). */
export function clusterTag(cluster: string, node: string): string {
  assertClusterName(cluster);
  const literal =
    PRINTABLE_WITHOUT_SLASH.test(cluster) &&
    !cluster.startsWith('~') &&
    CLUSTER_APPLICATION_PREFIX.length + cluster.length + 1 + node.length <= APPLICATION_NAME_MAX_BYTES;
  if (literal) return cluster;
  return `~${createHash('sha256').update(cluster, 'utf8').digest('hex').slice(0, CLUSTER_TAG_HASH_DIGITS)}`;
}

/**
 * Everything before the node's name in the application_name of `cluster`'s nodes, for a node name of `node`'s length
 * (the cluster part depends on the room left). Members are read back by `clusterMembers()` per tag.
 */
export function clusterApplicationPrefix(cluster: string, node: string): string {
  return `${CLUSTER_APPLICATION_PREFIX}${clusterTag(cluster, node)}/`;
}

/** `poolscope-cluster/<cluster part>/<node>`, at most 63 bytes; throws for a node name that cannot fit. */
export function clusterApplicationName(cluster: string, node: string): string {
  assertNodeName(node);
  const name = `${clusterApplicationPrefix(cluster, node)}${node}`;
  if (name.length > APPLICATION_NAME_MAX_BYTES) {
    const room = APPLICATION_NAME_MAX_BYTES - (CLUSTER_APPLICATION_PREFIX.length + 1 + CLUSTER_TAG_HASH_DIGITS + 1);
    throw new ClusterError(
      'POOLSCOPE_ERR_CLUSTER_INVALID_NAME',
      `Node name '${node}' is too long for PostgreSQL's 63-byte application_name ('${name}'): use at most ${room} characters ` +
        '(the node option; its default is the inspector instanceId).',
    );
  }
  return name;
}

/**
 * Both prefixes a node of `cluster` may carry: the literal one (short node names) and the hashed one (long names).
 * Members are the sessions whose application_name starts with either and has a valid node name after it.
 */
export function clusterApplicationPrefixes(cluster: string): string[] {
  assertClusterName(cluster);
  const hashed = `${CLUSTER_APPLICATION_PREFIX}${clusterTag(cluster, 'x'.repeat(APPLICATION_NAME_MAX_BYTES))}/`;
  const literal = `${CLUSTER_APPLICATION_PREFIX}${clusterTag(cluster, 'x')}/`;
  return literal === hashed ? [hashed] : [literal, hashed];
}

/**
 * The SQL of `members()`: live sessions on this database (LISTEN/NOTIFY is per database) whose application_name starts
 * with one of the prefixes (`$1`, a text array). Compared with `left()`, not LIKE, so `_` and `%` need no escaping.
 */
export const CLUSTER_MEMBERS_SQL =
  'SELECT pid, application_name FROM pg_stat_activity ' +
  'WHERE datname = current_database() AND EXISTS (SELECT 1 FROM unnest($1::text[]) AS p(prefix) ' +
  'WHERE left(application_name, length(p.prefix)) = p.prefix) ORDER BY application_name, pid';

/** The SQL of the name check at join: other live sessions carrying exactly this application_name. */
export const CLUSTER_NAME_TAKEN_SQL =
  'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid() ORDER BY pid';

/**
 * A session-level advisory lock key per application_name (64 bits of SHA-256): taken at join, so two nodes of the same
 * name joining at the same moment cannot both pass the pg_stat_activity check. Returned as text for `$1::bigint`.
 */
export function clusterNodeLockKey(applicationName: string): string {
  return createHash('sha256').update(`poolscope-cluster-lock\0${applicationName}`, 'utf8').digest().readBigInt64BE(0).toString();
}

/** The node names of `cluster` in rows of `CLUSTER_MEMBERS_SQL`, sorted, each once. */
export function membersFromRows(cluster: string, rows: readonly unknown[]): string[] {
  const prefixes = clusterApplicationPrefixes(cluster);
  const names = new Set<string>();
  for (const row of rows) {
    const applicationName = (row as { application_name?: unknown } | null)?.application_name;
    if (typeof applicationName !== 'string') continue;
    for (const prefix of prefixes) {
      if (!applicationName.startsWith(prefix)) continue;
      const node = applicationName.slice(prefix.length);
      // A node carries the prefix its own name's length picks: a name found under the other prefix is not a node of this cluster.
      try {
        if (clusterApplicationName(cluster, node) === applicationName) names.add(node);
      } catch {
        // not a valid node name: someone else's session
      }
    }
  }
  return [...names].sort();
}
