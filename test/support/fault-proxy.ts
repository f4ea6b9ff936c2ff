/**
 * A fault proxy for tests: a small in-process TCP proxy (node:net) on 127.0.0.1 between a pool and its real server,
 * which the test steers while load runs:
 * - `pass()`: forward both ways as they come (the default; also clears every fault below);
 * - `latency(min, max)`: hold each chunk for a random 10-100 ms (or what is given) before forwarding it, order kept;
 * - `stall()`: stop forwarding both ways on open and new connections (a hung server or network) until `pass()`;
 *   chunks are kept, at most `maxBufferedBytes` per direction and connection (then the sender is paused: TCP's own
 *   backpressure does the rest), and delivered on `pass()`;
 * - `cutAll('rst' | 'fin')`: cut every open connection now, by reset (`socket.resetAndDestroy()`: the peers read
 *   ECONNRESET) or by an orderly close (`end()`: the peers read end-of-stream);
 * - `refuseNew()`: accept new connections and reset them at once; `blackholeNew()`: accept them and never forward
 *   (nothing reaches the server, nothing comes back); open connections keep working;
 * - `cutAfter(bytes)`: cut each connection (open or new) once `bytes` more have gone through it, either way.
 *
 * Bounded (at most `maxConnections` connections; beyond that new ones are reset), loopback only (it listens on
 * 127.0.0.1 and refuses a target that is not a loopback address), and `close()` ends everything it opened.
 * Not a timing tool: latencies are lower bounds, never promises.
 */
import net from 'node:net';

/** How `cutAll` and `cutAfter` cut: a reset (RST) or an orderly close (FIN). */
export const CUT_KINDS = ['rst', 'fin'] as const;
export type CutKind = (typeof CUT_KINDS)[number];

/** What happens to a connection accepted now. */
export const NEW_CONNECTION_MODES = ['pass', 'refuse', 'blackhole'] as const;
export type NewConnectionMode = (typeof NEW_CONNECTION_MODES)[number];

export interface FaultProxyOptions {
  /** The real server's port. */
  readonly targetPort: number;
  /** The real server's host: a loopback address only. Default 127.0.0.1. */
  readonly targetHost?: string;
  /** Connections open at once (passing and blackholed); more are reset on accept. Default 64. */
  readonly maxConnections?: number;
  /** Bytes held per direction and connection (stalled or delayed) before the sender is paused. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
}

/** What the proxy did since it started. */
export interface FaultProxyStats {
  /** Connections open now (passing or blackholed). */
  readonly open: number;
  /** Connections accepted and forwarded (or attempted to). */
  readonly accepted: number;
  readonly refused: number;
  readonly blackholed: number;
  /** Connections cut by `cutAll`/`cutAfter`. */
  readonly cut: number;
  /** Connections reset because `maxConnections` were open. */
  readonly overLimit: number;
  readonly bytesToServer: number;
  readonly bytesToClient: number;
  /** Bytes held in the proxy now (all connections, both directions). */
  readonly buffered: number;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
const DEFAULT_MAX_CONNECTIONS = 64;
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** After a FIN cut, a peer that does not close its side is destroyed after this long. */
const FIN_GRACE_MILLIS = 1000;

interface Latency {
  readonly minMillis: number;
  readonly maxMillis: number;
}

interface Chunk {
  readonly data: Buffer;
  readonly dueAt: number;
}

/** The proxy's settings, read by every connection when it forwards. */
interface Controls {
  latency: Latency | undefined;
  stalled: boolean;
  readonly maxBufferedBytes: number;
  /** Counts bytes forwarded; called by a link. */
  forwarded(toServer: boolean, bytes: number): void;
}

/** One direction of one connection: chunks from `from`, held (latency, stall), written to `to`. */
class Direction {
  readonly #from: net.Socket;
  readonly #to: () => net.Socket | undefined;
  readonly #controls: Controls;
  readonly #link: Link;
  readonly #toServer: boolean;
  readonly #queue: Chunk[] = [];
  #queued = 0;
  #lastDueAt = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The sender finished (FIN): end the receiver once everything held has been delivered. */
  #ended = false;
  #endSent = false;

