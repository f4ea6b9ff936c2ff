import type { Inspector } from '../core/inspector.js';
import { inspectorSnapshot } from '../core/pool-snapshot.js';
import { ClusterError, OptionsError, messageOf } from '../errors.js';
import { clusterApplicationName, clusterApplicationPrefixes, CLUSTER_MEMBERS_SQL, membersFromRows } from './cluster-application-name.js';
import { assertNodeName, clusterChannelName, createSnapshotReply, createSnapshotRequest, type ClusterMessage, type SnapshotRequest } from './cluster-messages.js';
import { CLUSTER_NOTIFY_SQL, openListenConnection, readServerLimits, resolveClientClass, type ListenClient, type ListenClientClass, type PgNotification } from './cluster-listen-connection.js';
import { ClusterSnapshotCollector, expectedNodes, withDepartures, type ClusterSnapshot } from './cluster-snapshot-collector.js';
import { clusterTotals } from './cluster-totals.js';
import type { ClusterTraffic } from './cluster-traffic.js';
import { ClusterWire } from './cluster-wire.js';
import type { ServerLimits } from '../postgres/server-limits.js';
import { DEFAULT_SNAPSHOT_TIMEOUT_MILLIS, type ClusterNodeOptions, type ClusterNodeState, type ClusterSnapshotOptions } from './cluster-node-options.js';
import { wholeNumberOption } from './notify-chunks.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

