import { createHash, randomUUID } from 'node:crypto';
import { ClusterError, describeValue } from '../errors.js';

/**
 * The messages of the cluster bus (issue 14): a snapshot request and a node's reply, their canonical JSON text,
 * their validation, and the NOTIFY channel of a cluster. Format and rules: docs/reference/cluster.md.
 *
 * Everything a node receives goes through `decodeClusterMessage()` / `validateClusterMessage()`, which answer
 * `{ ok: false, reason, detail }` for anything malformed and never throw: a listener must not throw (DESIGN.md).
 * The builders (`createSnapshotRequest()`, `createSnapshotReply()`) run on the sending side and throw a coded
 * `ClusterError` on bad input, so a node never sends what its peers would reject.
 */

/** The kinds of message on the bus. */
export const CLUSTER_MESSAGE_KINDS = ['snapshot-request', 'snapshot-reply'] as const;
export type ClusterMessageKind = (typeof CLUSTER_MESSAGE_KINDS)[number];

/** Asks nodes of the cluster for their snapshot. */
export interface SnapshotRequest {
  readonly kind: 'snapshot-request';
  /** Unique per request (replies carry it back; a seen id is a replay). 1-64 of `A-Z a-z 0-9 _ -`. */
  readonly requestId: string;
  /** The asking node's name. */
  readonly from: string;
  /** Which nodes should answer: every node, or the named ones. */
  readonly nodes: 'all' | readonly string[];
  /** Only these pools (by name); absent means every pool. */
  readonly pools?: readonly string[];
  /** When the request was made, epoch milliseconds (wall clock: nodes compare it with their own). */
  readonly sentAt: number;
}

/** A node's answer to one request. */
export interface SnapshotReply {
  readonly kind: 'snapshot-reply';
  /** The request this answers. */
  readonly requestId: string;
  /** The answering node's name. */
  readonly node: string;
  /** The node's snapshot as JSON text (parsed by the bus, not here). */
  readonly body: string;
  /** Nodes the answering node saw in the cluster earlier and not now (cluster-membership.ts); absent when none. */
  readonly departed?: readonly { readonly node: string; readonly leftAt: number }[];
}

export type ClusterMessage = SnapshotRequest | SnapshotReply;

/**
 * Why a received message was rejected. `not-json`, `malformed`, `unknown-kind` come from this file; the others from
 * the sealing layer (cluster-crypto.ts) and the replay guard.
 */
export const CLUSTER_REJECTION_REASONS = [
  'not-json',
  'malformed',
  'unknown-kind',
  'unsupported-version',
  'unauthenticated',
  'secret-required',
  'wrong-seal',
  'bad-mac',
  'decrypt-failed',
  'replayed',
  'stale',
  'replay-memory-full',
] as const;
export type ClusterRejectionReason = (typeof CLUSTER_REJECTION_REASONS)[number];

/** A received message that is not used: a reason to count by, and a detail for people (never the secret). */
export interface ClusterRejection {
  readonly ok: false;
  readonly reason: ClusterRejectionReason;
  readonly detail: string;
}

export type ClusterDecodeResult = { readonly ok: true; readonly message: ClusterMessage } | ClusterRejection;

/** Node names: 1-64 of `A-Z a-z 0-9 _ . : -` (the inspector's default instance id, `<host>-<pid>`, fits). */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Pool names, as tracking accepts them. */
export const POOL_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;
/** Request ids: 1-64 of `A-Z a-z 0-9 _ -` (a UUID fits). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** At most this many names in a request's `nodes` or `pools`. */
export const MAX_LISTED_NAMES = 1000;
/** A cluster name: 1-200 characters, no NUL (it is hashed into the channel name, so any other text works). */
export const MAX_CLUSTER_NAME_LENGTH = 200;
/** Prefix of every cluster channel. */
export const CLUSTER_CHANNEL_PREFIX = 'poolscope_cluster_';
/** Hex digits of SHA-256 kept in a channel name: 128 bits; `poolscope_cluster_` + 32 = 50 bytes (limit 63). */
export const CLUSTER_CHANNEL_HASH_DIGITS = 32;

/** Largest epoch milliseconds a Date holds. */
const MAX_EPOCH_MILLIS = 8.64e15;

export function rejection(reason: ClusterRejectionReason, detail: string): ClusterRejection {
  return { ok: false, reason, detail };
}

/**
 * The LISTEN/NOTIFY channel of a cluster: `poolscope_cluster_` + the first 32 hex digits of SHA-256 over the
 * cluster name's UTF-8 bytes (exactly as given: case and Unicode form matter). Always 50 bytes of `a-z 0-9 _`, under
 * PostgreSQL's 63-byte identifier limit whatever the cluster name, and needing no quoting. Throws
 * `POOLSCOPE_ERR_CLUSTER_INVALID_NAME` for a name that is not a string of 1-200 characters without NUL.
 */
