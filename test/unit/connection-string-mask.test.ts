// maskConnectionString: no password (or secret-looking parameter) survives, whatever characters it holds and
// however a URL parser would read it; the user name, hosts, database and other parameters stay readable where that
// is unambiguous. Then a seeded fuzz over 1,300 URLs, and the paths that print connection strings.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { maskConnectionString } from '../../src/core/connection-string-mask.js';
import { maskDatabaseUrl } from '../../src/config/database-url.js';
import { loadPoolConfigReport, poolConfigLogLine } from '../../src/config/pool-config.js';
import { Inspector, trackPgPool } from '../../src/index.js';

/** The case: `4242` parses as a port, `?S3cretPW@db.internal:5432/app` as the query. */
const REPORTED = 'postgres://app:4242?S3cretPW@db.internal:5432/app';

describe('maskConnectionString: cases', () => {
  test('the reported URL: the password is masked, the user name and host stay', () => {
    assert.equal(maskConnectionString(REPORTED), 'postgres://app:***@db.internal:5432/app');
  });

  test('passwords holding ? # / @ : % (unencoded), digits first or not', () => {
    for (const password of ['4242#S3cret', '4242/S3cret', '12?34#56/78', 'p@ss', 'p@ss@word', 'a:b:c', '50%off', '%zz', 'x?y#z/w@v:u%t', '@', ':', '/', '?', '#']) {
      const url = `postgres://app:${password}@db.internal:5432/app?sslmode=require`;
      assert.equal(maskConnectionString(url), 'postgres://app:***@db.internal:5432/app?sslmode=require', url);
    }
  });

  test('percent-encoded passwords and user names', () => {
    assert.equal(maskConnectionString('postgres://app:p%40ss%2Fw%3Frd%23@db/app'), 'postgres://app:***@db/app');
    assert.equal(maskConnectionString('postgres://app%40corp:s3cret@db:5432/shop'), 'postgres://app%40corp:***@db:5432/shop');
  });

  test('no password: nothing to mask', () => {
    for (const url of [
      'postgres://app@db:5432/app',
      'postgres://db:5432/app',
      'postgresql://db',
      'postgres:///app',
      'postgres://app@/app?host=/var/run/postgresql',
      'postgres://app@%2Fvar%2Frun%2Fpostgresql/app',
    ]) {
      assert.equal(maskConnectionString(url), url);
    }
    assert.equal(maskConnectionString('postgres://:s3cret@db/app'), 'postgres://:***@db/app', 'empty user name');
  });

  test('IPv6 hosts', () => {
    assert.equal(maskConnectionString('postgres://app:s3cret@[::1]:5432/app'), 'postgres://app:***@[::1]:5432/app');
    assert.equal(maskConnectionString('postgres://app:s3]c[ret@[fe80::1%25eth0]/app'), 'postgres://app:***@[fe80::1%25eth0]/app');
    assert.equal(maskConnectionString('postgres://[2001:db8::7]:6432/app'), 'postgres://[2001:db8::7]:6432/app');
  });

  test('multiple hosts', () => {
    assert.equal(maskConnectionString('postgres://u:p@h1:5432,h2:5433/db'), 'postgres://u:***@h1:5432,h2:5433/db');
    assert.equal(
      maskConnectionString('postgresql://u:4242?x@[::1]:5432,h2/db?target_session_attrs=read-write'),
      'postgresql://u:***@[::1]:5432,h2/db?target_session_attrs=read-write',
    );
  });

  test('secret-looking query parameters get *** (names decoded); the others stay as written', () => {
    assert.equal(
      maskConnectionString('postgres://app@db/app?sslmode=require&password=s3cret&sslpassword=x&sslkey=/k.pem&api_token=t&client_secret=c&application_name=api'),
      'postgres://app@db/app?sslmode=require&password=***&sslpassword=***&sslkey=***&api_token=***&client_secret=***&application_name=api',
    );
    assert.equal(maskConnectionString('postgres://db/app?pass%77ord=s3cret&x=1'), 'postgres://db/app?pass%77ord=***&x=1');
    assert.equal(maskConnectionString('postgres://db/app?pass+word=s3cret&pass%ZZ=s3cret'), 'postgres://db/app?pass+word=***&pass%ZZ=***');
    assert.equal(maskConnectionString('postgres://db/app?pa%ZZ=1'), 'postgres://db/app?pa%ZZ=1', 'read as pg reads it');
    assert.equal(maskConnectionString('postgres://db/app?options=-c%20search_path%3Dx'), 'postgres://db/app?options=-c%20search_path%3Dx');
  });

  test("an '@' after the host masks more, never less", () => {
    // The userinfo runs to the last '@': the rest of the URL is hidden with the password.
    assert.equal(maskConnectionString('postgres://app:s3cret@db/app?application_name=me@laptop'), 'postgres://app:***@laptop');
    // Text before the last '@' that is not a plain user name (here a host, path and query) is hidden whole.
    assert.equal(maskConnectionString('postgres://db/app?sslmode=require&user=a@b'), 'postgres://***@b');
    // A secret-looking parameter open before the '@' (`?password=a@b` is valid for pg): everything is hidden.
    assert.equal(maskConnectionString('postgres://db/app?password=s3c@ret'), 'postgres://***');
    assert.equal(maskConnectionString('postgres://app:pw@db/app?sslmode=require&password=x:y@z'), 'postgres://***');
    // Azure's raw '@' in the user name: the user stays readable.
    assert.equal(
      maskConnectionString('postgres://app@srv:s3cret@srv.postgres.database.azure.com:5432/app'),
      'postgres://app@srv:***@srv.postgres.database.azure.com:5432/app',
    );
  });

  test('a fragment is masked; a host part that is not a host list is masked', () => {
    assert.equal(maskConnectionString('postgres://app@db/app#s3cret'), 'postgres://app@db/app#***');
    assert.equal(maskConnectionString('postgres://app@db/app#'), 'postgres://app@db/app#');
    assert.equal(maskConnectionString('postgres://app:S3cret/app'), 'postgres://***/app', 'credentials without host');
  });

  test('text without scheme:// is hidden whole; nothing throws', () => {
    for (const text of ['app:secret@db/app', '', 'postgres:app:secret@db', ' postgres://app:secret@db', 'secret']) {
      assert.equal(maskConnectionString(text), '***', JSON.stringify(text));
    }
    for (const value of [undefined, null, 42, {}, ['postgres://a:b@c']]) {
      assert.equal(maskConnectionString(value as unknown as string), '***');
    }
    assert.equal(maskConnectionString('postgres://app:\uD800secret@db/app'), 'postgres://app:***@db/app', 'a lone surrogate');
  });
});

