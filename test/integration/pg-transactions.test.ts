// withClient / withTransaction and transaction-depth tracking on a real PostgreSQL, asserted on what a user sees:
// return values, the very error objects rethrown, rows visible (or not) from another connection, the server's
// settings inside the transaction, and the depth and status in the pool's snapshot.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import {
  type Inspector,
  OptionsError,
  savepointDepth,
  trackPgPool,
  TransactionRollbackError,
  withClient,
  withTransaction,
} from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { collect, eventually, TestResources } from '../support/pg-test-kit.js';

let db: TestDatabase;
const res = new TestResources();

before(async () => {
  db = await createTestDatabase('transactions');
  const setup = await res.client(db.url);
  await setup.query('CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)');
  await setup.query('CREATE TABLE deferred_keys (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)');
  await res.closeAll();
});
afterEach(() => res.closeAll());
after(() => db?.drop());

// ---- helpers ---------------------------------------------------------------------------------------------------

/** A tracked pool named 'main'. */
function trackedPool(config: pg.PoolConfig = { max: 1 }): { pool: pg.Pool; inspector: Inspector } {
  const pool = res.pool(db.url, config);
  const inspector = res.inspector();
  trackPgPool(inspector, pool, { name: 'main' });
  return { pool, inspector };
}

/** The transaction status and depth of the only holder of 'main'. */
function txOf(inspector: Inspector): { status: string; depth: number | null } | undefined {
  const holders = inspector.snapshot('main').holders;
  assert.equal(holders.length, 1, 'exactly one holder');
  return holders[0]?.transaction;
}

/** Labels starting with `prefix`, as another connection sees them (committed data only). */
async function committedLabels(prefix: string): Promise<string[]> {
  const other = await res.client(db.url);
  const { rows } = await other.query<{ label: string }>('SELECT label FROM items WHERE label LIKE $1 ORDER BY id', [`${prefix}%`]);
  return rows.map((r) => r.label);
}

function insert(client: pg.PoolClient, label: string): Promise<unknown> {
  return client.query('INSERT INTO items (label) VALUES ($1)', [label]);
}

function pidOf(client: pg.PoolClient): number {
  return (client as unknown as { processID: number }).processID;
}

function isSame(expected: unknown): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.equal(error, expected, 'the very error object is rethrown');
    return true;
  };
}

// ---- withClient ------------------------------------------------------------------------------------------------

describe('types', () => {
  test('the client type is inferred from a pg.Pool (no annotation needed)', async () => {
    const { pool } = trackedPool();
    // These compile only if the callbacks receive pg.PoolClient (getTransactionStatus is not in poolscope's types).
    const outside = await withClient(pool, (client) => client.getTransactionStatus());
    const inside = await withTransaction(pool, (client) => client.getTransactionStatus());
    const nested = await withTransaction(pool, (client) => withTransaction(client, (sp) => sp.getTransactionStatus()));
    assert.deepEqual([outside, inside, nested], ['I', 'T', 'T']);
  });
});