export function clusterChannelName(cluster: string): string {
  assertClusterName(cluster);
  const hash = createHash('sha256').update(cluster, 'utf8').digest('hex');
  return `${CLUSTER_CHANNEL_PREFIX}${hash.slice(0, CLUSTER_CHANNEL_HASH_DIGITS)}`;
}

/** Throws `POOLSCOPE_ERR_CLUSTER_INVALID_NAME` unless `cluster` is a usable cluster name. */
export function assertClusterName(cluster: unknown): asserts cluster is string {
  if (typeof cluster !== 'string' || cluster.length === 0 || cluster.length > MAX_CLUSTER_NAME_LENGTH || cluster.includes('\u0000')) {
    throw new ClusterError(
      'POOLSCOPE_ERR_CLUSTER_INVALID_NAME',
      `Invalid cluster name ${describeValue(cluster)}: use a string of 1-${MAX_CLUSTER_NAME_LENGTH} characters (UTF-16 code units) without NUL (e.g. 'orders-prod').`,
    );
  }
}

/** Throws `POOLSCOPE_ERR_CLUSTER_INVALID_NAME` unless `node` is a usable node name. */
export function assertNodeName(node: unknown, role = 'node name'): asserts node is string {
  if (typeof node !== 'string' || !NODE_NAME_PATTERN.test(node)) {
    throw new ClusterError(
      'POOLSCOPE_ERR_CLUSTER_INVALID_NAME',
      `Invalid ${role} ${describeValue(node)}: use 1-64 characters from A-Z a-z 0-9 _ . : - (e.g. 'api-1').`,
    );
  }
}

/** A fresh request id (a random UUID). */
export function createRequestId(): string {
  return randomUUID();
}

/** What `createSnapshotRequest()` needs; `requestId` and `sentAt` default to a fresh UUID and `Date.now()`. */
export interface SnapshotRequestOptions {
  readonly from: string;
  readonly nodes?: 'all' | readonly string[];
  readonly pools?: readonly string[];
  readonly requestId?: string;
  readonly sentAt?: number;
}

/** Builds a valid request (sending side); throws a coded `ClusterError` on bad names. */
export function createSnapshotRequest(options: SnapshotRequestOptions): SnapshotRequest {
  assertNodeName(options.from, 'requesting node name');
  const nodes = options.nodes ?? 'all';
  if (nodes !== 'all') {
    if (!Array.isArray(nodes) || nodes.length === 0 || nodes.length > MAX_LISTED_NAMES) {
      throw new ClusterError(
        'POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE',
        `Invalid nodes ${describeValue(nodes)}: use 'all' or a list of 1-${MAX_LISTED_NAMES} node names.`,
      );
    }
    for (const node of nodes) assertNodeName(node);
  }
  const request: SnapshotRequest = {
    kind: 'snapshot-request',
    requestId: options.requestId ?? createRequestId(),
    from: options.from,
    nodes: nodes === 'all' ? 'all' : [...nodes],
    ...(options.pools === undefined ? {} : { pools: [...options.pools] }),
    sentAt: options.sentAt ?? Date.now(),
  };
  return assertValidMessage(request);
}

/** Builds a valid reply (sending side); throws a coded `ClusterError` on a bad node name or request id. */
export function createSnapshotReply(requestId: string, node: string, body: string, departed: SnapshotReply['departed'] = []): SnapshotReply {
  assertNodeName(node);
  const listed = departed.slice(0, MAX_LISTED_NAMES);
  return assertValidMessage({ kind: 'snapshot-reply', requestId, node, body, ...(listed.length === 0 ? {} : { departed: listed }) });
}

/** Throws `POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE` (with the reason) unless `message` passes validation. */
export function assertValidMessage<T extends ClusterMessage>(message: T): T {
  const result = validateClusterMessage(message);
  if (!result.ok) {
    throw new ClusterError('POOLSCOPE_ERR_CLUSTER_INVALID_MESSAGE', `Invalid cluster message (${result.reason}): ${result.detail}.`);
  }
  return result.message as T;
}

/**
 * The canonical JSON text of a message: its known fields in a fixed order (`pools` left out when absent), nothing
 * else. The HMAC of a request covers exactly these bytes.
 */
export function encodeClusterMessage(message: ClusterMessage): string {
  if (message.kind === 'snapshot-request') {
    return JSON.stringify({
      kind: message.kind,
      requestId: message.requestId,
      from: message.from,
      nodes: message.nodes,
      ...(message.pools === undefined ? {} : { pools: message.pools }),
      sentAt: message.sentAt,
    });
  }
  const departed = message.departed?.map(({ node, leftAt }) => ({ node, leftAt }));
  return JSON.stringify({ kind: message.kind, requestId: message.requestId, node: message.node, body: message.body, ...(departed === undefined ? {} : { departed }) });
}

