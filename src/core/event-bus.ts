import diagnosticsChannel from 'node:diagnostics_channel';
import { InternalError } from '../errors.js';

/**
 * Event dispatch shared by every emitter (an inspector, a TenantPools): typed listeners and one
 * `node:diagnostics_channel` per event type. The catalogues of event types live beside their emitters
 * (pool-events.ts, tenants/tenant-pool-events.ts).
 */

/**
 * One event type of a bus: its listeners and its diagnostics channel. Hot paths keep the topic of each event they
 * emit and ask `wanted` (a field read and a getter) before building a payload.
 */
export class EventTopic<E> {
  readonly listeners = new Set<(event: E) => void>();
  readonly channel: diagnosticsChannel.Channel;

  constructor(channelName: string) {
    this.channel = diagnosticsChannel.channel(channelName);
  }

  /** True when anything listens (check before building a costly payload). */
  get wanted(): boolean {
    return this.listeners.size !== 0 || this.channel.hasSubscribers;
  }
}

/**
 * Event dispatch for one emitter (an inspector, a TenantPools): typed listeners plus one `node:diagnostics_channel`
 * per event type. A listener that throws is reported to `onError` and never reaches the caller.
 */
export class ChannelEventBus<E extends { readonly type: string }> {
  readonly #topics = new Map<E['type'], EventTopic<E>>();
  readonly #onError: (error: unknown) => void;

  constructor(channelNames: Readonly<Record<E['type'], string>>, onError: (error: unknown) => void) {
    this.#onError = onError;
    for (const type of Object.keys(channelNames) as E['type'][]) this.#topics.set(type, new EventTopic<E>(channelNames[type]));
  }

  /** The topic of `type`, for emitters that check `wanted` on a hot path. */
  topic<T extends E['type']>(type: T): EventTopic<Extract<E, { type: T }>> {
    return this.#topicOf(type) as unknown as EventTopic<Extract<E, { type: T }>>;
  }

  /** True when anything listens to `type` (check before building a costly payload). */
  wants(type: E['type']): boolean {
    return this.#topicOf(type).wanted;
  }

  on<T extends E['type']>(type: T, listener: (event: Extract<E, { type: T }>) => void): () => void {
    const listeners = this.#topicOf(type).listeners;
    const stored = listener as (event: E) => void;
    listeners.add(stored);
    return () => {
      listeners.delete(stored);
    };
  }

  emit(event: E): void {
    const topic = this.#topicOf(event.type);
    for (const listener of topic.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error);
      }
    }
    if (topic.channel.hasSubscribers) {
      try {
        topic.channel.publish(event);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  clear(): void {
    for (const topic of this.#topics.values()) topic.listeners.clear();
  }

  #topicOf(type: E['type']): EventTopic<E> {
    const topic = this.#topics.get(type);
    if (topic === undefined) throw new InternalError(`poolscope: no event type ${String(type)}`);
    return topic;
  }
}
