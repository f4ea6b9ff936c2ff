import { PoolscopeError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { OpsHandlerOptions } from './ops-handler.js';
import { createOpsHandler } from './ops-handler.js';
import type { OpsRequestHeaders } from './ops-request.js';
import { opsRequestOf } from './ops-request.js';
import { isWritableResponse, responseStreamSink } from './response-stream-sink.js';

/** What the plugin reads of a Fastify request: the raw node:http request. */
export interface FastifyRequestLike {
  readonly raw: {
    readonly method?: string | undefined;
    readonly url?: string | undefined;
    readonly headers: OpsRequestHeaders;
    readonly socket: { readonly remoteAddress?: string | undefined };
  };
}

/** What the plugin calls on a Fastify reply. */
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: string | Uint8Array): FastifyReplyLike;
  /** For `/api/stream`: Fastify's `reply.hijack()` and the raw node:http response. */
  hijack?(): unknown;
  readonly raw?: unknown;
}

/** A Fastify route definition, as the plugin registers it. */
export interface FastifyRouteLike {
  readonly method: string[];
  readonly url: string;
  readonly handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>;
}

/** What the plugin uses of a Fastify instance. */
export interface FastifyInstanceLike {
  /** The route prefix of the instance the plugin is registered on (`''` at the root). */
  readonly prefix?: string;
  route(options: FastifyRouteLike): unknown;
  /** Used for a `preClose` hook that ends open `/api/stream` responses, so `fastify.close()` need not wait for them. */
  addHook?(name: 'preClose', hook: (done: () => void) => void): unknown;
}

/** A Fastify plugin that is not encapsulated (like fastify-plugin's), so the routes land on the registering instance. */
export interface OpsFastifyPlugin {
  (fastify: FastifyInstanceLike, options: unknown, done: (error?: Error) => void): void;
  readonly [key: symbol]: unknown;
}

/** Methods routed to the handler, which answers GET and HEAD and gives the others 405 with `allow`. */
const ROUTED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/**
 * A Fastify plugin serving the ops routes: `fastify.register(opsFastifyPlugin(inspector, { prefix: '/ops' }))`.
 * Give the prefix here, not as Fastify's register option (the plugin skips Fastify's encapsulation, which also
 * skips Fastify's `prefix`). The client address is `request.raw.socket.remoteAddress`; X-Forwarded-For is believed
 * only from `trustedProxies`, whatever Fastify's `trustProxy` says. Throws OptionsError for bad options.
 */
export function opsFastifyPlugin(inspector: Inspector, options: OpsHandlerOptions = {}): OpsFastifyPlugin {
  const handler = createOpsHandler(inspector, options);
  const plugin = (fastify: FastifyInstanceLike, _options: unknown, done: (error?: Error) => void): void => {
    try {
      // Routes registered inside a prefixed Fastify context arrive with that prefix in the URL.
      const outer = fastify.prefix ?? '';
      for (const path of handler.routePaths) {
        fastify.route({
          method: ROUTED_METHODS,
          url: path,
          handler: async (request, reply) => {
            const raw = request.raw;
            const url = raw.url !== undefined && outer !== '' && raw.url.startsWith(outer) ? raw.url.slice(outer.length) : raw.url;
            const response = await handler.handle(opsRequestOf(raw.method, url, raw.headers, raw.socket.remoteAddress));
            const out = reply.raw;
            if (response.stream !== undefined && typeof reply.hijack === 'function' && isWritableResponse(out) && 'writeHead' in out) {
              // Fastify steps aside: the stream writes to the raw response until the client leaves.
              reply.hijack();
              const res = out as typeof out & { writeHead(status: number, headers: Record<string, string>): unknown; flushHeaders?(): void };
              res.writeHead(response.status, { ...response.headers });
              res.flushHeaders?.();
              response.stream(responseStreamSink(res));
              return reply;
            }
            reply.code(response.status);
            for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
            return reply.send(response.body);
          },
        });
      }
      fastify.addHook?.('preClose', (closed) => {
        handler.closeStreams();
        closed();
      });
      done();
    } catch (error) {
      done(
        error instanceof Error
          ? error
          : new PoolscopeError('POOLSCOPE_ERR_HTTP_REGISTER_FAILED', `The ops routes could not be registered on Fastify: ${String(error)}`, {
              cause: error,
            }),
      );
    }
  };
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'poolscope-ops',
  });
}
