import { randomBytes } from 'node:crypto';
import { ClusterError, OptionsError } from '../errors.js';

/**
 * Splitting a message's text into NOTIFY payloads and putting it back together (docs/reference/cluster.md).
 *
 * NOTIFY refuses payloads of 8000 bytes or more, so a message is cut into chunks of at most `maxPayloadBytes`
 * (default 7900) UTF-8 bytes, header included, never inside a character (a surrogate pair stays whole). Each chunk
 * is `ps1:<messageId>:<index>:<count>:<data>`; the sender NOTIFYs all of them in one transaction (delivered together
 * and in order), and `NotifyReassembler` (notify-reassembler.ts) joins them by index whatever order they arrive in.
 */

/** PostgreSQL's NOTIFY limit: a payload must be shorter than this many bytes. */
export const NOTIFY_PAYLOAD_LIMIT_BYTES = 8000;
/** Default chunk size in bytes, header included (some room under the limit). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 7900;
/** Default largest message (the text before chunking) a sender sends and a receiver keeps: 8 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** Default number of messages a receiver holds in progress at once. */
export const DEFAULT_MAX_MESSAGES_IN_PROGRESS = 32;
/** Default time a partial message is kept, from its first chunk. */
export const DEFAULT_REASSEMBLY_TIMEOUT_MILLIS = 10_000;
/** Most chunks one message may have (the header's count has at most 6 digits). */
export const MAX_CHUNKS_PER_MESSAGE = 999_999;

const CHUNK_PREFIX = 'ps1';
/** A chunk's header: message id, index, count (the reassembler parses it). */
export const CHUNK_HEADER = /^ps1:([A-Za-z0-9_-]{1,32}):(0|[1-9]\d{0,5}):([1-9]\d{0,5}):/;
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** The longest chunk header in bytes: `ps1`, a 32-character id, two 6-digit numbers, 4 colons. */
export const MAX_CHUNK_HEADER_BYTES = CHUNK_PREFIX.length + 32 + 6 + 6 + 4;

/** Options of `splitNotifyPayloads()`. */
export interface NotifyChunkOptions {
  /** Bytes per payload, header included: a whole number from 64 to 7999. Default 7900. */
  readonly maxPayloadBytes?: number;
  /** Refuse (throw `POOLSCOPE_ERR_CLUSTER_MESSAGE_TOO_LARGE`) text longer than this many bytes. Default 8 MiB. */
  readonly maxMessageBytes?: number;
  /** The id in every chunk's header (1-32 of `A-Z a-z 0-9 _ -`). Default: 8 random bytes, base64url. */
  readonly messageId?: string;
}

/** A fresh chunk message id: 8 random bytes, base64url (11 characters). */
export function createChunkMessageId(): string {
  return randomBytes(8).toString('base64url');
}

/**
 * UTF-8 bytes of one UTF-16 code unit at `index` of `text`, and how many code units it takes: a surrogate pair is one
 * 4-byte character of 2 units; a lone surrogate counts 3 bytes (it is sent as U+FFFD).
 */
function characterAt(text: string, index: number): { bytes: number; units: number } {
  const code = text.charCodeAt(index);
  if (code < 0x80) return { bytes: 1, units: 1 };
  if (code < 0x800) return { bytes: 2, units: 1 };
  if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
    const next = text.charCodeAt(index + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return { bytes: 4, units: 2 };
  }
  return { bytes: 3, units: 1 };
}

/**
 * Cuts `text` into pieces of at most `maxBytes` UTF-8 bytes each, never inside a character. Returns the pieces (one
 * empty piece for empty text) and the text's total byte length.
 */
function cutByBytes(text: string, maxBytes: number): { pieces: string[]; totalBytes: number } {
  const totalBytes = Buffer.byteLength(text, 'utf8');
  if (totalBytes === text.length) {
    // ASCII only: bytes are code units.
    const pieces: string[] = [];
    for (let start = 0; start < text.length; start += maxBytes) pieces.push(text.slice(start, start + maxBytes));
    return { pieces: pieces.length === 0 ? [''] : pieces, totalBytes };
  }
  const pieces: string[] = [];
  let start = 0;
  let bytes = 0;
  let index = 0;
  while (index < text.length) {
    const character = characterAt(text, index);
    if (bytes + character.bytes > maxBytes) {
      pieces.push(text.slice(start, index));
      start = index;
      bytes = 0;
    }
    bytes += character.bytes;
    index += character.units;
  }
  pieces.push(text.slice(start));
  return { pieces, totalBytes };
}

export function wholeNumberOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionsError(name, value, `a whole number from ${min} to ${max}`);
  }
  return value;
}

/**
 * Splits a message's text into NOTIFY payloads of at most `maxPayloadBytes` UTF-8 bytes each, header included, in
 * order. Sending side: throws `POOLSCOPE_ERR_OPTIONS_INVALID` on bad options and
 * `POOLSCOPE_ERR_CLUSTER_MESSAGE_TOO_LARGE` for text over `maxMessageBytes`.
 */
export function splitNotifyPayloads(text: string, options: NotifyChunkOptions = {}): string[] {
  const maxPayloadBytes = wholeNumberOption('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES, 64, NOTIFY_PAYLOAD_LIMIT_BYTES - 1);
  const maxMessageBytes = wholeNumberOption('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 1, 2 ** 31 - 1);
  const messageId = options.messageId ?? createChunkMessageId();
  if (typeof messageId !== 'string' || !MESSAGE_ID.test(messageId)) {
    throw new OptionsError('messageId', messageId, '1-32 characters from A-Z a-z 0-9 _ -');
  }
  if (typeof text !== 'string') throw new OptionsError('text', text, 'the message text');
  // Room for the data: the payload minus the longest header this message can have (index and count at most 6 digits).
  const dataBytes = maxPayloadBytes - (CHUNK_PREFIX.length + messageId.length + 6 + 6 + 4);
  const { pieces, totalBytes } = cutByBytes(text, dataBytes); // >= 13: maxPayloadBytes >= 64
  if (totalBytes > maxMessageBytes || pieces.length > MAX_CHUNKS_PER_MESSAGE) {
    throw new ClusterError(
      'POOLSCOPE_ERR_CLUSTER_MESSAGE_TOO_LARGE',
      `The cluster message is ${totalBytes} bytes, over the limit of ${maxMessageBytes} bytes that receivers accept; ` +
        'ask for fewer pools or nodes, or raise maxMessageBytes on every node.',
    );
  }
  const count = pieces.length;
  return pieces.map((piece, index) => `${CHUNK_PREFIX}:${messageId}:${index}:${count}:${piece}`);
}
