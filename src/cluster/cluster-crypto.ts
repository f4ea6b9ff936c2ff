import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/monotonic-clock.js';
import { ClusterError, OptionsError, describeValue, messageOf } from '../errors.js';
import {
  assertClusterName,
  assertValidMessage,
  decodeClusterMessage,
  encodeClusterMessage,
  rejection,
  validateClusterMessage,
  type ClusterDecodeResult,
  type ClusterMessage,
} from './cluster-messages.js';
import { RequestReplayGuard } from './request-replay-guard.js';

/**
 * Sealing and opening cluster messages: the text that goes into NOTIFY (before chunking) and back.
 *
 * - Without a secret: `{"v":1,"seal":"none","message":{...}}`. Anyone who can connect to the database can LISTEN
 *   and read it, and NOTIFY a request of their own.
 * - With a shared secret: a request is `{"v":1,"seal":"hmac-sha256","message":"<canonical JSON>","mac":"<base64url>"}`
 *   (readable, but only secret holders can make one); a reply is
 *   `{"v":1,"seal":"aes-256-gcm","iv":"..","tag":"..","data":".."}` (base64url; readable and forgeable only with the
 *   secret). Plain messages, and requests sealed as replies or the other way round, are refused.
 *
 * Keys: HKDF-SHA256 from the secret, salt `poolscope-cluster/v1`, info `<purpose>\0<cluster name>`: one key for the
 * requests' HMAC (`request-mac`), another for the replies' AES-256-GCM (`reply-encryption`). Binding the cluster
 * name means two clusters sharing a secret cannot replay each other's messages.
 *
 * `open()` never throws: it answers `{ ok: false, reason, detail }`. Requests then pass a `RequestReplayGuard`
 * (seen ids and a `sentAt` window), after authentication so a forged request cannot spend an id.
 */

export const CLUSTER_SEALS = ['none', 'hmac-sha256', 'aes-256-gcm'] as const;
export type ClusterSeal = (typeof CLUSTER_SEALS)[number];

/** Version of the envelope format. */
export const CLUSTER_ENVELOPE_VERSION = 1;
/** The shortest secret accepted, in UTF-8 bytes. */
export const MIN_SECRET_BYTES = 16;

const HKDF_SALT = 'poolscope-cluster/v1';
const GCM_AAD = Buffer.from('poolscope-cluster/v1/aes-256-gcm/snapshot-reply', 'utf8');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAC_BYTES = 32;
const KEY_BYTES = 32;

/** Options of `ClusterCrypto`. */
export interface ClusterCryptoOptions {
  /** The cluster's name (keys are bound to it). */
  readonly cluster: string;
  /** The shared secret: at least 16 bytes (a string, as UTF-8, or bytes). Absent: messages travel as plain JSON. */
  readonly secret?: string | Uint8Array;
  /** Largest difference between a request's `sentAt` and this node's clock. Default 60000. */
  readonly replayWindowMillis?: number;
  /** Request ids remembered at most against replays. Default 10000. */
  readonly maxRememberedRequests?: number;
  /** Time source; default the system clock. */
  readonly clock?: Clock;
}

interface ClusterKeys {
  readonly mac: Buffer;
  readonly encryption: Buffer;
}

/** Seals outgoing messages and opens incoming ones for one node of one cluster. */
export class ClusterCrypto {
  readonly #keys: ClusterKeys | undefined;
  readonly #guard: RequestReplayGuard;

  constructor(options: ClusterCryptoOptions) {
    if (options === null || typeof options !== 'object') throw new OptionsError('options', options, '{ cluster, secret? }');
    assertClusterName(options.cluster);
    this.#keys = options.secret === undefined ? undefined : deriveKeys(options.cluster, options.secret);
    this.#guard = new RequestReplayGuard({
      ...(options.replayWindowMillis === undefined ? {} : { windowMillis: options.replayWindowMillis }),
      ...(options.maxRememberedRequests === undefined ? {} : { maxRemembered: options.maxRememberedRequests }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
  }

  /** Whether a secret is configured (requests authenticated, replies encrypted). */
  get authenticated(): boolean {
    return this.#keys !== undefined;
  }

  /** The text to send for `message` (then chunked). Throws `POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE` on an invalid one. */
  seal(message: ClusterMessage): string {
    const valid = assertValidMessage(message);
    const keys = this.#keys;
    if (keys === undefined) {
      return `{"v":${CLUSTER_ENVELOPE_VERSION},"seal":"none","message":${encodeClusterMessage(valid)}}`;
    }
    const text = encodeClusterMessage(valid);
    if (valid.kind === 'snapshot-request') {
      const mac = createHmac('sha256', keys.mac).update(text, 'utf8').digest('base64url');
      return JSON.stringify({ v: CLUSTER_ENVELOPE_VERSION, seal: 'hmac-sha256', message: text, mac });
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keys.encryption, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(GCM_AAD);
    const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return JSON.stringify({
      v: CLUSTER_ENVELOPE_VERSION,
      seal: 'aes-256-gcm',
      iv: iv.toString('base64url'),
      tag: tag.toString('base64url'),
      data: data.toString('base64url'),
    });
  }

  /** Opens received text: authenticates, decrypts, validates, and checks requests against replays. Never throws. */
  open(text: unknown): ClusterDecodeResult {
    try {
      const result = this.#open(text);
      if (result.ok && result.message.kind === 'snapshot-request') {
        const replay = this.#guard.check(result.message);
        if (replay !== undefined) return replay;
      }
      return result;
    } catch (error) {
      // Nothing above should throw; if it does, it is still a rejection, never an exception in a listener.
      return rejection('malformed', `could not be opened: ${messageOf(error)}`);
    }
  }

  #open(text: unknown): ClusterDecodeResult {
    if (typeof text !== 'string') return rejection('not-json', `expected text, got ${describeValue(text)}`);
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
    } catch {
      return rejection('not-json', `not JSON text (${text.length} characters, starting ${describeValue(text.slice(0, 20))})`);
    }
    if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) {
      return rejection('malformed', `an envelope is a JSON object, got ${describeValue(envelope)}`);
    }
    const record = envelope as Record<string, unknown>;
    if (record['v'] !== CLUSTER_ENVELOPE_VERSION) {
      return rejection('unsupported-version', `envelope version ${describeValue(record['v'])}; this node reads version ${CLUSTER_ENVELOPE_VERSION}`);
    }
    const seal = record['seal'];
    if (seal === 'none') {
      if (this.#keys !== undefined) return rejection('unauthenticated', 'a plain message, but this node has a secret: it accepts only sealed messages');
      return validateClusterMessage(record['message']);
    }
    if (seal !== 'hmac-sha256' && seal !== 'aes-256-gcm') {
      return rejection('malformed', `unknown seal ${describeValue(seal)} (known: ${CLUSTER_SEALS.join(', ')})`);
    }
    const keys = this.#keys;
    if (keys === undefined) return rejection('secret-required', `a ${seal} message, but this node has no secret to open it`);
    return seal === 'hmac-sha256' ? openRequest(keys, record) : openReply(keys, record);
  }
}

