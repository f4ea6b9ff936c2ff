/** The options and states of a `ClusterNode` (cluster-node.ts; docs/reference/cluster.md). */

/** Options of `new ClusterNode(inspector, options)`. */
export interface ClusterNodeOptions {
  /** The cluster's name (1-200 characters, no NUL): nodes with the same name on the same database form a cluster. */
  readonly cluster: string;
  /** Where the node's own LISTEN connection goes: the database the instances share (one extra connection per node). */
  readonly connectionString: string;
  /** This node's name, unique in the cluster (1-64 of `A-Z a-z 0-9 _ . : -`). Default: `inspector.instanceId`. */
  readonly node?: string;
  /** Shared secret (>= 16 bytes, the same on every node): requests authenticated, replies encrypted. */
  readonly secret?: string | Uint8Array;
  /** The pg module (or pg.Client); default `import('pg')`. */
  readonly pg?: unknown;
  /** First delay before reconnecting a lost LISTEN connection; doubles each failed attempt. Default 1000. */
  readonly reconnectInitialDelayMillis?: number;
  /** Longest delay between reconnection attempts. Default 30000. */
  readonly reconnectMaxDelayMillis?: number;
  /** How long a node seen earlier and gone since is listed in `departed`. Default 3,600,000 (an hour). */
  readonly forgetDeparturesAfterMillis?: number;
}

/** Options of `node.snapshot()`. */
export interface ClusterSnapshotOptions {
  /** Which nodes: `'all'` (the members when asked) or names. Default `'all'`. */
  readonly nodes?: 'all' | readonly string[];
  /** Only these pools; default every pool. */
  readonly pools?: readonly string[];
  /** How long to wait for the answers. Default 3000. */
  readonly timeoutMillis?: number;
}

/** Where a node is: not joined yet, joining, joined (LISTENing), reconnecting a lost connection, or left for good. */
export const CLUSTER_NODE_STATES = ['new', 'joining', 'joined', 'reconnecting', 'left'] as const;
export type ClusterNodeState = (typeof CLUSTER_NODE_STATES)[number];

/** How long `snapshot()` waits for the answers by default. */
export const DEFAULT_SNAPSHOT_TIMEOUT_MILLIS = 3000;
