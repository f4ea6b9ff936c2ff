/**
 * What the dashboard's browser tests share: finding Debian's chromium (the tests skip without it), launching it
 * headless with a throw-away profile, recording what a page logs and requests, waiting for what a person would see
 * (with messages naming it), and a screenshot when a check fails.
 *
 * Screenshots go to a temporary artifacts folder (printed as a diagnostic; POOLSCOPE_ARTIFACTS_DIR overrides it).
 */
import type { TestContext } from 'node:test';
import { accessSync, constants, mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const VIEWPORT = { width: 1280, height: 800 };
/** Bound of every wait on the page: a guard against hangs, never a timing assertion. */
export const WAIT_MILLIS = 20_000;
export const TEST_TIMEOUT_MILLIS = 120_000;
export const SKIP_REASON = 'chromium not installed: apt-get install chromium';

/** What a test closes after itself (browser, servers, held clients, nodes), run newest first. */
export type Closers = (() => Promise<void>)[];

/** Debian's chromium on PATH (CHROMIUM_PATH overrides), or null. */
export function findChromium(): string | null {
  const candidates = process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'chromium'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Runs every closer, newest first; a failing one is reported as a warning and the others still run. */
export async function runClosers(closers: Closers): Promise<void> {
  for (const close of closers.splice(0).reverse()) {
    await close().catch((error: unknown) => process.emitWarning(`browser test cleanup: ${String(error)}`));
  }
}

let artifactsDir: string | undefined;

/** The folder for screenshots (one per test process), named in the test's diagnostics. */
export function artifacts(t: TestContext): string {
  if (!artifactsDir) {
    artifactsDir = process.env.POOLSCOPE_ARTIFACTS_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'poolscope-browser-artifacts-'));
    mkdirSync(artifactsDir, { recursive: true });
  }
  t.diagnostic(`screenshots: ${artifactsDir}`);
  return artifactsDir;
}

/** A fresh headless Chromium with its own temporary profile, closed (and the profile removed) by `closers`. */
export async function launchBrowser(executablePath: string, closers: Closers): Promise<BrowserContext> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'poolscope-chromium-'));
  closers.push(() => rm(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: VIEWPORT,
    colorScheme: 'light',
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  closers.push(() => context.close());
  context.setDefaultTimeout(WAIT_MILLIS);
  return context;
}

/** What the page did that a person (or their devtools) would notice. */
export interface PageRecord {
  /** Console errors (CSP violations are reported there too) and uncaught page errors. */
  readonly errors: string[];
  /** Every URL the page requested. */
  readonly requestUrls: string[];
  /** Answers of 400 and above: `<status> <url>`. */
  readonly failedResponses: string[];
  /** Navigations of the main frame (1 = opened once, never reloaded). */
  navigations: number;
}

export async function openPage(context: BrowserContext): Promise<{ page: Page; record: PageRecord }> {
  const page = await context.newPage();
  const record: PageRecord = { errors: [], requestUrls: [], failedResponses: [], navigations: 0 };
  page.on('console', (message) => {
    if (message.type() === 'error') record.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => record.errors.push(`pageerror: ${error.message}`));
  page.on('request', (request) => record.requestUrls.push(request.url()));
  page.on('response', (response) => {
    if (response.status() >= 400) record.failedResponses.push(`${response.status()} ${response.url()}`);
  });
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) record.navigations += 1;
  });
  return { page, record };
}

/** Runs `body`; on failure saves a screenshot and prints what the page logged, then rethrows. */
export async function withFailureScreenshot(t: TestContext, page: Page, record: PageRecord, name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const file = path.join(artifacts(t), `${name}-failure.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    t.diagnostic(`failure screenshot: ${file}`);
    for (const line of [...record.errors, ...record.failedResponses.map((answer) => `answer: ${answer}`)]) t.diagnostic(`page: ${line}`);
    throw error;
  }
}

/** Waits until `locator` is visible; fails naming `what`. */
export async function see(locator: Locator, what: string): Promise<void> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: WAIT_MILLIS });
  } catch (error) {
    throw new Error(`the page never showed ${what} within ${WAIT_MILLIS} ms (${firstLine(error)})`, { cause: error });
  }
}

/** Waits until `locator` is hidden or gone; fails naming `what`. */
export async function seeGone(locator: Locator, what: string): Promise<void> {
  try {
    await locator.first().waitFor({ state: 'hidden', timeout: WAIT_MILLIS });
  } catch (error) {
    throw new Error(`${what} was still shown after ${WAIT_MILLIS} ms (${firstLine(error)})`, { cause: error });
  }
}

/** Waits until `locator`'s text, trimmed, is `expected`; fails with the text it had. */
export async function seeText(locator: Locator, expected: string, what: string): Promise<void> {
  const exact = new RegExp(`^\\s*${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  try {
    await locator.filter({ hasText: exact }).first().waitFor({ state: 'visible', timeout: WAIT_MILLIS });
  } catch (error) {
    const shown = await locator
      .first()
      .textContent({ timeout: 1000 })
      .catch(() => '(element not found)');
    throw new Error(`${what}: expected "${expected}" within ${WAIT_MILLIS} ms, the page shows ${JSON.stringify(shown?.trim())}`, {
      cause: error,
    });
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
