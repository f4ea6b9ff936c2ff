import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The dashboard's size budget (docs/reference/http.md): everything a browser loads for the page, uncompressed.
const BUDGET_BYTES = 160 * 1024;
const ASSETS = fileURLToPath(new URL('../../src/dashboard/assets/', import.meta.url));

test('the dashboard page and uPlot stay within the 160 KB budget', () => {
  const require = createRequire(import.meta.url);
  const files = [
    ...readdirSync(ASSETS).map((name) => path.join(ASSETS, name)),
    require.resolve('uplot/dist/uPlot.iife.min.js'),
    require.resolve('uplot/dist/uPlot.min.css'),
  ];
  const sizes = files.map((file) => [path.basename(file), statSync(file).size] as const);
  const total = sizes.reduce((sum, [, size]) => sum + size, 0);
  assert.ok(total <= BUDGET_BYTES, `the page weighs ${total} bytes, over the ${BUDGET_BYTES}-byte budget: ${JSON.stringify(sizes)}`);
});
