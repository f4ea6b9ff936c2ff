// A two-minute tour of poolscope on a real PostgreSQL: it plants each kind of pool misuse and prints what
// poolscope reports, with the file:line of this file. Run: `npm run tour`.
//
// Server: DATABASE_URL if set, else the local server on 127.0.0.1:5432 if it answers, else an embedded
// PostgreSQL started (and removed) just for this run. A scratch database is created and dropped.
import pg from 'pg';
import { Inspector, trackPgPool, withTransaction } from '../src/index.js';
import { createTestDatabase } from '../test/support/test-database.js';

const database = await createTestDatabase('tour');
const pool = new pg.Pool({ connectionString: database.url, max: 5, connectionTimeoutMillis: 500 });
const inspector = new Inspector();
trackPgPool(inspector, pool, { name: 'main', leakThresholdMillis: 300, ownerEndGraceMillis: 50 });

const say = (title: string, text: string) => console.log(`\n== ${title}\n${text}`);
for (const type of [
  'leak-suspected',
  'leak-returned',
  'dirty-release',
  'double-release',
  'release-in-flight',
  'owner-ended-holding',
] as const) {
  inspector.on(type, (event) => say(type, event.message));
}
inspector.on('snapshot-taken', ({ snapshot }) =>
  say(
    'automatic snapshot (pool saturated)',
    snapshot.holders
      .map((h) => `  #${h.id} held ${h.heldMillis} ms at ${h.location ?? '?'} depth ${h.transaction.depth}`)
      .join('\n'),
  ),
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

try {
  // 1. A connection leaked by a request that returns early.
  await inspector.runAs({ label: 'GET /orders/42', kind: 'request' }, async () => {
    const client = await pool.connect();
    const { rows } = await client.query<{ n: number }>('SELECT 42 AS n');
    if (rows[0]?.n === 42) return; // early return: release() never runs
    client.release();
  });
  await sleep(600);

  // 2. Released inside a transaction.
  const dirty = await pool.connect();
  await dirty.query('BEGIN');
  dirty.release();
  // withTransaction() takes that connection next (pg hands out the last returned), rolls back the stale
  // transaction, and runs its own.
  await withTransaction(pool, async (client) => client.query('SELECT 1'));

  // 3. Released before the query finished (missing await).
  const hasty = await pool.connect();
  void hasty.query('SELECT pg_sleep(0.1)');
  hasty.release();
  await sleep(150);

  // 4. Released twice.
  const twice = await pool.connect();
  twice.release();
  try {
    twice.release();
  } catch (error) {
    say('pg itself says', (error as Error).message);
  }

  // 5. Saturation: four holders of five, two in nested transactions.
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const holders = [1, 2, 1, 1].map((depth) =>
    withTransaction(pool, async (client) => {
      if (depth > 1) await withTransaction(client, () => done);
      else await done;
    }),
  );
  await sleep(100);
  finish();
  await Promise.all(holders);

  // 6. An acquire timeout that says why (the request of step 1 still holds one connection).
  const stuck = await Promise.all([1, 2, 3, 4].map(() => pool.connect()));
  try {
    await pool.connect();
  } catch (error) {
    say('acquire timeout (pg error, explained)', (error as Error).message);
  }
  for (const client of stuck) client.release();

  const stats = inspector.stats('main');
  say(
    'stats',
    `acquires ${stats.counters.acquires}, leaks ${stats.counters.leaksSuspected}, dirty ${stats.counters.dirtyReleases}, ` +
      `double ${stats.counters.doubleReleases}, in-flight ${stats.counters.releasesInFlight}, ` +
      `wait p99 ${stats.waitTime.p99Millis} ms, hold p99 ${stats.useTime.p99Millis} ms`,
  );
} finally {
  inspector.close();
  // Release what the tour leaked on purpose so the pool can end.
  for (const client of (pool as unknown as { _clients: { release?: (err: Error) => void }[] })._clients) {
    try {
      client.release?.(new Error('tour cleanup'));
    } catch {
      // already released
    }
  }
  await pool.end();
  await database.drop();
}
