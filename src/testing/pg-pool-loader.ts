import { loadPgExport } from '../postgres/pg-module-loader.js';

/** Loads `pg.Pool` on demand (`pg` is an optional peer dependency: src/ never imports it statically). */

/** What the test helpers need of a pool constructor: `new Pool(config)`, as `pg.Pool` is. */
export type PgPoolConstructor<P> = new (config: Record<string, unknown>) => P;

/** `pg.Pool`, from `await import('pg')` (CommonJS default export or named export). */
export async function loadPgPool<P>(): Promise<PgPoolConstructor<P>> {
  return (await loadPgExport('Pool', {
    feature: 'poolscope/testing',
    missing: "poolscope/testing needs the 'pg' package to create pools: npm install --save-dev pg, or pass { Pool }.",
    noExport: "poolscope/testing loaded 'pg' but found no Pool class in it; pass { Pool }.",
  })) as PgPoolConstructor<P>;
}
