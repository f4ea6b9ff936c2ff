import type { Inspector } from '../core/inspector.js';
import { inspectorSnapshot } from '../core/pool-snapshot.js';
import { ClusterError, OptionsError, messageOf } from '../errors.js';
import { clusterApplicationName, clusterApplicationPrefixes, CLUSTER_MEMBERS_SQL, membersFromRows } from './cluster-application-name.js';
import { assertNodeName, clusterChannelName, createSnapshotReply, createSnapshotRequest, type ClusterMessage, type SnapshotRequest } from './cluster-messages.js';
import { CLUSTER_NOTIFY_SQL, readServerLimits, type ListenClient, type PgNotification } from './cluster-listen-connection.js';
import { ClusterConnection } from './cluster-connection.js';
import { ClusterSnapshotCollector, expectedNodes, withDepartures, type ClusterSnapshot } from './cluster-snapshot-collector.js';
import { clusterTotals } from './cluster-totals.js';
import type { ClusterTraffic } from './cluster-traffic.js';
import { ClusterWire } from './cluster-wire.js';
import { ClusterMembership } from './cluster-membership.js';
import type { ServerLimits } from '../postgres/server-limits.js';
import { DEFAULT_SNAPSHOT_TIMEOUT_MILLIS, type ClusterNodeOptions, type ClusterNodeState, type ClusterSnapshotOptions } from './cluster-node-options.js';
import { wholeNumberOption } from './notify-chunks.js';

export { CLUSTER_NODE_STATES, DEFAULT_SNAPSHOT_TIMEOUT_MILLIS, type ClusterNodeOptions, type ClusterNodeState, type ClusterSnapshotOptions } from './cluster-node-options.js';
export { CLUSTER_MISSING_REASONS } from './cluster-snapshot-collector.js';
export type { ClusterMissingNode, ClusterMissingReason, ClusterNodeSnapshot, ClusterSnapshot, CollectedReplies } from './cluster-snapshot-collector.js';
export type { ClusterTraffic } from './cluster-traffic.js';
export type { ClusterDeparture } from './cluster-membership.js';
export type { ClusterTotals, ClusterPoolTotals, ClusterPoolOnNode, ClusterNodeTotals, ClusterServerCapacity, ConnectionCounts } from './cluster-totals.js';

/**
 * One instance's membership of a cluster (docs/reference/cluster.md): a dedicated pg connection that LISTENs on the
 * cluster's channel, answers snapshot requests addressed to it with `inspector.snapshotAll()`, and asks the others
 * with `snapshot()`. Nothing it receives is thrown into the app: failures go to `inspector.reportError`, rejected
 * messages are counted (`rejected()`).
 */
export class ClusterNode {
  readonly #inspector: Inspector;
  readonly #cluster: string;
  readonly #node: string;
  readonly #applicationName: string;
  readonly #channel: string;
  readonly #wire: ClusterWire;
  readonly #connection: ClusterConnection;
  readonly #pending = new Map<string, ClusterSnapshotCollector>();
  readonly #membership: ClusterMembership;
  #leaving: Promise<void> | undefined;

