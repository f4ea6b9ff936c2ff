/**
 * The live stream: `GET <prefix>/api/stream` read with fetch() and a ReadableStream (EventSource cannot send the
 * Authorization header), parsed as Server-Sent Events, reconnected with backoff. Also the token kept for the
 * session and the fetch of the other data routes with it.
 */

const TOKEN_KEY = 'poolscope-token';
const FIRST_RETRY_MILLIS = 1000;
const MAX_RETRY_MILLIS = 15_000;
/** The server sends a comment every 15 s; this much silence means the connection is dead. */
const SILENCE_MILLIS = 45_000;

/**
 * Splits a text stream into SSE frames. Feed it chunks as they come; it calls `onFrame(event, data)` for each frame
 * ended by a blank line. Comment lines (`:`) are skipped, `data` lines are joined with `\n`, the event defaults to
 * `message`, fields other than `event` and `data` are ignored.
 */
export class SseFrameParser {
  #buffer = '';
  #event = '';
  /** @type {string[]} */
  #data = [];
  /** @type {(event: string, data: string) => void} */
  #onFrame;

  /** @param {(event: string, data: string) => void} onFrame */
  constructor(onFrame) {
    this.#onFrame = onFrame;
  }

  /** @param {string} chunk decoded text, any size, split anywhere */
  push(chunk) {
    this.#buffer += chunk;
    let end;
    while ((end = this.#buffer.search(/\r\n|\r|\n/)) !== -1) {
      // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (this.#buffer[end] === '\r' && end === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, end);
      const width = this.#buffer.startsWith('\r\n', end) ? 2 : 1;
      this.#buffer = this.#buffer.slice(end + width);
      this.#line(line);
    }
  }

  /** @param {string} line */
  #line(line) {
    if (line === '') {
      if (this.#data.length > 0) this.#onFrame(this.#event || 'message', this.#data.join('\n'));
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
  }
}

/** @returns {string | null} the token kept for this browser session */
export function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** @param {string} token kept for this browser session only (never put in a URL) */
export function storeToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage refused (private mode): the token is simply asked again next time.
  }
}

/** @returns {Record<string, string>} the Authorization header when a token is kept */
function authHeaders() {
  const token = storedToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The answer of a data route that refused the caller (403, or 401): a token is needed or was wrong. */
export class AccessRefused extends Error {
  /** @param {number} status */
  constructor(status) {
    super(`access refused (${status})`);
    this.status = status;
  }
}

/** Any other error answer of a data route: its status, and the ops routes' `{ error, message }` when given. */
export class RouteFailed extends Error {
  /** @param {string} path @param {number} status @param {any} body */
  constructor(path, status, body) {
    const ok = body !== null && typeof body === 'object';
    /** @type {string | null} the error code, e.g. POOLSCOPE_ERR_CLUSTER_NOT_JOINED */
    const code = ok && typeof body.error === 'string' ? body.error : null;
    super(`${path} answered ${status}${code ? ` (${code})` : ''}`);
    this.status = status;
    this.code = code;
    /** @type {string | null} the server's explanation */
    this.detail = ok && typeof body.message === 'string' ? body.message : null;
  }
}

/**
 * GET a JSON data route under the prefix, with the kept token.
 * @param {string} prefix
 * @param {string} path e.g. `/api/snapshot`
 * @returns {Promise<any>}
 * @throws {AccessRefused} on 401 or 403
 * @throws {RouteFailed} on any other error status
 */
export async function fetchJson(prefix, path) {
  const response = await fetch(`${prefix}${path}`, { headers: { accept: 'application/json', ...authHeaders() }, cache: 'no-store' });
  if (response.status === 401 || response.status === 403) throw new AccessRefused(response.status);
  // The ops routes answer { error: code, message }: the code says more than the status.
  if (!response.ok) throw new RouteFailed(path, response.status, await response.json().catch(() => null));
  return response.json();
}

/**
 * @typedef {'connecting' | 'live' | 'reconnecting' | 'token needed'} ConnectionState
 * @typedef {object} StreamHandlers
 * @property {(event: string, payload: any) => void} onMessage a parsed frame (`hello`, `state`, `tick`, ...)
 * @property {(state: ConnectionState) => void} onState
 */

/**
 * Keeps one stream open: connects, reads, and after any end or failure reconnects with doubling delays (1 s up to
 * 15 s, reset once a frame arrives). A 401/403 stops it in the `token needed` state until `restart()`.
 */
export class EventStream {
  #prefix;
  #handlers;
  #retryMillis = FIRST_RETRY_MILLIS;
  /** @type {AbortController | null} */
  #abort = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retryTimer;
  #stopped = true;

  /**
   * @param {string} prefix
   * @param {StreamHandlers} handlers
   */
  constructor(prefix, handlers) {
    this.#prefix = prefix;
    this.#handlers = handlers;
  }

  /** (Re)connects now, dropping any connection or pending retry. */
  restart() {
    this.#abort?.abort();
    clearTimeout(this.#retryTimer);
    this.#stopped = false;
    this.#retryMillis = FIRST_RETRY_MILLIS;
    this.#handlers.onState('connecting');
    void this.#connect();
  }

  async #connect() {
    const abort = new AbortController();
    this.#abort = abort;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let silence;
    const watch = () => {
      clearTimeout(silence);
      silence = setTimeout(() => abort.abort(), SILENCE_MILLIS);
    };
    try {
      watch();
      const response = await fetch(`${this.#prefix}/api/stream`, {
        headers: { accept: 'text/event-stream', ...authHeaders() },
        cache: 'no-store',
        signal: abort.signal,
      });
      if (response.status === 401 || response.status === 403) {
        this.#stopped = true;
        this.#handlers.onState('token needed');
        return;
      }
      if (!response.ok || response.body === null) throw new Error(`stream answered ${response.status}`);
      const parser = new SseFrameParser((event, data) => this.#frame(event, data));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        watch();
        parser.push(value);
      }
    } catch (error) {
      if (abort !== this.#abort) return; // replaced by restart()
      if (!(error instanceof DOMException && error.name === 'AbortError')) console.debug('poolscope stream:', error);
    } finally {
      clearTimeout(silence);
    }
    if (abort === this.#abort && !this.#stopped) this.#scheduleRetry();
  }

  /** @param {string} event @param {string} data */
  #frame(event, data) {
    let payload;
    try {
      payload = JSON.parse(data);
    } catch {
      return; // not ours; a frame we cannot read is skipped, not fatal
    }
    if (event === 'hello') {
      this.#retryMillis = FIRST_RETRY_MILLIS;
      this.#handlers.onState('live');
    }
    this.#handlers.onMessage(event, payload);
  }

  #scheduleRetry() {
    this.#handlers.onState('reconnecting');
    const delay = this.#retryMillis * (0.75 + Math.random() * 0.5);
    this.#retryMillis = Math.min(this.#retryMillis * 2, MAX_RETRY_MILLIS);
    this.#retryTimer = setTimeout(() => void this.#connect(), delay);
  }
}
