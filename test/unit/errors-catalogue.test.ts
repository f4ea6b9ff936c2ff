import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as errors from '../../src/errors.js';
import { ERROR_CODES, OptionsError, PoolscopeError, describeValue, messageOf } from '../../src/errors.js';

const ERRORS_DOC = fileURLToPath(new URL('../../docs/reference/errors.md', import.meta.url));
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const ERRORS_MODULE = 'errors.ts';
/** The catalogue: src/errors.ts and the files it re-exports from src/errors/. */
const inCatalogue = (file: string): boolean => file === ERRORS_MODULE || file.startsWith(`errors${path.sep}`) || file.startsWith('errors/');
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

// ---- what src/ creates -----------------------------------------------------------------------------------------

/** Every .ts file under src/, as [path relative to src/, text]. */
function sourceFiles(): [string, string][] {
  const files: [string, string][] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) files.push([path.relative(SRC, full).split(path.sep).join('/'), readFileSync(full, 'utf8')]);
    }
  };
  walk(SRC);
  return files;
}

/** `file:line` of every match of `pattern` (global) in the files, with the match's first group. */
function occurrences(files: [string, string][], pattern: RegExp): { where: string; name: string }[] {
  const found: { where: string; name: string }[] = [];
  for (const [file, text] of files) {
    for (const match of text.matchAll(pattern)) {
      const line = text.slice(0, match.index).split('\n').length;
      found.push({ where: `src/${file}:${line}`, name: match[1] ?? match[0] });
    }
  }
  return found;
}

/** The error classes src/errors.ts exports: PoolscopeError and its subclasses. */
function catalogueClasses(): Map<string, unknown> {
  const classes = new Map<string, unknown>();
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value === 'function' && (value === PoolscopeError || value.prototype instanceof PoolscopeError)) classes.set(name, value);
  }
  return classes;
}

/**
 * Error classes outside the catalogue that src/ still defines: the CLI's own, which never leave the CLI (it prints
 * their message and exits). Do not add to this list: add a code and a PoolscopeError subclass instead.
 */
const CLI_ONLY_ERROR_CLASSES = ['CliUsageError', 'ApiRequestError'];

describe('src/ creates only catalogued errors', () => {
  const files = sourceFiles();
  const outside = files.filter(([file]) => !inCatalogue(file));

  test('src/ was found', () => {
    assert.ok(files.some(([file]) => file === ERRORS_MODULE), `${SRC}${ERRORS_MODULE} must exist`);
    assert.ok(outside.length > 10);
  });

  test('no built-in error is created outside src/errors.ts (new Error, TypeError, RangeError, ...)', () => {
    const bare = occurrences(
      outside,
      /(?<![\w.$])(?:new\s+)?(Error|TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError)\s*\(/g,
    );
    assert.deepEqual(
      bare.map(({ where, name }) => `${where} ${name}`),
      [],
      'use a PoolscopeError subclass from src/errors.ts with a catalogued code',
    );
  });

  test('every error class src/ constructs is PoolscopeError or a subclass from src/errors.ts', () => {
    const known = catalogueClasses();
    const constructed = occurrences(outside, /\bnew\s+([A-Z]\w*Error)\s*[(<]/g);
    assert.ok(constructed.length > 0);
    const foreign = constructed.filter(({ name }) => !known.has(name) && !CLI_ONLY_ERROR_CLASSES.includes(name));
    assert.deepEqual(foreign.map(({ where, name }) => `${where} ${name}`), []);
  });

  test('no error class is defined outside src/errors.ts (but the CLI-only ones)', () => {
    const defined = occurrences(outside, /\bclass\s+(\w+)\s+extends\s+(?:Error|TypeError|RangeError|PoolscopeError|\w+Error)\b/g);
    const extra = defined.filter(({ name }) => !CLI_ONLY_ERROR_CLASSES.includes(name));
    assert.deepEqual(extra.map(({ where, name }) => `${where} ${name}`), []);
  });

  test('every POOLSCOPE_ERR_ code in src/ is in ERROR_CODES and docs/reference/errors.md', () => {
    const doc = readFileSync(ERRORS_DOC, 'utf8');
    const known = new Set<string>(ERROR_CODES);
    const used = occurrences(files, /['"`](POOLSCOPE_ERR_[A-Z0-9_]+)['"`]/g);
    assert.ok(used.length >= ERROR_CODES.length, 'every catalogued code is listed in src/errors.ts at least');
    const uncatalogued = used.filter(({ name }) => !known.has(name));
    assert.deepEqual(uncatalogued.map(({ where, name }) => `${where} ${name}`), [], 'add these to ERROR_CODES');
    const undocumented = used.filter(({ name }) => !new RegExp(`\\b${name}\\b`).test(doc));
    assert.deepEqual(undocumented.map(({ where, name }) => `${where} ${name}`), [], 'add these to docs/reference/errors.md');
  });

  test('every catalogued code is produced somewhere in src/ (no dead codes)', () => {
    const used = new Set(occurrences(outside, /['"`](POOLSCOPE_ERR_[A-Z0-9_]+)['"`]/g).map(({ name }) => name));
    // Codes a class of src/errors.ts sets itself (OptionsError, InternalError, ...) are produced by `new ThatClass(`.
    const errorsText = files
      .filter(([file]) => inCatalogue(file))
      .map(([, text]) => text)
      .join('\n');
    const constructed = new Set(occurrences(outside, /\bnew\s+([A-Z]\w*Error)\s*[(<]/g).map(({ name }) => name));
    for (const chunk of errorsText.split(/^export class /m).slice(1)) {
      const fixed = /^(\w+) extends PoolscopeError \{[\s\S]*?\bsuper\(\s*'(POOLSCOPE_ERR_[A-Z0-9_]+)'/.exec(chunk);
      if (fixed !== null && constructed.has(fixed[1] as string)) used.add(fixed[2] as string);
    }
    const dead = ERROR_CODES.filter((code) => !used.has(code));
    assert.deepEqual(dead, [], 'codes no src/ file produces: remove them or use them');
  });

  test('every error class of src/errors.ts is named in docs/reference/errors.md', () => {
    const doc = readFileSync(ERRORS_DOC, 'utf8');
    const missing = [...catalogueClasses().keys()].filter((name) => !doc.includes(`\`${name}\``));
    assert.deepEqual(missing, []);
  });
});
