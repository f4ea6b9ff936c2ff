import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDemoDatabase } from '../../src/cli/demo/demo-database.js';
import { PoolscopeError } from '../../src/errors.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { closedPort } from '../support/loopback-server.js';

// The demo's scratch database: when DATABASE_URL's server cannot be used, the error says why and what to change.

async function demoError(databaseUrl: string): Promise<PoolscopeError> {
  const error = await openDemoDatabase({ env: { DATABASE_URL: databaseUrl } }).then(
    async (db) => {
      await db.close();
      assert.fail('the demo database opened');
    },
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof PoolscopeError, String(error));
  assert.equal(error.code, 'POOLSCOPE_ERR_DEMO_DATABASE_FAILED');
  return error;
}

describe('openDemoDatabase with a DATABASE_URL it cannot use', () => {
  let db: TestDatabase;
  const role = `pst_demo_nocreatedb_${randomBytes(3).toString('hex')}`;

  before(async () => {
    db = await createTestDatabase('demo_db');
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN NOCREATEDB`);
    } finally {
      await admin.end();
    }
  });

  after(async () => {
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    try {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
    } finally {
      await admin.end();
    }
    await db.drop();
  });

  test('nothing listening: says the server did not accept the connection, not that the role needs CREATEDB', async () => {
    const error = await demoError(`postgres://postgres@127.0.0.1:${await closedPort()}/postgres`);
    assert.match(error.message, /did not accept the connection: check its host, port, user and password/);
    assert.doesNotMatch(error.message, /CREATEDB/);
  });

  test('a role without CREATEDB: says the role needs CREATEDB', async (t) => {
    const url = new URL(db.adminUrl);
    if (url.password !== '') {
      t.skip('the test server needs a password; a role without one cannot log in');
      return;
    }
    url.username = role;
    const error = await demoError(url.toString());
    assert.match(error.message, /permission denied to create database/);
    assert.match(error.message, /the DATABASE_URL role needs CREATEDB/);
    assert.doesNotMatch(error.message, /did not accept the connection/);
  });
});
