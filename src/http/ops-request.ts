/**
 * What an ops route needs to know about an HTTP request, independent of the server framework: node:http, Express
 * and Fastify adapters build one, and tests write one by hand.
 */

/** Request headers with lower-case names, as node:http gives them. */
export type OpsRequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A request to the ops routes. */
export interface OpsRequest {
  /** `GET`, `HEAD`, ... (any case). */
  readonly method: string;
  /** The path without the query string, percent-encoded as received (e.g. `/ops/api/pools/tenant%3A42`). */
  readonly path: string;
  /** Query parameters; the first value of a repeated parameter. */
  readonly query: Readonly<Record<string, string>>;
  /** Header names in lower case. */
  readonly headers: OpsRequestHeaders;
  /** Address of the direct peer (the socket's), never taken from a header. */
  readonly remoteAddress: string | undefined;
}

/**
 * Builds an OpsRequest from a request line's target (`/ops/readyz?x=1`), as node:http's `req.url` gives it. The
 * target is split by hand, not through `new URL()`, so a target such as `//host/x` stays a path.
 */
export function opsRequestOf(
  method: string | undefined,
  url: string | undefined,
  headers: OpsRequestHeaders,
  remoteAddress: string | undefined,
): OpsRequest {
  const target = url ?? '/';
  const hash = target.indexOf('#');
  const withoutHash = hash === -1 ? target : target.slice(0, hash);
  const q = withoutHash.indexOf('?');
  const path = q === -1 ? withoutHash : withoutHash.slice(0, q);
  const query: Record<string, string> = {};
  if (q !== -1) {
    for (const [key, value] of new URLSearchParams(withoutHash.slice(q + 1))) {
      if (!Object.hasOwn(query, key)) Object.defineProperty(query, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return { method: method ?? 'GET', path: path === '' ? '/' : path, query, headers, remoteAddress };
}

/** The first value of a header, or undefined. */
export function headerOf(headers: OpsRequestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return value[0];
}
