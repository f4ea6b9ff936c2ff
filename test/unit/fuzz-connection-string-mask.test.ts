// Properties of connection-string masking (issue 17): no generated secret is ever printed, whatever the URL's
// shape and however the secret is written in it; what pg itself would read as a password is never shown; the
// readable parts stay readable; masking is idempotent and total; and every path that prints a connection string
// (config log line, CLI URL flags) masks it. Seeded and bounded: see test/support/fuzz-kit.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { maskConnectionString } from '../../src/core/connection-string-mask.js';
import { maskDatabaseUrl } from '../../src/config/database-url.js';
import { loadPoolConfigReport, poolConfigLogLine } from '../../src/config/pool-config.js';
import { PoolConfigError } from '../../src/errors.js';
import { httpUrlFlag } from '../../src/cli/flag-parser.js';
import { CliUsageError } from '../../src/cli/cli-command.js';
import { fuzzSuite } from '../support/fuzz-kit.js';

const fuzz = fuzzSuite(import.meta.url);

// ---- generators -------------------------------------------------------------------------------------------------

/** Public text (user, host, database, parameter values): lowercase ASCII, digits, `.`, `_`, `-`. */
const word = fc.stringMatching(/^[a-z][a-z0-9._-]{0,9}$/);

/**
 * One character of a secret: URL delimiters (`? # / @ : % & = +`, space, `[ ] \ ; ,`), ASCII controls, letters and
 * digits, and any Unicode code point (astral ones included). Never `*`: the mask itself is `***`, so a `*` found in
 * the output would prove nothing.
 */
const secretChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...'?#/@:%&=+ []\\;,\t\n\r\'"<>^`{|}~!$()'.split('')) },
  { weight: 4, arbitrary: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'.split('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '*') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !c.includes('*')) },
);
const secretOf = (minLength: number): fc.Arbitrary<string> => fc.string({ unit: secretChar, minLength, maxLength: 24 });

/** How the secret is written in the URL. */
const ENCODINGS = ['raw', 'component', 'uri', 'lower-hex', 'every-byte', 'form'] as const;
type Encoding = (typeof ENCODINGS)[number];