/** Parses and validates received text. Never throws. */
export function decodeClusterMessage(text: unknown): ClusterDecodeResult {
  if (typeof text !== 'string') return rejection('not-json', `expected text, got ${describeValue(text)}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return rejection('not-json', `not JSON text (${text.length} characters, starting ${describeValue(text.slice(0, 20))})`);
  }
  return validateClusterMessage(value);
}

/**
 * Checks a decoded value field by field and returns a fresh message holding only the known fields (unknown fields
 * are ignored, so a newer sender's additions do not break older nodes). Never throws.
 */
export function validateClusterMessage(value: unknown): ClusterDecodeResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return rejection('malformed', `a message is a JSON object, got ${describeValue(value)}`);
  }
  const record = value as Record<string, unknown>;
  const kind = record['kind'];
  if (kind === 'snapshot-request') return validateRequest(record);
  if (kind === 'snapshot-reply') return validateReply(record);
  if (kind === undefined) return rejection('malformed', 'the message has no kind');
  return rejection('unknown-kind', `unknown kind ${describeValue(kind)} (known: ${CLUSTER_MESSAGE_KINDS.join(', ')})`);
}

function validateRequest(record: Record<string, unknown>): ClusterDecodeResult {
  const { requestId, from, nodes, pools, sentAt } = record;
  const idProblem = requestIdProblem(requestId);
  if (idProblem !== undefined) return rejection('malformed', idProblem);
  if (typeof from !== 'string' || !NODE_NAME_PATTERN.test(from)) {
    return rejection('malformed', `from must be a node name (1-64 of A-Z a-z 0-9 _ . : -), got ${describeValue(from)}`);
  }
  if (nodes !== 'all') {
    const problem = nameListProblem('nodes', nodes, NODE_NAME_PATTERN, "'all' or ");
    if (problem !== undefined) return rejection('malformed', problem);
  }
  if (pools !== undefined) {
    const problem = nameListProblem('pools', pools, POOL_NAME_PATTERN, '');
    if (problem !== undefined) return rejection('malformed', problem);
  }
  if (typeof sentAt !== 'number' || !Number.isInteger(sentAt) || sentAt < 0 || sentAt > MAX_EPOCH_MILLIS) {
    return rejection('malformed', `sentAt must be whole epoch milliseconds, got ${describeValue(sentAt)}`);
  }
  const message: SnapshotRequest = {
    kind: 'snapshot-request',
    requestId: requestId as string,
    from,
    nodes: nodes === 'all' ? 'all' : [...(nodes as string[])],
    ...(pools === undefined ? {} : { pools: [...(pools as string[])] }),
    sentAt,
  };
  return { ok: true, message };
}

function validateReply(record: Record<string, unknown>): ClusterDecodeResult {
  const { requestId, node, body } = record;
  const idProblem = requestIdProblem(requestId);
  if (idProblem !== undefined) return rejection('malformed', idProblem);
  if (typeof node !== 'string' || !NODE_NAME_PATTERN.test(node)) {
    return rejection('malformed', `node must be a node name (1-64 of A-Z a-z 0-9 _ . : -), got ${describeValue(node)}`);
  }
  if (typeof body !== 'string') return rejection('malformed', `body must be JSON text, got ${describeValue(body)}`);
  const departed = record['departed'];
  if (departed === undefined) return { ok: true, message: { kind: 'snapshot-reply', requestId: requestId as string, node, body } };
  const problem = departuresProblem(departed);
  if (problem !== undefined) return rejection('malformed', problem);
  const list = (departed as { node: string; leftAt: number }[]).map(({ node: name, leftAt }) => ({ node: name, leftAt }));
  return { ok: true, message: { kind: 'snapshot-reply', requestId: requestId as string, node, body, departed: list } };
}

function departuresProblem(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_LISTED_NAMES) {
    return `departed must be a list of 1-${MAX_LISTED_NAMES} { node, leftAt }, got ${describeValue(value)}`;
  }
  const index = value.findIndex((entry: unknown) => {
    const { node, leftAt } = (entry ?? {}) as { node?: unknown; leftAt?: unknown };
    return typeof node !== 'string' || !NODE_NAME_PATTERN.test(node) || typeof leftAt !== 'number' || !Number.isInteger(leftAt) || leftAt < 0 || leftAt > MAX_EPOCH_MILLIS;
  });
  return index >= 0 ? `departed[${index}] must be { node: a node name, leftAt: epoch milliseconds }, got ${describeValue(value[index])}` : undefined;
}

function requestIdProblem(requestId: unknown): string | undefined {
  if (typeof requestId === 'string' && REQUEST_ID_PATTERN.test(requestId)) return undefined;
  return `requestId must be 1-64 of A-Z a-z 0-9 _ -, got ${describeValue(requestId)}`;
}

function nameListProblem(field: string, value: unknown, pattern: RegExp, alternative: string): string | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_LISTED_NAMES) {
    return `${field} must be ${alternative}a list of 1-${MAX_LISTED_NAMES} names, got ${describeValue(value)}`;
  }
  const index = value.findIndex((name) => typeof name !== 'string' || !pattern.test(name));
  if (index >= 0) return `${field}[${index}] is not a valid name: ${describeValue(value[index])}`;
  return undefined;
}
