import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Lease } from '../../src/core/lease.js';
import { applyStatementToDepth, applyStatusToDepth } from '../../src/core/transaction-depth.js';

function freshLease(): Lease {
  return new Lease(1, 'p', undefined, undefined, 0);
}

/** Runs the statements on a fresh lease and returns it. */
function run(...statements: string[]): Lease {
  const lease = freshLease();
  for (const sql of statements) applyStatementToDepth(lease, sql);
  return lease;
}

describe('opening a transaction', () => {
  for (const sql of ['BEGIN', 'begin', 'Begin', 'BEGIN;', 'BEGIN ISOLATION LEVEL SERIALIZABLE', '  BEGIN', '\n\tbegin', 'START TRANSACTION', 'start transaction read only', 'start\n  transaction']) {
    test(`${JSON.stringify(sql)} opens depth 1`, () => {
      const lease = run(sql);
      assert.equal(lease.transactionDepth, 1);
    });
  }

  test('a new lease starts at depth 0 with no savepoints', () => {
    const lease = freshLease();
    assert.equal(lease.transactionDepth, 0);
    assert.equal(lease.savepoints, undefined);
    assert.equal(lease.transactionStatus, 'idle');
  });
});

describe('statements that do not change the depth', () => {
  for (const sql of [
    'SELECT 1',
    "select 'begin'",
    "INSERT INTO t VALUES ('commit')",
    'UPDATE t SET a = 1',
    'beginning_of_table',
    'SELECT * FROM savepoints',
    'release_notes',
    'endpoint',
    'abortive',
    'committed',
    '',
    '/* hi */ SELECT 1',
  ]) {
    test(`${JSON.stringify(sql)} leaves depth 0 outside a transaction and 1 inside`, () => {
      assert.equal(run(sql).transactionDepth, 0);
      const inside = run('BEGIN', sql);
      assert.equal(inside.transactionDepth, 1);
    });
  }

  test('SAVEPOINT outside a transaction is ignored (the server rejects it)', () => {
    const lease = run('SAVEPOINT a');
    assert.equal(lease.transactionDepth, 0);
    assert.equal(lease.savepoints, undefined);
  });
});

