/**
 * Debian's Chromium for the browser suites, driven by playwright-core. Without it a suite is
 * skipped locally, but fails in CI (CI=true): `.ci/run` installs it.
 */
import fs from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const IN_CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0';

/**
 * `describe(name, body)` when Chromium is installed. Without it: in CI one failing test says how
 * to install it; elsewhere the suite is skipped with a warning naming `what` was skipped.
 */
export function describeInChromium(name: string, what: string, body: () => void): void {
  if (fs.existsSync(CHROMIUM)) {
    describe(name, () => {
      // Generous: a cold Chromium on a busy 2-core machine; nothing here asserts speed.
      jest.setTimeout(180_000);
      body();
    });
  } else if (IN_CI) {
    it('needs Chromium in CI', () => {
      throw new Error(`Chromium not found at ${CHROMIUM}: the ${what} cannot run. Install it with \`apt-get update && apt-get install -y chromium\` (.ci/run does this).`);
    });
  } else {
    console.warn(`${what} skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium). It fails instead when CI=true.`);
    describe.skip(name, body);
  }
}

/** Chromium with a fresh profile in `profileDir`: no stored headers, tabs or cache from an earlier run. */
export function launchChromium(profileDir: string, options: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, ...options });
}
