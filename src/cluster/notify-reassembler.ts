import { systemClock, type Clock } from '../core/monotonic-clock.js';
import { OptionsError, describeValue } from '../errors.js';
import { CHUNK_HEADER, wholeNumberOption, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGES_IN_PROGRESS, DEFAULT_REASSEMBLY_TIMEOUT_MILLIS } from './notify-chunks.js';

/**
 * Putting NOTIFY chunks (notify-chunks.ts) back together, within bounds (docs/reference/cluster.md).
 */

/** Why the reassembler dropped a chunk or a partial message. */
export const CHUNK_DROP_REASONS = [
  'malformed-chunk',
  'inconsistent-chunk',
  'too-many-messages',
  'message-too-large',
  'expired',
] as const;
export type ChunkDropReason = (typeof CHUNK_DROP_REASONS)[number];

/** Something the reassembler let go, and why. */
export interface ChunkDrop {
  readonly reason: ChunkDropReason;
  /** The message's id, when the chunk's header could be read. */
  readonly messageId: string | undefined;
  /** Chunks of that message received so far (0 for a malformed chunk). */
  readonly receivedChunks: number;
  /** The chunk count the message announced (0 when unknown). */
  readonly expectedChunks: number;
  /** Data bytes of that message held when it was dropped. */
  readonly bytes: number;
  readonly detail: string;
}

/** What one `push()` gave: a complete message's text, if one completed, and whatever was dropped. */
export interface ReassemblyStep {
  readonly message: string | undefined;
  readonly messageId: string | undefined;
  readonly dropped: readonly ChunkDrop[];
}

/** Bounds of a `NotifyReassembler`. */
export interface NotifyReassemblerOptions {
  /** Partial messages held at once; a new one past this drops the oldest (`too-many-messages`). Default 32. */
  readonly maxMessages?: number;
  /** Data bytes one message may reach; past it the message is dropped (`message-too-large`). Default 8 MiB. */
  readonly maxMessageBytes?: number;
  /** A partial message older than this (from its first chunk) is dropped on the next call (`expired`). Default 10000. */
  readonly timeoutMillis?: number;
  /** Time source (monotonic `now()`); default the system clock. No timers are set. */
  readonly clock?: Clock;
}

interface PartialMessage {
  readonly id: string;
  readonly count: number;
  readonly startedAt: number;
  readonly parts: Map<number, string>;
  bytes: number;
}

interface ChunkHeader {
  readonly id: string;
  readonly index: number;
  readonly count: number;
  readonly data: string;
}

/**
 * Puts chunked messages back together, within bounds: at most `maxMessages` in progress, at most `maxMessageBytes`
 * each, none kept past `timeoutMillis`. Every call reports what it dropped and why; nothing throws (it runs inside
 * a notification listener). A message dropped for a bound is remembered (as long as the timeout) so its remaining
 * chunks are ignored instead of starting it over.
 */
export class NotifyReassembler {
  readonly #maxMessages: number;
  readonly #maxMessageBytes: number;
  readonly #timeoutMillis: number;
  readonly #clock: Clock;
  /** In progress, oldest first (Map keeps insertion order). */
  readonly #partials = new Map<string, PartialMessage>();
  /** Ids dropped recently, with the time they were dropped, oldest first. */
  readonly #droppedIds = new Map<string, number>();