// ---- fuzz -------------------------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so every run checks the same URLs. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const SPECIALS = '?#/@:%&=+ ';
const SECRET_ALPHABET = LETTERS + DIGITS + SPECIALS + SPECIALS; // specials twice as likely as each letter

interface Shape {
  readonly name: string;
  /** Which form of the secret the URL holds (the parts around it never hold it). */
  readonly encode: (secret: string) => string;
  readonly build: (secretInUrl: string) => string;
  /** Characters the secret cannot hold in this shape without changing what the URL means. */
  readonly excludes?: string;
}

const raw = (secret: string): string => secret;
const encoded = (secret: string): string => encodeURIComponent(secret);
const SHAPES: readonly Shape[] = [
  { name: 'user:pw@host:port/db', encode: raw, build: (s) => `postgres://app:${s}@db.internal:5432/app` },
  { name: 'postgresql, query', encode: raw, build: (s) => `postgresql://svc_reporting:${s}@db/app?sslmode=require&application_name=reports` },
  { name: 'IPv6', encode: raw, build: (s) => `postgres://app:${s}@[::1]:5432/app` },
  { name: 'multiple hosts', encode: raw, build: (s) => `postgres://u:${s}@h1:5432,h2:5433/db` },
  { name: 'no path', encode: raw, build: (s) => `postgres://app:${s}@db` },
  { name: 'empty user', encode: raw, build: (s) => `postgres://:${s}@db/app` },
  { name: 'socket host parameter', encode: raw, build: (s) => `postgres://app:${s}@/app?host=/var/run/postgresql` },
  { name: "'@' in the query", encode: raw, build: (s) => `postgres://app:${s}@db/app?application_name=me@laptop` },
  { name: 'fragment', encode: raw, build: (s) => `postgres://app:${s}@db:5432/app#top` },
  { name: 'percent-encoded password', encode: encoded, build: (s) => `postgres://app:${s}@db/app` },
  { name: 'encoded user name', encode: raw, build: (s) => `postgres://app%40corp:${s}@db/app` },
  { name: 'password parameter (encoded)', encode: encoded, build: (s) => `postgres://app@db/app?sslmode=require&password=${s}&x=1` },
  // Raw in a query value: '&' and '#' would end the value, so they are left out of the secret here.
  { name: 'sslpassword parameter (raw)', encode: raw, build: (s) => `postgres://db/app?sslpassword=${s}`, excludes: '&#' },
];

