import { OptionsError, TransactionRollbackError } from '../../errors.js';
import { guardedCheckout } from './pg-guarded-checkout.js';
import type { PgClientOf, PgConnectable, PgPoolClientLike, PgQueryable } from './pg-types.js';

/**
 * Checkout helpers that cannot leak: the client is released whatever happens, the transaction is rolled back on a
 * throw, and nesting on the same client uses savepoints. They work on any pg pool, tracked or not; when tracked,
 * poolscope follows the depth from the BEGIN / SAVEPOINT / RELEASE / ROLLBACK TO / COMMIT they send.
 *
 * They cannot crash the process either: while a helper lends a client out, the client has an `'error'` listener,
 * attached in pg's own hand-over callback (see pg-guarded-checkout.ts). A session that ends meanwhile (FATAL 57P01
 * from pg_terminate_backend, a server restart) is reported to the caller instead, and its connection is destroyed.
 */

/** Isolation levels accepted by `withTransaction` (sent as written; nothing else is). */
export const ISOLATION_LEVELS = ['read committed', 'repeatable read', 'serializable'] as const;
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number];

/** Options of an outermost transaction (ignored for a nested one, which is a savepoint). */
export interface TransactionOptions {
  readonly isolationLevel?: IsolationLevel;
  readonly readOnly?: boolean;
  readonly deferrable?: boolean;
}

/** Savepoint depth per client, kept on the client itself under a registered symbol (no module state). */
const DEPTH = Symbol.for('poolscope.pg.savepointDepth');

/**
 * Checks out a client, runs `fn` with it and releases it whatever happens. Resolves or rejects like `fn`, except
 * that when the client's session ended while `fn` ran (the client emitted `'error'`, e.g. FATAL 57P01 after
 * pg_terminate_backend) and `fn` itself resolved, it rejects with that session error. The broken connection is
 * released with the error, so pg-pool destroys it (likewise when `fn` rejects with a FATAL error).
 *
 * ```ts
 * const rows = await withClient(pool, async (client) => (await client.query('SELECT 1')).rows);
 * ```
 */
export async function withClient<P extends PgConnectable, T>(pool: P, fn: (client: PgClientOf<P>) => Promise<T> | T): Promise<T> {
  requireFunction(fn, 'withClient');
  const checkout = await guardedCheckout<PgClientOf<P> & PgPoolClientLike>(pool);
  let result: T;
  try {
    result = await fn(checkout.client);
  } catch (error) {
    checkout.release(sessionEndedBy(error));
    throw error;
  }
  const sessionError = checkout.sessionError;
  checkout.release();
  if (sessionError !== undefined) throw sessionError;
  return result;
}

/**
 * Runs `fn` in a transaction: BEGIN, then COMMIT when `fn` resolves, ROLLBACK when it throws (and rethrows).
 * - Given a pool: checks out a client, runs the transaction, releases the client (destroying it if ROLLBACK
 *   failed, so a broken transaction never returns to the pool). A client handed over still inside someone else's
 *   transaction (a dirty release) is rolled back first.
 * - Given a client already in a transaction (from an enclosing `withTransaction`): a SAVEPOINT, released on
 *   success and rolled back to on a throw, so an inner failure can be caught without losing the outer work.
 * - Given a client outside a transaction: BEGIN / COMMIT on it; the caller keeps (and releases) the client.
 *
 * Given a pool, a session that ends while the client is lent out (the client emits `'error'`) never crashes the
 * process: the connection is destroyed, and when it was the helper's own BEGIN / COMMIT / ROLLBACK that failed
 * because of it, the promise rejects with the session's error (FATAL 57P01, ...) rather than pg's "not queryable".
 * A rejection of `fn` is kept as it is (or as a TransactionRollbackError when ROLLBACK fails, as always). A session
 * that ends only after COMMIT succeeded does not undo the commit: the promise resolves.
 *
 * ```ts
 * await withTransaction(pool, async (tx) => {
 *   await tx.query('INSERT INTO orders ...');
 *   await withTransaction(tx, async (sp) => sp.query('INSERT INTO audit ...')); // savepoint
 * });
 * ```
 */
