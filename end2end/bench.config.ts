// The browser benchmark (not part of the tests): the release server on a
// fresh SQLite database, Chromium driven by Playwright. `bash scripts/bench-toast.sh` runs it.
import { defineConfig } from '@playwright/test';

const port = 3218;
// Set by the script, so the runner and its workers (each loads this file) agree on it.
const database = process.env.CADENCE_BENCH_DB;
if (!database) throw new Error('CADENCE_BENCH_DB names the benchmark database: run scripts/bench-toast.sh');

export default defineConfig({
  testDir: './bench',
  testMatch: '*.bench.ts',
  timeout: 600_000,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    timezoneId: 'UTC',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    },
  },
  webServer: {
    command: '../target/release/server',
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      DATABASE_URL: `sqlite://${database}`,
      CADENCE_BIND: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: '../target/site-release',
      RUST_LOG: 'warn',
    },
  },
});
