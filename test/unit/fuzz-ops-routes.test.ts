// Properties of the ops routes (issue 17), socket-free (OpsRequest in, OpsResponse out, as ops-routes.test.ts):
//   - any path, method, query and headers: never a 500 and never an error reported; the status is the one a
//     reference model of the route table gives (only known routes answer 200; the rest 400/403/404/405 with a JSON
//     body of exactly { error, message } and the expected code); no header value can split a response;
//   - /metrics: the body is the exposition, gzip-encoded exactly when the request accepts gzip;
//   - access: for any allowlist, trusted proxies, peer, X-Forwarded-For chain and Authorization header, OpsAccess
//     decides what a reference model (its own IPv4/IPv6 parser and CIDR arithmetic on BigInt) decides, and the
//     handler refuses (403) exactly the requests the model refuses.
// Seeded and bounded: test/support/fuzz-kit.ts.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { Inspector } from '../../src/core/inspector.js';
import { createOpsHandler, OPS_ROUTES, type OpsHandler } from '../../src/http/ops-handler.js';
import { DEFAULT_OPS_ALLOWLIST, OpsAccess, type OpsAccessOptions } from '../../src/http/ops-access.js';
import { acceptsGzip } from '../../src/http/metrics-route.js';
import { opsRequestOf, type OpsRequestHeaders } from '../../src/http/ops-request.js';
import type { OpsResponse } from '../../src/http/ops-response.js';
import { UPLOT_ASSETS } from '../../src/http/dashboard-assets.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';
import { fuzzSuite } from '../support/fuzz-kit.js';

const fuzz = fuzzSuite(import.meta.url);

// ---- the handler under test -------------------------------------------------------------------------------------

class PingablePool extends FakePoolAdapter {
  ping(): Promise<void> {
    return Promise.resolve();
  }
}

const POOL_NAMES = ['main', 'tenant:42', 'Reports.v2-ro_1'] as const;
const TOKEN = 'fuzz-T0ken_0123456789';
const PREFIXES = ['', '/ops', '/internal/ops'] as const;
const EXPOSITION = '# HELP x_total a counter\n# TYPE x_total counter\nx_total{pool="main"} 42\n';
const OWN_ASSETS = readdirSync(fileURLToPath(new URL('../../src/dashboard/assets/', import.meta.url))).filter((name) => /^[a-z0-9][a-z0-9-]*\.(?:js|css)$/.test(name));
const ASSETS = new Set([...OWN_ASSETS, ...Object.keys(UPLOT_ASSETS)]);

interface Setup {
  readonly handlers: ReadonlyMap<string, OpsHandler>;
  readonly errors: unknown[];
}

/** One inspector with three idle pools, and a handler per prefix (with /metrics and a token). */
function setUp(t: TestContext): Setup {
  const errors: unknown[] = [];
  const inspector = new Inspector({ clock: new FakeClock(), historyIntervalMillis: 0, alerts: false, onError: (error) => errors.push(error) });
  for (const name of POOL_NAMES) inspector.registerPool(new PingablePool({ max: 10, total: 2, idle: 2 }), { name, leakThresholdMillis: 0 });
  const metrics = { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: () => Promise.resolve(EXPOSITION) };
  const handlers = new Map(PREFIXES.map((prefix) => [prefix, createOpsHandler(inspector, { prefix, metrics, token: TOKEN, onError: (error) => errors.push(error) })]));
  t.after(() => {
    for (const handler of handlers.values()) handler.closeStreams();
    inspector.close();
  });
  return { handlers, errors };
}

// ---- the reference model of the routes ----------------------------------------------------------------------------

/** The route table as docs/reference/http.md lists it (a test below keeps it equal to OPS_ROUTES). */
const LITERAL_ROUTES = [
  '/health',
  '/readyz',
  '/health/pool',
  '/health/details',
  '/metrics',
  '/api/pools',
  '/api/worker-pools',
  '/api/snapshots',
  '/api/snapshot',
  '/api/recommendations',
  '/api/server',
  '/api/cluster/snapshot',
  '/api/stream',
  '/dashboard',
];
const PUBLIC_ROUTES = new Set(['/health', '/dashboard', '/dashboard/assets/:file']);

