import { messageOf, PoolPingError } from '../../errors.js';
import type { Lease, TransactionStatus } from '../../core/lease.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import type { PgClientInternal } from '../pg/pg-types.js';
import type { ClientWrappers, PgClientWrapperHost } from '../pg/pg-client-wrappers.js';
import { PgClientWrappers } from '../pg/pg-client-wrappers.js';
import { transactionStatusOf } from '../pg/pg-client-state.js';

/**
 * pg.Clients as the resources of a tarn pool (Knex on PostgreSQL keeps raw `pg.Client`s in tarn; a tarn pool of your
 * own may too). They are followed with the pg adapter's own client wrappers (src/adapters/pg/pg-client-wrappers.ts):
 * each client's `query` and `emit` (own properties, set once per client) report the lease's queries, its transaction
 * status and depth (BEGIN / SAVEPOINT / RELEASE / ROLLBACK TO / COMMIT, corrected by pg's status byte), and the
 * client's errors, leased or idle. A resource that is not shaped like a pg.Client is left alone.
 */
export class TarnPgResources {
  readonly #wrappers: PgClientWrappers;

  /** `adapter` tells the wrappers the pool's tracker (until attach: none), whether it detached, where errors go. */
  constructor(adapter: { tracker(): PoolTracker | undefined; detached(): boolean; report(error: unknown): void }) {
    const host: PgClientWrapperHost = {
      get tracker() {
        return adapter.tracker();
      },
      get detached() {
        return adapter.detached();
      },
      // tarn hands a resource over with no callback of the caller's around it: no query starts inside a hand-over.
      handover: undefined,
      report: (error) => adapter.report(error),
    };
    this.#wrappers = new PgClientWrappers(host);
  }

  /** Wraps `resource` (once) when it is a pg.Client; its record, else undefined. */
  observe(resource: unknown): ClientWrappers | undefined {
    return isPgClient(resource) ? this.#wrappers.wrap(resource) : undefined;
  }

  /** The backend pid of `resource` (PostgreSQL's session id), or null. */
  sessionIdOf(resource: unknown): number | null {
    const pid = isPgClient(resource) ? resource.processID : undefined;
    return typeof pid === 'number' ? pid : null;
  }

  /** The server's transaction status on `resource`, as pg last read it. */
  statusOf(resource: unknown): TransactionStatus {
    return isPgClient(resource) ? transactionStatusOf(resource) : 'unknown';
  }

  /** `lease` holds `resource` now (its queries are the lease's). */
  lend(record: ClientWrappers | undefined, lease: Lease): void {
    if (record !== undefined) record.lease = lease;
  }

  /** `resource` came back from `lease`: its queries are nobody's from now on. */
  giveBack(resource: unknown, lease: Lease): void {
    const record = this.observe(resource);
    if (record !== undefined && record.lease === lease) record.lease = undefined;
  }

  /**
   * Sends ROLLBACK on `resource`, untracked (no lease holds it any more), ahead of anything its next holder sends
   * (pg.Client runs its queries in order). `done` gets the error, if ROLLBACK failed.
   */
  rollback(resource: unknown, done: (error: unknown) => void): void {
    if (!isPgClient(resource)) return;
    try {
      resource.query('ROLLBACK', (error: unknown) => done(error ?? undefined));
    } catch (error) {
      done(error);
    }
  }

  /**
   * A dirty release (`onDirtyRelease: 'rollback'` or `'destroy'`): ROLLBACK is sent on the client before anything its
   * next holder sends. `'destroy'` also marks the resource for destruction when the pool can do that (`dispose`:
   * Knex's validation drops it at its next checkout); tarn alone cannot destroy one resource, so there it is rolled
   * back. A failed ROLLBACK disposes of it where possible and is reported through `failed`.
   */
  cleanUpDirty(
    resource: unknown,
    destroy: boolean,
    dispose: ((resource: unknown, reason: string) => void) | undefined,
    failed: (message: string) => void,
  ): void {
    if (destroy && dispose !== undefined) dispose(resource, 'poolscope: connection released inside a transaction');
    this.rollback(resource, (error) => {
      if (error === undefined) return;
      dispose?.(resource, 'poolscope: ROLLBACK after a dirty release failed');
      failed(`ROLLBACK after a dirty release failed: ${messageOf(error)}`);
    });
  }

  /** `SELECT 1` on `resource` (readiness), untracked. */
  ping(resource: unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!isPgClient(resource)) {
        reject(new PoolPingError('POOLSCOPE_ERR_POOL_PING_FAILED', "the pool's resource is not a pg.Client (resourceKind 'pg')"));
        return;
      }
      resource.query('SELECT 1', (error: unknown) => (error ? reject(error) : resolve()));
    });
  }

  /** The pool destroyed `resource`: forget it. */
  forget(resource: unknown): void {
    if (isPgClient(resource)) this.#wrappers.forget(resource);
  }

  /** Puts back every client's own `query` and `emit`. */
  unwrapAll(): void {
    this.#wrappers.unwrapAll();
  }
}

/** A pg.Client (or anything with its `query` and `emit`). */
function isPgClient(value: unknown): value is PgClientInternal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<PgClientInternal>).query === 'function' &&
    typeof (value as Partial<PgClientInternal>).emit === 'function'
  );
}
