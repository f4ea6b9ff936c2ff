/** What a `ClusterNode` sent and received on the cluster's channel, and what it did not use (cluster-node.ts). */

/** Counts since the node was created. Every node receives every notification on the channel, its own included. */
export interface ClusterTraffic {
  /** Requests and replies this node sent. */
  readonly sentMessages: number;
  /** NOTIFY payloads sent (a message larger than one payload is sent as several chunks). */
  readonly sentNotifications: number;
  /** UTF-8 bytes of the payloads sent. */
  readonly sentBytes: number;
  /** Notifications received on the channel (everyone's requests and replies, this node's own included). */
  readonly receivedNotifications: number;
  /** UTF-8 bytes of the payloads received. */
  readonly receivedBytes: number;
}

/** The node's counters: traffic, and messages received and not used by reason. */
export class ClusterCounters {
  #sentMessages = 0;
  #sentNotifications = 0;
  #sentBytes = 0;
  #receivedNotifications = 0;
  #receivedBytes = 0;
  readonly #rejected = new Map<string, number>();

  sent(payloads: readonly string[]): void {
    this.#sentMessages += 1;
    this.#sentNotifications += payloads.length;
    for (const payload of payloads) this.#sentBytes += Buffer.byteLength(payload, 'utf8');
  }

  received(payload: string | undefined): void {
    this.#receivedNotifications += 1;
    if (payload !== undefined) this.#receivedBytes += Buffer.byteLength(payload, 'utf8');
  }

  reject(reason: string): void {
    this.#rejected.set(reason, (this.#rejected.get(reason) ?? 0) + 1);
  }

  rejected(): Record<string, number> {
    return Object.fromEntries(this.#rejected);
  }

  traffic(): ClusterTraffic {
    return {
      sentMessages: this.#sentMessages,
      sentNotifications: this.#sentNotifications,
      sentBytes: this.#sentBytes,
      receivedNotifications: this.#receivedNotifications,
      receivedBytes: this.#receivedBytes,
    };
  }
}
