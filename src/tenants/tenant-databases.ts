import { TenantPoolError, messageOf } from '../errors.js';
import { tenantDatabaseName } from './tenant-id.js';
import { dropDatabase, serverVersionNumber } from '../postgres/database-drop.js';
import { quoteIdentifier } from '../postgres/identifier-quoting.js';
import type { TenantPgPool } from './tenant-pools-config.js';
import type { TenantPoolsContext } from './tenant-pools-context.js';
import { assertOpen, createPool, noop } from './tenant-pools-context.js';
import type { PoolView } from './tenant-pg-view.js';
import { view } from './tenant-pg-view.js';
import { closeTenant } from './tenant-pool-closing.js';
import { errorCode } from './tenant-connection-failure.js';

/** What `ensureDatabase()` / `dropDatabase()` did. */
export interface TenantDatabaseResult {
  readonly tenantId: string;
  readonly database: string;
  /** True when the database was created (ensure) or dropped (drop); false when there was nothing to do. */
  readonly changed: boolean;
}

/**
 * Tenant databases: CREATE DATABASE / DROP DATABASE through the system pool or an admin pool, serialised per tenant.
 */
export class TenantDatabases<P extends TenantPgPool> {
  readonly #ctx: TenantPoolsContext<P>;
  readonly #system: P;
  #admin: P | undefined;
  /** Database operations in flight, per tenant (serialised). */
  readonly #databaseOps = new Map<string, Promise<unknown>>();
  readonly #dropping = new Map<string, Promise<unknown>>();
  #serverVersion: Promise<number> | undefined;

  constructor(ctx: TenantPoolsContext<P>, system: P) {
    this.#ctx = ctx;
    this.#system = system;
  }

  /** The admin pool, once `adminConnectionString` made one be opened. */
  get admin(): P | undefined {
    return this.#admin;
  }

  /** The drop of the tenant's database in flight, if any. */
  dropping(tenantId: string): Promise<unknown> | undefined {
    return this.#dropping.get(tenantId);
  }

  /** The database operations in flight. */
  pendingOps(): Promise<unknown>[] {
    return [...this.#databaseOps.values()];
  }

  /** `ensureDatabase()`: creates the tenant's database if it does not exist. */
  async ensure(tenantId: string): Promise<TenantDatabaseResult> {
    const ctx = this.#ctx;
    assertOpen(ctx, tenantId);
    const database = tenantDatabaseName(ctx.options.databasePrefix, tenantId);
    return this.#databaseOp(tenantId, async () => {
      assertOpen(ctx, tenantId);
      const admin = this.#adminPool();
      try {
        if (await this.#databaseExists(admin, database)) return { tenantId, database, changed: false };
        try {
          await admin.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
        } catch (error) {
          if (errorCode(error) === '42P04') return { tenantId, database, changed: false }; // created meanwhile elsewhere
          throw error;
        }
      } catch (error) {
        throw new TenantPoolError(
          'POOLSCOPE_ERR_TENANT_DATABASE_FAILED',
          tenantId,
          `Could not create database "${database}" for tenant "${tenantId}": ${messageOf(error)}. ` +
            'Check that the system (or admin) connection may CREATE DATABASE and that the server is up; the pg error is `cause`.',
          { cause: error },
        );
      }
      ctx.bus.emit({ type: 'tenant-database-created', tenantId, database });
      return { tenantId, database, changed: true };
    });
  }

  /** `dropDatabase()`: closes the tenant's pool, then drops its database. */
  async drop(tenantId: string): Promise<TenantDatabaseResult> {
    const ctx = this.#ctx;
    assertOpen(ctx, tenantId);
    const database = tenantDatabaseName(ctx.options.databasePrefix, tenantId);
    const op = this.#databaseOp(tenantId, async () => {
      assertOpen(ctx, tenantId);
      await closeTenant(ctx, tenantId, 'dropped');
      const admin = this.#adminPool();
      let existed: boolean;
      try {
        existed = await this.#databaseExists(admin, database);
        if (existed) await this.#dropDatabase(admin, database);
      } catch (error) {
        throw new TenantPoolError(
          'POOLSCOPE_ERR_TENANT_DATABASE_FAILED',
          tenantId,
          `Could not drop database "${database}" of tenant "${tenantId}": ${messageOf(error)}. ` +
            'Check that the system (or admin) connection owns the database (or is a superuser) and that no other ' +
            'application keeps reconnecting to it; the pg error is `cause`.',
          { cause: error },
        );
      }
      if (existed) ctx.bus.emit({ type: 'tenant-database-dropped', tenantId, database });
      return { tenantId, database, changed: existed };
    });
    this.#dropping.set(tenantId, op);
    try {
      return await op;
    } finally {
      if (this.#dropping.get(tenantId) === op) this.#dropping.delete(tenantId);
    }
  }

  #adminPool(): PoolView {
    const options = this.#ctx.options;
    const adminUrl = options.adminConnectionString;
    if (adminUrl === undefined) return view(this.#system);
    this.#admin ??= createPool(options, {
      connectionString: adminUrl,
      max: 1,
      idleTimeoutMillis: 1000,
      connectionTimeoutMillis: options.connectionTimeoutMillis,
    });
    return view(this.#admin);
  }

  async #databaseExists(admin: PoolView, database: string): Promise<boolean> {
    const result = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])) as { rowCount: number | null };
    return (result.rowCount ?? 0) > 0;
  }

  async #dropDatabase(admin: PoolView, database: string): Promise<void> {
    this.#serverVersion ??= serverVersionNumber(admin);
    const version = await this.#serverVersion.catch((error: unknown) => {
      this.#serverVersion = undefined;
      throw error;
    });
    await dropDatabase(admin, database, version);
  }

  /** Runs database operations of one tenant one after another. */
  #databaseOp<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#databaseOps.get(tenantId) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const settled = result.then(noop, noop);
    this.#databaseOps.set(tenantId, settled);
    settled.then(() => {
      if (this.#databaseOps.get(tenantId) === settled) this.#databaseOps.delete(tenantId);
    }, noop);
    return result;
  }
}