type Route = { readonly path: string; readonly param?: string };

function routeOf(prefix: string, path: string): Route | undefined {
  if (!path.startsWith(prefix)) return undefined;
  const relative = path.slice(prefix.length);
  if (LITERAL_ROUTES.includes(relative)) return { path: relative };
  for (const [literal, pattern] of [
    ['/api/pools/', '/api/pools/:name'],
    ['/api/worker-pools/', '/api/worker-pools/:name'],
    ['/dashboard/assets/', '/dashboard/assets/:file'],
  ] as const) {
    const param = relative.startsWith(literal) ? relative.slice(literal.length) : '';
    if (param !== '' && !param.includes('/')) return { path: pattern, param };
  }
  return undefined;
}

interface Expected {
  readonly status: number;
  /** The `error` code of an error answer. */
  readonly code?: string;
}

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** What a GET/HEAD of `route` answers, once access is granted. */
function answerOf(route: Route, query: Readonly<Record<string, string>>): Expected {
  const poolQuery = query.pool;
  const knownPool = (name: string): boolean => (POOL_NAMES as readonly string[]).includes(name);
  const notTracked: Expected = { status: 404, code: 'POOLSCOPE_ERR_POOL_NOT_TRACKED' };
  switch (route.path) {
    case '/health/pool':
    case '/api/recommendations':
      return poolQuery === undefined || poolQuery === '' || knownPool(poolQuery) ? { status: 200 } : notTracked;
    case '/api/server':
      return { status: 404, code: 'POOLSCOPE_ERR_HTTP_SERVER_VIEW_DISABLED' };
    case '/api/cluster/snapshot':
      return { status: 404, code: 'POOLSCOPE_ERR_HTTP_CLUSTER_DISABLED' };
    case '/api/pools/:name': {
      const name = decoded(route.param ?? '');
      if (name === undefined) return { status: 400, code: 'POOLSCOPE_ERR_HTTP_BAD_REQUEST' };
      return knownPool(name) ? { status: 200 } : notTracked;
    }
    case '/api/worker-pools/:name': // the inspector tracks no worker pool
      return decoded(route.param ?? '') === undefined ? { status: 400, code: 'POOLSCOPE_ERR_HTTP_BAD_REQUEST' } : notTracked;
    case '/dashboard/assets/:file':
      return ASSETS.has(route.param ?? '') ? { status: 200 } : { status: 404, code: 'POOLSCOPE_ERR_HTTP_NOT_FOUND' };
    default:
      return { status: 200 };
  }
}

// ---- the reference model of access ------------------------------------------------------------------------------

/** An address: family and value (IPv4-mapped IPv6 is IPv4, the way a dual-stack server reports IPv4 peers). */
interface Address {
  readonly family: 4 | 6;
  readonly value: bigint;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(body.slice(lastColon + 1));
    if (v4 === undefined || lastColon === -1) return undefined;
    tail.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    body = body.slice(0, lastColon + 1);
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group)) ? groups.map((group) => Number.parseInt(group, 16)) : undefined;
  };
  const head = groupsOf(halves[0] ?? '');
  const rest = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const explicit = head.length + rest.length + tail.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - explicit).fill(0), ...rest, ...tail];
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** An address as a peer or an X-Forwarded-For hop may write it: trimmed, in brackets or not, with a zone or not. */
function addressOf(text: string): Address | undefined {
  let address = text.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(address);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffff_ffffn };
  return { family: 6, value: v6 };
}

interface Block {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
}

/** `10.0.0.0/8`, `fd00::/8`, `::ffff:10.0.0.0/104` (the IPv4 block 10.0.0.0/8) or a single address. */
function blockOf(text: string): Block {
  const [addressText = '', prefixText] = text.split('/');
  const v4 = parseIpv4(addressText);
  if (v4 !== undefined) return { family: 4, network: v4, prefix: prefixText === undefined ? 32 : Number(prefixText) };
  const v6 = parseIpv6(addressText);
  if (v6 === undefined) throw new Error(`the generator made a bad block ${text}`);
  const prefix = prefixText === undefined ? 128 : Number(prefixText);
  if (v6 >> 32n === 0xffffn && prefix >= 96) return { family: 4, network: v6 & 0xffff_ffffn, prefix: prefix - 96 };
  return { family: 6, network: v6, prefix };
}

