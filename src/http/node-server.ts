import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { HttpListenError, OptionsError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { OpsHandler, OpsHandlerOptions } from './ops-handler.js';
import { createOpsHandler } from './ops-handler.js';
import { opsRequestOf } from './ops-request.js';
import type { OpsResponse } from './ops-response.js';
import { responseStreamSink } from './response-stream-sink.js';

/**
 * The only file of poolscope that listens on a socket: a node:http request listener for the ops routes, and a
 * small standalone ops server.
 */

/**
 * A `http.createServer` listener serving `handler`'s routes. The client address is the socket's peer
 * (`req.socket.remoteAddress`; X-Forwarded-For only through `trustedProxies`). Paths that are no ops route go to
 * `fallback` when given (your own listener), else get the handler's JSON 404.
 */
export function createOpsRequestListener(
  handler: OpsHandler,
  fallback?: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (fallback !== undefined && typeof fallback !== 'function') {
    throw new OptionsError('fallback', fallback, 'a request listener (req, res) => void');
  }
  return (req, res) => {
    const request = opsRequestOf(req.method, req.url, req.headers, req.socket.remoteAddress);
    if (fallback !== undefined && !handler.matches(request.path)) {
      fallback(req, res);
      return;
    }
    // The ops routes read no body; drain one so the connection can be reused.
    req.resume();
    void handler.handle(request).then(
      (response) => writeResponse(res, response, request.method),
      () => {
        // handle() never rejects; this is belt and braces.
        if (!res.headersSent) res.writeHead(500);
        res.end();
      },
    );
  };
}

function writeResponse(res: ServerResponse, response: OpsResponse, method: string): void {
  if (res.destroyed) return;
  const head = method.toUpperCase() === 'HEAD';
  if (response.stream !== undefined && !head) {
    res.writeHead(response.status, response.headers);
    res.flushHeaders();
    response.stream(responseStreamSink(res));
    return;
  }
  res.writeHead(response.status, head ? response.headers : { ...response.headers, 'content-length': String(Buffer.byteLength(response.body)) });
  res.end(head ? undefined : response.body);
}

/** Options of startOpsServer: where to listen, and the ops route options. */
export interface OpsServerOptions extends OpsHandlerOptions {
  /** TCP port; 0 lets the system choose one (read it from the result). */
  readonly port: number;
  /** Address to listen on. Default `127.0.0.1` (this machine only). */
  readonly host?: string;
  /**
   * Your own request listener for every path that is no ops route (one port for a small app and its ops routes).
   * Default: none, such paths get the JSON 404.
   */
  readonly fallback?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** A running ops server. */
export interface OpsServer {
  /** `http://host:port` (IPv6 hosts in brackets), without the prefix. */
  readonly url: string;
  /** The port listened on (the chosen one when `port` was 0). */
  readonly port: number;
  readonly host: string;
  /**
   * Stops listening and closes idle connections; resolves when the server is closed, after the requests in
   * progress have been answered. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server with the ops routes (every other path goes to `fallback`, else is a JSON 404). Rejects with
 * HttpListenError (`POOLSCOPE_ERR_HTTP_LISTEN_FAILED`) when it cannot listen; throws OptionsError for bad options.
 * Closing the inspector does not close the server: call `close()`.
 */
export async function startOpsServer(inspector: Inspector, options: OpsServerOptions): Promise<OpsServer> {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError('options', options, "an object with at least a port, e.g. { port: 9464 } (0 picks a free port)");
  }
  const port: unknown = options.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OptionsError('port', port, 'a whole number 0-65535 (0 picks a free port)');
  }
  const host: unknown = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') {
    throw new OptionsError('host', host, "an address or host name to listen on, e.g. '127.0.0.1' or '0.0.0.0'");
  }
  const handler = createOpsHandler(inspector, options);
  const server = createServer(createOpsRequestListener(handler, options.fallback));
  await listen(server, port, host);
  const address = server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${isIP(host) === 6 ? `[${host}]` : host}:${actualPort}`,
    port: actualPort,
    host,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        handler.closeStreams();
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: unknown): void => {
      server.off('listening', onListening);
      reject(new HttpListenError(host, port, error));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
