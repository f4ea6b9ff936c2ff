import { PgUnavailableError } from '../errors.js';

/**
 * Loads `pg.Pool` on demand (`pg` is an optional peer dependency: src/ never imports it statically). The same
 * loading as src/demo/demo-database.ts `loadPg()`, kept here so src/testing does not depend on the demo.
 */

/** What the test helpers need of a pool constructor: `new Pool(config)`, as `pg.Pool` is. */
export type PgPoolConstructor<P> = new (config: Record<string, unknown>) => P;

/** `pg.Pool`, from `await import('pg')` (CommonJS default export or named export). */
export async function loadPgPool<P>(): Promise<PgPoolConstructor<P>> {
  let loaded: unknown;
  try {
    loaded = await import('pg');
  } catch (error) {
    throw new PgUnavailableError(
      'poolscope/testing',
      "poolscope/testing needs the 'pg' package to create pools: npm install --save-dev pg, or pass { Pool }.",
      { cause: error },
    );
  }
  const module = loaded as { Pool?: unknown; default?: { Pool?: unknown } } | null;
  const Pool = module?.default?.Pool ?? module?.Pool;
  if (typeof Pool !== 'function') {
    throw new PgUnavailableError('poolscope/testing', "poolscope/testing loaded 'pg' but found no Pool class in it; pass { Pool }.");
  }
  return Pool as PgPoolConstructor<P>;
}