function openRequest(keys: ClusterKeys, record: Record<string, unknown>): ClusterDecodeResult {
  const text = record['message'];
  if (typeof text !== 'string') return rejection('malformed', `an hmac-sha256 envelope's message is text, got ${describeValue(text)}`);
  const mac = decodeBase64url(record['mac'], MAC_BYTES);
  if (mac === undefined) return rejection('malformed', `mac must be ${MAC_BYTES} bytes in base64url`);
  const expected = createHmac('sha256', keys.mac).update(text, 'utf8').digest();
  if (!timingSafeEqual(mac, expected)) return rejection('bad-mac', 'the request is not signed with this cluster\'s secret (wrong secret, or altered)');
  const decoded = decodeClusterMessage(text);
  if (decoded.ok && decoded.message.kind !== 'snapshot-request') {
    return rejection('wrong-seal', `a ${decoded.message.kind} must be sealed with aes-256-gcm, not hmac-sha256`);
  }
  return decoded;
}

function openReply(keys: ClusterKeys, record: Record<string, unknown>): ClusterDecodeResult {
  const iv = decodeBase64url(record['iv'], IV_BYTES);
  if (iv === undefined) return rejection('malformed', `iv must be ${IV_BYTES} bytes in base64url`);
  const tag = decodeBase64url(record['tag'], TAG_BYTES);
  if (tag === undefined) return rejection('malformed', `tag must be ${TAG_BYTES} bytes in base64url`);
  const data = decodeBase64url(record['data'], undefined);
  if (data === undefined) return rejection('malformed', 'data must be base64url');
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.encryption, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(GCM_AAD);
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    return rejection('decrypt-failed', 'the reply does not decrypt with this cluster\'s secret (wrong secret, or altered)');
  }
  const decoded = decodeClusterMessage(plain);
  if (decoded.ok && decoded.message.kind !== 'snapshot-reply') {
    return rejection('wrong-seal', `a ${decoded.message.kind} must be sealed with hmac-sha256, not aes-256-gcm`);
  }
  return decoded;
}

/**
 * Bytes of base64url text, or undefined unless it is canonical base64url (no padding, no other characters, unused
 * bits zero: `Buffer.from` alone ignores junk, so one text would have many spellings) of `length` bytes if given.
 */
function decodeBase64url(value: unknown, length: number | undefined): Buffer | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.toString('base64url') !== value) return undefined;
  if (length !== undefined && bytes.length !== length) return undefined;
  return bytes;
}

/** The two keys of a cluster, from its secret. Throws `POOLSCOPE_ERR_CLUSTER_INVALID_SECRET` (never echoing it). */
function deriveKeys(cluster: string, secret: string | Uint8Array): ClusterKeys {
  let bytes: Buffer;
  if (typeof secret === 'string') bytes = Buffer.from(secret, 'utf8');
  else if (secret instanceof Uint8Array) bytes = Buffer.from(secret);
  else {
    throw new ClusterError('POOLSCOPE_ERR_CLUSTER_INVALID_SECRET', `The cluster secret must be a string or bytes, got ${secretKind(secret)}.`);
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ClusterError(
      'POOLSCOPE_ERR_CLUSTER_INVALID_SECRET',
      `The cluster secret is ${bytes.length} bytes; use at least ${MIN_SECRET_BYTES} (e.g. 32 random bytes: openssl rand -base64 32), the same on every node.`,
    );
  }
  const derive = (purpose: string): Buffer => Buffer.from(hkdfSync('sha256', bytes, HKDF_SALT, `${purpose}\u0000${cluster}`, KEY_BYTES));
  return { mac: derive('request-mac'), encryption: derive('reply-encryption') };
}

function secretKind(value: unknown): string {
  return value === null ? 'null' : typeof value;
}
