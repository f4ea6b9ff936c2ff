// Properties of tenant ids, database names and identifier quoting (issue 17): isValidTenantId and
// tenantDatabaseName agree with each other and with a reference model of the rules, whatever the input; every name
// they accept is a plain identifier within PostgreSQL's 63 bytes; quoteIdentifier refuses exactly the unusable names
// and otherwise quotes so that PostgreSQL's lexer reads back the very name and nothing after it (no way out of the
// quotes). Seeded and bounded: test/support/fuzz-kit.ts.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IdentifierError, OptionsError, TenantPoolError } from '../../src/errors.js';
import { isValidTenantId, maxTenantIdLength, quoteIdentifier, tenantDatabaseName, validateDatabasePrefix } from '../../src/tenants/tenant-id.js';
import { checkScratchName, quoteScratchName } from '../../src/provisioning/scratch-database.js';
import { fuzzSuite } from '../support/fuzz-kit.js';

const fuzz = fuzzSuite(import.meta.url);

const LIMIT_BYTES = 63;
const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

// ---- the reference model ----------------------------------------------------------------------------------------

/** A tenant id: 1 or more of a-z 0-9 _, short enough that prefix + id fits in 63 bytes. */
function modelValidId(prefix: string, id: unknown): boolean {
  if (typeof id !== 'string' || id.length === 0) return false;
  for (const ch of id) {
    const lower = ch >= 'a' && ch <= 'z';
    const digit = ch >= '0' && ch <= '9';
    if (!lower && !digit && ch !== '_') return false;
  }
  return prefix.length + id.length <= LIMIT_BYTES;
}

/** A database prefix: empty, or a-z 0-9 _ not starting with a digit, shorter than 63 (room for an id). */
function modelValidPrefix(prefix: unknown): boolean {
  return typeof prefix === 'string' && /^(?:[a-z_][a-z0-9_]*)?$/.test(prefix) && prefix.length < LIMIT_BYTES;
}

/**
 * PostgreSQL's lexer on a quoted identifier at the start of `sql` (scan.l, `xd`): `""` is one `"`, a lone `"` ends
 * it. Returns the name and what follows the closing quote, or undefined when the quotes never close.
 */
function lexQuotedIdentifier(sql: string): { name: string; rest: string } | undefined {
  if (!sql.startsWith('"')) return undefined;
  let name = '';
  for (let i = 1; i < sql.length; i += 1) {
    const ch = sql[i];
    if (ch !== '"') {
      name += ch;
    } else if (sql[i + 1] === '"') {
      name += '"';
      i += 1;
    } else {
      return { name, rest: sql.slice(i + 1) };
    }
  }
  return undefined;
}

// ---- generators -------------------------------------------------------------------------------------------------

const validPrefix = fc.oneof(fc.constant(''), fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/), fc.stringMatching(/^[a-z_][a-z0-9_]{55,61}$/));
const anyPrefix = fc.oneof(
  { weight: 3, arbitrary: validPrefix },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z_][a-z0-9_]{62,70}$/) },
  { weight: 1, arbitrary: fc.constantFrom('1tenant_', 'Tenant_', 'tenant-', 'tenant ', 'ténant_', 't"', 't\u0000') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.anything() },
);
const tenantId = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9_]{1,70}$/) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_\- .:"'$;\\]{0,20}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', 'acme\n', '\nacme', 'acme\u0000', 'ａｃｍｅ', 'acme\u200b', 'ACME', '"; DROP DATABASE x; --', 'a'.repeat(63), 'a'.repeat(64)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.anything() },
);
/** Names for quoteIdentifier: quotes, NUL, Unicode (multi-byte, astral, lone surrogates), around the byte limit. */
const identifierName = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', '"', '\u0000', ' ', ';', '\\', "'", 'é', '\u{1F600}', '\uD800'), maxLength: 70 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.stringMatching(/^[a-z_]{60,66}$/),
);

// ---- properties -------------------------------------------------------------------------------------------------