describe('withClient', () => {
  test("returns fn's value and releases the client", async () => {
    const { pool, inspector } = trackedPool();
    const value = await withClient(pool, async (client: pg.PoolClient) => {
      assert.equal(inspector.stats('main').used, 1);
      assert.equal(pool.idleCount, 0);
      return (await client.query<{ n: number }>('SELECT 41 + 1 AS n')).rows[0]?.n;
    });
    assert.equal(value, 42);
    assert.equal(pool.idleCount, 1);
    assert.equal(pool.totalCount, 1);
    const stats = inspector.stats('main');
    assert.equal(stats.used, 0);
    assert.equal(stats.counters.releases, 1);
  });

  test('releases on a throw (async and sync) and rethrows the same error object; the client is reused', async () => {
    const { pool, inspector } = trackedPool();
    const boom = new Error('boom');
    let pid = 0;
    await assert.rejects(
      withClient(pool, async (client: pg.PoolClient) => {
        pid = pidOf(client);
        await client.query('SELECT 1');
        throw boom;
      }),
      isSame(boom),
    );
    assert.equal(pool.idleCount, 1);
    assert.equal(inspector.stats('main').used, 0);

    const syncBoom = new TypeError('sync boom');
    await assert.rejects(
      withClient(pool, () => {
        throw syncBoom;
      }),
      isSame(syncBoom),
    );
    assert.equal(pool.idleCount, 1);
    assert.equal(inspector.stats('main').used, 0);
    assert.equal(inspector.stats('main').counters.releases, 2);
    assert.equal(await withClient(pool, (client: pg.PoolClient) => pidOf(client)), pid, 'returned to the pool, not destroyed');
  });

  test('a non-function is refused before any checkout', async () => {
    const { pool, inspector } = trackedPool();
    await assert.rejects(withClient(pool, 'SELECT 1' as unknown as () => unknown), (error: unknown) => {
      assert.ok(error instanceof OptionsError);
      assert.equal(error.code, 'POOLSCOPE_ERR_OPTIONS_INVALID');
      return true;
    });
    assert.equal(pool.totalCount, 0);
    assert.equal(inspector.stats('main').counters.acquires, 0);
  });
});

// ---- withTransaction -------------------------------------------------------------------------------------------

describe('withTransaction on a pool', () => {
  test('commits: invisible to other connections inside, visible after; returns the value', async () => {
    const { pool, inspector } = trackedPool();
    const value = await withTransaction(pool, async (client: pg.PoolClient) => {
      await insert(client, 'commit-1');
      assert.deepEqual(await committedLabels('commit-'), [], 'not committed yet');
      assert.deepEqual(txOf(inspector), { status: 'in-transaction', depth: 1 });
      return 'done';
    });
    assert.equal(value, 'done');
    assert.deepEqual(await committedLabels('commit-'), ['commit-1']);
    assert.equal(pool.idleCount, 1);
    assert.equal(inspector.stats('main').used, 0);
  });

  test('rolls back on a throw and rethrows the same error; the client goes back clean', async () => {
    const { pool, inspector } = trackedPool();
    const dirty = collect(inspector, 'dirty-release');
    const boom = new Error('boom');
    await assert.rejects(
      withTransaction(pool, async (client: pg.PoolClient) => {
        await insert(client, 'rollback-1');
        throw boom;
      }),
      isSame(boom),
    );
    assert.deepEqual(await committedLabels('rollback-'), []);
    assert.equal(dirty.length, 0);
    assert.equal(pool.idleCount, 1);
    assert.equal(pool.totalCount, 1);
    await withClient(pool, async (client: pg.PoolClient) => {
      assert.equal(client.getTransactionStatus(), 'I');
      assert.deepEqual(txOf(inspector), { status: 'idle', depth: 0 });
    });
  });

  test("isolationLevel and readOnly apply on the server (SHOW inside); defaults don't", async () => {
    const { pool } = trackedPool();
    const show = (client: pg.PoolClient) =>
      client
        .query<{ iso: string; ro: string; def: string }>(
          `SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro,
                  current_setting('transaction_deferrable') AS def`,
        )
        .then((r) => r.rows[0]);
    assert.deepEqual(await withTransaction(pool, show), { iso: 'read committed', ro: 'off', def: 'off' });
    assert.deepEqual(await withTransaction(pool, show, { isolationLevel: 'serializable', readOnly: true }), {
      iso: 'serializable',
      ro: 'on',
      def: 'off',
    });
    assert.deepEqual(await withTransaction(pool, show, { isolationLevel: 'serializable', readOnly: true, deferrable: true }), {
      iso: 'serializable',
      ro: 'on',
      def: 'on',
    });
    assert.deepEqual(await withTransaction(pool, show, { isolationLevel: 'repeatable read', readOnly: false }), {
      iso: 'repeatable read',
      ro: 'off',
      def: 'off',
    });
    // SHOW gives the same answer, and read-only is enforced.
    await withTransaction(
      pool,
      async (client: pg.PoolClient) => {
        assert.deepEqual((await client.query('SHOW transaction_isolation')).rows, [{ transaction_isolation: 'serializable' }]);
        assert.deepEqual((await client.query('SHOW transaction_read_only')).rows, [{ transaction_read_only: 'on' }]);
        await assert.rejects(insert(client, 'readonly-1'), { code: '25006' });
      },
      { isolationLevel: 'serializable', readOnly: true },
    );
    assert.deepEqual(await committedLabels('readonly-'), []);
  });

  test('an invalid isolationLevel or readOnly is an OptionsError before any query', async () => {
    const { pool, inspector } = trackedPool();
    let called = false;
    const fn = async () => {
      called = true;
    };
    for (const [options, option] of [
      [{ isolationLevel: 'chaos' }, 'isolationLevel'],
      [{ isolationLevel: 'SERIALIZABLE' }, 'isolationLevel'],
      [{ isolationLevel: 'serializable; DROP TABLE items' }, 'isolationLevel'],
      [{ readOnly: 'yes' }, 'readOnly'],
      [{ deferrable: 1 }, 'deferrable'],
    ] as const) {
      await assert.rejects(withTransaction(pool, fn, options as never), (error: unknown) => {
        assert.ok(error instanceof OptionsError, String(error));
        assert.equal(error.code, 'POOLSCOPE_ERR_OPTIONS_INVALID');
        assert.equal(error.option, option);
        return true;
      });
    }
    assert.equal(called, false);
    assert.equal(pool.totalCount, 0, 'no connection was even opened');
    const stats = inspector.stats('main');
    assert.equal(stats.counters.acquires, 0);
    assert.equal(stats.counters.queries, 0);
  });
});

