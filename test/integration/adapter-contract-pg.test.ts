// The adapter contract (test/support/adapter-contract.ts) run on the pg adapter and a real PostgreSQL.
import { after, before } from 'node:test';
import pg from 'pg';
import { trackPgPool } from '../../src/adapters/pg/pg-adapter.js';
import { adapterContractSuite, outcomeOf } from '../support/adapter-contract.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let db: TestDatabase | undefined;
before(async () => {
  db = await createTestDatabase('contract_pg');
});
after(() => db?.drop());

adapterContractSuite<pg.Pool, pg.PoolClient>({
  driver: 'pg',
  capabilities: { queries: true, transactions: true, sessionIds: true },
  moduleUrl: import.meta.url,
  unavailable: () => Promise.resolve(undefined), // createTestDatabase falls back to an embedded server or fails loudly
  createPool: ({ max, acquireTimeoutMillis }) => {
    const pool = new pg.Pool({ connectionString: db?.url, max, connectionTimeoutMillis: acquireTimeoutMillis });
    pool.on('error', () => undefined);
    return pool;
  },
  endPool: (pool) => pool.end(),
  track: (inspector, pool, options) => trackPgPool(inspector, pool, options),
  acquire: (pool) => pool.connect(), // @contract-acquire
  release: (_pool, conn) => outcomeOf(() => conn.release()),
  destroy: (_pool, conn) => Promise.resolve(conn.release(true)),
  counts: (pool) => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  acquireTimeout: true,
  query: async (conn) => void (await conn.query('SELECT 1')),
  begin: async (conn) => void (await conn.query('BEGIN')),
});
