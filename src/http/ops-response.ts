import type { HttpRouteErrorCode } from '../errors.js';

/** What an ops route answers; adapters write it to their framework's response. */
export interface OpsResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The body: JSON text, or the Prometheus exposition; bytes when content-encoded (`/metrics` answers gzip when the
   * client accepts it, with a `content-encoding` header). Empty for HEAD.
   */
  readonly body: string | Uint8Array;
  /**
   * Set on a streaming answer (`/api/stream`): the adapter writes the status and headers, then calls `stream` with
   * a sink on the open response instead of writing `body` (which is then empty). Absent on every other answer.
   */
  readonly stream?: (sink: OpsStreamSink) => void;
}

/**
 * An open streaming response, as an adapter supplies it. Never throws: writes after the client went away are
 * dropped.
 */
export interface OpsStreamSink {
  /** Queues text; false when the transport's buffer is above its high-water mark (the client reads slowly). */
  write(text: string): boolean;
  /** Ends the response normally (queued data is sent first). */
  end(): void;
  /** Drops the connection now, queued data included (for a client that does not read). */
  abort(): void;
  /** Calls `fn` once when the client goes away or the response ends, whichever comes first. */
  onClose(fn: () => void): void;
  /** Bytes queued and not yet handed to the network. */
  readonly bufferedBytes: number;
  /** True once closed (by either side). */
  readonly closed: boolean;
}

/** Content type of every JSON answer. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Ops answers are live readings: never cached, never sniffed. */
const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/** A JSON answer. */
export function jsonResponse(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): OpsResponse {
  return {
    status,
    headers: { 'content-type': JSON_CONTENT_TYPE, ...COMMON_HEADERS, ...headers },
    body: JSON.stringify(body),
  };
}

/** A non-JSON answer (the Prometheus exposition), as text or as encoded bytes (with their `content-encoding`). */
export function textResponse(
  status: number,
  contentType: string,
  body: string | Uint8Array,
  headers: Readonly<Record<string, string>> = {},
): OpsResponse {
  return { status, headers: { 'content-type': contentType, ...COMMON_HEADERS, ...headers }, body };
}

/** The body of every error answer: a stable code and a message for people. Never a stack trace. */
export interface OpsErrorBody {
  readonly error: HttpRouteErrorCode;
  readonly message: string;
}

/** A streaming answer: `stream` is called with the open response (see OpsStreamSink). */
export function streamResponse(
  contentType: string,
  stream: (sink: OpsStreamSink) => void,
  headers: Readonly<Record<string, string>> = {},
): OpsResponse {
  return { status: 200, headers: { 'content-type': contentType, ...COMMON_HEADERS, ...headers }, body: '', stream };
}

/** An error answer `{ error: code, message }`. */
export function errorResponse(
  status: number,
  code: HttpRouteErrorCode,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): OpsResponse {
  const body: OpsErrorBody = { error: code, message };
  return jsonResponse(status, body, headers);
}