describe('nested withTransaction (savepoints)', () => {
  test("an inner throw caught by the outer keeps the outer's work and discards the inner's", async () => {
    const { pool } = trackedPool();
    const innerError = new Error('inner');
    await withTransaction(pool, async (client: pg.PoolClient) => {
      await insert(client, 'nest-outer');
      await assert.rejects(
        withTransaction(client, async (inner: pg.PoolClient) => {
          assert.equal(inner, client, 'the same client');
          await insert(inner, 'nest-inner-discarded');
          throw innerError;
        }),
        isSame(innerError),
      );
      await withTransaction(client, (inner: pg.PoolClient) => insert(inner, 'nest-inner-kept'));
      await insert(client, 'nest-after');
    });
    assert.deepEqual(await committedLabels('nest-'), ['nest-outer', 'nest-inner-kept', 'nest-after']);
  });

  test('depth in the snapshot is 1, 2, 3 and back; savepointDepth() counts the savepoints', async () => {
    const { pool, inspector } = trackedPool();
    const seen: [string, number | null | undefined, number][] = [];
    const mark = (label: string, client: pg.PoolClient) => seen.push([label, txOf(inspector)?.depth, savepointDepth(client)]);
    await withTransaction(pool, async (client: pg.PoolClient) => {
      mark('outer', client);
      await withTransaction(client, async () => {
        mark('inner', client);
        await withTransaction(client, async () => mark('third', client));
        mark('inner after third', client);
        await assert.rejects(
          withTransaction(client, async () => {
            mark('third again', client);
            throw new Error('third fails');
          }),
          /third fails/,
        );
        mark('inner after failed third', client);
      });
      mark('outer after inner', client);
      assert.equal(txOf(inspector)?.status, 'in-transaction');
    });
    assert.deepEqual(seen, [
      ['outer', 1, 0],
      ['inner', 2, 1],
      ['third', 3, 2],
      ['inner after third', 2, 1],
      ['third again', 3, 2],
      ['inner after failed third', 2, 1],
      ['outer after inner', 1, 0],
    ]);
    assert.equal(inspector.snapshot('main').holders.length, 0, 'released after commit');
  });

  test('on a held client: after commit the holder shows status idle, depth 0', async () => {
    const { pool, inspector } = trackedPool();
    await withClient(pool, async (client: pg.PoolClient) => {
      assert.deepEqual(txOf(inspector), { status: 'idle', depth: 0 });
      await withTransaction(client, async () => {
        assert.deepEqual(txOf(inspector), { status: 'in-transaction', depth: 1 });
        await withTransaction(client, async () => {
          assert.deepEqual(txOf(inspector), { status: 'in-transaction', depth: 2 });
        });
      });
      assert.deepEqual(txOf(inspector), { status: 'idle', depth: 0 });
      assert.equal(savepointDepth(client), 0);
      assert.equal(client.getTransactionStatus(), 'I');
    });
  });
});

