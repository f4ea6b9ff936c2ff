import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { IdentifierError, TenantPoolError, OptionsError } from '../../src/errors.js';
import {
  MAX_IDENTIFIER_BYTES,
  isValidTenantId,
  maxTenantIdLength,
  quoteIdentifier,
  tenantDatabaseName,
  validateDatabasePrefix,
} from '../../src/tenants/tenant-id.js';

function invalidId(fn: () => unknown, messagePart: RegExp): TenantPoolError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof TenantPoolError, `expected a TenantPoolError, got ${String(caught)}`);
  assert.equal(caught.code, 'POOLSCOPE_ERR_TENANT_INVALID_ID');
  assert.match(caught.message, messagePart);
  return caught;
}

describe('tenantDatabaseName', () => {
  test('is prefix + id for a valid id', () => {
    assert.equal(tenantDatabaseName('tenant_', 'acme_42'), 'tenant_acme_42');
    assert.equal(tenantDatabaseName('', '42'), '42');
  });

  test('rejects an empty id, saying so', () => {
    const error = invalidId(() => tenantDatabaseName('tenant_', ''), /empty/);
    assert.equal(error.tenantId, '');
    assert.match(error.message, /a-z 0-9 _/);
  });

  test('rejects a non-string id', () => {
    const error = invalidId(() => tenantDatabaseName('tenant_', 42), /must be a string; got 42/);
    assert.equal(error.tenantId, undefined);
  });

  test('rejects characters outside a-z 0-9 _, naming them', () => {
    invalidId(() => tenantDatabaseName('tenant_', 'acme-corp'), /"-"/);
    invalidId(() => tenantDatabaseName('tenant_', 'a"; DROP DATABASE x; --'), /outside a-z 0-9 _/);
    invalidId(() => tenantDatabaseName('tenant_', 'café'), /"é"/);
    invalidId(() => tenantDatabaseName('tenant_', 'a b'), /" "/);
  });

  test('suggests the lowercase form for uppercase ids', () => {
    invalidId(() => tenantDatabaseName('tenant_', 'Acme'), /lowercase: try "acme"/);
  });

  test('rejects an id too long for a 63-byte identifier once prefixed, giving the limit', () => {
    const room = maxTenantIdLength('tenant_');
    assert.equal(room, MAX_IDENTIFIER_BYTES - 'tenant_'.length);
    assert.equal(tenantDatabaseName('tenant_', 'a'.repeat(room)).length, 63);
    const error = invalidId(() => tenantDatabaseName('tenant_', 'a'.repeat(room + 1)), new RegExp(`at most ${room} characters`));
    assert.match(error.message, /63-byte/);
  });

  test('isValidTenantId agrees', () => {
    assert.equal(isValidTenantId('t_', 'ok_1'), true);
    assert.equal(isValidTenantId('t_', ''), false);
    assert.equal(isValidTenantId('t_', 'Nope'), false);
    assert.equal(isValidTenantId('t_', 'a'.repeat(62)), false);
    assert.equal(isValidTenantId('t_', 7), false);
  });
});

describe('validateDatabasePrefix', () => {
  test('accepts lowercase prefixes and the empty prefix', () => {
    assert.equal(validateDatabasePrefix('tenant_'), 'tenant_');
    assert.equal(validateDatabasePrefix(''), '');
  });

  test('rejects bad prefixes with OptionsError', () => {
    for (const bad of ['Tenant_', '1tenant', 'ten-ant', 'x'.repeat(63), 5]) {
      assert.throws(() => validateDatabasePrefix(bad), (error: unknown) => error instanceof OptionsError && error.option === 'databasePrefix');
    }
  });
});

describe('quoteIdentifier', () => {
  test('wraps in double quotes and doubles inner quotes', () => {
    assert.equal(quoteIdentifier('tenant_a'), '"tenant_a"');
    assert.equal(quoteIdentifier('we"ird'), '"we""ird"');
    assert.equal(quoteIdentifier('Mixed Case'), '"Mixed Case"');
  });

  test('refuses empty, NUL and over-long names', () => {
    const invalid = { name: 'IdentifierError', code: 'POOLSCOPE_ERR_SQL_INVALID_IDENTIFIER' };
    assert.throws(() => quoteIdentifier(''), { ...invalid, identifier: '' });
    assert.throws(() => quoteIdentifier('a\u0000b'), invalid);
    assert.throws(() => quoteIdentifier('x'.repeat(64)), (error: unknown) => error instanceof IdentifierError && /is longer than 63 bytes/.test(error.message));
    assert.throws(() => quoteIdentifier('é'.repeat(32)), /63 bytes/); // 64 bytes in UTF-8
    assert.equal(quoteIdentifier('x'.repeat(63)), `"${'x'.repeat(63)}"`);
  });
});
