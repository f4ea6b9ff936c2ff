import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { HttpRouteError, PoolscopeError, messageOf } from '../errors.js';
import type { OpsResponse } from './ops-response.js';
import { textResponse } from './ops-response.js';

/**
 * The dashboard's static files: the HTML shell at `<prefix>/dashboard` and an allowlist of assets under
 * `<prefix>/dashboard/assets/`. Public (they hold no data); each file is read once per handler and kept in memory.
 */

/** The Content-Security-Policy of the page and its assets: no inline script or style, same origin only. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** Where a file comes from: poolscope's own assets folder, or the uplot package. */
type AssetSource = { readonly own: string } | { readonly uplot: string };

/** The files taken from the uplot package, and their content type. */
export const UPLOT_ASSETS: Readonly<Record<string, { readonly contentType: string; readonly source: AssetSource }>> = Object.freeze({
  'uPlot.iife.min.js': { contentType: JS, source: { uplot: 'uplot/dist/uPlot.iife.min.js' } },
  'uPlot.min.css': { contentType: CSS, source: { uplot: 'uplot/dist/uPlot.min.css' } },
});

/**
 * The names of poolscope's own assets that may be served: lower-case `name.js` / `name.css` (no path, no dot
 * files), and only those present in src/dashboard/assets/ (listed once). `dashboard.html` is served at /dashboard.
 */
const OWN_ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(?:js|css)$/;

const SHELL = 'dashboard.html';

/**
 * Candidate locations of an own asset: beside this module's folder under tsx (`src/http/` -> `src/dashboard/`),
 * and from the compiled `dist/http/` to the `src/dashboard/` the package ships.
 */
function ownAssetUrls(file: string): URL[] {
  return [new URL(`../dashboard/assets/${file}`, import.meta.url), new URL(`../../src/dashboard/assets/${file}`, import.meta.url)];
}

/** The own assets present (the first candidate folder that exists). */
async function listOwnAssets(): Promise<Set<string>> {
  for (const url of ownAssetUrls('')) {
    try {
      return new Set((await readdir(fileURLToPath(url))).filter((name) => OWN_ASSET_NAME.test(name)));
    } catch {
      // try the next candidate
    }
  }
  return new Set();
}

async function readAsset(source: AssetSource): Promise<string> {
  if ('uplot' in source) {
    const path = createRequire(import.meta.url).resolve(source.uplot);
    return readFile(path, 'utf8');
  }
  let lastError: unknown;
  for (const url of ownAssetUrls(source.own)) {
    try {
      return await readFile(fileURLToPath(url), 'utf8');
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** The static files of one ops handler, cached after the first read (a failed read is retried next time). */
export class DashboardAssets {
  readonly #prefix: string;
  readonly #cache = new Map<string, Promise<string>>();
  #ownNames: Promise<Set<string>> | undefined;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** `GET /dashboard`: the shell with every `%PREFIX%` replaced by the handler's prefix. */
  async shell(): Promise<OpsResponse> {
    const html = await this.#load(SHELL, { own: SHELL }, (text) => text.replaceAll('%PREFIX%', this.#prefix));
    return textResponse(200, HTML, html, { 'content-security-policy': DASHBOARD_CSP });
  }

  /** `GET /dashboard/assets/:file` (`file` as it appears in the path). */
  async asset(file: string): Promise<OpsResponse> {
    let entry = Object.hasOwn(UPLOT_ASSETS, file) ? UPLOT_ASSETS[file] : undefined;
    if (entry === undefined && OWN_ASSET_NAME.test(file)) {
      this.#ownNames ??= listOwnAssets();
      if ((await this.#ownNames).has(file)) entry = { contentType: file.endsWith('.css') ? CSS : JS, source: { own: file } };
    }
    if (entry === undefined) {
      const known = [...(await (this.#ownNames ??= listOwnAssets())), ...Object.keys(UPLOT_ASSETS)];
      throw new HttpRouteError(404, 'POOLSCOPE_ERR_HTTP_NOT_FOUND', `No dashboard asset ${JSON.stringify(file)}. Assets: ${known.join(', ')}.`);
    }
    const text = await this.#load(file, entry.source, (t) => t);
    return textResponse(200, entry.contentType, text, { 'content-security-policy': DASHBOARD_CSP });
  }

  #load(key: string, source: AssetSource, transform: (text: string) => string): Promise<string> {
    let loading = this.#cache.get(key);
    if (loading === undefined) {
      loading = readAsset(source).then(transform, (error: unknown) => {
        this.#cache.delete(key);
        throw new PoolscopeError(
          'POOLSCOPE_ERR_HTTP_ASSET_MISSING',
          `The dashboard file ${key} could not be read (${messageOf(error)}); the installed poolscope package is ` +
            'incomplete (it ships src/dashboard/assets/ and needs its uplot dependency): reinstall it.',
          { cause: error },
        );
      });
      this.#cache.set(key, loading);
    }
    return loading;
  }
}
