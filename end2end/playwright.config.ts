// Browser tests for Cadence: Debian's Chromium, driven by Playwright, against
// the debug server on a fresh SQLite database.
import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const port = Number(process.env.CADENCE_E2E_PORT ?? 3107);
const dataDir = mkdtempSync(join(tmpdir(), 'cadence-e2e-'));

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    timezoneId: 'Europe/Berlin',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: process.env.CADENCE_SERVER_BIN ?? '../target/debug/server',
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    // RUST_LOG set (e.g. `warn,tower_http=debug`) shows the server's log beside the tests'.
    stdout: process.env.RUST_LOG ? 'pipe' : 'ignore',
    env: {
      DATABASE_URL: `sqlite://${dataDir}/cadence.db`,
      CADENCE_BIND: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: process.env.CADENCE_SITE_ROOT ?? '../target/site',
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      // Every test signs up its own accounts, all from 127.0.0.1: more than a real address makes in an hour.
      CADENCE_SIGN_UP_MAX_PER_IP: '1000',
    },
  },
});
