// Who may call the restricted ops routes: allowlist (CIDR, IPv4/IPv6/IPv4-mapped), bearer token, trusted proxies.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OptionsError } from '../../src/errors.js';
import { DEFAULT_OPS_ALLOWLIST, OpsAccess, type OpsAccessOptions } from '../../src/http/ops-access.js';
import { CidrList, normalizeIpAddress } from '../../src/http/cidr-list.js';
import type { OpsRequestHeaders } from '../../src/http/ops-request.js';

function allowed(options: OpsAccessOptions, remoteAddress: string | undefined, headers: OpsRequestHeaders = {}): boolean {
  return new OpsAccess(options).check(remoteAddress, headers).allowed;
}

function assertOptionsError(fn: () => unknown, option: string): OptionsError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof OptionsError, `expected OptionsError, got ${String(caught)}`);
  assert.equal(caught.code, 'POOLSCOPE_ERR_OPTIONS_INVALID');
  assert.equal(caught.option, option);
  return caught;
}

describe('default allowlist: loopback and private ranges', () => {
  const inside = [
    '127.0.0.1',
    '127.5.6.7',
    '::1',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '10.0.0.1',
    '10.255.255.255',
    '::ffff:10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '::ffff:c0a8:101',
    'fc00::1',
    'fd12:3456::1',
    'FD00::1',
  ];
  const outside = [
    '8.8.8.8',
    '172.15.255.255',
    '172.32.0.1',
    '192.169.0.1',
    '11.0.0.1',
    '::ffff:8.8.8.8',
    '2001:db8::1',
    'fe80::1',
    'fe00::1',
    '::',
    'garbage',
    '',
  ];
  for (const address of inside) {
    test(`${address} is allowed`, () => assert.equal(allowed({}, address), true));
  }
  for (const address of outside) {
    test(`${JSON.stringify(address)} is refused`, () => assert.equal(allowed({}, address), false));
  }
  test('no peer address (a closed socket) is refused', () => assert.equal(allowed({}, undefined), false));
  test('the documented default list', () => {
    assert.deepEqual(DEFAULT_OPS_ALLOWLIST, ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']);
  });
});

describe('custom allowlist', () => {
  const options: OpsAccessOptions = { allowlist: ['203.0.113.0/24', '2001:db8::/32', '::ffff:198.51.100.0/120', '192.0.2.10'] };

  test('replaces the defaults: loopback is refused', () => {
    assert.equal(allowed(options, '127.0.0.1'), false);
    assert.equal(allowed(options, '::1'), false);
  });

  test('IPv4 blocks, also for IPv4-mapped peers', () => {
    assert.equal(allowed(options, '203.0.113.77'), true);
    assert.equal(allowed(options, '::ffff:203.0.113.77'), true);
    assert.equal(allowed(options, '203.0.114.1'), false);
  });

  test('IPv6 blocks', () => {
    assert.equal(allowed(options, '2001:db8:ffff::1'), true);
    assert.equal(allowed(options, '2001:db9::1'), false);
    assert.equal(allowed(options, 'fe80::1%eth0'), false);
  });

  test('an IPv4-mapped IPv6 block matches the IPv4 block it maps', () => {
    assert.equal(allowed(options, '198.51.100.200'), true);
    assert.equal(allowed(options, '::ffff:198.51.100.3'), true);
    assert.equal(allowed(options, '198.51.101.1'), false);
  });

  test('a bare address is a single host', () => {
    assert.equal(allowed(options, '192.0.2.10'), true);
    assert.equal(allowed(options, '192.0.2.11'), false);
  });

  test('an IPv6 catch-all does not open IPv4 (families are matched apart)', () => {
    assert.equal(allowed({ allowlist: ['::/0'] }, '2001:db8::1'), true);
    assert.equal(allowed({ allowlist: ['::/0'] }, '8.8.8.8'), false);
    assert.equal(allowed({ allowlist: ['0.0.0.0/0'] }, '8.8.8.8'), true);
    assert.equal(allowed({ allowlist: ['0.0.0.0/0'] }, '::ffff:8.8.8.8'), true);
  });

  test('an empty allowlist admits nobody without the token', () => {
    assert.equal(allowed({ allowlist: [] }, '127.0.0.1'), false);
  });
});

describe('bearer token', () => {
  const options: OpsAccessOptions = { allowlist: [], token: 's3cr3t-token_value' };
  const from = '203.0.113.9';

  test('the right token opens the routes from any address', () => {
    const decision = new OpsAccess(options).check(from, { authorization: 'Bearer s3cr3t-token_value' });
    assert.deepEqual(decision, { allowed: true, clientAddress: from, grantedBy: 'token' });
    assert.equal(allowed(options, from, { authorization: 'bearer s3cr3t-token_value' }), true, 'the scheme is case-insensitive');
  });

  test('a wrong, longer, shorter, missing or differently-sent token is refused', () => {
    for (const authorization of [
      'Bearer wrong',
      'Bearer s3cr3t-token_valu',
      'Bearer s3cr3t-token_value2',
      'Bearer ',
      'Basic s3cr3t-token_value',
      's3cr3t-token_value',
      'Bearer s3cr3t-token_value extra',
    ]) {
      assert.equal(allowed(options, from, { authorization }), false, authorization);
    }
    assert.equal(allowed(options, from, {}), false);
    assert.equal(allowed(options, from, { 'x-token': 's3cr3t-token_value' }), false);
  });

  test('without a configured token, no Authorization header opens anything', () => {
    assert.equal(allowed({ allowlist: [] }, from, { authorization: 'Bearer ' }), false);
    assert.equal(allowed({ allowlist: [] }, from, { authorization: 'Bearer undefined' }), false);
  });

  test('an allowlisted address needs no token', () => {
    const decision = new OpsAccess({ token: 'abc' }).check('10.0.0.1', {});
    assert.deepEqual(decision, { allowed: true, clientAddress: '10.0.0.1', grantedBy: 'allowlist' });
  });
});

describe('X-Forwarded-For', () => {
  test('a forged header from an untrusted peer is ignored', () => {
    const access = new OpsAccess({ allowlist: ['10.0.0.0/8'] });
    const decision = access.check('203.0.113.5', { 'x-forwarded-for': '10.1.2.3' });
    assert.deepEqual(decision, { allowed: false, clientAddress: '203.0.113.5', grantedBy: null });
    // Even with the default allowlist and loopback forged.
    assert.equal(allowed({}, '203.0.113.5', { 'x-forwarded-for': '127.0.0.1' }), false);
  });

  test('a loopback peer is not a proxy unless configured (its header is ignored, the peer decides)', () => {
    const access = new OpsAccess({ allowlist: ['10.0.0.0/8'] });
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': '10.1.2.3' }), '127.0.0.1');
  });

  test('from a trusted proxy, the right-most hop that is not a trusted proxy is the client', () => {
    const access = new OpsAccess({ allowlist: ['10.0.0.0/8'], trustedProxies: ['127.0.0.1'] });
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': '10.1.2.3' }), '10.1.2.3');
    assert.equal(access.check('127.0.0.1', { 'x-forwarded-for': '10.1.2.3' }).allowed, true);
    // The left entries are whatever the client sent: a spoofed 10.x on the left does not help.
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': '10.1.2.3, 203.0.113.9' }), '203.0.113.9');
    assert.equal(access.check('127.0.0.1', { 'x-forwarded-for': '10.1.2.3, 203.0.113.9' }).allowed, false);
    // An IPv4-mapped peer is the same proxy.
    assert.equal(access.clientAddress('::ffff:127.0.0.1', { 'x-forwarded-for': '10.1.2.3' }), '10.1.2.3');
  });

  test('several trusted hops are skipped; all trusted means the left-most', () => {
    const access = new OpsAccess({ allowlist: ['198.51.100.0/24'], trustedProxies: ['127.0.0.1', '10.0.0.0/8'] });
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.1, 198.51.100.1, 10.0.0.5, 10.0.0.6' }), '198.51.100.1');
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': '10.0.0.7, 10.0.0.8' }), '10.0.0.7');
  });

  test('repeated headers are read as one list, in order', () => {
    const access = new OpsAccess({ trustedProxies: ['127.0.0.1'] });
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': ['10.0.0.1', '203.0.113.2'] }), '203.0.113.2');
  });

  test('ports and brackets are stripped; a malformed hop makes the client unknown (refused)', () => {
    const access = new OpsAccess({ trustedProxies: ['127.0.0.1'] });
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.9:5555' }), '203.0.113.9');
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': '[2001:db8::1]:443' }), '2001:db8::1');
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': '10.0.0.1, unknown' }), null);
    assert.equal(access.check('127.0.0.1', { 'x-forwarded-for': '10.0.0.1, unknown' }).allowed, false);
  });

  test('a trusted proxy without the header is itself the client', () => {
    const access = new OpsAccess({ trustedProxies: ['127.0.0.1'] });
    assert.equal(access.clientAddress('127.0.0.1', {}), '127.0.0.1');
    assert.equal(access.clientAddress('127.0.0.1', { 'x-forwarded-for': ' , ' }), '127.0.0.1');
  });
});

describe('bad access options throw OptionsError at setup', () => {
  for (const [entry, why] of [
    ['10.0.0/8', 'three octets'],
    ['10.0.0.0/33', 'prefix too long'],
    ['fc00::/129', 'IPv6 prefix too long'],
    ['10.0.0.0/-1', 'negative prefix'],
    ['10.0.0.0/', 'empty prefix'],
    ['localhost', 'a host name'],
    ['fe80::1%eth0/64', 'a zone'],
    ['', 'empty'],
  ] as const) {
    test(`allowlist entry ${JSON.stringify(entry)} (${why})`, () => {
      const error = assertOptionsError(() => new OpsAccess({ allowlist: ['127.0.0.1', entry] }), 'allowlist[1]');
      assert.match(error.message, /CIDR/);
    });
  }

  test('allowlist and trustedProxies must be arrays of strings', () => {
    assertOptionsError(() => new OpsAccess({ allowlist: '10.0.0.0/8' as never }), 'allowlist');
    assertOptionsError(() => new OpsAccess({ trustedProxies: [42] as never }), 'trustedProxies[0]');
  });

  test('an empty or spaced token is refused without echoing it', () => {
    assertOptionsError(() => new OpsAccess({ token: '' }), 'token');
    const error = assertOptionsError(() => new OpsAccess({ token: 'correct horse battery' }), 'token');
    assert.doesNotMatch(error.message, /horse|battery/);
    assert.ok(!String(error.value).includes('horse'));
    assertOptionsError(() => new OpsAccess({ token: 123 as never }), 'token');
  });
});

describe('address normalisation', () => {
  test('IPv4-mapped forms become IPv4; zones and brackets are dropped; junk is null', () => {
    assert.equal(normalizeIpAddress('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(normalizeIpAddress('::FFFF:7f00:1'), '127.0.0.1');
    assert.equal(normalizeIpAddress('0:0:0:0:0:ffff:a01:203'), '10.1.2.3');
    assert.equal(normalizeIpAddress('[::1]'), '::1');
    assert.equal(normalizeIpAddress('fe80::1%eth0'), 'fe80::1');
    assert.equal(normalizeIpAddress('::127.0.0.1'), '::127.0.0.1', 'IPv4-compatible (deprecated) is not mapped');
    assert.equal(normalizeIpAddress('1::ffff:1.2.3.4'), '1::ffff:1.2.3.4');
    assert.equal(normalizeIpAddress('1.2.3.4:80'), null);
    assert.equal(normalizeIpAddress('x'), null);
  });

  test('CidrList keeps the entries as given', () => {
    assert.deepEqual(new CidrList('allowlist', ['10.0.0.0/8', '::1']).entries, ['10.0.0.0/8', '::1']);
  });
});