function encodeSecret(secret: string, encoding: Encoding): string {
  switch (encoding) {
    case 'raw':
      return secret;
    case 'component':
      return encodeURIComponent(secret);
    case 'uri':
      return encodeURI(secret);
    case 'lower-hex':
      return encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    case 'every-byte':
      return [...Buffer.from(secret, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('');
    case 'form':
      return new URLSearchParams({ v: secret }).toString().slice(2);
  }
}

/** Secrets without lone surrogates (encodeURIComponent refuses those); a raw secret may hold any code point. */
const wellFormed = (text: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);

interface SecretUrl {
  readonly url: string;
  readonly secret: string;
  /** The secret as written in the URL. */
  readonly written: string;
  /** The URL with the written secret left out: anything found there too is no evidence of a leak. */
  readonly publicText: string;
  readonly shape: string;
}

const scheme = fc.constantFrom('postgres://', 'postgresql://', 'POSTGRES://', 'mysql://', 'mariadb://', 'redis://', 'jdbc:postgresql://');
const user = fc.oneof(word, fc.constant(''), fc.constant('app%40corp'), fc.constant('app@srv'), fc.constant('svc.reporting'));
const host = fc.oneof(
  word,
  fc.constant(''),
  fc.constantFrom('[::1]', '[fe80::1%25eth0]', '[2001:db8::7]', '%2Fvar%2Frun%2Fpostgresql', '127.0.0.1'),
  fc.tuple(word, fc.integer({ min: 1, max: 65535 })).map(([name, port]) => `${name}:${port}`),
);
const hosts = fc.array(host, { minLength: 1, maxLength: 3 }).map((list) => list.join(','));
const path = fc.oneof(fc.constant(''), fc.constant('/'), word.map((db) => `/${db}`));
const plainParameter = fc.oneof(
  fc.tuple(fc.constantFrom('sslmode', 'application_name', 'connect_timeout', 'options', 'host', 'user', 'target_session_attrs'), word).map(([k, v]) => `${k}=${v}`),
  fc.constantFrom('application_name=me@laptop', 'host=/var/run/postgresql', 'options=-c%20search_path%3Dx', 'ssl', 'x=', '='),
);
const plainQuery = fc.array(plainParameter, { maxLength: 3 });
const fragment = fc.oneof(fc.constant(''), fc.constant('#'), word.map((text) => `#${text}`));
/** Parameter names pg (or a driver) reads as secret, as a URL may spell them. */
const secretParameterName = fc.constantFrom(
  'password',
  'PASSWORD',
  'Password',
  'sslpassword',
  'sslkey',
  'api_token',
  'client_secret',
  'token',
  '%70assword',
  'pass%77ord',
  'PASS%57ORD',
  'pass+word',
);

/** The secret in the userinfo: `scheme://user:SECRET@hosts/db?query#fragment`. */
const inUserinfo: fc.Arbitrary<SecretUrl> = fc
  .record({ scheme, user, secret: secretOf(1), encoding: fc.constantFrom(...ENCODINGS), hosts, path, query: plainQuery, fragment })
  .filter(({ secret, encoding }) => encoding === 'raw' || wellFormed(secret))
  .map(({ scheme: s, user: u, secret, encoding, hosts: h, path: p, query: q, fragment: f }) => {
    const written = encodeSecret(secret, encoding);
    const tail = `${h}${p}${q.length === 0 ? '' : `?${q.join('&')}`}${f}`;
    return { url: `${s}${u}:${written}@${tail}`, secret, written, publicText: `${s}${u}:@${tail}`, shape: `userinfo, ${encoding}` };
  });

/**
 * The secret as a query value: `scheme://[user@]hosts/db?a=b&password=SECRET&c=d#fragment`. As written it holds no
 * `&` or `#` (raw, or left alone by encodeURI): they end the value as pg reads it, the rest being another parameter
 * or the fragment (masked as such, but the delimiter itself is shown).
 */
const inQuery: fc.Arbitrary<SecretUrl> = fc
  .record({
    scheme,
    user: fc.option(user, { nil: undefined }),
    hosts,
    path,
    before: plainQuery,
    name: secretParameterName,
    secret: secretOf(1),
    encoding: fc.constantFrom(...ENCODINGS),
    after: plainQuery,
    fragment,
  })
  .filter(({ secret, encoding }) => (encoding === 'raw' || wellFormed(secret)) && !/[&#]/.test(encodeSecret(secret, encoding)))
  .map((r) => {
    const written = encodeSecret(r.secret, r.encoding);
    const head = `${r.scheme}${r.user === undefined ? '' : `${r.user}@`}${r.hosts}${r.path}?`;
    const query = (value: string): string => [...r.before, `${r.name}=${value}`, ...r.after].join('&');
    return {
      url: `${head}${query(written)}${r.fragment}`,
      secret: r.secret,
      written,
      publicText: `${head}${query('')}${r.fragment}`,
      shape: `query ${r.name}, ${r.encoding}`,
    };
  });

/**
 * The secret in the fragment: `scheme://hosts/db#SECRET` (pg ignores it; it may be a pasted password). Without `@`:
 * the masker reads everything before the last `@` as credentials (`postgres://h:5432#pw@x` is user `h`, password
 * `5432#pw`, host `x`), so after an `@` the rest of a fragment shows as the host, by design.
 */
const inFragment: fc.Arbitrary<SecretUrl> = fc
  .record({ scheme, hosts, path, query: plainQuery, secret: secretOf(1).filter((secret) => !secret.includes('@')) })
  .map(({ scheme: s, hosts: h, path: p, query: q, secret }) => {
    const head = `${s}${h}${p}${q.length === 0 ? '' : `?${q.join('&')}`}#`;
    return { url: `${head}${secret}`, secret, written: secret, publicText: head, shape: 'fragment' };
  });

/** A libpq key=value string (`host=db password=SECRET dbname=app`): no scheme, so it is hidden whole. */
const keyValueDsn: fc.Arbitrary<SecretUrl> = fc
  .record({
    pairs: fc.array(fc.tuple(fc.constantFrom('host', 'port', 'user', 'dbname', 'sslmode'), word), { maxLength: 4 }),
    at: fc.nat(),
    name: fc.constantFrom('password', 'sslpassword'),
    secret: secretOf(1),
    quoted: fc.boolean(),
  })
  .map(({ pairs, at, name, secret, quoted }) => {
    const written = quoted ? `'${secret.replace(/[\\']/g, '\\$&')}'` : secret;
    const parts = pairs.map(([k, v]) => `${k}=${v}`);
    const index = at % (parts.length + 1);
    const withValue = (value: string): string => [...parts.slice(0, index), `${name}=${value}`, ...parts.slice(index)].join(' ');
    return { url: withValue(written), secret, written, publicText: withValue(''), shape: 'key=value DSN' };
  });

const secretUrl = fc.oneof({ weight: 4, arbitrary: inUserinfo }, { weight: 4, arbitrary: inQuery }, { weight: 1, arbitrary: inFragment }, { weight: 1, arbitrary: keyValueDsn });

// ---- the leak check ---------------------------------------------------------------------------------------------

/** Every `%XX` decoded where it forms valid UTF-8; anything else left as written (never throws). */
function lenientDecode(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

const asciiLower = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** The ways a secret could show up in printed text. */
function secretForms(secret: string, written: string): string[] {
  const forms = new Set([secret, written, lenientDecode(written), written.replace(/\+/g, ' '), JSON.stringify(secret).slice(1, -1)]);
  if (wellFormed(secret)) {
    for (const encoding of ENCODINGS) forms.add(encodeSecret(secret, encoding));
  }
  forms.delete('');
  return [...forms];
}

function windows(text: string, size: number): string[] {
  const out = new Set<string>();
  for (let i = 0; i + size <= text.length; i += 1) out.add(text.slice(i, i + size));
  return [...out];
}

/**
 * A piece of the secret (in any form) that `printed` shows and the public part of the URL does not: the masked text
 * is made of pieces of the input and `***`, so such a piece can only have come from the secret. Checked raw, after
 * percent-decoding, ASCII case-folded and inside JSON (what a log line holds). Undefined when nothing leaked.
 */
function leakIn(printed: string, sample: SecretUrl, publicPrinted = ''): string | undefined {
  const publicTexts = [sample.publicText, publicPrinted];
  const views: [string, string[]][] = [
    [printed, publicTexts],
    [lenientDecode(printed), publicTexts.map(lenientDecode)],
    [asciiLower(printed), publicTexts.map(asciiLower)],
    [JSON.stringify(printed), publicTexts.map((text) => JSON.stringify(text))],
  ];
  for (const form of secretForms(sample.secret, sample.written)) {
    for (const [view, lowered] of [
      [form, false],
      [asciiLower(form), true],
    ] as const) {
      const pieces = new Set([view, ...windows(view, Math.min(view.length, 3))]);
      for (const [index, [haystack, publicViews]] of views.entries()) {
        if ((index === 2) !== lowered) continue;
        for (const piece of pieces) {
          if (haystack.includes(piece) && !publicViews.some((text) => text.includes(piece))) return piece;
        }
      }
    }
  }
  return undefined;
}

/**
 * `publicPrinted`: what the same code prints for the URL without the secret (a log line's own words are no leak).
 */
function assertNoLeak(printed: string, sample: SecretUrl, where: string, publicPrinted = ''): void {
  const piece = leakIn(printed, sample, publicPrinted);
  assert.equal(
    piece,
    undefined,
    `${where} shows ${JSON.stringify(piece)} of the secret ${JSON.stringify(sample.secret)} (${sample.shape}): ` +
      `${JSON.stringify(sample.url)} -> ${JSON.stringify(printed)}`,
  );
}

// ---- regressions found by these properties ---------------------------------------------------------------------

test("regression: a '?' before the last '@' may have opened the query; pairs after the '@' are still masked", () => {
  // The last '@' sits in application_name's value; host=/... made the rest read as a path, shown as written.
  assert.equal(
    maskConnectionString('postgres://app:pw@db/app?application_name=me@laptop&host=/var/run/postgresql&password=S3cret#x'),
    'postgres://app:***@***#***',
  );
  assert.equal(maskConnectionString('postgres://db:5432/app?application_name=me@laptop&host=/tmp&sslpassword=S3cret'), 'postgres://db:***@***');
  assert.equal(maskConnectionString('postgres:///app?application_name=me@laptop&password=?S3cret#'), 'postgres://***@***#');
  // When what follows the '@' starts with a host, it stays readable; pairs in the path part are masked.
  assert.equal(maskConnectionString('postgres://app:pw@db/app?application_name=me@laptop/x&password=S3cret'), 'postgres://app:***@laptop/x&password=***');
  // The reported family still shows its host and database.
  assert.equal(maskConnectionString('postgres://app:4242?S3cretPW@db.internal:5432/app'), 'postgres://app:***@db.internal:5432/app');
});

test("regression: a fragment holding '@' after a path is masked whole", () => {
  assert.equal(maskConnectionString('postgres://db/app#notes@S3cret'), 'postgres://***@***');
  assert.equal(maskConnectionString('postgres://app@db/app?sslmode=require#x@S3cret'), 'postgres://***@***');
});

test('regression: a parameter name with a tab or newline (which a URL parser drops) is read as pg reads it', () => {
  for (const name of ['pa\tssword', 'pass\nword', 's\recret', 'ssl\tkey', 'to\tken']) {
    assert.equal(maskConnectionString(`postgres://db/app?${name}=S3cret&x=1`), `postgres://db/app?${name}=***&x=1`, JSON.stringify(name));
    assert.equal(new URL(`postgres://db/app?${name}=S3cret`).searchParams.get(name.replace(/[\t\n\r]/g, '')), 'S3cret', 'pg would send it');
  }
});

// ---- properties -------------------------------------------------------------------------------------------------

fuzz.property('mask: no piece of a generated secret is printed, in any encoding, whatever the URL shape', () =>
  fc.property(secretUrl, (sample) => {
    const masked = maskConnectionString(sample.url);
    assert.equal(typeof masked, 'string');
    assertNoLeak(masked, sample, 'maskConnectionString');
    assertNoLeak(maskDatabaseUrl(sample.url), sample, 'maskDatabaseUrl');
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(sample.url)) assert.equal(masked, '***', `no scheme://, hidden whole: ${JSON.stringify(sample.url)}`);
  }),
);

/**
 * pg's own reading of a connection string (pg-connection-string 2.x: WHATWG URL against `postgres://base` after
 * its percent fix-up): the password it would send, and every query parameter whose name, as decoded, looks secret
 * (the masker's documented rule). What the driver uses as a secret must never be printed, however odd the text.
 */
function secretsPgReads(text: string): string[] {
  let source = text;
  let url: URL;
  try {
    if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(source)) source = encodeURI(source).replace(/%25(\d\d)/g, '%$1');
    try {
      url = new URL(source, 'postgres://base');
    } catch {
      url = new URL(source.replace('@/', '@___DUMMY___/'), 'postgres://base');
    }
  } catch {
    return []; // pg cannot parse it either: nothing is sent
  }
  const secrets: string[] = [];
  for (const [name, value] of url.searchParams) {
    if (/pass|secret|key|token/i.test(name)) secrets.push(value);
  }
  secrets.push(url.searchParams.get('password') ?? lenientDecode(url.password));
  return secrets.filter((secret) => secret !== '');
}

/** URL-ish text from pieces: delimiters, controls, names that are (or, once a tab is dropped, become) secret. */
const TOKENS = [
  '?password=', '&password=', '?sslpassword=', '&sslkey=', '?pa\tssword=', '&pass\nword=', '&s\recret=', '?to\tken=',
  ':', '@', '/', '//', '?', '#', '&', '=', '%', '%40', '%2F', '%3A', '[', ']', '[::1]', ',', ';', '\\', ' ', '\t', '\n', '\r', '+',
  'app', 'db', 'h1:5432', '5432', 'user', 'x', 'me', 'application_name', 'sslmode', 'require',
  'password', 'sslpassword', 'sslkey', 'token', 'secret', 'PASSWORD', 'pass', 'word', 'pa', 'ss',
  'pa\tssword', 'pass\nword', 's\recret', 'to\tken', 'ssl\tkey', '%70assword', 'pass%77ord',
];
interface TokenUrl {
  readonly url: string;
  /** The distinctive secret markers in it (uppercase, used nowhere else). */
  readonly markers: readonly string[];
}
const tokenUrl: fc.Arbitrary<TokenUrl> = fc
  .record({
    scheme: fc.constantFrom('postgres://', 'postgresql://', 'POSTGRES://', 'mysql://'),
    parts: fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...TOKENS) }, { weight: 2, arbitrary: fc.constant(null) }), { minLength: 1, maxLength: 24 }),
  })
  .map(({ scheme: s, parts }) => {
    const markers: string[] = [];
    const text = parts.map((part) => {
      if (part !== null) return part;
      const marker = `QZ${String.fromCharCode(65 + (markers.length % 26))}${markers.length}XK`;
      markers.push(marker);
      return marker;
    });
    return { url: s + text.join(''), markers };
  });

