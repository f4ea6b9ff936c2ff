import type { InspectorSnapshot } from '../core/pool-snapshot.js';
import type { ClusterTotals } from './cluster-totals.js';
import type { ClusterDeparture } from './cluster-membership.js';
import { OptionsError } from '../errors.js';
import { assertNodeName } from './cluster-messages.js';

/**
 * One outstanding `ClusterNode.snapshot()` call: the nodes it waits for, the replies so far, and its timeout. It
 * settles once every expected node answered, when the timeout passes, or when the node leaves, whichever comes first;
 * it never rejects.
 */

/** Why an expected node is not in a cluster snapshot. */
export const CLUSTER_MISSING_REASONS = ['timeout', 'left', 'not-in-cluster'] as const;
export type ClusterMissingReason = (typeof CLUSTER_MISSING_REASONS)[number];

/** One node's answer. */
export interface ClusterNodeSnapshot {
  readonly node: string;
  /** What that node's `inspector.snapshotAll()` returned (only the requested pools), as JSON. */
  readonly snapshot: InspectorSnapshot;
}

/** A node that was asked (or named) and did not answer. */
export interface ClusterMissingNode {
  readonly node: string;
  /**
   * `timeout`: a member when asked, still connected, and did not answer in time (busy, event loop blocked, or an
   * older poolscope); `left`: a member when asked whose session ended before it answered (stopped, killed, or its
   * connection lost); `not-in-cluster`: named, but no session of that name was in the cluster when asked.
   */
  readonly reason: ClusterMissingReason;
}

/** The replies to one request, as collected. */
export interface CollectedReplies {
  readonly requestId: string;
  /** True when every expected node answered (`missing` is empty). */
  readonly complete: boolean;
  /** The answers: expected nodes in the order asked, then any other node that answered in time. */
  readonly nodes: readonly ClusterNodeSnapshot[];
  readonly missing: readonly ClusterMissingNode[];
  /** Departures the answering nodes reported (seen in the cluster earlier, not now), as they were given. */
  readonly reported: readonly ClusterDeparture[];
}

/** The result of `ClusterNode.snapshot()`: the replies, the totals of the nodes that answered, and departures. */
export interface ClusterSnapshot extends Omit<CollectedReplies, 'reported'> {
  readonly totals: ClusterTotals;
  /**
   * Nodes seen in the cluster earlier (by this node or an answering one) and not members now, most recent first:
   * stopped, crashed or scaled down. Not expected, so not in `missing`; remembered for an hour by default.
   */
  readonly departed: readonly ClusterDeparture[];
}

/**
 * Whom a request waits for: every member for `'all'`; else the named members, and the named ones that are not
 * members (missing as `not-in-cluster` from the start). Throws a coded error for a bad list.
 */
export function expectedNodes(wanted: 'all' | readonly string[], members: readonly string[]): { expected: string[]; notInCluster: string[] } {
  if (wanted === 'all') return { expected: [...members], notInCluster: [] };
  if (!Array.isArray(wanted)) throw new OptionsError('nodes', wanted, "'all' or a list of node names");
  const named = [...new Set(wanted)];
  for (const name of named) assertNodeName(name);
  return { expected: named.filter((name) => members.includes(name)), notInCluster: named.filter((name) => !members.includes(name)) };
}

/** The missing nodes with `timeout` turned into `left` for those no longer among `membersNow`. */
export function withDepartures(missing: readonly ClusterMissingNode[], membersNow: readonly string[]): ClusterMissingNode[] {
  return missing.map((entry) => (entry.reason === 'timeout' && !membersNow.includes(entry.node) ? { node: entry.node, reason: 'left' as const } : entry));
}

export class ClusterSnapshotCollector {
  readonly requestId: string;
  readonly promise: Promise<CollectedReplies>;
  readonly #expected: readonly string[];
  readonly #notInCluster: readonly string[];
  readonly #answers = new Map<string, InspectorSnapshot>();
  readonly #reported: ClusterDeparture[] = [];
  #resolve: ((result: CollectedReplies) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #onSettled: () => void;

  constructor(requestId: string, expected: readonly string[], notInCluster: readonly string[], onSettled: () => void) {
    this.requestId = requestId;
    this.#expected = expected;
    this.#notInCluster = notInCluster;
    this.#onSettled = onSettled;
    this.promise = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Starts the timeout (unref'd: a pending request does not keep the process alive by itself). */
  start(timeoutMillis: number): void {
    if (this.#resolve === undefined) return;
    if (this.#expected.length === 0) {
      this.finish();
      return;
    }
    this.#timer = setTimeout(() => this.finish(), timeoutMillis);
    this.#timer.unref();
  }

  /** Takes one node's answer; the first answer of a node counts. Settles when every expected node answered. */
  accept(node: string, snapshot: InspectorSnapshot, departed: readonly ClusterDeparture[] = []): void {
    if (this.#resolve === undefined || this.#answers.has(node)) return;
    this.#answers.set(node, snapshot);
    this.#reported.push(...departed);
    if (this.#expected.every((name) => this.#answers.has(name))) this.finish();
  }

  /** Settles now with what arrived; expected nodes without an answer are missing (`timeout`). Idempotent. */
  finish(): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    this.#resolve = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const nodes: ClusterNodeSnapshot[] = [];
    const missing: ClusterMissingNode[] = this.#notInCluster.map((node) => ({ node, reason: 'not-in-cluster' as const }));
    for (const node of this.#expected) {
      const snapshot = this.#answers.get(node);
      if (snapshot === undefined) missing.push({ node, reason: 'timeout' });
      else nodes.push({ node, snapshot });
    }
    for (const [node, snapshot] of this.#answers) {
      if (!this.#expected.includes(node)) nodes.push({ node, snapshot });
    }
    this.#onSettled();
    resolve({ requestId: this.requestId, complete: missing.length === 0, nodes, missing, reported: this.#reported });
  }
}
