// application_name per tracked pg pool: how pg resolves a pool's name (options, connection string, PGAPPNAME,
// fallback), the generated `<app>/<instance>/<pool>` name and its 63-byte cut, when trackPgPool sets it and when it
// leaves it alone, untrack() restoring it, and the config snapshot / pidJoin scope reporting it. Fake pools only.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Inspector, trackPgPool } from '../../src/index.js';
import { generatedApplicationName, pgApplicationNameOf } from '../../src/adapters/pg/pg-adapter.js';
import type { PgPoolOptionsView } from '../../src/adapters/pg/pg-types.js';
import { sessionScope } from '../../src/server/pid-join.js';

/** The shape trackPgPool checks: counters, options, connect(), on()/removeListener(). */
class FakePgPool extends EventEmitter {
  totalCount = 0;
  idleCount = 0;
  waitingCount = 0;
  readonly options: PgPoolOptionsView & Record<string, unknown>;
  constructor(options: PgPoolOptionsView & Record<string, unknown> = {}) {
    super();
    this.options = { max: 10, ...options };
  }
  connect(): Promise<never> {
    return Promise.reject(new Error('fake pool: no connections'));
  }
}

const inspectors: Inspector[] = [];
function inspector(options: ConstructorParameters<typeof Inspector>[0] = {}): Inspector {
  const created = new Inspector({ historyIntervalMillis: 0, alerts: false, appName: 'shop-api', instanceId: 'web-1-4242', ...options });
  inspectors.push(created);
  return created;
}

let savedPgAppName: string | undefined;
beforeEach(() => {
  savedPgAppName = process.env.PGAPPNAME;
  delete process.env.PGAPPNAME;
});
afterEach(() => {
  for (const created of inspectors.splice(0)) created.close();
  if (savedPgAppName === undefined) delete process.env.PGAPPNAME;
  else process.env.PGAPPNAME = savedPgAppName;
});

const PRINTABLE = /^[\x20-\x7e]+$/;

