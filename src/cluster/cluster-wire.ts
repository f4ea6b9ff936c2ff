import type { InspectorSnapshot } from '../core/pool-snapshot.js';
import { ClusterCrypto } from './cluster-crypto.js';
import type { ClusterMessage, SnapshotRequest } from './cluster-messages.js';
import type { PgNotification } from './cluster-listen-connection.js';
import { splitNotifyPayloads } from './notify-chunks.js';
import { NotifyReassembler } from './notify-reassembler.js';
import { ClusterCounters, type ClusterTraffic } from './cluster-traffic.js';
import type { ClusterDeparture } from './cluster-membership.js';

/** What one notification completed: nothing yet (or nothing usable), a request, or a parsed reply. */
export type ClusterArrival =
  | { readonly kind: 'none' }
  | { readonly kind: 'request'; readonly request: SnapshotRequest }
  | {
      readonly kind: 'reply';
      readonly requestId: string;
      readonly node: string;
      readonly snapshot: InspectorSnapshot;
      readonly departed: readonly ClusterDeparture[];
    };

/**
 * A node's side of the channel, without the connection: messages sealed and split into NOTIFY payloads on the way
 * out; payloads reassembled, opened (authenticated, decrypted, replay-checked) and parsed on the way in; everything
 * counted. Never throws on what arrives: unusable input is counted by reason (`rejected()`).
 */
export class ClusterWire {
  readonly #crypto: ClusterCrypto;
  readonly #reassembler = new NotifyReassembler();
  readonly #counters = new ClusterCounters();

  constructor(cluster: string, secret: string | Uint8Array | undefined) {
    this.#crypto = new ClusterCrypto({ cluster, ...(secret === undefined ? {} : { secret }) });
  }

  /** The NOTIFY payloads of `message` (one, or the chunks of a long one). */
  encode(message: ClusterMessage): string[] {
    return splitNotifyPayloads(this.#crypto.seal(message));
  }

  /** Counts payloads that went out (after the NOTIFY succeeded). */
  sent(payloads: readonly string[]): void {
    this.#counters.sent(payloads);
  }

  /** Takes one notification of the channel. */
  receive(notification: PgNotification): ClusterArrival {
    this.#counters.received(notification.payload);
    const step = this.#reassembler.push(notification.payload);
    for (const drop of step.dropped) this.#counters.reject(drop.reason);
    if (step.message === undefined) return { kind: 'none' };
    const opened = this.#crypto.open(step.message);
    if (!opened.ok) {
      this.#counters.reject(opened.reason);
      return { kind: 'none' };
    }
    const message = opened.message;
    if (message.kind === 'snapshot-request') return { kind: 'request', request: message };
    try {
      const snapshot = JSON.parse(message.body) as InspectorSnapshot;
      return { kind: 'reply', requestId: message.requestId, node: message.node, snapshot, departed: message.departed ?? [] };
    } catch {
      this.#counters.reject('reply-body-not-json');
      return { kind: 'none' };
    }
  }

  rejected(): Record<string, number> {
    return this.#counters.rejected();
  }

  traffic(): ClusterTraffic {
    return this.#counters.traffic();
  }
}