fuzz.property("mask: what pg would read as a password (or a secret-named parameter) is never printed", () =>
  fc.property(tokenUrl, ({ url, markers }) => {
    const masked = maskConnectionString(url);
    const secrets = secretsPgReads(url);
    for (const marker of markers) {
      if (secrets.some((secret) => secret.includes(marker))) {
        assert.ok(
          !masked.includes(marker),
          `pg reads ${JSON.stringify(marker)} as (part of) a secret of ${JSON.stringify(url)} (pg's secrets: ${JSON.stringify(secrets)}), ` +
            `and the masked text shows it: ${JSON.stringify(masked)}`,
        );
      }
    }
  }),
);

fuzz.property('mask: a plain URL keeps its user, hosts, database and parameters readable, password alone masked', () =>
  fc.property(
    fc.record({
      scheme: fc.constantFrom('postgres://', 'postgresql://', 'mysql://'),
      user: fc.oneof(word, fc.constant('app%40corp')),
      secret: secretOf(1),
      hosts: fc.array(fc.oneof(word, fc.tuple(word, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`), fc.constant('[::1]:5432')), {
        minLength: 1,
        maxLength: 3,
      }),
      path: fc.oneof(fc.constant(''), word.map((db) => `/${db}`)),
      query: fc.array(fc.tuple(fc.constantFrom('sslmode', 'application_name', 'connect_timeout'), word).map(([k, v]) => `${k}=${v}`), { maxLength: 3 }),
    }),
    ({ scheme: s, user: u, secret, hosts: h, path: p, query: q }) => {
      // Any password, written raw: everything up to the last '@' is the credentials, whatever it holds.
      const tail = `${h.join(',')}${p}${q.length === 0 ? '' : `?${q.join('&')}`}`;
      assert.equal(maskConnectionString(`${s}${u}:${secret}@${tail}`), `${s}${u}:***@${tail}`);
      assert.equal(maskConnectionString(`${s}${u}@${tail}`), `${s}${u}@${tail}`, 'no password: shown as written');
    },
  ),
);

fuzz.property('mask: total and idempotent over any text (masking the masked text changes nothing)', () =>
  fc.property(fc.oneof(tokenUrl.map((t) => t.url), secretUrl.map((s) => s.url), fc.string({ unit: 'binary' }), fc.webUrl({ withQueryParameters: true, withFragments: true })), (text) => {
    const once = maskConnectionString(text);
    assert.equal(typeof once, 'string');
    assert.equal(maskConnectionString(once), once, `mask(mask(x)) differs for ${JSON.stringify(text)} -> ${JSON.stringify(once)}`);
  }),
);

fuzz.property('printed paths: the config startup line and config errors never show DATABASE_URL\'s secret', () =>
  fc.property(secretUrl, fc.option(fc.constantFrom('0', 'x', '-5', '1.5'), { nil: undefined }), (sample, badMax) => {
    const printedFor = (url: string): string => {
      const env = { DATABASE_URL: url, ...(badMax === undefined ? {} : { DATABASE_POOL_MAX: badMax }) };
      try {
        const line = poolConfigLogLine(loadPoolConfigReport({ env }));
        return `${line.message}\n${JSON.stringify(line.fields)}`;
      } catch (error) {
        assert.ok(error instanceof PoolConfigError && badMax !== undefined, `only the bad DATABASE_POOL_MAX may throw: ${String(error)}`);
        return `${error.message}\n${JSON.stringify(error)}`;
      }
    };
    assertNoLeak(printedFor(sample.url), sample, 'the config output', printedFor(sample.publicText));
  }),
);

fuzz.property('printed paths: a URL given to a CLI --url flag is refused or accepted without echoing its secret', () =>
  fc.property(
    fc.oneof(
      secretUrl,
      inUserinfo.map((s) => ({ ...s, url: s.url.replace(/^[^:]*:\/\//, 'http://'), publicText: s.publicText.replace(/^[^:]*:\/\//, 'http://') })),
      inQuery.map((s) => ({ ...s, url: s.url.replace(/^[^:]*:\/\//, 'https://'), publicText: s.publicText.replace(/^[^:]*:\/\//, 'https://') })),
    ),
    (sample) => {
      const refusal = (url: string): string => {
        try {
          httpUrlFlag('url', url);
          return '';
        } catch (error) {
          return error instanceof Error ? error.message : String(error);
        }
      };
      let accepted: URL;
      try {
        accepted = httpUrlFlag('url', sample.url);
      } catch (error) {
        assert.ok(error instanceof CliUsageError, `a usage error, not ${String(error)}`);
        // The messages' own words: every kind of refusal, and this one for the URL without its secret.
        const words = [sample.publicText, 'not a url', 'ftp://x', 'http://u:p@x', 'http://x/?q', 'http://x/#f', 'http://x/?q#'].map(refusal).join('\n');
        assertNoLeak(error.message, sample, 'the CLI usage error', words);
        return;
      }
      // Accepted: an http(s) URL as a URL parser reads it, without credentials, query or fragment.
      assert.match(accepted.protocol, /^https?:$/);
      assert.deepEqual([accepted.username, accepted.password, accepted.search, accepted.hash], ['', '', '', '']);
    },
  ),
);