function secretFor(next: () => number, index: number, excludes: string): string {
  const pick = (alphabet: string): string => alphabet[Math.floor(next() * alphabet.length)] ?? 'x';
  const alphabet = [...SECRET_ALPHABET].filter((c) => !excludes.includes(c)).join('');
  const length = 1 + Math.floor(next() * 40);
  let secret = '';
  if (index % 3 === 0) {
    // The reported family: digits, then an unencoded ? # or /.
    const digits = 1 + Math.floor(next() * 6);
    for (let i = 0; i < digits; i++) secret += pick(DIGITS);
    secret += pick([...'?#/'].filter((c) => !excludes.includes(c)).join('') || '?');
  }
  while (secret.length < length) secret += pick(alphabet);
  return secret;
}

/** Substrings of `text` of length `size` (all of them). */
function windows(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + size <= text.length; i++) out.push(text.slice(i, i + size));
  return out;
}

describe('maskConnectionString: fuzz', () => {
  test('1,300 URLs with a random password in 13 shapes: the masked text never holds the secret', () => {
    const next = prng(0x5eed_0010);
    let checked = 0;
    for (let i = 0; i < 100; i++) {
      for (const shape of SHAPES) {
        const secret = secretFor(next, i, shape.excludes ?? '');
        const inUrl = shape.encode(secret);
        const url = shape.build(inUrl);
        // What the URL shows besides the secret: text found there too is no evidence of a leak.
        const publicText = shape.build('');
        const masked = maskConnectionString(url);
        const context = `${shape.name}: ${JSON.stringify(url)} -> ${JSON.stringify(masked)}`;
        assert.equal(typeof masked, 'string', context);
        for (const form of new Set([secret, inUrl])) {
          assert.ok(!masked.includes(form) || publicText.includes(form), `secret ${JSON.stringify(form)} leaked in ${context}`);
          if (form.length >= 8) {
            for (const part of windows(form, 4)) {
              assert.ok(!masked.includes(part) || publicText.includes(part), `${JSON.stringify(part)} of the secret leaked in ${context}`);
            }
          }
        }
        assert.ok(masked === '***' || masked.startsWith(url.slice(0, url.indexOf('://') + 3)), `scheme kept: ${context}`);
        checked += 1;
      }
    }
    assert.equal(checked, 1300);
  });

  test('the reported family keeps the user name and host visible', () => {
    const next = prng(42);
    for (let i = 0; i < 200; i++) {
      const secret = secretFor(next, 0, '@'); // digits, then ? # or /, then anything but '@'
      assert.equal(maskConnectionString(`postgres://app:${secret}@db.internal:5432/app`), 'postgres://app:***@db.internal:5432/app', secret);
    }
  });
});

// ---- every path that prints a connection string --------------------------------------------------------------

describe('the fixed masking on every path', () => {
  test('maskDatabaseUrl (config)', () => {
    assert.equal(maskDatabaseUrl(REPORTED), 'postgres://app:***@db.internal:5432/app');
  });

  test('the startup line (loadPoolConfig report)', () => {
    const line = poolConfigLogLine(loadPoolConfigReport({ env: { DATABASE_URL: REPORTED } }));
    assert.equal(line.fields.connectionString, 'postgres://app:***@db.internal:5432/app');
    assert.doesNotMatch(JSON.stringify(line), /S3cretPW/);
  });

  test("a tracked pool's settings (snapshot config, what /api/pools shows)", () => {
    const pool = new pg.Pool({ connectionString: REPORTED, max: 1 }); // never connected
    const inspector = new Inspector({ historyIntervalMillis: 0 });
    try {
      trackPgPool(inspector, pool, { name: 'reported' });
      assert.equal(inspector.snapshot('reported').config.connectionString, 'postgres://app:***@db.internal:5432/app');
      assert.doesNotMatch(JSON.stringify(inspector.snapshotAll()), /S3cretPW/);
    } finally {
      inspector.close();
      void pool.end();
    }
  });
});

test('a database URL given where the CLI wants an http URL is refused without echoing its password', async () => {
  const { httpUrlFlag } = await import('../../src/cli/flag-parser.js');
  for (const text of ['postgres://app:s3cretPW@db.internal:5432/app', 'postgres://app:4242?s3cretPW@db/app']) {
    assert.throws(
      () => httpUrlFlag('url', text),
      (error: Error) => !error.message.includes('s3cretPW') && /--url must be an http/.test(error.message),
    );
  }
});
