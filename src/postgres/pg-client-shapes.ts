/**
 * What poolscope uses of node-postgres's clients and pools, structurally: any object of these shapes works, and `pg`
 * is never imported at runtime (it is an optional peer dependency). The one set the folders above share (server,
 * config, tenants, testing, provisioning, the CLI); the pg adapter's own wrapping views are in
 * src/adapters/pg/pg-types.ts.
 */

/** Anything that runs SQL: a pg.Pool, a connected pg.Client, a checked-out pg.PoolClient. */
export interface PgSqlRunner {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** A runner whose answers carry their rows (pg's QueryResult). */
export interface PgRowsRunner extends PgSqlRunner {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A client of one's own (`new pg.Client(config)`): connected, queried, ended. */
export interface PgClientLike extends PgRowsRunner {
  connect(): Promise<unknown>;
  end(): Promise<unknown>;
}

/** A pg.Pool as ending it needs: its client count, `end()`, and the `'remove'` event of each closed client. */
export interface PgEndablePool {
  readonly totalCount: number;
  end(): Promise<void>;
  on(event: 'remove', listener: (client: unknown) => void): unknown;
  removeListener(event: 'remove', listener: (client: unknown) => void): unknown;
}

/** The SQLSTATE of a pg error (`error.code`), or null. */
export function sqlStateOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : null;
}
