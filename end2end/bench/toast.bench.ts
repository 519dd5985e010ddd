// Event-to-toast latency: reminders set for 1.5 s ahead (written straight to
// the database, as another replica would), each timed from its due instant
// to the moment its toast is added to the page. Prints p50 and p99.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100);

function sql(script: string, ...args: string[]): string {
  return execFileSync('python3', ['-c', script, process.env.CADENCE_BENCH_DB!, ...args]).toString().trim();
}

test('event-to-toast latency', async ({ page }) => {
  await page.goto('/signup');
  await page.getByLabel('Name').fill('Bench');
  await page.getByLabel('Email').fill(`bench-${Date.now()}@example.com`);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  const user = sql('import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT hex(id) FROM users").fetchone()[0])');
  await page.evaluate(() => {
    (window as any).__toasts = {};
    new MutationObserver((records) => {
      for (const r of records) {
        r.addedNodes.forEach((n) => {
          const el = n as HTMLElement;
          if (el.classList?.contains('toast')) {
            (window as any).__toasts[el.querySelector('strong')?.textContent ?? ''] = Date.now();
          }
        });
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  const latencies: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const title = `Toast ${i}`;
    const due = Date.now() + 1500;
    sql(
      'import sqlite3,sys,uuid; c=sqlite3.connect(sys.argv[1]); ' +
        'c.execute("INSERT INTO timers (id, user_id, task_id, kind, fire_at, title, label) VALUES (?, ?, ?, ?, ?, ?, ?)", ' +
        '(uuid.uuid4().bytes, bytes.fromhex(sys.argv[2]), uuid.uuid4().bytes, "reminder", int(sys.argv[3]), sys.argv[4], "At the due time")); c.commit()',
      user,
      String(due),
      title,
    );
    const shown = await page.waitForFunction((t) => (window as any).__toasts[t], title, { timeout: 30_000 });
    latencies.push(((await shown.jsonValue()) as number) - due);
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.round((latencies.length - 1) * p)];
  console.log(`\n| events | p50 | p99 | max |\n|---:|---:|---:|---:|\n| ${EVENTS} | ${at(0.5)} ms | ${at(0.99)} ms | ${at(1)} ms |`);
});
