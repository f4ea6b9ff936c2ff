import type { InspectorSnapshot } from '../core/pool-snapshot.js';
import type { ServerLimits } from '../postgres/server-limits.js';

/**
 * Cluster totals (docs/reference/cluster.md, "Totals"): the connections of every answering node's pools, per pool
 * name across nodes, per node, and in all, set against the server's max_connections headroom. Pure arithmetic over
 * the nodes' snapshots and one reading of the server's limits.
 */

/** Connections of one pool (or a sum of pools). */
export interface ConnectionCounts {
  /** Checked out. */
  readonly used: number;
  readonly idle: number;
  /** Open (idle + used + being set up). */
  readonly total: number;
  /** Callers queued for a connection. */
  readonly pending: number;
  /** The pools' maximum size, summed. */
  readonly max: number;
}

/** One pool of one node. */
export interface ClusterPoolOnNode extends ConnectionCounts {
  readonly node: string;
}

/** A pool name across the nodes that have a pool of that name. */
export interface ClusterPoolTotals {
  readonly poolName: string;
  /** Per node, in the order the nodes answered. */
  readonly nodes: readonly ClusterPoolOnNode[];
  readonly all: ConnectionCounts;
}

/** One node's pools, summed. */
export interface ClusterNodeTotals extends ConnectionCounts {
  readonly node: string;
  readonly pools: number;
}

/**
 * The answering pools against the server the cluster meets on. Exact when the pools connect to that server; a pool
 * on another server is counted all the same (the snapshot does not say where a pool connects).
 */
export interface ClusterServerCapacity {
  readonly maxConnections: number;
  /** superuser_reserved_connections + reserved_connections (PostgreSQL 16+). */
  readonly reservedConnections: number;
  /** Client backends on the whole server when asked (other apps, the cluster's own LISTEN connections included). */
  readonly usedConnections: number;
  /** maxConnections - reservedConnections - usedConnections: what ordinary roles can still open now (may be < 0). */
  readonly headroom: number;
  /** Connections the answering pools may still open before each reaches its max: sum of (max - total). */
  readonly poolsCanStillOpen: number;
  /** True when the pools can all grow to their max within the headroom. */
  readonly fits: boolean;
  /** One sentence for people: the comparison, and what to do when it does not fit. */
  readonly summary: string;
}

export interface ClusterTotals {
  /** Per pool name, by name. */
  readonly pools: readonly ClusterPoolTotals[];
  /** Per answering node, in the order they answered. */
  readonly nodes: readonly ClusterNodeTotals[];
  /** Every pool of every answering node. */
  readonly all: ConnectionCounts;
  /** Null when the server's limits could not be read (the reason went to the inspector's onError). */
  readonly server: ClusterServerCapacity | null;
}

const ZERO: ConnectionCounts = { used: 0, idle: 0, total: 0, pending: 0, max: 0 };

function add(a: ConnectionCounts, b: ConnectionCounts): ConnectionCounts {
  return { used: a.used + b.used, idle: a.idle + b.idle, total: a.total + b.total, pending: a.pending + b.pending, max: a.max + b.max };
}

/** The totals of the answering nodes' snapshots, against `limits` when known. */
export function clusterTotals(nodes: readonly { readonly node: string; readonly snapshot: InspectorSnapshot }[], limits: ServerLimits | null): ClusterTotals {
  const byPool = new Map<string, ClusterPoolOnNode[]>();
  const nodeTotals: ClusterNodeTotals[] = [];
  let all = ZERO;
  for (const { node, snapshot } of nodes) {
    let sum = ZERO;
    const pools = Array.isArray(snapshot.pools) ? snapshot.pools : [];
    for (const pool of pools) {
      const { used, idle, total, pending, max } = pool.stats;
      const counts = { used, idle, total, pending, max };
      sum = add(sum, counts);
      let entries = byPool.get(pool.poolName);
      if (entries === undefined) byPool.set(pool.poolName, (entries = []));
      entries.push({ node, ...counts });
    }
    nodeTotals.push({ node, pools: pools.length, ...sum });
    all = add(all, sum);
  }
  const pools = [...byPool.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([poolName, entries]) => ({ poolName, nodes: entries, all: entries.reduce<ConnectionCounts>((sum, entry) => add(sum, entry), ZERO) }));
  return { pools, nodes: nodeTotals, all, server: limits === null ? null : serverCapacity(limits, pools) };
}

function serverCapacity(limits: ServerLimits, pools: readonly ClusterPoolTotals[]): ClusterServerCapacity {
  const reservedConnections = limits.superuserReservedConnections + limits.reservedConnections;
  const headroom = limits.maxConnections - reservedConnections - limits.usedConnections;
  let poolsCanStillOpen = 0;
  for (const pool of pools) for (const entry of pool.nodes) poolsCanStillOpen += Math.max(entry.max - entry.total, 0);
  const fits = poolsCanStillOpen <= headroom;
  const connections = (n: number): string => `${n} connection${n === 1 ? '' : 's'}`;
  const summary = fits
    ? `The cluster's pools may open ${connections(poolsCanStillOpen)} more and the server has ${connections(headroom)} of headroom ` +
      `(max_connections ${limits.maxConnections} - reserved ${reservedConnections} - used ${limits.usedConnections}).`
    : `The cluster's pools may open ${connections(poolsCanStillOpen)} more but the server has ${connections(Math.max(headroom, 0))} of headroom ` +
      `(max_connections ${limits.maxConnections} - reserved ${reservedConnections} - used ${limits.usedConnections}): when they grow, ` +
      'connections fail with "too many clients already". Lower the pools\' max, run fewer instances, raise max_connections, or put PgBouncer in front.';
  return {
    maxConnections: limits.maxConnections,
    reservedConnections,
    usedConnections: limits.usedConnections,
    headroom,
    poolsCanStillOpen,
    fits,
    summary,
  };
}