export { CLUSTER_NODE_STATES, DEFAULT_SNAPSHOT_TIMEOUT_MILLIS, type ClusterNodeOptions, type ClusterNodeState, type ClusterSnapshotOptions } from './cluster-node-options.js';
export { CLUSTER_MISSING_REASONS } from './cluster-snapshot-collector.js';
export type { ClusterMissingNode, ClusterMissingReason, ClusterNodeSnapshot, ClusterSnapshot, CollectedReplies } from './cluster-snapshot-collector.js';
export type { ClusterTraffic } from './cluster-traffic.js';
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
  readonly #connectionString: string;
  readonly #applicationName: string;
  readonly #channel: string;
  readonly #wire: ClusterWire;
  readonly #pgOption: unknown;
  readonly #backoff: ReconnectBackoff;
  readonly #pending = new Map<string, ClusterSnapshotCollector>();
  #Client: ListenClientClass | undefined;
  #client: ListenClient | undefined;
  #state: ClusterNodeState = 'new';
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
    this.#connectionString = options.connectionString;
    this.#wire = new ClusterWire(options.cluster, options.secret);
    this.#pgOption = options.pg;
    this.#backoff = new ReconnectBackoff(options.reconnectInitialDelayMillis, options.reconnectMaxDelayMillis);
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
    return this.#state;
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
  async join(): Promise<void> {
    if (this.#state === 'joined' || this.#state === 'reconnecting') return;
    if (this.#state !== 'new') {
      throw new ClusterError('POOLSCOPE_ERR_CLUSTER_JOIN_FAILED', `Cluster node '${this.#node}' is ${this.#state}: create a new ClusterNode to join again.`);
    }
    this.#state = 'joining';
    try {
      this.#Client = await resolveClientClass(this.#pgOption);
      const client = await this.#open();
      if (this.#state !== 'joining') {
        await client.end().catch(() => undefined); // left while joining
        return;
      }
      this.#client = client;
      this.#state = 'joined';
    } catch (error) {
      if (this.#state === 'joining') this.#state = 'left';
      throw error;
    }
  }

  /** The names of the nodes in the cluster now (sessions on the database carrying a cluster node's application_name). */
  async members(): Promise<string[]> {
    const client = this.#requireClient();
    const { rows } = await client.query(CLUSTER_MEMBERS_SQL, [clusterApplicationPrefixes(this.#cluster)]);
    return membersFromRows(this.#cluster, rows);
  }

  /**
   * Asks the nodes for their snapshots and collects the replies until every expected node answered or the timeout
   * passed. Expected: `members()` when asked (this node included: it answers through the database like the others),
   * or the named ones that are members (the others are missing as `not-in-cluster`). Never rejects for a node that
   * does not answer; rejects when this node cannot ask (not joined, connection lost, send failed).
   */
  async snapshot(options: ClusterSnapshotOptions = {}): Promise<ClusterSnapshot> {
    const timeoutMillis = wholeNumberOption('timeoutMillis', options.timeoutMillis, DEFAULT_SNAPSHOT_TIMEOUT_MILLIS, 1, 2 ** 31 - 1);
    const wanted = options.nodes ?? 'all';
    const client = this.#requireClient();
    const limits = this.#readLimits(client); // queued behind members(): one round trip more, no wait of its own
    const members = await this.members();
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
        await this.#send(request);
      } catch (error) {
        this.#pending.delete(request.requestId);
        throw error;
      }
    }
    collector.start(timeoutMillis);
    const collected = await collector.promise;
    let missing = collected.missing;
    if (missing.some((entry) => entry.reason === 'timeout') && this.#state === 'joined') {
      // Who was asked and is gone now left (stopped, killed); who is still connected did not answer in time.
      const membersNow = await this.members().catch(() => undefined);
      if (membersNow !== undefined) missing = withDepartures(missing, membersNow);
    }
    return { ...collected, missing, totals: clusterTotals(collected.nodes, await limits) };
  }

  /** The server's limits for the totals; null (and the error reported) when they cannot be read. */
  #readLimits(client: ListenClient): Promise<ServerLimits | null> {
    return readServerLimits(client).catch((error: unknown) => {
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
    this.#state = 'left';
    this.#backoff.cancel();
    for (const collector of [...this.#pending.values()]) collector.finish();
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await client.query(`UNLISTEN ${this.#channel}`).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  #open(): Promise<ListenClient> {
    const Client = this.#Client as ListenClientClass;
    let opened: ListenClient | undefined;
    const lost = (error: unknown): void => {
      if (opened !== undefined && opened === this.#client) this.#lost(opened, error);
    };
    return openListenConnection({
      Client,
      connectionString: this.#connectionString,
      applicationName: this.#applicationName,
      channel: this.#channel,
      cluster: this.#cluster,
      node: this.#node,
      onNotification: (message) => this.#onNotification(message),
      onError: (error) => lost(error),
      onEnd: () => lost(undefined),
    }).then((client) => {
      opened = client;
      return client;
    });
  }

  #requireClient(): ListenClient {
    const client = this.#client;
    if (client !== undefined && this.#state === 'joined') return client;
    if (this.#state === 'reconnecting') {
      throw new ClusterError('POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST', `Cluster node '${this.#node}' lost its connection and is reconnecting; try again shortly.`);
    }
    throw new ClusterError('POOLSCOPE_ERR_CLUSTER_NOT_JOINED', `Cluster node '${this.#node}' is ${this.#state}, not joined: await node.join() first.`);
  }

  /** NOTIFYs every chunk of `message` in one statement (one transaction), with parameters. */
  async #send(message: ClusterMessage): Promise<void> {
    const client = this.#requireClient();
    try {
      const payloads = this.#wire.encode(message);
      await client.query(CLUSTER_NOTIFY_SQL, [this.#channel, payloads]);
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
        if (arrival.request.nodes === 'all' || arrival.request.nodes.includes(this.#node)) this.#answer(arrival.request);
      } else if (arrival.kind === 'reply') {
        this.#pending.get(arrival.requestId)?.accept(arrival.node, arrival.snapshot); // absent: someone else's request
      }
    } catch (error) {
      this.#inspector.reportError(error);
    }
  }

  #answer(request: SnapshotRequest): void {
    if (this.#inspector.closed) {
      // The inspector is gone: leave instead of answering with nothing (there is no close event to leave on).
      void this.leave();
      return;
    }
    let snapshot = this.#inspector.snapshotAll();
    const pools = request.pools;
    if (pools !== undefined) snapshot = inspectorSnapshot(snapshot.pools.filter((pool) => pools.includes(pool.poolName)), snapshot.takenAt);
    const reply = createSnapshotReply(request.requestId, this.#node, JSON.stringify(snapshot));
    this.#send(reply).catch((error: unknown) => {
      if (this.#state === 'joined') this.#inspector.reportError(error);
    });
  }

  /** The LISTEN connection ended or failed: report it once and reconnect with backoff. */
  #lost(client: ListenClient, error: unknown): void {
    if (this.#state !== 'joined') return;
    this.#client = undefined;
    this.#state = 'reconnecting';
    client.end().catch(() => undefined);
    this.#inspector.reportError(
      new ClusterError(
        'POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST',
        `Cluster node '${this.#node}' lost its LISTEN connection${error === undefined ? '' : ` (${messageOf(error)})`}; reconnecting in ${this.#backoff.nextDelayMillis} ms.`,
        { cause: error },
      ),
    );
    this.#backoff.schedule(() => void this.#reconnect());
  }

  async #reconnect(): Promise<void> {
    if (this.#state !== 'reconnecting') return;
    try {
      const client = await this.#open();
      if (this.#state !== 'reconnecting') {
        await client.end().catch(() => undefined);
        return;
      }
      this.#client = client;
      this.#state = 'joined';
      this.#backoff.reset();
    } catch (error) {
      if (this.#state !== 'reconnecting') return;
      this.#inspector.reportError(error);
      this.#backoff.schedule(() => void this.#reconnect());
    }
  }
}
