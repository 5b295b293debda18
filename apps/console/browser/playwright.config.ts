// Browser tests of the Console (@playwright/test on Debian's chromium; Playwright's own browser
// download cannot work here). `npm test` runs them after Jest and counts them in its last line;
// alone: `npm test -- apps/console`. global-setup.ts starts the ledger, the aggregator and the
// Console on a private database; screenshots of each page go to tmp/console-screenshots/.
import { defineConfig } from '@playwright/test';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');
export const CHROMIUM = process.env['CONSOLE_CHROMIUM'] ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: __dirname,
  testMatch: '*.browser.ts',
  globalSetup: path.join(__dirname, 'global-setup.ts'),
  outputDir: path.join(ROOT, 'tmp/console-playwright'),
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [
    ['list'],
    [
      'json',
      {
        outputFile:
          process.env['CONSOLE_PLAYWRIGHT_JSON'] ?? path.join(ROOT, 'tmp/console-playwright/results.json'),
      },
    ],
  ],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: { executablePath: CHROMIUM },
    viewport: { width: 1280, height: 900 },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