function inBlocks(blocks: readonly Block[], address: Address | undefined): boolean {
  if (address === undefined) return false;
  const bits = address.family === 4 ? 32n : 128n;
  return blocks.some((block) => {
    if (block.family !== address.family) return false;
    const shift = bits - BigInt(block.prefix);
    return address.value >> shift === block.network >> shift;
  });
}

/** One X-Forwarded-For entry: an address, `[v6]`, `[v6]:port` or `v4:port`. */
function hopOf(entry: string): Address | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(entry);
  if (bracketed !== null) return addressOf(bracketed[1] ?? '');
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(entry);
  if (withPort !== null) return addressOf(withPort[1] ?? '');
  return addressOf(entry);
}

interface AccessModel {
  readonly client: Address | undefined;
  readonly grantedBy: 'allowlist' | 'token' | null;
}

/**
 * The documented rule: the client is the peer, unless the peer is a trusted proxy: then the right-most
 * X-Forwarded-For hop that is not a trusted proxy (the left-most when all are; unknown when a hop on the way cannot
 * be read). Allowed when the client is in the allowlist, or `Authorization: Bearer <token>` carries the token.
 */
function accessModel(allowlist: readonly Block[], trusted: readonly Block[], token: string | undefined, peer: string | undefined, headers: OpsRequestHeaders): AccessModel {
  const peerAddress = peer === undefined ? undefined : addressOf(peer);
  let client = peerAddress;
  if (peerAddress !== undefined && inBlocks(trusted, peerAddress)) {
    const header = headers['x-forwarded-for'];
    const hops = (header === undefined ? '' : typeof header === 'string' ? header : header.join(','))
      .split(',')
      .map((hop) => hop.trim())
      .filter((hop) => hop !== '');
    if (hops.length > 0) {
      client = undefined;
      let decided = false;
      for (let i = hops.length - 1; i >= 0 && !decided; i -= 1) {
        const hop = hopOf(hops[i] ?? '');
        if (hop === undefined || !inBlocks(trusted, hop)) {
          client = hop;
          decided = true;
        }
      }
      if (!decided) client = hopOf(hops[0] ?? '');
    }
  }
  if (inBlocks(allowlist, client)) return { client, grantedBy: 'allowlist' };
  const authorization = headers.authorization;
  const first = typeof authorization === 'string' ? authorization : authorization?.[0];
  const bearer = first === undefined ? null : /^bearer +(.*?) *$/i.exec(first);
  const presented = bearer?.[1];
  if (token !== undefined && presented !== undefined && presented === token && !/\s/.test(presented)) return { client, grantedBy: 'token' };
  return { client, grantedBy: null };
}

// ---- generators -------------------------------------------------------------------------------------------------

