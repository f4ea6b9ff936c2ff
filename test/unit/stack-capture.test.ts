import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  STACK_CAPTURE_MODES,
  StackCapturePolicy,
  captureStack,
  formatStack,
  locationOfFrame,
  type StackHolder,
} from '../../src/core/stack-capture.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const THIS_FILE_SHOWN = path.relative(process.cwd(), THIS_FILE);
const SOURCE_LINES = readFileSync(THIS_FILE, 'utf8').split('\n');

/** The 1-based line of this file that contains `marker` (exactly once). */
function lineOf(marker: string): number {
  const hits = SOURCE_LINES.flatMap((line, i) => (line.includes(marker) && !line.includes('lineOf(') ? [i + 1] : []));
  assert.equal(hits.length, 1, `marker ${marker} must appear on exactly one line, found ${hits.length}`);
  return hits[0] as number;
}

/** `path:line` of the first frame of an Error made on the caller's line (what V8 + source maps say). */
function lineOfError(error: Error): string {
  const frame = (error.stack ?? '').split('\n').find((l) => l.trim().startsWith('at '));
  const location = frame === undefined ? undefined : locationOfFrame(frame.trim().slice(3));
  assert.ok(location !== undefined, `no location in ${error.stack}`);
  return location.replace(/:\d+$/, '');
}

/** Stands in for an adapter's wrapper: it and everything above it are hidden. */
function acquireLikeAPool(): StackHolder {
  return captureStack(10, acquireLikeAPool);
}

function outerWrapper(): StackHolder {
  return innerHelper();
}
function innerHelper(): StackHolder {
  return captureStack(10, outerWrapper);
}

describe('StackCapturePolicy', () => {
  test('the modes are adaptive, always and off', () => {
    assert.deepEqual([...STACK_CAPTURE_MODES], ['adaptive', 'always', 'off']);
  });

  test("'always' captures every checkout", () => {
    const policy = new StackCapturePolicy('always', 10);
    for (let i = 0; i < 1000; i++) assert.equal(policy.shouldCapture(0), true);
  });

  test("'off' never captures, even when asked to escalate", () => {
    const policy = new StackCapturePolicy('off', 1000);
    policy.captureAllUntil(1_000_000);
    assert.equal(policy.isEscalated(0), false);
    for (let t = 0; t < 1000; t += 10) assert.equal(policy.shouldCapture(t), false);
  });

  test("'adaptive' allows budget/10 captures per 100 ms slice, then none until the next slice", () => {
    const policy = new StackCapturePolicy('adaptive', 1000); // 100 per slice
    let captured = 0;
    for (let i = 0; i < 250; i++) if (policy.shouldCapture(5000)) captured += 1;
    assert.equal(captured, 100);
    assert.equal(policy.shouldCapture(5099), false, 'same slice');
    assert.equal(policy.shouldCapture(5100), true, 'next slice');
    let next = 1;
    for (let i = 0; i < 200; i++) if (policy.shouldCapture(5150)) next += 1;
    assert.equal(next, 100);
  });

  test("'adaptive' with a small budget still captures at least one per slice", () => {
    const policy = new StackCapturePolicy('adaptive', 1); // 0.1 per slice -> 1
    assert.equal(policy.shouldCapture(0), true);
    assert.equal(policy.shouldCapture(50), false);
    assert.equal(policy.shouldCapture(100), true);
  });

  test("'adaptive' with budget 50 allows 5 per slice", () => {
    const policy = new StackCapturePolicy('adaptive', 50);
    const results = Array.from({ length: 8 }, () => policy.shouldCapture(0));
    assert.deepEqual(results, [true, true, true, true, true, false, false, false]);
  });

  test('captureAllUntil escalates adaptive mode to every checkout until the given time', () => {
    const policy = new StackCapturePolicy('adaptive', 10); // 1 per slice
    assert.equal(policy.shouldCapture(0), true);
    assert.equal(policy.shouldCapture(0), false);
    policy.captureAllUntil(500);
    assert.equal(policy.isEscalated(0), true);
    for (let i = 0; i < 50; i++) assert.equal(policy.shouldCapture(10), true);
    assert.equal(policy.shouldCapture(499), true);
    assert.equal(policy.isEscalated(500), false);
    // From 500 on, back to the budget.
    assert.equal(policy.shouldCapture(500), true);
    assert.equal(policy.shouldCapture(500), false);
  });

  test('captureAllUntil never shortens an escalation already in force', () => {
    const policy = new StackCapturePolicy('adaptive', 10);
    policy.captureAllUntil(1000);
    policy.captureAllUntil(200);
    assert.equal(policy.isEscalated(900), true);
  });

  test("captureAllUntil has no effect in 'always' mode (already capturing) and reports no escalation", () => {
    const policy = new StackCapturePolicy('always', 10);
    policy.captureAllUntil(1000);
    assert.equal(policy.isEscalated(0), false);
    assert.equal(policy.shouldCapture(0), true);
  });
});

