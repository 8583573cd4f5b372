/**
 * The browser the browser tests drive: Debian's Chromium (`apt-get install chromium`) through
 * playwright-core, never a downloaded browser. Where it is missing the tests fail with a message
 * that says how to install it: a suite that cannot run on a machine says so loudly rather than
 * skipping (CI installs it in `.ci/run`).
 */
import { existsSync } from 'node:fs';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.LATCHKEY_CHROMIUM ?? '/usr/bin/chromium';

/** Launches headless Chromium with the flags this machine needs (no sandbox as root, no background networking). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The browser tests need Debian's chromium at ${CHROMIUM_PATH}: run "apt-get install -y chromium" ` +
        '(or set LATCHKEY_CHROMIUM to another Chromium binary).',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

let frontendBundle: Promise<string> | undefined;

/**
 * The real `@nangohq/frontend`, bundled by esbuild into one browser script that sets
 * `window.Nango` (the SDK's default export) and `window.NangoAuthError`. Built once per test
 * process; serve it from the test page's own origin.
 */
export function nangoFrontendScript(): Promise<string> {
  frontendBundle ??= build({
    stdin: {
      contents:
        "import Nango, { AuthError } from '@nangohq/frontend'; window.Nango = Nango; window.NangoAuthError = AuthError;",
      resolveDir: process.cwd(),
      loader: 'js',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  }).then((result) => {
    const file = result.outputFiles[0];
    if (!file) throw new Error('esbuild produced no bundle for @nangohq/frontend');
    return file.text;
  });
  return frontendBundle;
}