// ---- raw SQL ---------------------------------------------------------------------------------------------------

describe('depth from raw SQL on a tracked pool', () => {
  async function walk(inspector: Inspector, client: pg.PoolClient, statements: string[]): Promise<[string, string, number][]> {
    const out: [string, string, number][] = [];
    for (const sql of statements) {
      await client.query(sql);
      const tx = txOf(inspector);
      out.push([sql, tx?.status ?? 'none', tx?.depth ?? -1]);
    }
    return out;
  }

  test('BEGIN, SAVEPOINT a, SAVEPOINT b, ROLLBACK TO SAVEPOINT a, RELEASE SAVEPOINT a, COMMIT', async () => {
    const { pool, inspector } = trackedPool();
    const client = await pool.connect();
    try {
      assert.deepEqual(
        await walk(inspector, client, [
          'BEGIN',
          'SAVEPOINT a',
          'SAVEPOINT b',
          'ROLLBACK TO SAVEPOINT a',
          'RELEASE SAVEPOINT a',
          'COMMIT',
        ]),
        [
          ['BEGIN', 'in-transaction', 1],
          ['SAVEPOINT a', 'in-transaction', 2],
          ['SAVEPOINT b', 'in-transaction', 3],
          ['ROLLBACK TO SAVEPOINT a', 'in-transaction', 2],
          ['RELEASE SAVEPOINT a', 'in-transaction', 1],
          ['COMMIT', 'idle', 0],
        ],
      );
    } finally {
      client.release();
    }
  });

  test('START TRANSACTION, lowercase, optional keywords, quoted names, END and ABORT', async () => {
    const { pool, inspector } = trackedPool();
    const client = await pool.connect();
    try {
      assert.deepEqual(
        await walk(inspector, client, [
          'START TRANSACTION ISOLATION LEVEL REPEATABLE READ',
          'savepoint x',
          'SAVEPOINT "Mixed Case"',
          'savepoint Y',
          'rollback to y',
          'release "Mixed Case"',
          'rollback transaction to savepoint x',
          'release savepoint X',
          'end',
          'begin',
          'savepoint z',
          'abort',
          '  start transaction',
          'commit',
        ]),
        [
          ['START TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'in-transaction', 1],
          ['savepoint x', 'in-transaction', 2],
          ['SAVEPOINT "Mixed Case"', 'in-transaction', 3],
          ['savepoint Y', 'in-transaction', 4],
          ['rollback to y', 'in-transaction', 4],
          ['release "Mixed Case"', 'in-transaction', 2],
          ['rollback transaction to savepoint x', 'in-transaction', 2],
          ['release savepoint X', 'in-transaction', 1],
          ['end', 'idle', 0],
          ['begin', 'in-transaction', 1],
          ['savepoint z', 'in-transaction', 2],
          ['abort', 'idle', 0],
          ['  start transaction', 'in-transaction', 1],
          ['commit', 'idle', 0],
        ],
      );
    } finally {
      client.release();
    }
  });

  test('a failed statement inside: status failed; ROLLBACK TO recovers; ROLLBACK: idle, depth 0', async () => {
    const { pool, inspector } = trackedPool();
    const dirty = collect(inspector, 'dirty-release');
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SAVEPOINT a');
      await assert.rejects(client.query('SELECT 1/0'), { code: '22012' });
      // pg settles the failure before the server's ReadyForQuery; poolscope predicts 'failed' (see the tests
      // below), and once pg has taken the ReadyForQuery (before it sends the next statement) it reads the same.
      await assert.rejects(client.query('SELECT 1'), { code: '25P02' });
      assert.equal(client.getTransactionStatus(), 'E');
      assert.deepEqual(txOf(inspector), { status: 'failed', depth: 2 });
      await client.query('ROLLBACK TO SAVEPOINT a');
      assert.deepEqual(txOf(inspector), { status: 'in-transaction', depth: 2 });
      await assert.rejects(client.query('SELECT * FROM no_such_table'), { code: '42P01' });
      await assert.rejects(client.query('SELECT 1'), { code: '25P02' });
      assert.deepEqual(txOf(inspector), { status: 'failed', depth: 2 });
      await client.query('ROLLBACK');
      assert.deepEqual(txOf(inspector), { status: 'idle', depth: 0 });
    } finally {
      client.release();
    }
    assert.equal(dirty.length, 0);
  });
});

