// poolscope/cluster: cluster-wide snapshots over the PostgreSQL the instances already share (docs/reference/cluster.md).
// Needs `pg`, loaded when a node joins (PgUnavailableError if missing), or pass `{ pg }` with your own module.

export { ClusterNode, CLUSTER_NODE_STATES, CLUSTER_MISSING_REASONS, DEFAULT_SNAPSHOT_TIMEOUT_MILLIS } from './cluster-node.js';
export type {
  ClusterNodeOptions,
  ClusterNodeState,
  ClusterSnapshotOptions,
  ClusterSnapshot,
  CollectedReplies,
  ClusterNodeSnapshot,
  ClusterMissingNode,
  ClusterMissingReason,
  ClusterTraffic,
  ClusterDeparture,
  ClusterTotals,
  ClusterPoolTotals,
  ClusterPoolOnNode,
  ClusterNodeTotals,
  ClusterServerCapacity,
  ConnectionCounts,
} from './cluster-node.js';
export { clusterTotals } from './cluster-totals.js';
export { clusterApplicationName, CLUSTER_APPLICATION_PREFIX } from './cluster-application-name.js';
export { clusterChannelName, CLUSTER_REJECTION_REASONS, NODE_NAME_PATTERN } from './cluster-messages.js';
export type { ClusterRejectionReason } from './cluster-messages.js';
export { MIN_SECRET_BYTES } from './cluster-crypto.js';
export { ClusterError } from '../errors.js';
export type { ClusterErrorCode } from '../errors.js';
export type { ServerLimits } from '../postgres/server-limits.js';