  constructor(inspector: Inspector, options: ClusterNodeOptions) {
    if (inspector === null || typeof inspector !== 'object' || typeof inspector.snapshotAll !== 'function') {
      throw new OptionsError('inspector', inspector, 'an Inspector');
    }
    if (options === null || typeof options !== 'object') throw new OptionsError('options', options, '{ cluster, connectionString, node?, secret?, pg? }');
    if (typeof options.connectionString !== 'string' || options.connectionString.length === 0) {
      throw new OptionsError('connectionString', '<not shown>', 'a PostgreSQL connection string (postgres://...)');
    }
    const node = options.node ?? inspector.instanceId;
    assertNodeName(node);
    this.#inspector = inspector;
    this.#cluster = options.cluster;
    this.#channel = clusterChannelName(options.cluster);
    this.#node = node;
    this.#applicationName = clusterApplicationName(options.cluster, node);
    this.#wire = new ClusterWire(options.cluster, options.secret);
    this.#membership = new ClusterMembership(options.forgetDeparturesAfterMillis);
    this.#connection = new ClusterConnection({
      cluster: options.cluster,
      node,
      channel: this.#channel,
      applicationName: this.#applicationName,
      connectionString: options.connectionString,
      pg: options.pg,
      reconnectInitialDelayMillis: options.reconnectInitialDelayMillis,
      reconnectMaxDelayMillis: options.reconnectMaxDelayMillis,
      onNotification: (message) => this.#onNotification(message),
      reportError: (error) => inspector.reportError(error),
    });
  }

  get node(): string {
    return this.#node;
  }
  get cluster(): string {
    return this.#cluster;
  }
  /** The LISTEN/NOTIFY channel (`poolscope_cluster_<hash>`). */
  get channel(): string {
    return this.#channel;
  }
  /** The application_name of this node's connection (`poolscope-cluster/<cluster>/<node>`). */
  get applicationName(): string {
    return this.#applicationName;
  }
  get state(): ClusterNodeState {
    return this.#connection.state;
  }

  /** Messages received and not used, by reason (`bad-mac`, `decrypt-failed`, `replayed`, chunk drops, ...). */
  rejected(): Record<string, number> {
    return this.#wire.rejected();
  }

  /** What this node sent and received on the channel since it was created. */
  traffic(): ClusterTraffic {
    return this.#wire.traffic();
  }

  /**
   * Opens the node's connection, checks that no other session carries its name, and LISTENs. Rejects with
   * `POOLSCOPE_ERR_CLUSTER_NODE_NAME_TAKEN` or `POOLSCOPE_ERR_CLUSTER_JOIN_FAILED`. Resolves at once if joined.
   */
  join(): Promise<void> {
    return this.#connection.join();
  }

  /** The names of the nodes in the cluster now (sessions on the database carrying a cluster node's application_name). */
  async members(): Promise<string[]> {
    const query = (client: ListenClient): Promise<{ rows: unknown[] }> => client.query(CLUSTER_MEMBERS_SQL, [clusterApplicationPrefixes(this.#cluster)]);
    const { rows } = await this.#connection.serially(query).catch((error: unknown) => {
      if (error instanceof ClusterError) throw error;
      throw new ClusterError('POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST', `Cluster node '${this.#node}' could not list the members: ${messageOf(error)}.`, { cause: error });
    });
    return membersFromRows(this.#cluster, rows);
  }

  /**
   * Asks the nodes for their snapshots and collects the replies until every expected node answered or the timeout
   * passed. Expected: `members()` when asked (this node included: it answers through the database like the others),
   * or the named ones that are members (the others are missing as `not-in-cluster`). Never rejects for a node that
   * does not answer; rejects when this node cannot ask (not joined, connection lost, send failed), always with a
   * coded ClusterError. Asking is bounded by the timeout too: a connection that does not answer (stalled) makes it
   * reject with `POOLSCOPE_ERR_CLUSTER_SEND_FAILED` instead of waiting for the connection.
   */
  async snapshot(options: ClusterSnapshotOptions = {}): Promise<ClusterSnapshot> {
    const timeoutMillis = wholeNumberOption('timeoutMillis', options.timeoutMillis, DEFAULT_SNAPSHOT_TIMEOUT_MILLIS, 1, 2 ** 31 - 1);
    const wanted = options.nodes ?? 'all';
    this.#connection.requireJoined();
    const limits = this.#readLimits(); // queued behind members(): one round trip more, no wait of its own
    const members = await this.#asking(this.members(), timeoutMillis);
    this.#membership.observe(members);
    const { expected, notInCluster } = expectedNodes(wanted, members);
    const request = createSnapshotRequest({
      from: this.#node,
      nodes: wanted === 'all' ? 'all' : expected.length > 0 ? expected : [this.#node],
      ...(options.pools === undefined ? {} : { pools: options.pools }),
    });
    const collector = new ClusterSnapshotCollector(request.requestId, expected, notInCluster, () => this.#pending.delete(request.requestId));
    if (expected.length > 0) {
      this.#pending.set(request.requestId, collector);
      try {
        await this.#asking(this.#send(request), timeoutMillis);
      } catch (error) {
        this.#pending.delete(request.requestId);
        throw error;
      }
    }
    collector.start(timeoutMillis);
    const collected = await collector.promise;
    const { reported, ...replies } = collected;
    let missing = replies.missing;
    if (missing.some((entry) => entry.reason === 'timeout') && this.state === 'joined') {
      // Who was asked and is gone now left (stopped, killed); who is still connected did not answer in time.
      const membersNow = await this.#asking(this.members(), timeoutMillis).catch(() => undefined);
      if (membersNow !== undefined) missing = withDepartures(missing, membersNow);
    }
    this.#membership.absorb(reported, members);
    const named = new Set([...members, ...missing.map((entry) => entry.node), ...replies.nodes.map((entry) => entry.node)]);
    const departed = this.#membership.departures().filter((entry) => !named.has(entry.node));
    return { ...replies, missing, totals: clusterTotals(replies.nodes, await limits), departed };
  }

  /**
   * `step` (a query on the node's connection while asking), bounded by `timeoutMillis`: rejects with
   * `POOLSCOPE_ERR_CLUSTER_SEND_FAILED` when the connection does not answer in time (the query stays queued and
   * settles unobserved), and with `POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST` (the driver's error as `cause`) when the
   * connection failed under it.
   */
  #asking<T>(step: Promise<T>, timeoutMillis: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new ClusterError(
            'POOLSCOPE_ERR_CLUSTER_SEND_FAILED',
            `Cluster node '${this.#node}' could not ask within ${timeoutMillis} ms: its connection did not answer (stalled or overloaded).`,
          ),
        );
      }, timeoutMillis);
      timer.unref();
      step.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(
            error instanceof ClusterError
              ? error
              : new ClusterError('POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST', `Cluster node '${this.#node}' could not ask: ${messageOf(error)}.`, { cause: error }),
          );
        },
      );
    });
  }

  /** The server's limits for the totals; null (and the error reported) when they cannot be read. */
  #readLimits(): Promise<ServerLimits | null> {
    return this.#connection.serially(readServerLimits).catch((error: unknown) => {
      this.#inspector.reportError(
        new ClusterError('POOLSCOPE_ERR_CLUSTER_SEND_FAILED', `Cluster node '${this.#node}' could not read the server's connection limits: ${messageOf(error)}.`, { cause: error }),
      );
      return null;
    });
  }

  /** UNLISTENs and closes the connection; outstanding `snapshot()` calls settle with what they have. Idempotent. */
  leave(): Promise<void> {
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  async #leave(): Promise<void> {
    const closing = this.#connection.close();
    for (const collector of [...this.#pending.values()]) collector.finish();
    await closing;
  }

  /** NOTIFYs every chunk of `message` in one statement (one transaction), with parameters. */
  async #send(message: ClusterMessage): Promise<void> {
    this.#connection.requireJoined();
    const payloads = this.#wire.encode(message);
    try {
      await this.#connection.serially((client) => client.query(CLUSTER_NOTIFY_SQL, [this.#channel, payloads]));
      this.#wire.sent(payloads);
    } catch (error) {
      throw new ClusterError('POOLSCOPE_ERR_CLUSTER_SEND_FAILED', `Cluster node '${this.#node}' could not NOTIFY: ${messageOf(error)}.`, { cause: error });
    }
  }

  #onNotification(message: PgNotification): void {
    try {
      if (message.channel !== this.#channel) return;
      const arrival = this.#wire.receive(message);
      if (arrival.kind === 'request') {
        if (arrival.request.nodes === 'all' || arrival.request.nodes.includes(this.#node)) void this.#answer(arrival.request);
      } else if (arrival.kind === 'reply') {
        this.#pending.get(arrival.requestId)?.accept(arrival.node, arrival.snapshot, arrival.departed); // absent: someone else's request
      }
    } catch (error) {
      this.#inspector.reportError(error);
    }
  }

  /** Answers with the snapshot taken now and the departures it knows, after looking at who is in the cluster. */
  async #answer(request: SnapshotRequest): Promise<void> {
    if (this.#inspector.closed) {
      // The inspector is gone: leave instead of answering with nothing (there is no close event to leave on).
      void this.leave();
      return;
    }
    let snapshot = this.#inspector.snapshotAll();
    const pools = request.pools;
    if (pools !== undefined) snapshot = inspectorSnapshot(snapshot.pools.filter((pool) => pools.includes(pool.poolName)), snapshot.takenAt);
    const members = await this.members().catch(() => undefined); // without it, the departures known so far
    if (members !== undefined) this.#membership.observe(members);
    const reply = createSnapshotReply(request.requestId, this.#node, JSON.stringify(snapshot), this.#membership.departures());
    await this.#send(reply).catch((error: unknown) => {
      if (this.state === 'joined') this.#inspector.reportError(error);
    });
  }
}
