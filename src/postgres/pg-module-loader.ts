import { PgUnavailableError } from '../errors.js';

/**
 * Loads `pg` on demand. It is an optional peer dependency: src/ never imports it statically, so loading poolscope
 * (or a subpath) never needs it; the features that create their own clients or pools load it here.
 */

/** The classes looked up in the loaded module. */
export type PgExportName = 'Client' | 'Pool';

/**
 * `await import('pg')`. Rejects with PgUnavailableError (code POOLSCOPE_ERR_PG_UNAVAILABLE) for `feature`, with
 * `missing` as its message (say what to install or pass instead), when the package cannot be loaded.
 */
export async function importPg(feature: string, missing: string): Promise<unknown> {
  try {
    return await import('pg');
  } catch (error) {
    throw new PgUnavailableError(feature, missing, { cause: error });
  }
}

/** pg's namespace in a loaded module: its CommonJS default export when there is one, else the module itself. */
export function pgNamespaceOf(loaded: unknown): unknown {
  const module = loaded as { default?: unknown } | null | undefined;
  return module?.default ?? module;
}

/** A class of a loaded `pg` module (on the module or on its default export), or undefined. */
export function pgExportOf(loaded: unknown, name: PgExportName): unknown {
  const module = loaded as Partial<Record<PgExportName, unknown>> & { default?: Partial<Record<PgExportName, unknown>> } | null | undefined;
  const found = module?.[name] ?? module?.default?.[name];
  return typeof found === 'function' ? found : undefined;
}

/** What a feature says when `pg` is missing, and when the module has no such class. */
export interface PgNeed {
  readonly feature: string;
  readonly missing: string;
  readonly noExport: string;
}

/** Loads `pg` and returns its `name` class; PgUnavailableError (with `need`'s messages) when either fails. */
export async function loadPgExport(name: PgExportName, need: PgNeed): Promise<unknown> {
  const found = pgExportOf(await importPg(need.feature, need.missing), name);
  if (found === undefined) throw new PgUnavailableError(need.feature, need.noExport);
  return found;
}
