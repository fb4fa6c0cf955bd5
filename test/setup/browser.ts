import * as fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where a Chromium is looked for when CHROMIUM_PATH is unset: Debian's package, then Ubuntu's name. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/**
 * The Chromium the browser tests drive: CHROMIUM_PATH when set, else Debian's `chromium` package.
 * playwright-core downloads no browser of its own (the workplace cannot fetch one anyway), so the
 * system's is the only one.
 */
export function chromiumPath(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return fs.existsSync(configured) ? configured : undefined;
  return CANDIDATES.find((f) => fs.existsSync(f));
}

/**
 * Whether the browser tests can run. Missing Chromium: false with a visible message, except under
 * CI=true, where it throws so the run fails instead of silently skipping (as dovecotAvailable).
 */
export function browserAvailable(): boolean {
  if (chromiumPath()) return true;
  const message =
    'chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH): browser tests are skipped';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message.split(':')[0]}`);
  console.warn(message);
  return false;
}

/**
 * A headless Chromium. `--no-sandbox` because tests and CI run as root, where Chromium's sandbox
 * refuses to start; the pages it opens are the app's own, served from 127.0.0.1.
 */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('no chromium: see browserAvailable()');
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    timeout: 60_000,
  });
}
