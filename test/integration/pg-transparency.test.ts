// Transparency of the pg adapter on a real PostgreSQL: the same steps run on a bare pg.Pool and on a tracked one,
// and what the user gets (results, errors, counters, events, callbacks) is compared. Then what tracking adds and
// what close() / untrack() take away again: listeners, own properties, timers.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import pg from 'pg';
import { Inspector, PoolscopeError, trackPgPool } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TestResources } from '../support/pg-test-kit.js';

let db: TestDatabase;
const res = new TestResources();

before(async () => {
  db = await createTestDatabase('transparency');
});
afterEach(() => res.closeAll());
after(() => db?.drop());

// ---- helpers ---------------------------------------------------------------------------------------------------

type Flavor = 'bare' | 'tracked';

/**
 * Runs `scenario` on a bare pool, then on a tracked one (same config, same database), one after the other, and
 * returns both outcomes and the tracked pool's inspector.
 */
async function onBoth<T>(
  config: pg.PoolConfig,
  scenario: (pool: pg.Pool, flavor: Flavor) => Promise<T>,
): Promise<{ bare: T; tracked: T; inspector: Inspector }> {
  const bare = await scenario(res.pool(db.url, config), 'bare');
  const pool = res.pool(db.url, config);
  const inspector = res.inspector();
  trackPgPool(inspector, pool, { name: 'tracked' });
  const tracked = await scenario(pool, 'tracked');
  return { bare, tracked, inspector };
}

/** What a user can read off an error: class, name, message and pg's fields. */
function errorShape(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { isError: false, value: String(error) };
  const e = error as Error & { code?: unknown; severity?: unknown; position?: unknown; routine?: unknown };
  return {
    isError: true,
    class: e.constructor.name,
    name: e.name,
    message: e.message,
    code: e.code,
    severity: e.severity,
    position: e.position,
    routine: e.routine,
  };
}

/** What a user can read off a result (no timing, no parser internals). */
function resultShape(result: pg.QueryResult | pg.QueryArrayResult | undefined): Record<string, unknown> | undefined {
  if (result === undefined) return undefined;
  return {
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    fields: result.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
  };
}

async function settled<T>(promise: Promise<T>, shape: (value: T) => unknown = (v) => v): Promise<unknown> {
  try {
    return { ok: true, value: shape(await promise) };
  } catch (error) {
    return { ok: false, error: errorShape(error) };
  }
}

/** Calls a callback-style API and records what it returned and the error and result the callback got. */
function viaCallback(call: (cb: (err: unknown, result?: pg.QueryResult) => void) => unknown): Promise<unknown> {
  return new Promise((resolve) => {
    let returned: unknown = 'not yet';
    returned = call((err, result) => {
      resolve({
        returned: typeof returned,
        err: err === undefined ? 'undefined' : err === null ? 'null' : errorShape(err),
        result: resultShape(result),
      });
    });
  });
}

/** How a callback-style API calls its callback: how many arguments, and with which `this`. */
function callShape(call: (cb: (...args: unknown[]) => void) => unknown): Promise<{ argCount: number; thisIs: string }> {
  return new Promise((resolve) => {
    call(function (this: unknown, ...args: unknown[]) {
      const thisIs = this === undefined ? 'undefined' : ((this as object).constructor?.name ?? typeof this);
      resolve({ argCount: args.length, thisIs });
    });
  });
}

function syncThrow(fn: () => unknown): unknown {
  try {
    const value = fn();
    return { threw: false, returned: typeof value };
  } catch (error) {
    return { threw: true, error: errorShape(error) };
  }
}

function counts(pool: pg.Pool): { total: number; idle: number; waiting: number } {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}

function nextRemove(pool: pg.Pool): Promise<void> {
  return new Promise((resolve) => pool.once('remove', () => resolve()));
}

function hasCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof PoolscopeError, `expected a PoolscopeError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

const SERIES = 'SELECT g AS n, $1::text AS label FROM generate_series(1, 3) AS g';

// ---- behaviour unchanged ----------------------------------------------------------------------------------------

describe('pool.query', () => {
  test('promise form: rows, rowCount, fields; parameters; syntax error and undefined table', async () => {
    const { bare, tracked } = await onBoth({ max: 2 }, async (pool) => ({
      plain: await settled(pool.query('SELECT 1 AS one, 2::int8 AS two'), resultShape),
      params: await settled(pool.query(SERIES, ['x']), resultShape),
      syntax: await settled(pool.query('SELEC 1'), resultShape),
      undefinedTable: await settled(pool.query('SELECT * FROM no_such_table'), resultShape),
      badParam: await settled(pool.query('SELECT $1::int AS n', ['not a number']), resultShape),
    }));
    assert.deepEqual(tracked, bare);
    // And the outcome is what pg says it is (the comparison is not of two equal failures).
    assert.deepEqual(bare.params, {
      ok: true,
      value: {
        command: 'SELECT',
        rowCount: 3,
        rows: [
          { n: 1, label: 'x' },
          { n: 2, label: 'x' },
          { n: 3, label: 'x' },
        ],
        fields: [
          { name: 'n', dataTypeID: 23 },
          { name: 'label', dataTypeID: 25 },
        ],
      },
    });
    assert.equal((bare.syntax as { error: { code: string } }).error.code, '42601');
    assert.equal((bare.undefinedTable as { error: { code: string; isError: boolean } }).error.code, '42P01');
    assert.equal((bare.undefinedTable as { error: { isError: boolean } }).error.isError, true);
    assert.equal((bare.undefinedTable as { error: { class: string } }).error.class, 'DatabaseError');
  });

  test('callback form: (text, cb) and (text, values, cb), success and error', async () => {
    const { bare, tracked } = await onBoth({ max: 2 }, async (pool) => ({
      text: await viaCallback((cb) => pool.query('SELECT 1 AS one', cb)),
      values: await viaCallback((cb) => pool.query(SERIES, ['y'], cb)),
      textError: await viaCallback((cb) => pool.query('SELECT * FROM no_such_table', cb)),
      valuesError: await viaCallback((cb) => pool.query('SELECT $1::int AS n', ['nope'], cb)),
      okCall: await callShape((cb) => pool.query('SELECT 1', cb)),
      errorCall: await callShape((cb) => pool.query('SELECT * FROM no_such_table', [], cb)),
    }));
    assert.deepEqual(tracked, bare);
    assert.equal((bare.text as { returned: string }).returned, 'undefined');
    assert.equal((bare.text as { err: string }).err, 'undefined');
    assert.equal((bare.textError as { err: { code: string } }).err.code, '42P01');
  });

  test('a function as the first argument is refused the same way', async () => {
    const { bare, tracked } = await onBoth({ max: 1 }, async (pool) =>
      settled((pool.query as unknown as (fn: () => void) => Promise<unknown>)(() => undefined)),
    );
    assert.deepEqual(tracked, bare);
  });
});

describe('pool.connect', () => {
  test('promise form: client.query promise and callback forms, config object with rowMode, query(null), release', async () => {
    const { bare, tracked } = await onBoth({ max: 2 }, async (pool) => {
      const client = await pool.connect();
      const out = {
        promise: await settled(client.query(SERIES, ['p']), resultShape),
        promiseError: await settled(client.query('SELEC 1'), resultShape),
        callback: await viaCallback((cb) => client.query('SELECT 1 AS one', cb)),
        callbackValues: await viaCallback((cb) => client.query(SERIES, ['c'], cb)),
        callbackError: await viaCallback((cb) => client.query('SELECT * FROM no_such_table', [], cb)),
        arrayMode: await settled(client.query({ text: SERIES, values: ['a'], rowMode: 'array' }), resultShape),
        nullQuery: syncThrow(() => (client.query as unknown as (q: null) => unknown)(null)),
        undefinedQuery: syncThrow(() => (client.query as unknown as (q: undefined) => unknown)(undefined)),
        afterThrowStillWorks: await settled(client.query('SELECT 7 AS seven'), resultShape),
        beforeRelease: counts(pool),
        releaseReturned: typeof client.release(),
        afterRelease: counts(pool),
      };
      return out;
    });
    assert.deepEqual(tracked, bare);
    assert.deepEqual((bare.arrayMode as { value: { rows: unknown } }).value.rows, [
      [1, 'a'],
      [2, 'a'],
      [3, 'a'],
    ]);
    assert.deepEqual(bare.nullQuery, {
      threw: true,
      error: errorShape(new TypeError('Client was passed a null or undefined query')),
    });
    assert.deepEqual(bare.afterRelease, { total: 1, idle: 1, waiting: 0 });
  });

  test('callback form: (err, client, done), done is client.release, done() returns the client', async () => {
    const { bare, tracked } = await onBoth({ max: 2 }, async (pool) => {
      const got = await new Promise<{ returned: string; argCount: number; err: unknown; done: () => void; client: pg.PoolClient }>(
        (resolve) => {
          let returned: unknown = 'not yet';
          returned = pool.connect((...args: unknown[]) => {
            const [err, client, done] = args as [Error | undefined, pg.PoolClient, () => void];
            resolve({ returned: typeof returned, argCount: args.length, err, done, client });
          });
        },
      );
      const out = {
        returned: got.returned,
        argCount: got.argCount,
        err: got.err === undefined ? 'undefined' : errorShape(got.err),
        doneIsRelease: got.done === got.client.release,
        query: await settled(got.client.query('SELECT 1 AS one'), resultShape),
        queryCallback: await viaCallback((cb) => got.client.query('SELECT $1::text AS v', ['cb'], cb)),
        doneReturned: typeof got.done(),
        afterDone: counts(pool),
        // the second checkout through the callback form reuses the idle client; release it with client.release()
        second: await new Promise<unknown>((resolve) => {
          pool.connect((err, client) => {
            if (err || client === undefined) return resolve({ err: errorShape(err) });
            const same = client === got.client;
            client.release();
            resolve({ same, after: counts(pool) });
          });
        }),
      };
      return out;
    });
    assert.deepEqual(tracked, bare);
    assert.equal(bare.doneIsRelease, true);
    assert.deepEqual(bare.second, { same: true, after: { total: 1, idle: 1, waiting: 0 } });
  });

  test('connect() after pool.end() fails the same way in both forms', async () => {
    const { bare, tracked } = await onBoth({ max: 1 }, async (pool) => {
      await pool.end();
      return {
        promise: await settled(pool.connect()),
        callback: await new Promise((resolve) => {
          pool.connect((err, client) => resolve({ err: errorShape(err), client: typeof client }));
        }),
        query: await settled(pool.query('SELECT 1')),
      };
    });
    assert.deepEqual(tracked, bare);
    assert.deepEqual((bare.promise as { error: { message: string } }).error.message, 'Cannot use a pool after calling end on the pool');
  });
});

describe('callback calls', () => {
  test('client.query and pool.connect call their callbacks with the same arguments and this', async () => {
    const { bare, tracked } = await onBoth({ max: 1 }, async (pool) => {
      const client = await pool.connect();
      const out = {
        queryOk: await callShape((cb) => client.query('SELECT 1', cb)),
        queryError: await callShape((cb) => client.query('SELECT * FROM no_such_table', cb)),
        queryValuesError: await callShape((cb) => client.query('SELECT $1::int', ['nope'], cb)),
      };
      client.release();
      await pool.end();
      return { ...out, connectAfterEnd: await callShape((cb) => pool.connect(cb)) };
    });
    assert.deepEqual(bare, {
      queryOk: { argCount: 2, thisIs: 'Query' },
      queryError: { argCount: 1, thisIs: 'Query' },
      queryValuesError: { argCount: 1, thisIs: 'Query' },
      connectAfterEnd: { argCount: 1, thisIs: 'undefined' },
    });
    assert.deepEqual(tracked, bare);
  });
});

describe('release', () => {
  test('release(new Error) and release(true) destroy the client: same counts and a remove event', async () => {
    const { bare, tracked } = await onBoth({ max: 2 }, async (pool) => {
      const removes: number[] = [];
      pool.on('remove', () => removes.push(removes.length + 1));
      const a = await pool.connect();
      const b = await pool.connect();
      const aPid = (a as unknown as { processID: number }).processID;
      const removedA = nextRemove(pool);
      a.release(new Error('x'));
      const afterErrorSync = counts(pool);
      await removedA;
      const afterError = counts(pool);
      const removedB = nextRemove(pool);
      b.release(true);
      await removedB;
      const afterTrue = counts(pool);
      const c = await pool.connect();
      const fresh = (c as unknown as { processID: number }).processID !== aPid;
      c.release();
      return { afterErrorSync, afterError, afterTrue, removes: removes.length, fresh, end: counts(pool) };
    });
    assert.deepEqual(tracked, bare);
    assert.deepEqual(bare, {
      afterErrorSync: { total: 1, idle: 0, waiting: 0 },
      afterError: { total: 1, idle: 0, waiting: 0 },
      afterTrue: { total: 0, idle: 0, waiting: 0 },
      removes: 2,
      fresh: true,
      end: { total: 1, idle: 1, waiting: 0 },
    });
  });

  test("a double release throws pg's own error", async () => {
    const { bare, tracked } = await onBoth({ max: 1 }, async (pool) => {
      const client = await pool.connect();
      client.release();
      const second = syncThrow(() => client.release());
      const viaDone = await new Promise((resolve) => {
        pool.connect((_err, _client, done) => {
          done();
          resolve(syncThrow(() => done()));
        });
      });
      return { second, viaDone, after: counts(pool) };
    });
    assert.deepEqual(tracked, bare);
    assert.deepEqual(bare.second, {
      threw: true,
      error: errorShape(new Error('Release called on client which has already been released to the pool.')),
    });
  });
});

describe('counters, queueing and events', () => {
  test('totalCount / idleCount / waitingCount match at each step; 3 waiters on max 2 are served FIFO', async () => {
    const { bare, tracked } = await onBoth({ max: 2 }, async (pool) => {
      const points: [string, ReturnType<typeof counts>][] = [];
      const mark = (label: string) => points.push([label, counts(pool)]);
      mark('start');
      const a = await pool.connect();
      mark('a');
      const b = await pool.connect();
      mark('b');
      const served: string[] = [];
      const waiters = ['w1', 'w2', 'w3'].map((tag) =>
        pool.connect().then((client) => {
          served.push(tag);
          return client;
        }),
      );
      mark('3 queued');
      const [p1, p2, p3] = waiters as [Promise<pg.PoolClient>, Promise<pg.PoolClient>, Promise<pg.PoolClient>];
      a.release();
      mark('a released');
      const w1 = await p1;
      mark('w1 served');
      b.release();
      mark('b released');
      const w2 = await p2;
      w1.release();
      mark('w1 released');
      const w3 = await p3;
      mark('w3 served');
      const identities = [w1 === a, w2 === b, w3 === a];
      w2.release();
      w3.release();
      mark('all released');
      return { points, served, identities };
    });
    assert.deepEqual(tracked, bare);
    assert.deepEqual(bare.served, ['w1', 'w2', 'w3']);
    assert.deepEqual(bare.points, [
      ['start', { total: 0, idle: 0, waiting: 0 }],
      ['a', { total: 1, idle: 0, waiting: 0 }],
      ['b', { total: 2, idle: 0, waiting: 0 }],
      ['3 queued', { total: 2, idle: 0, waiting: 3 }],
      ['a released', { total: 2, idle: 0, waiting: 2 }],
      ['w1 served', { total: 2, idle: 0, waiting: 2 }],
      ['b released', { total: 2, idle: 0, waiting: 1 }],
      ['w1 released', { total: 2, idle: 0, waiting: 0 }],
      ['w3 served', { total: 2, idle: 0, waiting: 0 }],
      ['all released', { total: 2, idle: 2, waiting: 0 }],
    ]);
  });

  test("pool events 'connect', 'acquire', 'release', 'remove' fire the same number of times", async () => {
    const { bare, tracked } = await onBoth({ max: 2 }, async (pool) => {
      const fired = { connect: 0, acquire: 0, release: 0, remove: 0 };
      for (const event of Object.keys(fired) as (keyof typeof fired)[]) pool.on(event, () => (fired[event] += 1));
      await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 2'), pool.query('SELECT 3')]);
      // pool.query releases a client whose query failed with the error, so pg-pool destroys that client.
      const removedByError = nextRemove(pool);
      await pool.query('SELECT * FROM no_such_table').catch(() => undefined);
      await removedByError;
      const client = await pool.connect();
      await client.query('SELECT 4');
      client.release();
      const doomed = await pool.connect();
      const removed = nextRemove(pool);
      doomed.release(new Error('destroy it'));
      await removed;
      await pool.query('SELECT 5');
      return fired;
    });
    assert.deepEqual(tracked, bare);
    assert.equal(bare.acquire, 7);
    assert.equal(bare.release, 7);
    assert.equal(bare.remove, 2);
  });
});

// ---- what tracking adds, and what close() takes away -----------------------------------------------------------

describe('listeners', () => {
  test("no 'error' listener is added; one 'connect' and one 'remove' listener, removed by close()", async () => {
    const pool = res.pool(db.url, { max: 2 });
    const listeners = () => ({
      error: pool.listenerCount('error'),
      connect: pool.listenerCount('connect'),
      remove: pool.listenerCount('remove'),
      acquire: pool.listenerCount('acquire'),
      release: pool.listenerCount('release'),
    });
    const untracked = listeners();
    assert.deepEqual(untracked, { error: 0, connect: 0, remove: 0, acquire: 0, release: 0 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    assert.deepEqual(listeners(), { ...untracked, connect: 1, remove: 1 });
    const client = await pool.connect();
    assert.equal(client.listenerCount('error'), 0, 'a checked-out client has no error listener, as with a bare pool');
    client.release();
    await pool.query('SELECT 1');
    assert.deepEqual(listeners(), { ...untracked, connect: 1, remove: 1 });
    inspector.close();
    assert.deepEqual(listeners(), untracked);
  });

  test('untrack() removes the listeners too', async () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    inspector.untrack('main');
    assert.equal(pool.listenerCount('connect'), 0);
    assert.equal(pool.listenerCount('remove'), 0);
    assert.equal(pool.listenerCount('error'), 0);
  });
});

describe('close() and untrack() restore the pool', () => {
  test('close(): own connect and client query/emit removed, checkouts work uncounted, an old lease still releases', async () => {
    const pool = res.pool(db.url, { max: 2 });
    const inspector = res.inspector();
    assert.equal(Object.hasOwn(pool, 'connect'), false);
    const tracker = trackPgPool(inspector, pool, { name: 'main' });
    assert.equal(Object.hasOwn(pool, 'connect'), true);

    const held = await pool.connect(); // checked out while tracked, released after close
    assert.equal(Object.hasOwn(held, 'query'), true);
    assert.equal(Object.hasOwn(held, 'emit'), true);
    await pool.query('SELECT 1'); // a second client, created while tracked, left idle
    const countedBefore = tracker.stats().counters;
    assert.equal(countedBefore.acquires, 2);

    inspector.close();
    assert.equal(Object.hasOwn(pool, 'connect'), false);
    assert.equal(pool.connect, pg.Pool.prototype.connect);
    assert.equal(Object.hasOwn(held, 'query'), false);
    assert.equal(Object.hasOwn(held, 'emit'), false);
    assert.deepEqual((await held.query('SELECT 2 AS two')).rows, [{ two: 2 }]);

    assert.doesNotThrow(() => held.release());
    assert.deepEqual(counts(pool), { total: 2, idle: 2, waiting: 0 });
    assert.throws(() => held.release(), /Release called on client which has already been released to the pool/);

    const [c1, c2] = await Promise.all([pool.connect(), pool.connect()]);
    for (const c of [c1, c2]) {
      assert.equal(Object.hasOwn(c, 'query'), false, 'the idle client created while tracked is unwrapped too');
      assert.equal(Object.hasOwn(c, 'emit'), false);
    }
    c1.release();
    c2.release();
    await pool.query('SELECT 3');
    assert.deepEqual(tracker.stats().counters, countedBefore, 'checkouts after close are not counted');
    assert.throws(() => inspector.stats('main'), hasCode('POOLSCOPE_ERR_POOL_NOT_TRACKED'));
  });

  test('untrack(): the same restoration; stats throws POOLSCOPE_ERR_POOL_NOT_TRACKED; the pool can be tracked again', async () => {
    const pool = res.pool(db.url, { max: 2 });
    const inspector = res.inspector();
    const tracker = trackPgPool(inspector, pool, { name: 'main' });
    const held = await pool.connect();
    inspector.untrack('main');
    assert.equal(Object.hasOwn(pool, 'connect'), false);
    assert.equal(Object.hasOwn(held, 'query'), false);
    assert.equal(Object.hasOwn(held, 'emit'), false);
    assert.doesNotThrow(() => held.release());
    assert.throws(() => inspector.stats('main'), hasCode('POOLSCOPE_ERR_POOL_NOT_TRACKED'));
    await pool.query('SELECT 1');
    assert.equal(tracker.stats().counters.acquires, 1, 'only the checkout made while tracked');

    const again = trackPgPool(inspector, pool, { name: 'main' });
    await pool.query('SELECT 1');
    assert.equal(again.stats().counters.acquires, 1);
    assert.equal(inspector.stats('main').counters.queries, 1);
  });
});

describe('timers', () => {
  test('close() leaves no timer behind (ref-counted or unref()ed)', async () => {
    // getActiveResourcesInfo() lists only timers that keep the process alive; poolscope unref()s its timers, so
    // an async hook also follows every Timeout created while tracking until it is cleared.
    const refTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const pool = res.pool(db.url, { max: 2, idleTimeoutMillis: 0 }); // no idle timers of pg-pool's own
    const live = new Map<number, string>();
    const hook = createHook({
      init(id, type) {
        if (type === 'Timeout') live.set(id, new Error('created here').stack ?? '');
      },
      destroy(id) {
        live.delete(id);
      },
    });
    const before = refTimeouts();
    hook.enable();
    try {
      const inspector = res.inspector({ historyIntervalMillis: 50 });
      trackPgPool(inspector, pool, { name: 'main', leakThresholdMillis: 60_000, ownerEndGraceMillis: 60_000 });
      await pool.query('SELECT 1');
      // An owner that ends while holding a lease schedules the owner-ended check.
      const held = await inspector.runAs('job', () => pool.connect());
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(live.size >= 3, `history, leak sweep and owner-ended timers exist (saw ${live.size})`);
      held.release();
      inspector.close();
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(refTimeouts(), before);
      assert.deepEqual([...live.values()], [], 'every Timeout created while tracking was cleared');
    } finally {
      hook.disable();
    }
  });
});

describe('tracking errors', () => {
  test('tracking the same pool twice: POOLSCOPE_ERR_POOL_ALREADY_TRACKED (also from another inspector)', () => {
    const pool = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    assert.throws(() => trackPgPool(inspector, pool, { name: 'other' }), hasCode('POOLSCOPE_ERR_POOL_ALREADY_TRACKED'));
    assert.throws(() => trackPgPool(res.inspector(), pool, { name: 'main' }), hasCode('POOLSCOPE_ERR_POOL_ALREADY_TRACKED'));
    assert.deepEqual(inspector.poolNames(), ['main']);
  });

  test('tracking a pg.Client: POOLSCOPE_ERR_POOL_UNSUPPORTED', () => {
    const client = new pg.Client({ connectionString: db.url }); // never connected
    const inspector = res.inspector();
    assert.throws(
      () => trackPgPool(inspector, client as unknown as pg.Pool, { name: 'main' }),
      hasCode('POOLSCOPE_ERR_POOL_UNSUPPORTED'),
    );
    assert.equal(Object.hasOwn(client, 'connect'), false);
    assert.deepEqual(inspector.poolNames(), []);
  });

  test('two pools with one name: POOLSCOPE_ERR_POOL_DUPLICATE_NAME; the second pool is left untouched', () => {
    const first = res.pool(db.url, { max: 1 });
    const second = res.pool(db.url, { max: 1 });
    const inspector = res.inspector();
    trackPgPool(inspector, first, { name: 'main' });
    assert.throws(() => trackPgPool(inspector, second, { name: 'main' }), hasCode('POOLSCOPE_ERR_POOL_DUPLICATE_NAME'));
    assert.equal(Object.hasOwn(second, 'connect'), false);
    assert.equal(second.listenerCount('connect'), 0);
    assert.equal(second.listenerCount('remove'), 0);
  });
});

describe('snapshot config', () => {
  test('never contains the password; the connection string shows ***', () => {
    const url = new URL(db.url);
    url.password = 'sekret';
    url.searchParams.set('application_name', 'transparency');
    const pool = res.pool(url.toString(), { password: 'sekret', max: 3 }); // never connected
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'secret' });
    const snapshot = inspector.snapshot('secret');
    const json = JSON.stringify(snapshot);
    assert.ok(!json.includes('sekret'), json);
    assert.ok(!JSON.stringify(inspector.snapshotAll()).includes('sekret'));
    assert.ok(!JSON.stringify(inspector.stats('secret')).includes('sekret'));
    assert.match(snapshot.config.connectionString ?? '', /^postgres(ql)?:\/\/postgres:\*\*\*@/);
    assert.equal(snapshot.config.max, 3);
    assert.equal(Object.hasOwn(snapshot.config, 'password'), false);
    assert.equal(pool.totalCount, 0);
  });

  test('a password given as a connection string parameter is masked too', () => {
    const url = new URL(db.url);
    url.searchParams.set('password', 'sekret');
    const pool = res.pool(url.toString(), { max: 1 }); // never connected
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'secret' });
    const json = JSON.stringify(inspector.snapshot('secret'));
    assert.ok(!json.includes('sekret'), json);
  });
});

describe('stats after a known sequence', () => {
  test('N pool.query calls: acquires, releases, queries N; creates = connect events; wait/use counts N', async () => {
    const N = 12;
    const pool = res.pool(db.url, { max: 3 });
    let connectEvents = 0;
    pool.on('connect', () => (connectEvents += 1));
    const inspector = res.inspector();
    trackPgPool(inspector, pool, { name: 'main' });
    await Promise.all(Array.from({ length: N }, (_, i) => pool.query('SELECT $1::int AS i', [i])));
    const stats = inspector.stats('main');
    assert.equal(stats.counters.acquires, N);
    assert.equal(stats.counters.releases, N);
    assert.equal(stats.counters.queries, N);
    assert.equal(stats.counters.queryErrors, 0);
    assert.equal(stats.counters.creates, connectEvents);
    assert.equal(stats.counters.creates, pool.totalCount);
    assert.equal(stats.counters.removes, 0);
    assert.equal(stats.counters.errors, 0);
    assert.equal(stats.waitTime.count, N);
    assert.equal(stats.useTime.count, N);
    assert.equal(stats.createTime.count, connectEvents);
    assert.equal(stats.used, 0);
    assert.equal(stats.pending, 0);
    assert.equal(stats.total, pool.totalCount);
    assert.equal(stats.idle, pool.idleCount);

    const removed = nextRemove(pool);
    await pool.query('SELECT * FROM no_such_table').catch(() => undefined);
    const after = inspector.stats('main');
    assert.equal(after.counters.acquires, N + 1);
    assert.equal(after.counters.releases, N + 1);
    assert.equal(after.counters.queries, N + 1);
    assert.equal(after.counters.queryErrors, 1);
    // pool.query releases a client whose query failed with the error, so pg-pool destroys it.
    await removed;
    assert.equal(inspector.stats('main').counters.removes, 1);
  });
});
