import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];
/**
 * Every run saves its screenshots under e2e/screenshots/latest/ (not committed); with UPDATE_SCREENSHOTS=1
 * it replaces the committed set in e2e/screenshots/.
 */
export const SCREENSHOTS = fileURLToPath(new URL(process.env['UPDATE_SCREENSHOTS'] === '1' ? '../screenshots' : '../screenshots/latest', import.meta.url));
const inCi = process.env['CI'] === 'true' || process.env['CI'] === '1';

/** The journeys drive the built client the server serves: build it first if this checkout has none. */
export const ensureWebBuild = (): void => {
  const script = fileURLToPath(new URL('../../scripts/build-web.mjs', import.meta.url));
  const built = spawnSync(process.execPath, [script, '--if-missing'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('the web client did not build (npm run build)');
};

/**
 * Debian's chromium (`.ci/run` installs it with apt-get): CHROMIUM_PATH, or the usual places. Missing, the
 * browser tests skip with a message on a developer's machine, and fail under CI.
 */
export const findChromium = (): string | undefined => {
  const path = process.env['CHROMIUM_PATH'] ?? CANDIDATES.find((candidate) => existsSync(candidate));
  if (path && existsSync(path)) return path;
  if (inCi) throw new Error('chromium is required in CI for the browser tests; .ci/run installs it with apt-get install -y chromium');
  return undefined;
};

export const SKIP_WITHOUT_CHROMIUM = 'Debian\'s chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH): browser tests skipped';

export const launch = (executablePath: string): Promise<Browser> => {
  ensureWebBuild();
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
};

/**
 * A browser context whose pages report every console error, uncaught exception and Content-Security-Policy
 * violation into `problems`: the journeys end by asserting it is empty, so the client runs cleanly under the
 * server's strict CSP.
 */
export const openContext = async (browser: Browser, options: { viewport?: { width: number; height: number } } = {}) => {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'UTC' });
  const problems: string[] = [];
  // Runs before the page's own scripts, through the DevTools protocol (not an inline script: CSP does not apply).
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) => {
      console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline') + ' (' + event.sourceFile + ':' + event.lineNumber + ')');
    });`,
  });
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = message.text();
      // A refused request (a wrong password's 401, the server down while it restarts) is the test's intent;
      // Chrome logs each as a console error. Anything else is a problem.
      if (/Failed to load resource: the server responded with a status of (400|401|403|404|409|410)|net::ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(text)) return;
      problems.push(`console error on ${page.url()}: ${text}`);
    });
    page.on('pageerror', (error) => problems.push(`uncaught exception on ${page.url()}: ${error.message}`));
  };
  context.on('page', watch);
  const page = await context.newPage();
  return { context, page, problems };
};

export const screenshot = async (page: Page, name: string): Promise<void> => {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
};

export type { Browser, BrowserContext, Page };

/** Fills and sends the log-in form of the page shown. */
export const logInWithForm = async (page: Page, email: string, password: string): Promise<void> => {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
};
