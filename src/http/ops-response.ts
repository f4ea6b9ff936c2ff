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