describe('captureStack and formatStack', () => {
  test('a capture through a wrapper points at the caller in this test file, on the right line', () => {
    const holder = acquireLikeAPool(); const sameLine = new Error(); // @capture-line-1
    const formatted = formatStack(holder);
    assert.ok(formatted.location !== undefined, 'a location is found');
    const expectedLine = lineOf('@capture-line-1');
    assert.match(formatted.location, new RegExp(`^${escape(THIS_FILE_SHOWN)}:${expectedLine}:\\d+$`));
    assert.equal(formatted.location.replace(/:\d+$/, ''), lineOfError(sameLine));
  });

  test('the file path is relative to the working directory', () => {
    const formatted = formatStack(acquireLikeAPool());
    assert.ok(formatted.location?.startsWith('test/unit/stack-capture.test.ts:') || formatted.location?.startsWith(`test${path.sep}unit${path.sep}`), formatted.location);
    assert.ok(!path.isAbsolute(formatted.location ?? '/'));
  });

  test('hideAbove hides the given function and everything it called', () => {
    const holder = outerWrapper(); // @capture-line-2
    const formatted = formatStack(holder);
    for (const frame of formatted.frames) {
      assert.doesNotMatch(frame, /\b(outerWrapper|innerHelper)\b/, `frame ${frame} should be hidden`);
    }
    assert.match(formatted.location ?? '', new RegExp(`:${lineOf('@capture-line-2')}:\\d+$`));
  });

  test('hiding only the inner helper leaves the wrapper as the first frame (control for the test above)', () => {
    function visibleWrapper(): StackHolder {
      return hiddenInner();
    }
    function hiddenInner(): StackHolder {
      return captureStack(10, hiddenInner);
    }
    const formatted = formatStack(visibleWrapper());
    assert.match(formatted.frames[0] ?? '', /\bvisibleWrapper\b/);
    assert.ok(!formatted.frames.some((f) => /\bhiddenInner\b/.test(f)));
  });

  test('a hideAbove function that is not on the stack leaves nothing (V8 drops every frame)', () => {
    const formatted = formatStack(captureStack(10, formatStack));
    assert.equal(formatted.location, undefined);
    assert.deepEqual(formatted.frames, []);
    assert.equal(formatted.rawFrames, 0);
  });

  test('the frame limit is scoped to the capture: Error.stackTraceLimit is restored', () => {
    const previous = Error.stackTraceLimit;
    Error.stackTraceLimit = 7;
    try {
      const holder = captureStack(2, acquireLikeAPool);
      assert.equal(Error.stackTraceLimit, 7);
      assert.ok(formatStack(holder).frames.length <= 2);
    } finally {
      Error.stackTraceLimit = previous;
    }
  });

  test('Node internal frames are dropped', () => {
    const formatted = formatStack({
      stack: 'Error\n    at userCode (/app/src/orders.js:10:5)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    });
    assert.deepEqual(formatted.frames, ['userCode (/app/src/orders.js:10:5)']);
    assert.equal(formatted.location, '/app/src/orders.js:10:5');
  });

  test('pg and pg-pool frames are dropped and the first user frame is the location', () => {
    const formatted = formatStack({
      stack: [
        'Error',
        '    at BoundPool.connect (/app/node_modules/pg-pool/index.js:222:10)',
        '    at Client.query (/app/node_modules/pg/lib/client.js:500:3)',
        '    at loadOrder (/app/src/orders.js:42:18)',
        '    at handler (/app/src/server.js:7:3)',
      ].join('\n'),
    });
    assert.deepEqual(formatted.frames, ['loadOrder (/app/src/orders.js:42:18)', 'handler (/app/src/server.js:7:3)']);
    assert.equal(formatted.location, '/app/src/orders.js:42:18');
  });

  test('extra hidden patterns drop matching frames', () => {
    const formatted = formatStack(
      { stack: 'Error\n    at dbHelper (/app/src/db.js:1:1)\n    at route (/app/src/route.js:2:2)' },
      [/[\\/]db\.js:/],
    );
    assert.equal(formatted.location, '/app/src/route.js:2:2');
    assert.equal(formatted.frames.length, 1);
  });

  test('formatStack of undefined, or of a holder without a stack, has no location and no frames', () => {
    for (const holder of [undefined, {}]) {
      const formatted = formatStack(holder);
      assert.equal(formatted.location, undefined);
      assert.equal(formatted.locationStatus, 'not-captured');
      assert.deepEqual(formatted.frames, []);
    }
  });

  test('formatStack tolerates a stack getter that throws', () => {
    const holder = {
      get stack(): string {
        throw new Error('boom');
      },
    };
    const formatted = formatStack(holder);
    assert.equal(formatted.location, undefined);
    assert.deepEqual(formatted.frames, []);
  });
});

describe('the first frame of the user\'s code', () => {
  const ormStack = [
    'Error',
    '    at BoundPool.connect (/app/node_modules/pg-pool/index.js:222:10)',
    '    at PostgresDriver.acquireConnection (/app/node_modules/kysely/dist/esm/dialect/postgres/postgres-driver.js:23:41)',
    '    at async RuntimeDriver.acquireConnection (/app/node_modules/kysely/dist/esm/driver/runtime-driver.js:45:28)',
    '    at async DefaultConnectionProvider.provideConnection (/app/node_modules/kysely/dist/esm/driver/default-connection-provider.js:10:28)',
    '    at async SelectQueryBuilder.execute (/app/node_modules/kysely/dist/esm/query-builder/select-query-builder.js:521:24)',
    '    at async SelectQueryBuilder.executeTakeFirst (/app/node_modules/kysely/dist/esm/query-builder/select-query-builder.js:534:26)',
    '    at async SelectQueryBuilder.executeTakeFirstOrThrow (/app/node_modules/kysely/dist/esm/query-builder/select-query-builder.js:546:24)',
    '    at async loadOrder (/app/src/orders.ts:42:17)',
    '    at async handler (/app/src/server.ts:7:3)',
  ].join('\n');

  test('library frames under node_modules are kept in the stack but never named as the site', () => {
    const formatted = formatStack({ stack: ormStack });
    assert.equal(formatted.location, '/app/src/orders.ts:42:17');
    assert.equal(formatted.locationStatus, 'found');
    assert.equal(formatted.userFrameIndex, 7, 'the index among all raw frames, hidden ones included');
    assert.equal(formatted.rawFrames, 9);
    assert.ok(formatted.frames.includes('async loadOrder (/app/src/orders.ts:42:17)'));
    assert.ok(formatted.frames.some((f) => f.includes('executeTakeFirstOrThrow')), 'a few library frames before the site stay');
    assert.ok(!formatted.frames.some((f) => f.includes('pg-pool')), 'pg-pool frames are hidden');
  });

  test('a stack with no frame of the user\'s code says so instead of naming a library line', () => {
    const formatted = formatStack({
      stack: [
        'Error',
        '    at NodePgSession.execute (/app/node_modules/drizzle-orm/node-postgres/session.js:182:66)',
        '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      ].join('\n'),
    });
    assert.equal(formatted.location, undefined);
    assert.equal(formatted.locationStatus, 'no-user-frame');
    assert.equal(formatted.frames.length, 1, 'the library frame is still shown');
  });

  test('libraryFrames patterns mark the user\'s own helpers as library code', () => {
    const stack = 'Error\n    at query (/app/src/db.ts:5:5)\n    at route (/app/src/route.ts:2:2)';
    assert.equal(formatStack({ stack }).location, '/app/src/db.ts:5:5');
    const formatted = formatStack({ stack }, { library: [/[\\/]db\.ts:/] });
    assert.equal(formatted.location, '/app/src/route.ts:2:2');
    assert.equal(formatted.frames.length, 2, 'the helper frame stays in the stack');
  });

  test('applicationFrames patterns make hidden or node_modules frames the application\'s code', () => {
    const poolscopeDir = path.resolve(path.dirname(THIS_FILE), '..', '..', 'src', 'cli', 'demo');
    const stack = [
      'Error',
      `    at exportOrders (${path.join(poolscopeDir, 'demo-leak-sites.ts')}:7:7)`,
      '    at vendored (/app/node_modules/app-core/x.js:3:3)',
      '    at route (/app/src/route.ts:2:2)',
    ].join('\n');
    assert.equal(formatStack({ stack }).location, '/app/src/route.ts:2:2', "poolscope's own folder is hidden by default");
    const escaped = poolscopeDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const own = formatStack({ stack }, { application: [new RegExp(escaped)] });
    assert.equal(own.location, `${path.relative(process.cwd(), poolscopeDir)}${path.sep}demo-leak-sites.ts:7:7`);
    const vendored = formatStack({ stack }, { application: [/node_modules[\\/]app-core[\\/]/] });
    assert.equal(vendored.location, '/app/node_modules/app-core/x.js:3:3');
  });

  test('`keep` frames are kept from the site on, after up to 3 library frames before it', () => {
    const lines = ['Error'];
    for (let i = 0; i < 10; i++) lines.push(`    at lib${i} (/app/node_modules/orm/x.js:${i + 1}:1)`);
    for (let i = 0; i < 10; i++) lines.push(`    at app${i} (/app/src/a.ts:${i + 1}:1)`);
    const formatted = formatStack({ stack: lines.join('\n') }, { keep: 5 });
    assert.equal(formatted.location, '/app/src/a.ts:1:1');
    assert.deepEqual(
      formatted.frames.map((f) => f.split(' ')[0]),
      ['lib7', 'lib8', 'lib9', 'app0', 'app1', 'app2', 'app3', 'app4'],
    );
    assert.deepEqual(
      formatStack({ stack: lines.join('\n') }).frames.map((f) => f.split(' ')[0]),
      ['lib7', 'lib8', 'lib9', 'app0', 'app1', 'app2'],
      'by default the site and two callers',
    );
  });
});

/** Runs fn through a chain of library-like frames that captureStack does not hide. */
function deeper(fn: () => StackHolder): StackHolder {
  return libraryHop(6, fn);
}
function libraryHop(n: number, fn: () => StackHolder): StackHolder {
  return n === 0 ? fn() : libraryHop(n - 1, fn);
}

describe('learned capture depth', () => {
  test('probes come first, then at doubling intervals', () => {
    const policy = new StackCapturePolicy('always', 1000, 8);
    assert.equal(policy.probeDue(0), true);
    assert.equal(policy.probeDue(10), false);
    assert.equal(policy.probeDue(1000), true);
    assert.equal(policy.probeDue(2500), false);
    assert.equal(policy.probeDue(3000), true);
  });

  test('the depth grows to reach the user frame plus the kept frames, within 64', () => {
    const policy = new StackCapturePolicy('always', 1000, 3);
    assert.equal(policy.captureLimit, 4, "before any probe: the pool's own frame, the site and two callers");
    policy.learn({ location: 'x', locationStatus: 'found', frames: [], rawFrames: 30, userFrameIndex: 12 });
    assert.equal(policy.captureLimit, 15);
    policy.learn({ location: 'x', locationStatus: 'found', frames: [], rawFrames: 30, userFrameIndex: 2 });
    assert.equal(policy.captureLimit, 15, 'never shrinks');
    policy.learn({ location: undefined, locationStatus: 'no-user-frame', frames: [], rawFrames: 15, userFrameIndex: -1 });
    assert.equal(policy.captureLimit, 30, 'a stack cut by the limit before any user frame doubles it');
    policy.learn({ location: undefined, locationStatus: 'no-user-frame', frames: [], rawFrames: 5, userFrameIndex: -1 });
    assert.equal(policy.captureLimit, 30, 'a whole stack with no user frame (a microtask) teaches nothing');
    policy.learn({ location: 'x', locationStatus: 'found', frames: [], rawFrames: 64, userFrameIndex: 200 });
    assert.equal(policy.captureLimit, 64);
  });

  test('a real capture through a deep library: cut short at first, the site once the depth is learned', () => {
    function libraryCall(depth: number, limit: number): StackHolder {
      return depth === 0 ? captureStack(limit, libraryCall) : libraryCall(depth - 1, limit);
    }
    function libraryEntry(limit: number): StackHolder {
      return libraryCall(20, limit);
    }
    const rules = { library: [/\blibrary(Call|Entry)\b/] };
    const policy = new StackCapturePolicy('always', 1000, 4);
    const cut = formatStack(deeper(() => libraryEntry(policy.captureLimit)), rules);
    assert.equal(cut.locationStatus, 'no-user-frame');
    const probe = formatStack(deeper(() => libraryEntry(64)), rules); // @deep-site
    assert.equal(probe.location?.replace(/:\d+$/, ''), `${THIS_FILE_SHOWN}:${lineOf('@deep-site')}`);
    policy.learn(probe);
    const learned = formatStack(deeper(() => libraryEntry(policy.captureLimit)), rules);
    assert.equal(learned.locationStatus, 'found');
  });
});

describe('locationOfFrame', () => {
  test('a named frame with a file URL', () => {
    assert.equal(locationOfFrame('fn (file:///x/y.ts:1:2)'), '/x/y.ts:1:2');
  });

  test('an anonymous frame with an absolute path', () => {
    assert.equal(locationOfFrame('/abs/p.js:3:4'), '/abs/p.js:3:4');
  });

  test('an async frame', () => {
    assert.equal(locationOfFrame('async fn (/abs/p.js:5:6)'), '/abs/p.js:5:6');
    assert.equal(locationOfFrame('async /abs/p.js:5:6'), '/abs/p.js:5:6');
  });

  test('Node internals have no location', () => {
    assert.equal(locationOfFrame('node:internal/process/task_queues:95:5'), undefined);
    assert.equal(locationOfFrame('process.processTicksAndRejections (node:internal/process/task_queues:95:5)'), undefined);
    assert.equal(locationOfFrame('Module._compile (node:internal/modules/cjs/loader:1256:14)'), undefined);
  });

  test('frames without a position have no location', () => {
    assert.equal(locationOfFrame('new Promise (<anonymous>)'), undefined);
    assert.equal(locationOfFrame('Array.map (native)'), undefined);
    assert.equal(locationOfFrame('<anonymous>'), undefined);
  });

  test('a path below the working directory is shown relative to it', () => {
    const absolute = path.join(process.cwd(), 'src', 'app.ts');
    assert.equal(locationOfFrame(`handler (${absolute}:10:20)`), `${path.join('src', 'app.ts')}:10:20`);
    assert.equal(locationOfFrame(`handler (file://${absolute}:10:20)`), `${path.join('src', 'app.ts')}:10:20`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