  constructor(from: net.Socket, to: () => net.Socket | undefined, controls: Controls, link: Link, toServer: boolean) {
    this.#from = from;
    this.#to = to;
    this.#controls = controls;
    this.#link = link;
    this.#toServer = toServer;
  }

  get queued(): number {
    return this.#queued;
  }

  push(data: Buffer): void {
    if (this.#link.isCut) return;
    const now = performance.now();
    const latency = this.#controls.latency;
    let dueAt = now;
    if (latency !== undefined) {
      const delay = latency.minMillis + Math.random() * (latency.maxMillis - latency.minMillis);
      // Order kept: never due before the chunk ahead of it.
      dueAt = Math.max(this.#lastDueAt, now + delay);
    }
    this.#lastDueAt = dueAt;
    this.#queue.push({ data, dueAt });
    this.#queued += data.length;
    if (this.#queued > this.#controls.maxBufferedBytes) this.#from.pause();
    this.flush();
  }

  /** The sender sent its FIN. */
  end(): void {
    this.#ended = true;
    this.flush();
  }

  /** Delivers what is due, unless stalled or the receiver is not there yet; sets one timer for the rest. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const to = this.#to();
    if (this.#link.isCut || this.#controls.stalled || to === undefined || to.connecting || to.destroyed) return;
    const now = performance.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Chunk;
      if (head.dueAt > now) break;
      this.#queue.shift();
      this.#queued -= head.data.length;
      if (!this.#deliver(to, head.data)) return;
    }
    if (this.#queue.length > 0) {
      const head = this.#queue[0] as Chunk;
      this.#timer = setTimeout(() => this.flush(), Math.max(1, head.dueAt - now));
      this.#timer.unref();
      return;
    }
    if (this.#ended && !this.#endSent) {
      this.#endSent = true;
      to.end();
    }
    this.resumeIfRoom();
  }

  /** Resumes the sender when the queue has room and the receiver is not pushing back. */
  resumeIfRoom(): void {
    const to = this.#to();
    if (this.#link.isCut || this.#from.destroyed || !this.#from.isPaused()) return;
    if (this.#queued > this.#controls.maxBufferedBytes / 2) return;
    if (to !== undefined && to.writableNeedDrain) return;
    this.#from.resume();
  }

  /** Writes one chunk (cut short if the connection's byte budget ends inside it); false when the link was cut. */
  #deliver(to: net.Socket, data: Buffer): boolean {
    const budget = this.#link.budget;
    let chunk = data;
    let cutNow = false;
    if (budget !== undefined) {
      if (data.length >= budget) {
        chunk = data.subarray(0, budget);
        cutNow = true;
      }
      this.#link.budget = budget - chunk.length;
    }
    if (chunk.length > 0) {
      const room = to.write(chunk);
      this.#controls.forwarded(this.#toServer, chunk.length);
      if (!room) {
        this.#from.pause();
        to.once('drain', () => this.resumeIfRoom());
      }
    }
    if (cutNow) {
      this.#link.cut(this.#link.cutKind);
      return false;
    }
    return true;
  }

  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.#queued = 0;
  }
}

/** One accepted connection and its upstream connection to the server. */
class Link {
  readonly client: net.Socket;
  server: net.Socket | undefined;
  /** Bytes (either way) that may still pass before the connection is cut; undefined: no limit. */
  budget: number | undefined;
  cutKind: CutKind = 'rst';
  readonly #toServer: Direction;
  /** Made once the upstream socket exists (its sender). */
  #toClient: Direction | undefined;
  readonly #onCut: () => void;
  readonly #onClosed: (link: Link) => void;
  #isCut = false;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(client: net.Socket, controls: Controls, onCut: () => void, onClosed: (link: Link) => void) {
    this.client = client;
    this.#onCut = onCut;
    this.#onClosed = onClosed;
    this.#toServer = new Direction(client, () => this.server, controls, this, true);
  }

  get isCut(): boolean {
    return this.#isCut;
  }

  get buffered(): number {
    return this.#toServer.queued + (this.#toClient?.queued ?? 0);
  }

  /** Connects upstream and forwards both ways. */
  connect(host: string, port: number, controls: Controls): void {
    const client = this.client;
    const server = net.connect({ host, port });
    this.server = server;
    const toClient = new Direction(server, () => this.client, controls, this, false);
    this.#toClient = toClient;
    client.on('data', (data: Buffer) => this.#toServer.push(data));
    client.on('end', () => this.#toServer.end());
    server.on('data', (data: Buffer) => toClient.push(data));
    server.on('end', () => toClient.end());
    server.once('connect', () => this.#toServer.flush());
    const closed = new Set<net.Socket>();
    const onClose = (socket: net.Socket, other: () => net.Socket | undefined) => (hadError: boolean) => {
      closed.add(socket);
      const peer = other();
      // A reset (or a failed connect upstream) is passed on as a reset; an orderly close is passed on by 'end',
      // once what is held for that direction has been delivered.
      if (hadError && peer !== undefined && !this.#isCut) resetSocket(peer);
      if (closed.size === 2) this.#closed();
    };
    client.on('close', onClose(client, () => this.server));
    server.on('close', onClose(server, () => this.client));
    server.on('error', () => undefined);
  }

  /** Accepts and never forwards: everything the client sends is dropped. */
  blackhole(): void {
    this.client.on('data', () => undefined);
    this.client.on('close', () => this.#closed());
  }

  /** Cuts both sides now. */
  cut(kind: CutKind): void {
    if (this.#isCut) return;
    this.#isCut = true;
    this.#onCut();
    this.#toServer.dispose();
    this.#toClient?.dispose();
    const sockets = [this.client, this.server].filter((s): s is net.Socket => s !== undefined);
    if (kind === 'rst') {
      for (const socket of sockets) resetSocket(socket);
      return;
    }
    for (const socket of sockets) {
      if (!socket.destroyed) socket.end();
    }
    this.#graceTimer = setTimeout(() => {
      for (const socket of sockets) socket.destroy();
    }, FIN_GRACE_MILLIS);
    this.#graceTimer.unref();
  }

  /** Re-reads the controls (after a stall ends or the latency changes). */
  flush(): void {
    this.#toServer.flush();
    this.#toClient?.flush();
  }

  destroy(): void {
    this.#isCut = true;
    this.#toServer.dispose();
    this.#toClient?.dispose();
    this.client.destroy();
    this.server?.destroy();
  }

  #closed(): void {
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    this.#toServer.dispose();
    this.#toClient?.dispose();
    this.#onClosed(this);
  }
}

function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The proxy. Start one with `FaultProxy.start({ targetPort })`; point the pool at `proxy.host:proxy.port`. */
export class FaultProxy {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly #server: net.Server;
  readonly #links = new Set<Link>();
  readonly #maxConnections: number;
  readonly #controls: Controls;
  #newMode: NewConnectionMode = 'pass';
  #cutAfter: { readonly bytes: number; readonly kind: CutKind } | undefined;
  #closing: Promise<void> | undefined;
  #counts = { accepted: 0, refused: 0, blackholed: 0, cut: 0, overLimit: 0, bytesToServer: 0, bytesToClient: 0 };

  private constructor(server: net.Server, port: number, options: FaultProxyOptions) {
    this.#server = server;
    this.port = port;
    this.targetHost = options.targetHost ?? '127.0.0.1';
    this.targetPort = options.targetPort;
    this.#maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const counts = this.#counts;
    this.#controls = {
      latency: undefined,
      stalled: false,
      maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
      forwarded(toServer, bytes) {
        if (toServer) counts.bytesToServer += bytes;
        else counts.bytesToClient += bytes;
      },
    };
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Listens on a free 127.0.0.1 port, forwarding to `targetHost:targetPort` (loopback only). */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const targetHost = options.targetHost ?? '127.0.0.1';
    if (!isLoopback(targetHost)) throw new Error(`the fault proxy forwards to loopback addresses only, not ${targetHost}`);
    if (!Number.isInteger(options.targetPort) || options.targetPort <= 0 || options.targetPort > 65535) {
      throw new Error(`targetPort must be a TCP port, not ${String(options.targetPort)}`);
    }
    const server = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as net.AddressInfo;
    return new FaultProxy(server, port, options);
  }

  /** `postgres://...@127.0.0.1:<proxy port>/...`: `url` with its host and port replaced by the proxy's. */
  urlThrough(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = this.host;
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /** Forwards as things come; clears latency, stall, refusal, blackholing and cut-after. */
  pass(): void {
    this.#controls.latency = undefined;
    this.#controls.stalled = false;
    this.#newMode = 'pass';
    this.#cutAfter = undefined;
    for (const link of this.#links) {
      link.budget = undefined;
      link.flush();
    }
  }

  /** Holds each chunk `minMillis`..`maxMillis` (random per chunk, order kept) before forwarding it. */
  latency(minMillis = 10, maxMillis = 100): void {
    if (!(minMillis >= 0 && maxMillis >= minMillis)) throw new Error(`latency needs 0 <= min <= max, not ${minMillis}..${maxMillis}`);
    this.#controls.latency = { minMillis, maxMillis };
  }

  /** Stops forwarding both ways on every connection, open and new, until `pass()`. */
  stall(): void {
    this.#controls.stalled = true;
  }

  /** Cuts every open connection now (passing and blackholed); returns how many. */
  cutAll(kind: CutKind = 'rst'): number {
    const links = [...this.#links].filter((link) => !link.isCut);
    for (const link of links) link.cut(kind);
    return links.length;
  }

  /** New connections are accepted and reset at once (open ones keep working) until `pass()`. */
  refuseNew(): void {
    this.#newMode = 'refuse';
  }

  /** New connections are accepted and never forwarded (open ones keep working) until `pass()`; they stay dead. */
  blackholeNew(): void {
    this.#newMode = 'blackhole';
  }

  /** Cuts each connection, open or new, once `bytes` more have passed through it (either way), until `pass()`. */
  cutAfter(bytes: number, kind: CutKind = 'rst'): void {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`cutAfter needs a whole number of bytes, not ${bytes}`);
    this.#cutAfter = { bytes, kind };
    for (const link of this.#links) {
      link.budget = bytes;
      link.cutKind = kind;
    }
  }

  /** Counts since start, and what is open and held now. */
  stats(): FaultProxyStats {
    let buffered = 0;
    for (const link of this.#links) buffered += link.buffered;
    return { ...this.#counts, open: this.#links.size, buffered };
  }

  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const link of this.#links) link.destroy();
      this.#links.clear();
    });
    return this.#closing;
  }

  #accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#links.size >= this.#maxConnections) {
      this.#counts.overLimit += 1;
      resetSocket(socket);
      return;
    }
    if (this.#newMode === 'refuse') {
      this.#counts.refused += 1;
      resetSocket(socket);
      return;
    }
    const link = new Link(
      socket,
      this.#controls,
      () => (this.#counts.cut += 1),
      (closed) => this.#links.delete(closed),
    );
    this.#links.add(link);
    if (this.#cutAfter !== undefined) {
      link.budget = this.#cutAfter.bytes;
      link.cutKind = this.#cutAfter.kind;
    }
    if (this.#newMode === 'blackhole') {
      this.#counts.blackholed += 1;
      link.blackhole();
      return;
    }
    this.#counts.accepted += 1;
    link.connect(this.targetHost, this.targetPort, this.#controls);
  }
}
