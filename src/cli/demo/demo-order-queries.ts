import type pg from 'pg';
import { withClient } from '../../adapters/pg/pg-transactions.js';

/** The demo app's well-behaved data access: its schema, the healthy endpoint and the slow one. */

/** Creates the app's tables (orders, audit_log) and 50 orders. */
export async function createSchema(pool: pg.Pool): Promise<void> {
  await withClient(pool, async (client) => {
    await client.query(`
      CREATE TABLE IF NOT EXISTS orders (
        id serial PRIMARY KEY,
        customer text NOT NULL,
        total_cents integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS audit_log (id serial PRIMARY KEY, action text NOT NULL, at timestamptz NOT NULL DEFAULT now());
      INSERT INTO orders (customer, total_cents)
        SELECT 'customer ' || i, i * 125 FROM generate_series(1, 50) AS i;
    `);
  });
}

/** Healthy: one short query, released by withClient whatever happens. */
export async function latestOrders(pool: pg.Pool): Promise<unknown[]> {
  return withClient(pool, async (client) => {
    const { rows } = await client.query('SELECT id, customer, total_cents FROM orders ORDER BY id DESC LIMIT 5');
    return rows;
  });
}

/** Slow: holds its connection 300-800 ms (a report query doing real work would). */
export async function salesReport(pool: pg.Pool): Promise<unknown> {
  const seconds = (300 + Math.floor(Math.random() * 500)) / 1000;
  return withClient(pool, async (client) => {
    const { rows } = await client.query(
      'SELECT count(*)::int AS orders, sum(total_cents)::int AS total_cents FROM orders, pg_sleep($1::float8)',
      [seconds],
    );
    return rows[0];
  });
}