  constructor(options: NotifyReassemblerOptions = {}) {
    this.#maxMessages = wholeNumberOption('maxMessages', options.maxMessages, DEFAULT_MAX_MESSAGES_IN_PROGRESS, 1, 100_000);
    this.#maxMessageBytes = wholeNumberOption('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 1, 2 ** 31 - 1);
    this.#timeoutMillis = wholeNumberOption('timeoutMillis', options.timeoutMillis, DEFAULT_REASSEMBLY_TIMEOUT_MILLIS, 1, 2 ** 31 - 1);
    const clock = options.clock ?? systemClock;
    if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
      throw new OptionsError('clock', clock, 'an object with now()');
    }
    this.#clock = clock;
  }

  /** Partial messages held now. */
  get inProgress(): number {
    return this.#partials.size;
  }

  /** Takes one NOTIFY payload. Never throws. */
  push(payload: unknown): ReassemblyStep {
    const dropped = this.expire();
    const header = parseChunk(payload);
    if (typeof header === 'string') {
      dropped.push({ reason: 'malformed-chunk', messageId: undefined, receivedChunks: 0, expectedChunks: 0, bytes: 0, detail: header });
      return { message: undefined, messageId: undefined, dropped };
    }
    const { id, index, count, data } = header;
    if (this.#droppedIds.has(id)) return { message: undefined, messageId: undefined, dropped };
    const dataBytes = Buffer.byteLength(data, 'utf8');

    if (count === 1) {
      if (dataBytes > this.#maxMessageBytes) {
        dropped.push(this.#dropNew(id, 'message-too-large', count, dataBytes, `${dataBytes} bytes, over ${this.#maxMessageBytes}`));
        return { message: undefined, messageId: undefined, dropped };
      }
      return { message: data, messageId: id, dropped };
    }

    let partial = this.#partials.get(id);
    if (partial === undefined) {
      // Every chunk of a multi-chunk message carries at least one byte, so more chunks than bytes allowed is too large.
      if (count > this.#maxMessageBytes) {
        dropped.push(this.#dropNew(id, 'message-too-large', count, 0, `${count} chunks announced, more than ${this.#maxMessageBytes} bytes`));
        return { message: undefined, messageId: undefined, dropped };
      }
      while (this.#partials.size >= this.#maxMessages) {
        const oldest = this.#partials.values().next().value as PartialMessage;
        dropped.push(this.#drop(oldest, 'too-many-messages', `${this.#maxMessages} messages already in progress; the oldest is dropped`));
      }
      partial = { id, count, startedAt: this.#clock.now(), parts: new Map(), bytes: 0 };
      this.#partials.set(id, partial);
    }

    if (count !== partial.count) {
      dropped.push(this.#drop(partial, 'inconsistent-chunk', `chunk ${index} announces ${count} chunks, the first announced ${partial.count}`));
      return { message: undefined, messageId: undefined, dropped };
    }
    const existing = partial.parts.get(index);
    if (existing !== undefined) {
      if (existing !== data) dropped.push(this.#drop(partial, 'inconsistent-chunk', `chunk ${index} arrived twice with different data`));
      return { message: undefined, messageId: undefined, dropped };
    }
    if (data.length === 0) {
      dropped.push(this.#drop(partial, 'inconsistent-chunk', `chunk ${index} of ${count} is empty`));
      return { message: undefined, messageId: undefined, dropped };
    }
    if (partial.bytes + dataBytes > this.#maxMessageBytes) {
      partial.bytes += dataBytes;
      dropped.push(this.#drop(partial, 'message-too-large', `past ${this.#maxMessageBytes} bytes`));
      return { message: undefined, messageId: undefined, dropped };
    }
    partial.parts.set(index, data);
    partial.bytes += dataBytes;
    if (partial.parts.size < partial.count) return { message: undefined, messageId: undefined, dropped };

    this.#partials.delete(id);
    let text = '';
    for (let i = 0; i < partial.count; i += 1) text += partial.parts.get(i) as string;
    return { message: text, messageId: id, dropped };
  }

  /** Drops partial messages older than the timeout (and forgets old dropped ids); returns what it dropped. */
  expire(): ChunkDrop[] {
    const now = this.#clock.now();
    const dropped: ChunkDrop[] = [];
    for (const partial of this.#partials.values()) {
      if (now - partial.startedAt < this.#timeoutMillis) continue;
      dropped.push(this.#drop(partial, 'expired', `incomplete after ${this.#timeoutMillis} ms`));
    }
    for (const [id, droppedAt] of this.#droppedIds) {
      if (now - droppedAt < this.#timeoutMillis) break;
      this.#droppedIds.delete(id);
    }
    return dropped;
  }

  /** Drops everything held (e.g. when the LISTEN connection is lost, the rest of a batch will not come). */
  clear(): ChunkDrop[] {
    this.#droppedIds.clear();
    return [...this.#partials.values()].map((partial) => this.#drop(partial, 'expired', 'cleared'));
  }

  #drop(partial: PartialMessage, reason: ChunkDropReason, detail: string): ChunkDrop {
    this.#partials.delete(partial.id);
    this.#remember(partial.id);
    return { reason, messageId: partial.id, receivedChunks: partial.parts.size, expectedChunks: partial.count, bytes: partial.bytes, detail };
  }

  #dropNew(id: string, reason: ChunkDropReason, count: number, bytes: number, detail: string): ChunkDrop {
    if (count > 1) this.#remember(id);
    return { reason, messageId: id, receivedChunks: 1, expectedChunks: count, bytes, detail };
  }

  #remember(id: string): void {
    this.#droppedIds.delete(id);
    this.#droppedIds.set(id, this.#clock.now());
    // Bounded like the partials: a flood of dropped ids forgets the oldest.
    while (this.#droppedIds.size > this.#maxMessages * 4) {
      const oldest = this.#droppedIds.keys().next().value as string;
      this.#droppedIds.delete(oldest);
    }
  }
}

/** Reads a chunk's header, or says why it cannot. */
function parseChunk(payload: unknown): ChunkHeader | string {
  if (typeof payload !== 'string') return `a chunk is text, got ${describeValue(payload)}`;
  const match = CHUNK_HEADER.exec(payload);
  if (match === null) return `no chunk header (ps1:<id>:<index>:<count>:) at the start of ${describeValue(payload.slice(0, 40))}`;
  const index = Number(match[2]);
  const count = Number(match[3]);
  if (index >= count) return `chunk index ${index} is not below its count ${count}`;
  return { id: match[1] as string, index, count, data: payload.slice(match[0].length) };
}
