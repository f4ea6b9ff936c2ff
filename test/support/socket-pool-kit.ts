/**
 * Real resources for the tests of the resource-pool adapters (tarn, generic-pool): TCP sockets to an echo server on
 * 127.0.0.1. A socket is a resource with a real life (connect, errors, close) and nothing database-like, which is
 * what those pools hold when they are not Knex's.
 */
import net from 'node:net';
import { closedPort, listenOnLoopback } from './loopback-server.js';

/** An echo server on a free 127.0.0.1 port. */
export interface EchoServer {
  readonly port: number;
  /** Server-side sockets open now. */
  readonly connections: ReadonlySet<net.Socket>;
  /** Opens a client socket to it (resolves once connected). */
  connect(): Promise<net.Socket>;
  /** Closes the server and every connection to it. */
  close(): Promise<void>;
}

export async function startEchoServer(): Promise<EchoServer> {
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => connections.delete(socket));
    socket.pipe(socket);
  });
  const listening = await listenOnLoopback(server);
  return {
    port: listening.port,
    connections,
    connect: () => connectSocket(listening.port),
    close: async () => {
      for (const socket of connections) socket.destroy();
      await listening.close();
    },
  };
}

/** A socket to `port` on 127.0.0.1, resolved once connected; rejects with the connect error (ECONNREFUSED ...). */
export function connectSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      // An error after connecting (the server closing it) must not crash the test process.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

/** A port nothing listens on: a factory connecting there fails with ECONNREFUSED. */
export { closedPort };

/** Writes a line and waits for its echo: the resource answers. */
export function pingSocket(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(new Error('socket destroyed'));
      return;
    }
    const onData = (): void => {
      socket.off('error', reject);
      resolve();
    };
    socket.once('data', onData);
    socket.once('error', reject);
    socket.write('ping\n');
  });
}