describe('generatedApplicationName', () => {
  test('app/instance/pool', () => {
    assert.equal(generatedApplicationName('shop-api', 'web-1-4242', 'main'), 'shop-api/web-1-4242/main');
  });

  test('only printable ASCII; a slash inside a part becomes _ so the three parts stay apart', () => {
    const name = generatedApplicationName('@acme/billing', 'hôte-12', 'tenant:42');
    assert.equal(name, '@acme_billing/h_te-12/tenant:42');
    assert.match(name, PRINTABLE);
    assert.equal(name.split('/').length, 3);
  });

  test('too long: the pool name stays whole, the instance keeps its end (pid), the app its start; 63 bytes', () => {
    const name = generatedApplicationName('a-very-long-application-name-from-package-json', 'build-server-number-7-98765', 'orders-replica');
    assert.equal(Buffer.byteLength(name), 63);
    assert.ok(name.endsWith('/orders-replica'), name);
    const [app, instance] = name.split('/');
    assert.ok(instance && 'build-server-number-7-98765'.endsWith(instance) && instance.endsWith('-98765'), name);
    assert.ok(app && 'a-very-long-application-name-from-package-json'.startsWith(app), name);
  });

  test('a short app leaves its share to the instance', () => {
    const instance = 'x'.repeat(70);
    const name = generatedApplicationName('api', instance, 'main');
    assert.equal(name, `api/${'x'.repeat(63 - 'api//main'.length)}/main`);
  });

  test('a pool name too long for 63 bytes keeps its start and end around ~', () => {
    const pool = `tenant:${'0123456789'.repeat(9)}-end`;
    const name = generatedApplicationName('app', 'host-1', pool);
    assert.equal(Buffer.byteLength(name), 63);
    const last = name.split('/')[2] ?? '';
    assert.ok(last.startsWith('tenant:0123') && last.endsWith('789-end') && last.includes('~'), name);
    assert.match(name, /^a\/1\//);
  });
});

describe('pgApplicationNameOf: the name pg gives new connections of a pool', () => {
  const none = {};
  test('nothing set: no name, settable', () => {
    assert.deepEqual(pgApplicationNameOf({ max: 3 }, none), { name: undefined, source: undefined, settable: true });
    assert.deepEqual(pgApplicationNameOf({ connectionString: 'postgres://u@h/db?sslmode=disable' }, none), {
      name: undefined,
      source: undefined,
      settable: true,
    });
  });

  test('the connection string parameter wins over the option; setting the option would not reach pg', () => {
    assert.deepEqual(
      pgApplicationNameOf({ application_name: 'opt', connectionString: 'postgres://u:p@h:5432/db?application_name=url' }, none),
      { name: 'url', source: 'connection-string', settable: false },
    );
    // An empty parameter still overrides the option (pg merges the parsed string over the options), then env.
    assert.deepEqual(pgApplicationNameOf({ application_name: 'opt', connectionString: 'postgres://h/db?application_name=' }, { PGAPPNAME: 'env' }), {
      name: 'env',
      source: 'environment',
      settable: false,
    });
  });

  test('option, then PGAPPNAME, then fallback_application_name; empty strings do not count (pg tests truthiness)', () => {
    assert.equal(pgApplicationNameOf({ application_name: 'opt' }, { PGAPPNAME: 'env' }).source, 'config');
    assert.deepEqual(pgApplicationNameOf({ application_name: '' }, { PGAPPNAME: 'env' }), { name: 'env', source: 'environment', settable: true });
    assert.deepEqual(pgApplicationNameOf({ fallback_application_name: 'fb' }, { PGAPPNAME: '' }), { name: 'fb', source: 'fallback', settable: true });
    assert.deepEqual(pgApplicationNameOf({ connectionString: 'postgres://h/db?fallback_application_name=fb-url', fallback_application_name: 'fb' }, none), {
      name: 'fb-url',
      source: 'fallback',
      settable: true,
    });
  });

  test('connection strings pg-connection-string accepts: spaces, socket paths, empty host', () => {
    assert.equal(pgApplicationNameOf({ connectionString: 'postgres://u@h/my db?application_name=my app' }, none).name, 'my app');
    assert.deepEqual(pgApplicationNameOf({ connectionString: '/var/run/postgresql mydb' }, none).settable, true);
    assert.equal(pgApplicationNameOf({ connectionString: 'socket:/var/run/postgresql?db=x&application_name=sock' }, none).name, 'sock');
    assert.equal(pgApplicationNameOf({ connectionString: 'postgres://u@/db?application_name=nohost' }, none).name, 'nohost');
  });
});

describe('trackPgPool names the pool\'s connections', () => {
  test('no name in the config: pool.options.application_name = app/instance/pool, reported by the snapshot', () => {
    const pool = new FakePgPool({ connectionString: 'postgres://app:secret@db:5432/shop' });
    const insp = inspector();
    trackPgPool(insp, pool, { name: 'main' });
    assert.equal(pool.options.application_name, 'shop-api/web-1-4242/main');
    const snapshot = insp.snapshot('main');
    assert.equal(snapshot.config.application_name, 'shop-api/web-1-4242/main');
    assert.deepEqual(sessionScope(snapshot.config), { applicationName: 'shop-api/web-1-4242/main', database: 'shop', user: 'app' });
  });

  test('each pool of an inspector gets its own name', () => {
    const [a, b] = [new FakePgPool(), new FakePgPool()];
    const insp = inspector();
    trackPgPool(insp, a, { name: 'primary' });
    trackPgPool(insp, b, { name: 'replica' });
    assert.equal(a.options.application_name, 'shop-api/web-1-4242/primary');
    assert.equal(b.options.application_name, 'shop-api/web-1-4242/replica');
  });

  test('a name set by the user is kept: option, connection string, PGAPPNAME, fallback_application_name', () => {
    const insp = inspector();
    const own = new FakePgPool({ application_name: 'billing' });
    trackPgPool(insp, own, { name: 'own' });
    assert.equal(own.options.application_name, 'billing');

    const url = new FakePgPool({ connectionString: 'postgres://h/db?application_name=from-url' });
    trackPgPool(insp, url, { name: 'url' });
    assert.equal(Object.hasOwn(url.options, 'application_name'), false);
    assert.equal(sessionScope(insp.snapshot('url').config).applicationName, 'from-url');

    const fallback = new FakePgPool({ fallback_application_name: 'fb' });
    trackPgPool(insp, fallback, { name: 'fallback' });
    assert.equal(Object.hasOwn(fallback.options, 'application_name'), false);
    assert.equal(insp.snapshot('fallback').config.application_name, 'fb');

    process.env.PGAPPNAME = 'from-env';
    const env = new FakePgPool();
    trackPgPool(insp, env, { name: 'env' });
    assert.equal(Object.hasOwn(env.options, 'application_name'), false);
    assert.equal(insp.snapshot('env').config.application_name, 'from-env', 'the snapshot shows what pg will send');
  });

  test('applicationName: a string replaces the generated name and beats PGAPPNAME, never the pool\'s own', () => {
    process.env.PGAPPNAME = 'from-env';
    const insp = inspector();
    const pool = new FakePgPool();
    trackPgPool(insp, pool, { name: 'main', applicationName: 'checkout' });
    assert.equal(pool.options.application_name, 'checkout');
    const own = new FakePgPool({ application_name: 'billing' });
    trackPgPool(insp, own, { name: 'own', applicationName: 'checkout' });
    assert.equal(own.options.application_name, 'billing');
  });

  test('applicationName: false (per pool, or for every pool in defaults) leaves the pool alone', () => {
    const pool = new FakePgPool();
    trackPgPool(inspector(), pool, { name: 'main', applicationName: false });
    assert.equal(Object.hasOwn(pool.options, 'application_name'), false);
    const other = new FakePgPool();
    trackPgPool(inspector({ defaults: { applicationName: false } }), other, { name: 'main' });
    assert.equal(Object.hasOwn(other.options, 'application_name'), false);
    // A pool may still name itself over the defaults' false.
    const named = new FakePgPool();
    trackPgPool(inspector({ defaults: { applicationName: false } }), named, { name: 'main', applicationName: 'x' });
    assert.equal(named.options.application_name, 'x');
  });

  test('bad applicationName values throw OptionsError and leave the pool untouched', () => {
    const insp = inspector();
    for (const bad of ['', 'x'.repeat(64), 'caf\u00e9', 'tab\there', true, 42, null]) {
      const pool = new FakePgPool();
      assert.throws(() => trackPgPool(insp, pool, { name: 'main', applicationName: bad as string }), {
        code: 'POOLSCOPE_ERR_OPTIONS_INVALID',
        option: 'applicationName',
      });
      assert.equal(Object.hasOwn(pool.options, 'application_name'), false);
      assert.equal(Object.hasOwn(pool, 'connect'), false);
    }
    assert.throws(() => inspector({ defaults: { applicationName: 'shared' as unknown as false } }), {
      code: 'POOLSCOPE_ERR_OPTIONS_INVALID',
      option: 'defaults.applicationName',
    });
  });

  test('a 63-character explicit name is accepted as is', () => {
    const pool = new FakePgPool();
    trackPgPool(inspector(), pool, { name: 'main', applicationName: 'y'.repeat(63) });
    assert.equal(pool.options.application_name, 'y'.repeat(63));
  });

  test('untrack() and close() put back what was there before', () => {
    const insp = inspector();
    const absent = new FakePgPool();
    const empty = new FakePgPool({ application_name: '' });
    trackPgPool(insp, absent, { name: 'absent' });
    trackPgPool(insp, empty, { name: 'empty' });
    assert.equal(empty.options.application_name, 'shop-api/web-1-4242/empty');
    insp.untrack('absent');
    assert.equal(Object.hasOwn(absent.options, 'application_name'), false);
    insp.close();
    assert.equal(empty.options.application_name, '');
    // Changed by the user meanwhile: left as the user set it.
    const changed = new FakePgPool();
    const second = inspector();
    trackPgPool(second, changed, { name: 'main' });
    changed.options.application_name = 'user-changed';
    second.close();
    assert.equal(changed.options.application_name, 'user-changed');
  });
});

describe('Inspector appName and instanceId', () => {
  test('defaults: npm_package_name or the main script, and <host>-<pid>', () => {
    const insp = new Inspector({ historyIntervalMillis: 0, alerts: false });
    inspectors.push(insp);
    const expected = process.env.npm_package_name || undefined;
    if (expected !== undefined) assert.equal(insp.appName, expected);
    assert.ok(insp.appName.length > 0);
    assert.ok(insp.instanceId.endsWith(`-${process.pid}`) || insp.instanceId === String(process.pid), insp.instanceId);
    assert.ok(insp.instanceId.length <= 20 + 1 + String(process.pid).length);
  });

  test('given values are used; empty or non-strings throw', () => {
    const insp = inspector({ appName: 'x', instanceId: 'y' });
    assert.equal(insp.appName, 'x');
    assert.equal(insp.instanceId, 'y');
    assert.throws(() => new Inspector({ appName: '' }), { code: 'POOLSCOPE_ERR_OPTIONS_INVALID', option: 'appName' });
    assert.throws(() => new Inspector({ instanceId: 7 as unknown as string }), { code: 'POOLSCOPE_ERR_OPTIONS_INVALID', option: 'instanceId' });
  });
});

test('maskConnectionString hides passwords, also when the string has no scheme', async () => {
  const { maskConnectionString } = await import('../../src/core/connection-string-mask.js');
  assert.equal(maskConnectionString('postgres://app:secret@db:5432/app'), 'postgres://app:***@db:5432/app');
  assert.equal(maskConnectionString('postgres://db/app?password=secret'), 'postgres://db/app?password=***');
  assert.equal(maskConnectionString('app:secret@db/app'), '***');
});
