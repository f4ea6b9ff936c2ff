import type { InspectorSnapshot } from '../core/pool-snapshot.js';

/**
 * One outstanding `ClusterNode.snapshot()` call: the nodes it waits for, the replies so far, and its timeout. It
 * settles once every expected node answered, when the timeout passes, or when the node leaves, whichever comes first;
 * it never rejects.
 */

/** Why an expected node is not in a cluster snapshot. */
export const CLUSTER_MISSING_REASONS = ['timeout', 'not-in-cluster'] as const;
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
  /** `not-in-cluster`: named, but no session of that name was in the cluster when asked; `timeout`: did not answer in time. */
  readonly reason: ClusterMissingReason;
}

/** The result of `ClusterNode.snapshot()`. */
export interface ClusterSnapshot {
  readonly requestId: string;
  /** True when every expected node answered (`missing` is empty). */
  readonly complete: boolean;
  /** The answers: expected nodes in the order asked, then any other node that answered in time. */
  readonly nodes: readonly ClusterNodeSnapshot[];
  readonly missing: readonly ClusterMissingNode[];
}

export class ClusterSnapshotCollector {
  readonly requestId: string;
  readonly promise: Promise<ClusterSnapshot>;
  readonly #expected: readonly string[];
  readonly #notInCluster: readonly string[];
  readonly #answers = new Map<string, InspectorSnapshot>();
  #resolve: ((result: ClusterSnapshot) => void) | undefined;
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
  accept(node: string, snapshot: InspectorSnapshot): void {
    if (this.#resolve === undefined || this.#answers.has(node)) return;
    this.#answers.set(node, snapshot);
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
    resolve({ requestId: this.requestId, complete: missing.length === 0, nodes, missing });
  }
}