const poolSegment = fc.oneof(
  fc.constantFrom(...POOL_NAMES),
  fc.constantFrom(...POOL_NAMES).map(encodeURIComponent),
  fc.constantFrom('ma%69n', 'tenant%3a42', 'tenant%3A42', 'main%00', '%', '%E0%A4%A', '%zz', 'main%2Fx', '..', '.', '__proto__', 'constructor', 'unknown'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).map(encodeURIComponent),
);
const assetSegment = fc.oneof(
  fc.constantFrom(...ASSETS),
  fc.constantFrom('..%2F..%2Fpackage.json', '..', 'dashboard.html', 'DASHBOARD.JS', 'dashboard.js%00', 'uPlot.min.css?x', '.env', 'missing.js'),
  fc.stringMatching(/^[a-z0-9-]{1,10}\.(?:js|css|map)$/),
);
/** A path near the routes (exact, mutated, with parameters) or anywhere. */
const routePath = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...LITERAL_ROUTES) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('/api/pools/', '/api/pools/', '/api/worker-pools/'), poolSegment).map(([literal, segment]) => `${literal}${segment}`) },
  { weight: 2, arbitrary: assetSegment.map((segment) => `/dashboard/assets/${segment}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...LITERAL_ROUTES, '/api/pools/main', '/dashboard/assets/dashboard.js'), fc.constantFrom('/', '//', '/.', '/..', '%2F', '.json', 'X', '?', '#'), fc.boolean())
      .map(([path, suffix, upper]) => (upper ? path.toUpperCase() : path) + suffix),
  },
  { weight: 1, arbitrary: fc.constantFrom('/', '', '//health', '/ops//health', '/api', '/api/pools/', '/dashboard/assets/', '/health/../readyz', '/%2e%2e/health', '*', 'health') },
  { weight: 1, arbitrary: fc.webPath() },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);
const target = fc
  .record({
    prefix: fc.constantFrom(...PREFIXES, '/op', '/ops/ops'),
    path: routePath,
    query: fc.option(
      fc.oneof(
        fc.constantFrom(...POOL_NAMES, '', 'unknown', 'main&pool=unknown', '%zz', 'tenant%3A42').map((pool) => `pool=${pool}`),
        fc.webQueryParameters(),
        fc.string({ maxLength: 12 }),
      ),
      { nil: undefined },
    ),
    fragment: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
  })
  .map(({ prefix, path, query, fragment }) => `${prefix}${path}${query === undefined ? '' : `?${query}`}${fragment === undefined ? '' : `#${fragment}`}`);
const method = fc.oneof(
  { weight: 6, arbitrary: fc.constant('GET') },
  { weight: 2, arbitrary: fc.constantFrom('HEAD', 'head', 'get', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const headerValue = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 20 }));
const acceptEncoding = fc
  .array(
    fc.tuple(
      fc.constantFrom('gzip', 'x-gzip', 'GZIP', '*', 'identity', 'br', 'deflate', ''),
      fc.option(fc.constantFrom('q=0', 'q=0.0', 'q=0.5', 'q=1', 'q=1.000', 'q=0.001', 'q=2', 'q=abc', 'Q=0', 'q =0', 'q=', 'level=1'), { nil: undefined }),
    ),
    { maxLength: 4 },
  )
  .map((codings) => codings.map(([name, parameter]) => (parameter === undefined ? name : `${name};${parameter}`)).join(', '));
const headers: fc.Arbitrary<OpsRequestHeaders> = fc
  .record(
    {
      'accept-encoding': fc.oneof(acceptEncoding, headerValue),
      authorization: fc.oneof(fc.constantFrom(`Bearer ${TOKEN}`, `bearer  ${TOKEN} `, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer '), headerValue),
      'x-forwarded-for': fc.oneof(fc.constantFrom('203.0.113.9', '127.0.0.1', '10.0.0.1, 203.0.113.9'), headerValue),
      accept: headerValue,
      host: headerValue,
      cookie: headerValue,
    },
    { requiredKeys: [] },
  )
  .chain((known) =>
    fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), { maxKeys: 3 }).map((extra) => ({ ...extra, ...known })),
  );
const remoteAddress = fc.option(fc.constantFrom('127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '203.0.113.9', '2001:db8::1', 'garbage'), { nil: undefined });

// ---- response checks ----------------------------------------------------------------------------------------------

function bodyText(response: OpsResponse): string {
  return typeof response.body === 'string' ? response.body : Buffer.from(response.body).toString('utf8');
}

/** What every answer must be, whatever it says. */
function assertWellFormed(response: OpsResponse, context: string): void {
  for (const [name, value] of Object.entries(response.headers)) {
    assert.equal(name, name.toLowerCase(), `header names are lower case: ${context}`);
    assert.equal(typeof value, 'string', context);
    assert.ok(!/[\r\n\0]/.test(value), `header ${name} could split the response: ${JSON.stringify(value)} (${context})`);
  }
  assert.ok(typeof response.headers['content-type'] === 'string', `a content type: ${context}`);
  assert.doesNotMatch(bodyText(response), /\n\s+at .+:\d+:\d+/, `no stack trace: ${context}`);
}

function assertErrorBody(response: OpsResponse, code: string | undefined, context: string): void {
  const body = JSON.parse(bodyText(response)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['error', 'message'], context);
  assert.match(String(body.error), /^POOLSCOPE_ERR_[A-Z_]+$/, context);
  if (code !== undefined) assert.equal(body.error, code, context);
}

// ---- properties -------------------------------------------------------------------------------------------------

test("ops routes: the model's route table is OPS_ROUTES (a new route makes these properties look at it)", () => {
  assert.deepEqual(OPS_ROUTES.map((route) => route.path).sort(), [...LITERAL_ROUTES, '/api/pools/:name', '/api/worker-pools/:name', '/dashboard/assets/:file'].sort());
  assert.deepEqual(OPS_ROUTES.filter((route) => route.access === 'public').map((route) => route.path).sort(), [...PUBLIC_ROUTES].sort());
});

test('regression: HEAD answers have no body on the refusals too (403, 404, 405), as on every other answer', async (t) => {
  const { handlers } = setUp(t);
  const handler = handlers.get('');
  assert.ok(handler !== undefined);
  for (const [path, remote, status] of [
    ['/nowhere', '127.0.0.1', 404],
    ['/api/pools', '203.0.113.9', 403],
    ['/api/pools/unknown', '127.0.0.1', 404],
  ] as const) {
    const response = await handler.handle(opsRequestOf('HEAD', path, {}, remote));
    assert.equal(response.status, status, path);
    assert.equal(response.body, '', `HEAD ${path}`);
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8', 'the headers a GET would have');
  }
  const post = await handler.handle(opsRequestOf('POST', '/readyz', {}, '127.0.0.1'));
  assert.equal(post.status, 405);
  assert.notEqual(post.body, '', 'other methods keep their body');
});

fuzz.property(
  'ops routes: any path, method, query and headers get the model\'s status, a well-formed answer, never a 500',
  (t) => {
    const { handlers, errors } = setUp(t);
    return fc.asyncProperty(
      fc.constantFrom(...PREFIXES),
      method,
      target,
      headers,
      remoteAddress,
      async (prefix, requestMethod, requestTarget, requestHeaders, peer) => {
        const handler = handlers.get(prefix);
        assert.ok(handler !== undefined);
        const request = opsRequestOf(requestMethod, requestTarget, requestHeaders, peer);
        const response = await handler.handle(request);
        const context = `${requestMethod} ${JSON.stringify(requestTarget)} prefix ${JSON.stringify(prefix)} from ${String(peer)} -> ${response.status} ${bodyText(response).slice(0, 200)}`;
        assert.deepEqual(errors, [], `an error was reported: ${context}`);
        assertWellFormed(response, context);

        const route = routeOf(prefix, request.path);
        const access = accessModel(DEFAULT_OPS_ALLOWLIST.map(blockOf), [], TOKEN, peer, requestHeaders);
        const upper = requestMethod.toUpperCase();
        let expected: Expected;
        if ((route === undefined || !PUBLIC_ROUTES.has(route.path)) && access.grantedBy === null) expected = { status: 403, code: 'POOLSCOPE_ERR_HTTP_FORBIDDEN' };
        else if (route === undefined) expected = { status: 404, code: 'POOLSCOPE_ERR_HTTP_NOT_FOUND' };
        else if (upper !== 'GET' && upper !== 'HEAD') expected = { status: 405, code: 'POOLSCOPE_ERR_HTTP_METHOD_NOT_ALLOWED' };
        else expected = answerOf(route, request.query);
        assert.equal(response.status, expected.status, context);
        if (upper === 'HEAD') {
          assert.equal(bodyText(response), '', `HEAD has no body: ${context}`);
          assert.equal(response.stream, undefined, context);
        } else if (expected.status !== 200) {
          assertErrorBody(response, expected.code, context);
        }
        if (expected.status === 405) assert.equal(response.headers.allow, 'GET, HEAD', context);
        if (expected.status === 200 && upper === 'GET') {
          if (route?.path === '/api/stream') {
            assert.equal(typeof response.stream, 'function', context);
          } else if (route?.path === '/api/pools/:name') {
            assert.equal((JSON.parse(bodyText(response)) as { poolName: string }).poolName, decoded(route.param ?? ''), context);
          } else if (route?.path === '/health') {
            assert.equal(bodyText(response), '{"status":"ok"}', context);
          } else if (route?.path === '/metrics') {
            const gzip = acceptsGzip(typeof requestHeaders['accept-encoding'] === 'string' ? requestHeaders['accept-encoding'] : requestHeaders['accept-encoding']?.[0]);
            assert.equal(response.headers['content-encoding'], gzip ? 'gzip' : undefined, context);
            const text = gzip ? gunzipSync(response.body).toString('utf8') : bodyText(response);
            assert.equal(text, EXPOSITION, context);
          }
        }
      },
    );
  },
  { weight: 0.5 },
);

/** CIDR blocks for allowlists and trusted proxies: fixed ones around the addresses below, and random IPv4 ones. */
const blockText = fc.oneof(
  fc.constantFrom(
    '10.0.0.0/8',
    '10.1.0.0/16',
    '10.1.2.3',
    '192.168.0.0/16',
    '203.0.113.0/24',
    '203.0.113.5',
    '203.0.113.5/32',
    '127.0.0.0/8',
    '::1/128',
    '::1',
    'fd00::/8',
    'fc00::/7',
    '2001:db8::/32',
    '2001:db8::1/128',
    '::ffff:198.51.100.0/120',
    '::ffff:0:0/96',
    '::/0',
    '0.0.0.0/0',
    'fe80::/10',
  ),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([address, prefix]) => `${address}/${prefix}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([address, prefix]) => `${address}/${prefix}`),
);
/** Addresses as peers and hops write them: near the blocks, IPv4-mapped, with ports, zones, brackets, or malformed. */
const addressText = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      '10.1.2.3',
      '10.255.0.1',
      '192.168.1.7',
      '203.0.113.5',
      '203.0.113.77',
      '198.51.100.7',
      '127.0.0.1',
      '8.8.8.8',
      '::1',
      '0:0:0:0:0:0:0:1',
      'fd00::1',
      'FD00::1',
      '2001:db8::1',
      '2001:DB8:0:0:0:0:0:1',
      '::ffff:10.1.2.3',
      '::ffff:203.0.113.5',
      '::ffff:cb00:7105',
      '::FFFF:198.51.100.7',
      'fe80::1%eth0',
      '[::1]',
      '[2001:db8::1]:443',
      '[203.0.113.5]',
      '203.0.113.5:8080',
      '10.1.2.3:1',
    ),
  },
  { weight: 2, arbitrary: fc.oneof(fc.ipV4(), fc.ipV6()) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('unknown', '_hidden', '', '1.2.3', '256.1.1.1', '01.2.3.4', '1.2.3.4.5', '::ffff:999.1.1.1', '1.2.3.4:99999', '[::1', ':::1', '1::2::3', 'fe80::1%', '0x7f.0.0.1', '127.1'),
  },
  { weight: 1, arbitrary: fc.ipV4Extended() },
);
const forwardedFor = fc.option(
  fc.oneof(
    fc.array(fc.tuple(addressText, fc.constantFrom('', ' ', '  ')), { minLength: 1, maxLength: 5 }).map((hops) => hops.map(([hop, space]) => `${space}${hop}`).join(',')),
    fc.array(fc.array(addressText, { minLength: 1, maxLength: 2 }).map((hops) => hops.join(', ')), { minLength: 1, maxLength: 3 }),
    fc.constantFrom('', ',', ' , ,'),
  ),
  { nil: undefined },
);
const authorization = fc.option(fc.constantFrom(`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER   ${TOKEN}  `, `Bearer ${TOKEN}\t`, `Bearer\t${TOKEN}`, `Bearer ${TOKEN} x`, `Bearer x${TOKEN}`, 'Bearer', `Basic ${TOKEN}`), { nil: undefined });
const accessCase = fc.record({
  allowlist: fc.option(fc.array(blockText, { maxLength: 4 }), { nil: undefined }),
  trustedProxies: fc.array(blockText, { maxLength: 3 }),
  token: fc.option(fc.constant(TOKEN), { nil: undefined }),
  peer: fc.option(addressText, { nil: undefined }),
  forwardedFor,
  authorization: fc.oneof(authorization, fc.array(fc.constantFrom(`Bearer ${TOKEN}`, 'Bearer nope'), { minLength: 1, maxLength: 2 })),
});

