import { chromium } from '@playwright/test';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu','--disable-background-networking','--disable-component-update','--disable-sync','--no-first-run'] });
const base = 'http://127.0.0.1:3996';
const ctx = await b.newContext({ timezoneId: 'Europe/Berlin', viewport: { width: 1100, height: 800 } });
const p = await ctx.newPage();
await p.goto(base + '/signup');
await p.fill('#display_name', 'Ada Lovelace'); await p.fill('#email', 'ada@example.com'); await p.fill('#password', 'correct horse');
await p.click('button[type=submit]');
await p.waitForURL(/tasks/);
for (const [t, pr, tags, d, tm] of [['Submit the quarterly report','urgent','work, finance','2026-11-20','17:00'],['Book dentist appointment','medium','health','2026-12-02',''],['Buy oat milk','none','errands','',''],['Plan the team offsite','high','work','2027-01-15','09:30'],['Read “Designing Data-Intensive Applications”','low','reading','','']]) {
  await p.goto(base + '/tasks/new');
  await p.fill('#title', t); await p.selectOption('#priority', pr); await p.fill('#tags', tags); if (d) await p.fill('#due_date', d); if (tm) await p.fill('#due_time', tm);
  await p.click('button[type=submit]');
}
await p.goto(base + '/tasks');
await p.waitForSelector('.quick-add[data-hydrated=true]');
await p.locator('[data-testid=complete-toggle]').nth(2).click();
await p.waitForTimeout(500);
await p.screenshot({ path: '/tmp/shot-tasks.png', fullPage: true });
await p.setViewportSize({ width: 360, height: 740 });
await p.screenshot({ path: '/tmp/shot-tasks-360.png', fullPage: true });
await p.emulateMedia({ colorScheme: 'dark' });
await p.setViewportSize({ width: 1100, height: 800 });
await p.locator('.task-title').first().click();
await p.screenshot({ path: '/tmp/shot-task-dark.png', fullPage: true });
await b.close();