export function withTransaction<C extends PgPoolClientLike, T>(
  client: C,
  fn: (client: C) => Promise<T> | T,
  options?: TransactionOptions,
): Promise<T>;
export function withTransaction<P extends PgConnectable, T>(
  pool: P,
  fn: (client: PgClientOf<P>) => Promise<T> | T,
  options?: TransactionOptions,
): Promise<T>;
export async function withTransaction<T>(
  poolOrClient: PgConnectable | PgPoolClientLike,
  fn: (client: PgPoolClientLike) => Promise<T> | T,
  options: TransactionOptions = {},
): Promise<T> {
  requireFunction(fn, 'withTransaction');
  const beginStatement = begin(options);
  if (isClient(poolOrClient)) return runOnClient(poolOrClient, fn, beginStatement);
  const checkout = await guardedCheckout<PgPoolClientLike>(poolOrClient);
  const client = checkout.client;
  let fnRejected = false;
  const run = async (lent: PgPoolClientLike): Promise<T> => {
    try {
      return await fn(lent);
    } catch (error) {
      fnRejected = true;
      throw error;
    }
  };
  let result: T;
  try {
    // A fresh checkout belongs to no transaction. If a previous holder returned it inside one (a dirty release,
    // which poolscope reports), that stale transaction is rolled back so this one starts clean.
    if (inTransaction(client)) await client.query('ROLLBACK');
    result = await runOnClient(client, run, beginStatement);
  } catch (error) {
    // A failed ROLLBACK leaves the transaction open: destroy the connection rather than return it.
    checkout.release(error instanceof TransactionRollbackError ? error : sessionEndedBy(error));
    const sessionError = checkout.sessionError;
    if (!fnRejected && sessionError !== undefined) throw sessionError;
    throw error;
  }
  checkout.release();
  return result;
}

/** The savepoint depth poolscope's helpers opened on `client` (0 outside a nested withTransaction). */
export function savepointDepth(client: object): number {
  const depth = (client as Record<symbol, unknown>)[DEPTH];
  return typeof depth === 'number' ? depth : 0;
}

async function runOnClient<C extends PgPoolClientLike, T>(client: C, fn: (client: C) => Promise<T> | T, beginStatement: string): Promise<T> {
  if (inTransaction(client)) return runSavepoint(client, fn);
  await client.query(beginStatement);
  let result: T;
  try {
    result = await fn(client);
  } catch (error) {
    await rollback(client, 'ROLLBACK', error);
    throw error;
  }
  await client.query('COMMIT');
  return result;
}

async function runSavepoint<C extends PgPoolClientLike, T>(client: C, fn: (client: C) => Promise<T> | T): Promise<T> {
  const holder = client as unknown as Record<symbol, number>;
  const depth = savepointDepth(client) + 1;
  const name = `poolscope_sp_${depth}`;
  await client.query(`SAVEPOINT ${name}`);
  holder[DEPTH] = depth;
  try {
    let result: T;
    try {
      result = await fn(client);
    } catch (error) {
      await rollback(client, `ROLLBACK TO SAVEPOINT ${name}`, error);
      await client.query(`RELEASE SAVEPOINT ${name}`).catch(() => undefined);
      throw error;
    }
    await client.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } finally {
    holder[DEPTH] = depth - 1;
  }
}

async function rollback(client: PgQueryable, statement: string, cause: unknown): Promise<void> {
  try {
    await client.query(statement);
  } catch (rollbackError) {
    throw new TransactionRollbackError(cause, rollbackError);
  }
}

function inTransaction(client: object): boolean {
  const read = (client as { getTransactionStatus?: () => string | null }).getTransactionStatus;
  if (typeof read === 'function') {
    const status = read.call(client);
    if (status === 'T' || status === 'E') return true;
    if (status === 'I') return false;
  }
  return savepointDepth(client) > 0;
}

function isClient(value: PgConnectable | PgPoolClientLike): value is PgPoolClientLike {
  return typeof (value as { release?: unknown }).release === 'function';
}

function begin(options: TransactionOptions): string {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError('options', options, 'an object like { isolationLevel: "serializable" }');
  }
  const parts = ['BEGIN'];
  if (options.isolationLevel !== undefined) {
    if (!ISOLATION_LEVELS.includes(options.isolationLevel)) {
      throw new OptionsError('isolationLevel', options.isolationLevel, `one of ${ISOLATION_LEVELS.map((l) => `'${l}'`).join(', ')}`);
    }
    parts.push(`ISOLATION LEVEL ${options.isolationLevel.toUpperCase()}`);
  }
  if (options.readOnly !== undefined) {
    if (typeof options.readOnly !== 'boolean') throw new OptionsError('readOnly', options.readOnly, 'true or false');
    parts.push(options.readOnly ? 'READ ONLY' : 'READ WRITE');
  }
  if (options.deferrable !== undefined) {
    if (typeof options.deferrable !== 'boolean') throw new OptionsError('deferrable', options.deferrable, 'true or false');
    parts.push(options.deferrable ? 'DEFERRABLE' : 'NOT DEFERRABLE');
  }
  return parts.join(' ');
}

/**
 * `error` when it says the server ended the session (severity FATAL or PANIC: pg_terminate_backend, shutdown), so
 * the connection is released with it and destroyed; the 'error' pg emits for the closed socket may come only later.
 */
function sessionEndedBy(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  const severity = (error as { severity?: unknown }).severity;
  return severity === 'FATAL' || severity === 'PANIC' ? error : undefined;
}

function requireFunction(fn: unknown, helper: string): void {
  if (typeof fn !== 'function') throw new OptionsError('fn', fn, `a function (client) => Promise for ${helper}()`);
}
