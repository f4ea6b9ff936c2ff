import type { Inspector } from '../core/inspector.js';
import type { OpsHandlerOptions } from './ops-handler.js';
import { createOpsHandler } from './ops-handler.js';
import type { OpsRequestHeaders } from './ops-request.js';
import { opsRequestOf } from './ops-request.js';
import { errorResponse } from './ops-response.js';
import { isWritableResponse, responseStreamSink } from './response-stream-sink.js';

/** What the middleware reads of an Express (or Connect, or node:http) request. */
export interface ExpressRequestLike {
  readonly method?: string | undefined;
  /** The path and query relative to where the middleware is mounted. */
  readonly url?: string | undefined;
  readonly headers: OpsRequestHeaders;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/** What the middleware writes on an Express (or node:http) response. */
export interface ExpressResponseLike {
  readonly headersSent: boolean;
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  end(body?: string | Uint8Array): unknown;
  /** For `/api/stream` (node:http's ServerResponse has them): write, destroy, on('close'), writableLength. */
  write?(chunk: string): boolean;
  flushHeaders?(): void;
}

/** An Express/Connect middleware. */
export type OpsExpressMiddleware = ((req: ExpressRequestLike, res: ExpressResponseLike, next: (error?: unknown) => void) => void) & {
  /** Ends every open `/api/stream` response (call it before closing your server, which would wait for them). */
  closeStreams(): void;
};

/**
 * An Express middleware serving the ops routes; every other path goes to `next()`. Mount it with `app.use()` (the
 * prefix then applies after the mount path: `app.use('/ops', opsExpressMiddleware(inspector))` serves `/ops/health`).
 * The client address is `req.socket.remoteAddress`, not Express's `req.ip`: X-Forwarded-For is believed only from
 * `trustedProxies`, whatever Express's `trust proxy` says. Throws OptionsError for bad options.
 */
export function opsExpressMiddleware(inspector: Inspector, options: OpsHandlerOptions = {}): OpsExpressMiddleware {
  const handler = createOpsHandler(inspector, options);
  const middleware = (req: ExpressRequestLike, res: ExpressResponseLike, next: (error?: unknown) => void): void => {
    const request = opsRequestOf(req.method, req.url, req.headers, req.socket.remoteAddress);
    if (!handler.matches(request.path)) {
      next();
      return;
    }
    handler.handle(request).then(
      (response) => {
        if (res.headersSent) return;
        const head = request.method.toUpperCase() === 'HEAD';
        if (response.stream !== undefined && !head) {
          if (!isWritableResponse(res)) {
            const refusal = errorResponse(500, 'POOLSCOPE_ERR_HTTP_INTERNAL', 'This response object cannot stream (no write/destroy/on).');
            res.writeHead(refusal.status, { ...refusal.headers });
            res.end(refusal.body);
            return;
          }
          res.writeHead(response.status, { ...response.headers });
          res.flushHeaders?.();
          response.stream(responseStreamSink(res));
          return;
        }
        res.writeHead(response.status, { ...response.headers });
        res.end(head ? undefined : response.body);
      },
      (error: unknown) => next(error),
    );
  };
  return Object.assign(middleware, { closeStreams: () => handler.closeStreams() });
}