describe('transaction status right after a failed statement (predicted by PostgreSQL rules)', () => {
  test('callback form: once pg reports E, the snapshot says failed', async () => {
    const { pool, inspector } = trackedPool();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const error = await new Promise<unknown>((resolve) => client.query('SELECT 1/0', (err) => resolve(err)));
      assert.equal((error as { code?: string }).code, '22012');
      await eventually(() => client.getTransactionStatus() === 'E', 'pg reports a failed transaction');
      assert.deepEqual(txOf(inspector), { status: 'failed', depth: 1 });
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  });

  test('promise form: once pg reports E, the snapshot says failed (20 fresh connections)', async () => {
    // Intermittent per connection (here about 1 in 5 fresh connections): it depends on whether the ErrorResponse
    // and the ReadyForQuery reach the client in one read.
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { pool, inspector } = trackedPool();
      const client = await pool.connect();
      await client.query('BEGIN');
      await client.query('SELECT 1/0').catch(() => undefined);
      await eventually(() => client.getTransactionStatus() === 'E', 'pg reports a failed transaction');
      seen.push(txOf(inspector)?.status ?? 'none');
      client.release(true);
      await res.closeAll();
    }
    assert.deepEqual(seen, Array.from({ length: 20 }, () => 'failed'));
  });

  test('a COMMIT that fails (deferred constraint), released in its callback, is not a dirty release', async () => {
    const { pool, inspector } = trackedPool();
    const dirty = collect(inspector, 'dirty-release');
    const client = await pool.connect();
    await client.query('BEGIN');
    await client.query('INSERT INTO deferred_keys (k) VALUES (1), (1)');
    const error = await new Promise<unknown>((resolve) =>
      client.query('COMMIT', (err) => {
        client.release(); // the transaction is over: the failed COMMIT rolled it back
        resolve(err);
      }),
    );
    assert.equal((error as { code?: string }).code, '23505');
    await eventually(() => client.getTransactionStatus() === 'I', 'pg reports the transaction over');
    assert.deepEqual(
      dirty.map((e) => e.message),
      [],
    );
  });

  test('withTransaction whose COMMIT fails is not a dirty release (20 fresh connections)', async () => {
    // Intermittent per connection (here more than half): withTransaction releases in its finally, a few microtasks
    // after the COMMIT's ErrorResponse, often before the ReadyForQuery.
    const reported: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { pool, inspector } = trackedPool();
      inspector.on('dirty-release', (e) => reported.push(e.message));
      await assert.rejects(
        withTransaction(pool, (client: pg.PoolClient) => client.query('INSERT INTO deferred_keys (k) VALUES (2), (2)')),
        { code: '23505' },
      );
      await res.closeAll();
    }
    assert.equal(reported.length, 0, `${reported.length} of 20 false dirty releases, e.g. ${reported[0]}`);
  });
});

