/**
 * Servers on 127.0.0.1 for tests: start one on a free port (and close it, open connections included), or get a port
 * that nothing listens on (for "connection refused" cases).
 */
import type { Server as HttpServer } from 'node:http';
import net from 'node:net';

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Closes the server; an HTTP server's open connections (keep-alive) are closed too. */
  close(): Promise<void>;
}

/** Starts `server` on a free 127.0.0.1 port; rejects if it cannot listen. */
export async function listenOnLoopback(server: net.Server | HttpServer): Promise<LoopbackServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

/** A 127.0.0.1 port nothing listens on (a listener is opened on a free port, then closed). */
export async function closedPort(): Promise<number> {
  const { port, close } = await listenOnLoopback(net.createServer());
  await close();
  return port;
}
