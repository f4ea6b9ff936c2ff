import type { OwnerContext } from './owner-context.js';

/**
 * HTTP requests as owners: the pieces behind Inspector.httpOwnerMiddleware() and Inspector.wrapHttpHandler().
 * Structural types only, so core stays free of node:http, Express and Fastify.
 */

/** Minimal view of an HTTP request for owner labelling (node:http, Express, Fastify's raw request). */
export interface HttpRequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
}

/** Minimal view of an HTTP response: the owner ends on `finish` or `close`. */
export interface HttpResponseLike {
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

/** Connect/Express-style middleware. */
export type HttpOwnerMiddleware = (req: HttpRequestLike, res: HttpResponseLike, next: (error?: unknown) => void) => void;

/** The owner label of a request: `METHOD /path`, query string dropped. */
export function requestLabel(req: HttpRequestLike): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return `${req.method ?? 'GET'} ${q === -1 ? url : url.slice(0, q)}`;
}

/**
 * Middleware making each request an owner of `owners`, labelled by requestLabel(), that ends when the response
 * finishes or the connection closes. Once `closed()` is true, requests pass straight through.
 */
export function httpOwnerMiddleware(owners: OwnerContext, closed: () => boolean): HttpOwnerMiddleware {
  return (req, res, next) => {
    if (closed()) {
      next();
      return;
    }
    const owner = owners.start({ label: requestLabel(req), kind: 'request' });
    const end = () => owners.end(owner);
    res.once('finish', end);
    res.once('close', end);
    owners.enter(owner, next);
  };
}

/** Wraps a node:http request handler so it runs inside `middleware` (its return value passed through). */
export function wrapHttpHandler<Req extends HttpRequestLike, Res extends HttpResponseLike>(
  middleware: HttpOwnerMiddleware,
  handler: (req: Req, res: Res) => unknown,
): (req: Req, res: Res) => unknown {
  return (req, res) => {
    let result: unknown;
    middleware(req, res, () => {
      result = handler(req, res);
    });
    return result;
  };
}