describe('savepoints', () => {
  test('SAVEPOINT adds one level per savepoint', () => {
    const lease = run('BEGIN', 'SAVEPOINT a');
    assert.equal(lease.transactionDepth, 2);
    applyStatementToDepth(lease, 'savepoint b');
    assert.equal(lease.transactionDepth, 3);
    assert.deepEqual(lease.savepoints, ['a', 'b']);
  });

  test('RELEASE SAVEPOINT a and RELEASE a remove the savepoint', () => {
    assert.equal(run('BEGIN', 'SAVEPOINT a', 'RELEASE SAVEPOINT a').transactionDepth, 1);
    assert.equal(run('BEGIN', 'SAVEPOINT a', 'RELEASE a').transactionDepth, 1);
    assert.equal(run('BEGIN', 'SAVEPOINT a', 'release savepoint A').transactionDepth, 1, 'unquoted names fold to lower case');
  });

  test('ROLLBACK TO SAVEPOINT a keeps savepoint a (and unwinds the ones after it)', () => {
    const lease = run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT b', 'ROLLBACK TO SAVEPOINT a');
    assert.equal(lease.transactionDepth, 2);
    assert.deepEqual(lease.savepoints, ['a']);
    // a is still there: it can be released afterwards.
    applyStatementToDepth(lease, 'RELEASE SAVEPOINT a');
    assert.equal(lease.transactionDepth, 1);
  });

  test('ROLLBACK TO a (without SAVEPOINT) and ROLLBACK WORK TO SAVEPOINT a keep a', () => {
    assert.equal(run('BEGIN', 'SAVEPOINT a', 'ROLLBACK TO a').transactionDepth, 2);
    assert.equal(run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT b', 'ROLLBACK TO a').transactionDepth, 2);
    assert.equal(run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT b', 'ROLLBACK WORK TO SAVEPOINT a').transactionDepth, 2);
    assert.equal(run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT b', 'ABORT TO SAVEPOINT a').transactionDepth, 2);
  });

  test('RELEASE of an outer savepoint unwinds the inner ones too', () => {
    const lease = run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT b', 'SAVEPOINT c');
    assert.equal(lease.transactionDepth, 4);
    applyStatementToDepth(lease, 'RELEASE SAVEPOINT a');
    assert.equal(lease.transactionDepth, 1);
    assert.deepEqual(lease.savepoints, []);
  });

  test('RELEASE of a middle savepoint keeps the outer ones', () => {
    const lease = run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT b', 'SAVEPOINT c', 'RELEASE b');
    assert.equal(lease.transactionDepth, 2);
    assert.deepEqual(lease.savepoints, ['a']);
  });

  test('a repeated savepoint name refers to the newest one', () => {
    const lease = run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT a', 'RELEASE a');
    assert.equal(lease.transactionDepth, 2);
  });

  test('RELEASE or ROLLBACK TO of an unknown savepoint changes nothing', () => {
    assert.equal(run('BEGIN', 'SAVEPOINT a', 'RELEASE nope').transactionDepth, 2);
    assert.equal(run('BEGIN', 'SAVEPOINT a', 'ROLLBACK TO SAVEPOINT nope').transactionDepth, 2);
  });

  test('quoted savepoint names: SAVEPOINT "My Sp" opens a level', () => {
    const lease = run('BEGIN', 'SAVEPOINT "My Sp"');
    assert.equal(lease.transactionDepth, 2);
    assert.deepEqual(lease.savepoints, ['My Sp']);
  });

  test('quoted savepoint names: RELEASE SAVEPOINT "My Sp" closes it', () => {
    const lease = run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT "My Sp"');
    assert.equal(lease.transactionDepth, 3);
    applyStatementToDepth(lease, 'RELEASE SAVEPOINT "My Sp"');
    assert.equal(lease.transactionDepth, 2);
    assert.deepEqual(lease.savepoints, ['a']);
  });

  test('quoted savepoint names: ROLLBACK TO SAVEPOINT "x" keeps "x" and is not a full ROLLBACK', () => {
    const lease = run('BEGIN', 'SAVEPOINT "x"', 'SAVEPOINT y', 'ROLLBACK TO SAVEPOINT "x"');
    assert.equal(lease.transactionDepth, 2);
    assert.deepEqual(lease.savepoints, ['x']);
  });

  test('quoted savepoint names: ROLLBACK TO "x" (no SAVEPOINT keyword) stays in the transaction', () => {
    const lease = run('BEGIN', 'SAVEPOINT "x"', 'ROLLBACK TO "x"');
    assert.equal(lease.transactionDepth, 2, 'ROLLBACK TO "x" must not be read as a plain ROLLBACK');
  });

  test('quoted names keep their case and escaped quotes; unquoted ones fold to lower case', () => {
    const lease = run('BEGIN', 'SAVEPOINT "A""b"', 'SAVEPOINT Foo');
    assert.deepEqual(lease.savepoints, ['A"b', 'foo']);
    applyStatementToDepth(lease, 'RELEASE "foo"'); // "foo" is the folded Foo
    assert.equal(lease.transactionDepth, 2);
    applyStatementToDepth(lease, 'RELEASE a'); // a is not "A""b": unchanged
    assert.equal(lease.transactionDepth, 2);
  });
});

describe('closing a transaction', () => {
  for (const sql of ['COMMIT', 'commit;', 'END', 'end transaction', 'ROLLBACK', 'rollback work', 'ABORT', 'COMMIT AND NO CHAIN', '\n  COMMIT']) {
    test(`${JSON.stringify(sql)} returns to depth 0 and forgets the savepoints`, () => {
      const lease = run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT b', sql);
      assert.equal(lease.transactionDepth, 0);
      assert.equal(lease.savepoints, undefined);
    });
  }

  test('a new transaction after COMMIT starts at depth 1 with fresh savepoints', () => {
    const lease = run('BEGIN', 'SAVEPOINT a', 'COMMIT', 'BEGIN', 'SAVEPOINT b');
    assert.equal(lease.transactionDepth, 2);
    assert.deepEqual(lease.savepoints, ['b']);
  });
});

describe('server status corrections (applyStatusToDepth)', () => {
  test("'idle' resets the depth to 0 and forgets savepoints", () => {
    const lease = run('BEGIN', 'SAVEPOINT a');
    applyStatusToDepth(lease, 'idle');
    assert.equal(lease.transactionDepth, 0);
    assert.equal(lease.savepoints, undefined);
    assert.equal(lease.transactionStatus, 'idle');
  });

  test("'in-transaction' with depth 0 raises it to 1", () => {
    const lease = freshLease();
    applyStatusToDepth(lease, 'in-transaction');
    assert.equal(lease.transactionDepth, 1);
    assert.equal(lease.transactionStatus, 'in-transaction');
  });

  test("'failed' with depth 0 raises it to 1", () => {
    const lease = freshLease();
    applyStatusToDepth(lease, 'failed');
    assert.equal(lease.transactionDepth, 1);
    assert.equal(lease.transactionStatus, 'failed');
  });

  test("'in-transaction' keeps a deeper depth (savepoints) as it is", () => {
    const lease = run('BEGIN', 'SAVEPOINT a', 'SAVEPOINT b');
    applyStatusToDepth(lease, 'in-transaction');
    assert.equal(lease.transactionDepth, 3);
  });

  test("'unknown' records the status and leaves the depth alone", () => {
    const lease = run('BEGIN');
    applyStatusToDepth(lease, 'unknown');
    assert.equal(lease.transactionDepth, 1);
    assert.equal(lease.transactionStatus, 'unknown');
    const idle = freshLease();
    applyStatusToDepth(idle, 'unknown');
    assert.equal(idle.transactionDepth, 0);
  });
});
