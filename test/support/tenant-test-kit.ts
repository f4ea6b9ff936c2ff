/**
 * The harness of the TenantPools integration files: a test database, an admin connection, TenantPools instances
 * closed (bounded) after the file, and the file's tenant databases (a per-file prefix, so files can run in
 * parallel) counted and dropped through pg_database / pg_stat_activity.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TenantPoolError } from '../../src/errors.js';
import { dropDatabase } from '../../src/postgres/database-drop.js';
import { TenantPools } from '../../src/tenants/tenant-pools.js';
import type { TenantPoolsOptions } from '../../src/tenants/tenant-pools-config.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export class TenantTestKit {
  /** Prefix of this file's tenant databases: `pst_<tag>_<6 hex>_`. */
  readonly prefix: string;
  readonly #label: string;
  readonly #defaults: Partial<TenantPoolsOptions<pg.Pool>>;
  readonly #instances: TenantPools<pg.Pool>[] = [];
  #db: TestDatabase | undefined;
  #admin: pg.Client | undefined;

  constructor(label: string, tag: string, defaults: Partial<TenantPoolsOptions<pg.Pool>> = {}) {
    this.prefix = `pst_${tag}_${randomBytes(3).toString('hex')}_`;
    this.#label = label;
    this.#defaults = defaults;
  }

  get db(): TestDatabase {
    assert.ok(this.#db, 'setup() first');
    return this.#db;
  }

  get admin(): pg.Client {
    assert.ok(this.#admin, 'setup() first');
    return this.#admin;
  }

  /** From before(): the test database and the admin connection. */
  async setup(): Promise<void> {
    this.#db = await createTestDatabase(this.#label);
    this.#admin = new pg.Client({ connectionString: this.#db.adminUrl });
    this.#admin.on('error', () => undefined);
    await this.#admin.connect();
  }

  /** From after(): closes every instance (bounded: a failed test may have left a lease out), drops everything. */
  async teardown(): Promise<void> {
    const bounded = (promise: Promise<void>): Promise<unknown> =>
      Promise.race([promise.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    for (const tenants of this.#instances.splice(0)) await bounded(tenants.close());
    if (this.#admin !== undefined) {
      await this.dropTenantDatabases().catch(() => undefined);
      await this.#admin.end().catch(() => undefined);
    }
    await this.#db?.drop();
  }

  /** A TenantPools on the test server with this file's prefix and defaults; closed by teardown(). */
  tenantPools(options: Partial<TenantPoolsOptions<pg.Pool>> = {}): TenantPools<pg.Pool> {
    const tenants = new TenantPools<pg.Pool>({
      Pool: pg.Pool,
      connectionString: this.db.url,
      databasePrefix: this.prefix,
      ...this.#defaults,
      ...options,
    });
    this.#instances.push(tenants);
    return tenants;
  }

  /** Server sessions connected to this file's tenant databases. */
  async tenantSessions(): Promise<number> {
    const result = await this.admin.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE left(datname, length($1)) = $1 AND pid <> pg_backend_pid()',
      [this.prefix],
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  /** Server sessions connected to one database. */
  async sessionsOf(database: string): Promise<number> {
    const result = await this.admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [database]);
    return Number(result.rows[0]?.n ?? 0);
  }

  async tenantDatabases(): Promise<string[]> {
    const result = await this.admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1 ORDER BY datname',
      [this.prefix],
    );
    return result.rows.map((row) => row.datname);
  }

  async dropTenantDatabases(): Promise<void> {
    for (const name of await this.tenantDatabases()) {
      await dropDatabase(this.admin, name);
    }
  }
}

/** For assert.rejects/throws: a TenantPoolError with this code (and whatever `check` asserts). */
export function isTenantError(code: string, check?: (error: TenantPoolError) => void): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof TenantPoolError, `expected a TenantPoolError, got ${String(error)}`);
    assert.equal(error.code, code);
    check?.(error);
    return true;
  };
}
