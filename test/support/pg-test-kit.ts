/**
 * Small helpers for integration tests on a real PostgreSQL: pools that are always closed, event collection, and
 * the file:line of a marker in a test file (so assertions on reported locations survive edits).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Inspector, InspectorOptions, PoolscopeEventOf, PoolscopeEventType } from '../../src/index.js';
import { Inspector as InspectorClass } from '../../src/index.js';
import { eventOnce } from './wait-for.js';

export { eventually } from './wait-for.js';

/** Everything a test created, closed by `closeAll()` in afterEach. */
export class TestResources {
  readonly #pools: pg.Pool[] = [];
  readonly #inspectors: Inspector[] = [];
  readonly #clients: pg.Client[] = [];

  pool(url: string, config: pg.PoolConfig = {}): pg.Pool {
    const pool = new pg.Pool({ connectionString: url, ...config });
    this.#pools.push(pool);
    return pool;
  }

  inspector(options: InspectorOptions = {}): Inspector {
    const inspector = new InspectorClass({ historyIntervalMillis: 0, ...options });
    this.#inspectors.push(inspector);
    return inspector;
  }

  async client(url: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    this.#clients.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    for (const inspector of this.#inspectors.splice(0)) inspector.close();
    for (const client of this.#clients.splice(0)) await client.end().catch(() => undefined);
    for (const pool of this.#pools.splice(0)) {
      // pg-pool's end() resolves once its client list is empty, before each client's socket has closed; the test
      // file's database is dropped right after (terminating what is left), and a FATAL read by a client that is
      // still closing would reach the pool's 'error' with no listener. The pool is being disposed: ignore it.
      pool.on('error', () => undefined);
      if (pool.ending) continue;
      // pool.end() waits for every checked-out client; a test that leaks one on purpose must not hang the file,
      // so after a bounded wait the clients still out are released with an error, which makes pg-pool destroy
      // them (pg-pool's own list; test code only). Idle ones refuse the stale release, which is ignored.
      const ended = pool.end().catch(() => undefined);
      const finished = await Promise.race([ended.then(() => true), sleep(1000).then(() => false)]);
      if (!finished) {
        const clients = (pool as unknown as { _clients: { release?: (err: Error) => void }[] })._clients;
        for (const client of [...clients]) {
          try {
            client.release?.(new Error('test cleanup: connection leaked by the test on purpose'));
          } catch {
            // already released
          }
        }
        await ended;
      }
    }
  }
}

/** Collects every event of `type` into an array. */
export function collect<T extends PoolscopeEventType>(inspector: Inspector, type: T): PoolscopeEventOf<T>[] {
  const events: PoolscopeEventOf<T>[] = [];
  inspector.on(type, (event) => events.push(event));
  return events;
}

/** Resolves with the next event of `type`; rejects after `timeoutMillis` (a bound, not a timing assertion). */
export function nextEvent<T extends PoolscopeEventType>(
  inspector: Inspector,
  type: T,
  timeoutMillis = 15_000,
): Promise<PoolscopeEventOf<T>> {
  return eventOnce((listener: (event: PoolscopeEventOf<T>) => void) => inspector.on(type, listener), `a ${type} event`, { timeoutMillis });
}

/** The path of a test module relative to the working directory (as poolscope reports locations). */
export function relativePathOf(moduleUrl: string): string {
  return path.relative(process.cwd(), fileURLToPath(moduleUrl));
}

/** `path:line` of the single line of `moduleUrl` that ends with the comment `// <marker>` (e.g. `// @leak-site`). */
export function siteOf(moduleUrl: string, marker: string): string {
  const lines = readFileSync(fileURLToPath(moduleUrl), 'utf8').split('\n');
  const found = lines.flatMap((line, index) => (line.trimEnd().endsWith(`// ${marker}`) ? [index + 1] : []));
  if (found.length !== 1) throw new Error(`marker ${marker} found ${found.length} times in ${moduleUrl}`);
  return `${relativePathOf(moduleUrl)}:${found[0]}`;
}

/** Asserts-friendly: true when `location` (path:line:col) is on `site` (path:line). */
export function isAt(location: string | null | undefined, site: string): boolean {
  return typeof location === 'string' && location.startsWith(`${site}:`);
}

/** A fixed wait: only where the wait itself is the subject and there is no event to wait for (say why where used). */
export function sleep(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis));
}
