import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, OptionsError, PoolscopeError, describeValue, messageOf } from '../../src/errors.js';

const ERRORS_DOC = fileURLToPath(new URL('../../docs/reference/errors.md', import.meta.url));
const CODE_SHAPE = /^POOLSCOPE_ERR_[A-Z]+_[A-Z_]+$/;

describe('ERROR_CODES', () => {
  test('every code is POOLSCOPE_ERR_<AREA>_<WHAT>', () => {
    assert.ok(ERROR_CODES.length > 0);
    for (const code of ERROR_CODES) assert.match(code, CODE_SHAPE);
  });

  test('codes are unique', () => {
    const duplicates = ERROR_CODES.filter((code, i) => ERROR_CODES.indexOf(code) !== i);
    assert.deepEqual(duplicates, []);
  });

  test('a PoolscopeError carries its code, name and cause', () => {
    const cause = new Error('root');
    const error = new PoolscopeError('POOLSCOPE_ERR_POOL_UNSUPPORTED', 'nope', { cause });
    assert.equal(error.code, 'POOLSCOPE_ERR_POOL_UNSUPPORTED');
    assert.equal(error.name, 'PoolscopeError');
    assert.equal(error.cause, cause);
    assert.ok(error instanceof Error);
  });

  test('OptionsError names the option, the value and what is expected', () => {
    const error = new OptionsError('leakThresholdMillis', -1, 'a number >= 0');
    assert.equal(error.message, 'Invalid option leakThresholdMillis: got -1; expected a number >= 0.');
    assert.equal(error.code, 'POOLSCOPE_ERR_OPTIONS_INVALID');
  });

  test('describeValue keeps messages short and safe', () => {
    assert.equal(describeValue('x'.repeat(200)), JSON.stringify(`${'x'.repeat(77)}...`));
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(undefined), 'undefined');
    assert.equal(describeValue(() => 1), 'a function');
    assert.equal(describeValue([1]), 'an array');
    assert.equal(describeValue({ password: 'secret' }), 'an object');
    assert.equal(describeValue(10n), '10');
    assert.equal(messageOf(new Error('m')), 'm');
    assert.equal(messageOf('plain'), 'plain');
  });
});

describe('docs/reference/errors.md', () => {
  function readDoc(): string {
    assert.ok(existsSync(ERRORS_DOC), `${ERRORS_DOC} must exist and list every error code (see DESIGN.md, "Errors")`);
    return readFileSync(ERRORS_DOC, 'utf8');
  }

  test('lists every code in ERROR_CODES', () => {
    const doc = readDoc();
    const missing = ERROR_CODES.filter((code) => !new RegExp(`\\b${code}\\b`).test(doc));
    assert.deepEqual(missing, [], `codes missing from errors.md: ${missing.join(', ')}`);
  });

  test('lists no code that ERROR_CODES does not have', () => {
    const doc = readDoc();
    const documented = new Set(doc.match(/\bPOOLSCOPE_ERR_[A-Z0-9_]+/g) ?? []);
    const known = new Set<string>(ERROR_CODES);
    const unknown = [...documented].filter((code) => !known.has(code));
    assert.deepEqual(unknown, [], `codes in errors.md but not in src/errors.ts: ${unknown.join(', ')}`);
  });
});