fuzz.property('tenant ids: isValidTenantId, tenantDatabaseName and the model agree on every id and prefix', () =>
  fc.property(validPrefix, tenantId, (prefix, id) => {
    const valid = isValidTenantId(prefix, id);
    assert.equal(valid, modelValidId(prefix, id), `isValidTenantId(${JSON.stringify(prefix)}, ${fc.stringify(id)})`);
    let name: string;
    try {
      name = tenantDatabaseName(prefix, id);
    } catch (error) {
      assert.ok(!valid, `valid id refused: ${String(error)}`);
      assert.ok(error instanceof TenantPoolError, `only TenantPoolError, not ${String(error)}`);
      assert.equal(error.code, 'POOLSCOPE_ERR_TENANT_INVALID_ID');
      assert.equal(error.tenantId, typeof id === 'string' ? id : undefined);
      assert.ok(error.message.length > 0 && error.message.length < 1000);
      return;
    }
    assert.ok(valid, `tenantDatabaseName accepted an invalid id ${fc.stringify(id)}`);
    assert.equal(name, prefix + String(id));
    assert.match(name, /^[a-z0-9_]{1,63}$/);
    assert.ok(utf8Bytes(name) <= LIMIT_BYTES);
    // A plain identifier: quoting adds the quotes and nothing else.
    assert.equal(quoteIdentifier(name), `"${name}"`);
  }),
);

fuzz.property('tenant ids: the longest id a prefix leaves room for is exactly at the limit', () =>
  fc.property(validPrefix, (prefix) => {
    const room = maxTenantIdLength(prefix);
    assert.equal(room, LIMIT_BYTES - prefix.length);
    assert.ok(room >= 1, 'every valid prefix leaves room for a one-character id');
    assert.equal(isValidTenantId(prefix, 'a'.repeat(room)), true);
    assert.equal(isValidTenantId(prefix, 'a'.repeat(room + 1)), false);
  }),
);

fuzz.property('database prefixes: validateDatabasePrefix accepts exactly the model\'s prefixes, else OptionsError', () =>
  fc.property(anyPrefix, (prefix) => {
    let accepted: string;
    try {
      accepted = validateDatabasePrefix(prefix);
    } catch (error) {
      assert.ok(error instanceof OptionsError, `only OptionsError, not ${String(error)}`);
      assert.equal(error.option, 'databasePrefix');
      assert.equal(modelValidPrefix(prefix), false, `refused a valid prefix ${fc.stringify(prefix)}`);
      return;
    }
    assert.equal(modelValidPrefix(prefix), true, `accepted ${fc.stringify(prefix)}`);
    assert.equal(accepted, prefix);
  }),
);

fuzz.property('quoteIdentifier: refuses exactly empty, NUL and over-63-byte names; PostgreSQL reads back the very name', () =>
  fc.property(identifierName, fc.constantFrom('', ' WITH OWNER app', '; DROP DATABASE x', ' "x"'), (name, after) => {
    const usable = name !== '' && !name.includes('\u0000') && utf8Bytes(name) <= LIMIT_BYTES;
    let quoted: string;
    try {
      quoted = quoteIdentifier(name);
    } catch (error) {
      assert.ok(error instanceof IdentifierError, `only IdentifierError, not ${String(error)}`);
      assert.equal(error.code, 'POOLSCOPE_ERR_SQL_INVALID_IDENTIFIER');
      assert.equal(usable, false, `refused a usable name ${JSON.stringify(name)}`);
      return;
    }
    assert.equal(usable, true, `quoted an unusable name ${JSON.stringify(name)}`);
    // In a statement, the identifier ends exactly where the quoting ends: what follows stays outside.
    const lexed = lexQuotedIdentifier(quoted + after);
    assert.ok(lexed !== undefined, `the quotes never close: ${quoted}`);
    assert.equal(lexed.name, name);
    assert.equal(lexed.rest, after);
  }),
);

fuzz.property('scratch names: only 1-63 of a-z 0-9 _ are used, and always quoted', () =>
  fc.property(fc.oneof(fc.stringMatching(/^[a-z0-9_]{1,70}$/), identifierName), (name) => {
    const plain = /^[a-z0-9_]{1,63}$/.test(name);
    try {
      assert.equal(checkScratchName(name), name);
      assert.equal(quoteScratchName(name), `"${name}"`);
      assert.ok(plain, `accepted ${JSON.stringify(name)}`);
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.ok(error instanceof IdentifierError, `only IdentifierError, not ${String(error)}`);
      assert.ok(!plain, `refused ${JSON.stringify(name)}`);
    }
  }),
);
