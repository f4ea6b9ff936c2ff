/**
 * Reads poolscope's JSON API (the ops routes) of a running app, for the CLI: one GET, a bearer token when given, a
 * timeout, Ctrl-C. Every failure is an ApiRequestError whose message says what happened without the token.
 */

export interface ApiClientOptions {
  /** The app's base URL (`http://127.0.0.1:3000`, or with a path). */
  readonly baseUrl: URL;
  /** The ops routes' prefix: `''` or `/ops`. */
  readonly prefix: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** Per request. */
  readonly timeoutMillis: number;
  /** Aborts the request (Ctrl-C). */
  readonly signal: AbortSignal;
}

/** Why a request failed. */
export const API_FAILURES = ['unreachable', 'timeout', 'http-error', 'not-json', 'interrupted'] as const;
export type ApiFailure = (typeof API_FAILURES)[number];

export class ApiRequestError extends Error {
  readonly url: string;
  readonly failure: ApiFailure;
  /** The HTTP status when the server answered. */
  readonly status: number | null;
  /** The server's `{ error }` code when it sent one. */
  readonly code: string | null;

  constructor(url: string, failure: ApiFailure, message: string, status: number | null = null, code: string | null = null, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApiRequestError';
    this.url = url;
    this.failure = failure;
    this.status = status;
    this.code = code;
  }
}

/** True for an answer 404 (the server had no such route or no such pool). */
export function isNotFound(error: unknown): error is ApiRequestError {
  return error instanceof ApiRequestError && error.status === 404;
}

/** `base` + `prefix` + `path` (`path` starts with `/` and may carry a query string). */
export function apiUrl(base: URL, prefix: string, path: string): string {
  const root = base.pathname.replace(/\/+$/, '');
  return `${base.origin}${root}${prefix}${path}`;
}

/**
 * GETs `path` and returns its JSON body when the status is 2xx, else rejects with ApiRequestError. With
 * `acceptStatuses` (e.g. `[503]` for `/readyz`) those statuses are answers too.
 */
export async function getApiJson<T>(options: ApiClientOptions, path: string, acceptStatuses: readonly number[] = []): Promise<T> {
  const url = apiUrl(options.baseUrl, options.prefix, path);
  return (await getJson<T>(url, options, acceptStatuses)).body;
}

/** An accepted answer: its status and parsed JSON body. */
export interface JsonAnswer<T> {
  readonly status: number;
  readonly body: T;
}

/** GETs an absolute `url` (see getApiJson); resolves with the status as well. */
export async function getJson<T>(
  url: string,
  options: Pick<ApiClientOptions, 'token' | 'timeoutMillis' | 'signal'>,
  acceptStatuses: readonly number[] = [],
): Promise<JsonAnswer<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined && options.token !== '') headers.authorization = `Bearer ${options.token}`;
  const timeout = AbortSignal.timeout(options.timeoutMillis);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.any([options.signal, timeout]), redirect: 'manual' });
    text = await response.text();
  } catch (error) {
    if (options.signal.aborted) throw new ApiRequestError(url, 'interrupted', `GET ${url}: interrupted`, null, null, { cause: error });
    if (timeout.aborted) {
      throw new ApiRequestError(url, 'timeout', `GET ${url}: no answer within ${options.timeoutMillis} ms`, null, null, { cause: error });
    }
    throw new ApiRequestError(url, 'unreachable', `cannot reach ${url}: ${networkReason(error)}`, null, null, { cause: error });
  }
  let body: unknown;
  let parsed = false;
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
      parsed = true;
    } catch {
      parsed = false;
    }
  }
  const accepted = (response.status >= 200 && response.status < 300) || acceptStatuses.includes(response.status);
  if (!accepted) {
    const error = parsed ? errorBodyOf(body) : undefined;
    const location = response.headers.get('location');
    const detail =
      error !== undefined
        ? ` ${error.error}: ${error.message}`
        : location !== null && response.status >= 300 && response.status < 400
          ? ` (a redirect to ${location}; give that URL instead)`
          : parsed
            ? ''
            : ` (${describeNonJson(response, text)})`;
    throw new ApiRequestError(url, 'http-error', `GET ${url} answered ${response.status}${detail}`, response.status, error?.error ?? null);
  }
  if (!parsed) {
    throw new ApiRequestError(
      url,
      'not-json',
      `GET ${url} answered ${response.status} but not with poolscope's JSON (${describeNonJson(response, text)}); check --url and --prefix`,
      response.status,
    );
  }
  return { status: response.status, body: body as T };
}

/** The `{ error, message }` of an ops error answer (OpsErrorBody), when the body is one. */
function errorBodyOf(body: unknown): { readonly error: string; readonly message: string } | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { error, message } = body as Record<string, unknown>;
  if (typeof error !== 'string' || typeof message !== 'string') return undefined;
  return { error, message };
}

function describeNonJson(response: Response, text: string): string {
  const type = response.headers.get('content-type') ?? 'no content-type';
  const start = text.replace(/\s+/g, ' ').trim().slice(0, 80);
  return start === '' ? type : `${type}: ${JSON.stringify(start)}`;
}

/** The system's reason behind fetch's "fetch failed" (ECONNREFUSED, ENOTFOUND, ...). */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