function sameAddress(text: string | null, expected: Address | undefined): boolean {
  const actual = text === null ? undefined : addressOf(text);
  return actual?.family === expected?.family && actual?.value === expected?.value;
}

fuzz.property(
  'access: OpsAccess decides what the reference model decides, for any allowlist, proxies, peer, X-Forwarded-For and token',
  () =>
    fc.property(accessCase, (c) => {
      const options: OpsAccessOptions = {
        ...(c.allowlist === undefined ? {} : { allowlist: c.allowlist }),
        trustedProxies: c.trustedProxies,
        ...(c.token === undefined ? {} : { token: c.token }),
      };
      const requestHeaders: Record<string, string | readonly string[]> = {};
      if (c.forwardedFor !== undefined) requestHeaders['x-forwarded-for'] = c.forwardedFor;
      if (c.authorization !== undefined) requestHeaders.authorization = c.authorization;
      const decision = new OpsAccess(options).check(c.peer, requestHeaders);
      const model = accessModel((c.allowlist ?? DEFAULT_OPS_ALLOWLIST).map(blockOf), c.trustedProxies.map(blockOf), c.token, c.peer, requestHeaders);
      const context = `${fc.stringify(c)} -> ${JSON.stringify(decision)}; model: client ${JSON.stringify(model.client, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))}, ${model.grantedBy}`;
      assert.ok(sameAddress(decision.clientAddress, model.client), `client address: ${context}`);
      assert.equal(decision.grantedBy, model.grantedBy, context);
      assert.equal(decision.allowed, model.grantedBy !== null, context);
    }),
  { weight: 2 },
);