// ---- rollback failure ------------------------------------------------------------------------------------------

describe('rollback failure', () => {
  test('backend killed inside withTransaction: TransactionRollbackError, cause is fn error, client destroyed', async () => {
    const admin = await res.client(db.url);
    const outcomes: Record<string, unknown> = {};
    let trackedInspector: Inspector | undefined;
    let trackedClientErrors = 0;
    for (const flavor of ['bare', 'tracked'] as const) {
      const pool = res.pool(db.url, { max: 1 });
      if (flavor === 'tracked') {
        trackedInspector = res.inspector();
        trackPgPool(trackedInspector, pool, { name: 'main' });
      }
      // pg-pool's own 'error' listener is only on idle clients; nothing here reaches the pool's 'error' (the client
      // dies while checked out), and this recorder proves it, for the bare pool as for the tracked one.
      const poolErrors: unknown[] = [];
      pool.on('error', (error) => poolErrors.push(error));
      const removed = new Promise<void>((resolve) => pool.once('remove', () => resolve()));
      const boom = new Error('fn failed after the backend was killed');
      let killedPid = 0;
      const clientErrors: string[] = [];

      const error = await withTransaction(pool, async (client: pg.PoolClient) => {
        await insert(client, `killed-${flavor}`);
        killedPid = pidOf(client);
        // A checked-out client has no 'error' listener (pg-pool removes its idle listener on checkout), so a
        // backend dying under it emits an unhandled 'error' and crashes the process, bare pool or tracked: the
        // application must listen on the client itself, as here.
        client.on('error', (e) => clientErrors.push(e.message));
        const ended = new Promise((resolve) => client.once('end', resolve));
        const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [killedPid]);
        assert.equal(rows[0]?.ok, true);
        await ended; // deterministic: the connection is gone before fn throws
        throw boom;
      }).then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );

      assert.ok(error instanceof TransactionRollbackError, String(error));
      assert.equal(error.code, 'POOLSCOPE_ERR_TRANSACTION_ROLLBACK_FAILED');
      assert.equal(error.cause, boom, 'cause is the very error fn threw');
      assert.ok(error.rollbackError instanceof Error);
      await removed;
      assert.equal(pool.totalCount, 0, 'the broken client was destroyed, not returned');
      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      assert.notEqual(rows[0]?.pid, killedPid, 'a new connection answers');
      assert.deepEqual(poolErrors, []);
      if (flavor === 'tracked') trackedClientErrors = clientErrors.length;
      outcomes[flavor] = {
        name: error.name,
        message: error.message,
        rollbackMessage: (error.rollbackError as Error).message,
        clientErrors,
      };
    }
    assert.deepEqual(outcomes.tracked, outcomes.bare, 'the helper behaves the same on a bare pool');
    // pg emits two 'error's on the dying client: the server's FATAL (no query was active), then the socket's end.
    assert.deepEqual((outcomes.bare as { clientErrors: string[] }).clientErrors, [
      'terminating connection due to administrator command',
      'Connection terminated unexpectedly',
    ]);
    assert.deepEqual(await committedLabels('killed-'), []);

    // The tracked pool counted each 'error' the dying client emitted, and one removal.
    assert.ok(trackedInspector !== undefined);
    const counters = trackedInspector.stats('main').counters;
    assert.equal(trackedClientErrors, 2);
    assert.equal(counters.errors, 2, "one per 'error' the client emitted");
    assert.equal(counters.removes, 1);
    assert.equal(counters.acquires, 2);
    assert.equal(counters.releases, 2);
  });
});
