import { ClusterError, messageOf } from '../errors.js';
import type { ClusterNodeState } from './cluster-node-options.js';
import { openListenConnection, resolveClientClass, type ListenClient, type ListenClientClass, type PgNotification } from './cluster-listen-connection.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

/** What a `ClusterConnection` needs: who it is, where it connects, and where notifications and failures go. */
export interface ClusterConnectionOptions {
  readonly cluster: string;
  readonly node: string;
  readonly channel: string;
  readonly applicationName: string;
  readonly connectionString: string;
  /** The pg module (or pg.Client); default `import('pg')`. */
  readonly pg: unknown;
  readonly reconnectInitialDelayMillis: number | undefined;
  readonly reconnectMaxDelayMillis: number | undefined;
  readonly onNotification: (message: PgNotification) => void;
  /** A lost connection and each failed reconnection attempt (never thrown). */
  readonly reportError: (error: unknown) => void;
}

/**
 * A cluster node's one LISTEN connection through its life (cluster-node.ts): joined once, one query at a time on it,
 * reported and reconnected with backoff when lost, closed for good on leave. The node's state is this state.
 */
export class ClusterConnection {
  readonly #options: ClusterConnectionOptions;
  readonly #backoff: ReconnectBackoff;
  #Client: ListenClientClass | undefined;
  #client: ListenClient | undefined;
  #state: ClusterNodeState = 'new';
  /** The last query queued on the connection (see serially). */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: ClusterConnectionOptions) {
    this.#options = options;
    this.#backoff = new ReconnectBackoff(options.reconnectInitialDelayMillis, options.reconnectMaxDelayMillis);
  }

  get state(): ClusterNodeState {
    return this.#state;
  }

  /** Opens, checks the name and LISTENs (see `ClusterNode.join()`). Resolves at once if joined. */
  async join(): Promise<void> {
    const node = this.#options.node;
    if (this.#state === 'joined' || this.#state === 'reconnecting') return;
    if (this.#state !== 'new') {
      throw new ClusterError('POOLSCOPE_ERR_CLUSTER_JOIN_FAILED', `Cluster node '${node}' is ${this.#state}: create a new ClusterNode to join again.`);
    }
    this.#state = 'joining';
    try {
      this.#Client = await resolveClientClass(this.#options.pg);
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

  /** Throws the coded reason this node cannot use its connection now (not joined, reconnecting), if any. */
  requireJoined(): void {
    this.#requireClient();
  }

  /**
   * Runs `work` on the connection once everything queued before it has settled: one query at a time, as pg asks
   * (queueing on the client itself is deprecated), whoever sends (a snapshot(), an answer, members()).
   */
  serially<T>(work: (client: ListenClient) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => work(this.#requireClient()));
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Leaves for good: the query running now ends first, then UNLISTEN and close. Idempotent. */
  async close(): Promise<void> {
    this.#state = 'left';
    this.#backoff.cancel();
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await this.#queue; // queued work fails fast (not joined); the one running finishes
    await client.query(`UNLISTEN ${this.#options.channel}`).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  #requireClient(): ListenClient {
    const client = this.#client;
    if (client !== undefined && this.#state === 'joined') return client;
    const node = this.#options.node;
    if (this.#state === 'reconnecting') {
      throw new ClusterError('POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST', `Cluster node '${node}' lost its connection and is reconnecting; try again shortly.`);
    }
    throw new ClusterError('POOLSCOPE_ERR_CLUSTER_NOT_JOINED', `Cluster node '${node}' is ${this.#state}, not joined: await node.join() first.`);
  }

  #open(): Promise<ListenClient> {
    const options = this.#options;
    let opened: ListenClient | undefined;
    const lost = (error: unknown): void => {
      if (opened !== undefined && opened === this.#client) this.#lost(opened, error);
    };
    return openListenConnection({
      Client: this.#Client as ListenClientClass,
      connectionString: options.connectionString,
      applicationName: options.applicationName,
      channel: options.channel,
      cluster: options.cluster,
      node: options.node,
      onNotification: options.onNotification,
      onError: (error) => lost(error),
      onEnd: () => lost(undefined),
    }).then((client) => {
      opened = client;
      return client;
    });
  }

  /** The LISTEN connection ended or failed: report it once and reconnect with backoff. */
  #lost(client: ListenClient, error: unknown): void {
    if (this.#state !== 'joined') return;
    this.#client = undefined;
    this.#state = 'reconnecting';
    client.end().catch(() => undefined);
    this.#options.reportError(
      new ClusterError(
        'POOLSCOPE_ERR_CLUSTER_CONNECTION_LOST',
        `Cluster node '${this.#options.node}' lost its LISTEN connection${error === undefined ? '' : ` (${messageOf(error)})`}; reconnecting in ${this.#backoff.nextDelayMillis} ms.`,
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
      this.#options.reportError(error);
      this.#backoff.schedule(() => void this.#reconnect());
    }
  }
}