fuzz.property(
  'access: through the handler, a restricted route answers 403 exactly when the model refuses, and /health never does',
  (t) => {
    const errors: unknown[] = [];
    const inspector = new Inspector({ clock: new FakeClock(), historyIntervalMillis: 0, alerts: false, onError: (error) => errors.push(error) });
    inspector.registerPool(new PingablePool({ max: 10, total: 1, idle: 1 }), { name: 'main', leakThresholdMillis: 0 });
    t.after(() => inspector.close());
    return fc.asyncProperty(accessCase, fc.constantFrom('/api/pools', '/readyz', '/nowhere', '/health'), async (c, path) => {
      const handler = createOpsHandler(inspector, {
        ...(c.allowlist === undefined ? {} : { allowlist: c.allowlist }),
        trustedProxies: c.trustedProxies,
        ...(c.token === undefined ? {} : { token: c.token }),
        onError: (error) => errors.push(error),
      });
      const requestHeaders: Record<string, string | readonly string[]> = {};
      if (c.forwardedFor !== undefined) requestHeaders['x-forwarded-for'] = c.forwardedFor;
      if (c.authorization !== undefined) requestHeaders.authorization = c.authorization;
      const response = await handler.handle(opsRequestOf('GET', path, requestHeaders, c.peer));
      const model = accessModel((c.allowlist ?? DEFAULT_OPS_ALLOWLIST).map(blockOf), c.trustedProxies.map(blockOf), c.token, c.peer, requestHeaders);
      const refused = path !== '/health' && model.grantedBy === null;
      const context = `${fc.stringify(c)} GET ${path} -> ${response.status} ${bodyText(response).slice(0, 160)}`;
      assert.equal(response.status === 403, refused, context);
      if (!refused) assert.equal(response.status, path === '/nowhere' ? 404 : 200, context);
      if (refused) assertErrorBody(response, 'POOLSCOPE_ERR_HTTP_FORBIDDEN', context);
      assert.deepEqual(errors, [], context);
    });
  },
  { weight: 0.5 },
);
