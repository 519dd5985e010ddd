// A server that dies mid-stream loses no live event: the tab's one
// EventSource reconnects to the restarted server with the last id it saw,
// and what changed while it was down (made through another server on the
// same database) arrives once each, followed by what comes live. This test
// runs its own servers, so it can kill one.
import { test, expect, Page } from '@playwright/test';
import { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { row, startServer, stop, watchConsole } from './support';

const dataDir = mkdtempSync(join(tmpdir(), 'cadence-e2e-restart-'));

/** Starts a server over this test's database on `port` (0: any free port). */
function startOn(port: number) {
  return startServer({ DATABASE_URL: `sqlite://${dataDir}/cadence.db`, CADENCE_BIND: `127.0.0.1:${port}` });
}

/**
 * Records the id and type of every event the page's EventSources deliver to
 * the page's own listeners, before any of the page's scripts run.
 */
async function recordLiveEvents(page: Page) {
  await page.addInitScript(() => {
    const seen: { id: string; type: string }[] = [];
    (window as any).__liveEvents = seen;
    (window as any).__liveSources = 0;
    const Original = window.EventSource;
    class Recording extends Original {
      private recorded = new Set<string>();
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, init);
        (window as any).__liveSources += 1;
      }
      addEventListener(type: string, listener: any, options?: any) {
        if (!this.recorded.has(type)) {
          this.recorded.add(type);
          super.addEventListener(type, (e: Event) => seen.push({ id: (e as MessageEvent).lastEventId, type }));
        }
        super.addEventListener(type, listener, options);
      }
    }
    window.EventSource = Recording as any;
  });
}

test('a server killed mid-stream and restarted loses no live event and repeats none', async ({ page }) => {
  test.setTimeout(120_000);
  const first = await startOn(0);
  let server = first.child;
  const origin = `http://127.0.0.1:${first.port}`;
  let other: ChildProcess | undefined;
  try {
    await recordLiveEvents(page);
    const errors = watchConsole(page);
    await page.goto(`${origin}/signup`);
    await page.getByLabel('Name').fill('Restarter');
    await page.getByLabel('Email').fill(`restarter-${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('correct horse battery');
    await expect(page.getByLabel('Time zone')).toHaveValue('Europe/Berlin');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
    await page.evaluate(() => ((window as any).__noReload = true));

    // One change while the stream is up: it arrives live.
    await page.getByLabel('New task title').fill('Before the crash');
    await page.getByLabel('New task title').press('Enter');
    await expect(row(page, 'Before the crash')).toBeVisible();
    await expect.poll(() => page.evaluate(() => (window as any).__liveEvents.length)).toBeGreaterThan(0);

    // The server dies without a goodbye; another one on the same database takes changes meanwhile.
    await stop(server, 'SIGKILL');
    const started = await startOn(0);
    other = started.child;
    const whileDown = ['Made while down 1', 'Made while down 2', 'Made while down 3'];
    for (const title of whileDown) {
      const res = await page.context().request.post(`http://127.0.0.1:${started.port}/api/quick_add`, {
        form: { title },
      });
      expect(res.ok(), `quick-add of ${title}`).toBe(true);
    }
    await stop(other, 'SIGTERM');

    // The restarted server replays what the tab missed, then carries on live.
    server = (await startOn(first.port)).child;
    for (const title of whileDown) {
      await expect(row(page, title)).toHaveCount(1, { timeout: 40_000 });
    }
    await page.getByLabel('New task title').fill('After the restart');
    await page.getByLabel('New task title').press('Enter');
    await expect(row(page, 'After the restart')).toBeVisible();

    // The tab shows its own quick-add at once; its event follows on the stream.
    const created = () =>
      page.evaluate(() => (window as any).__liveEvents.filter((e: any) => e.type === 'task.created').length);
    await expect.poll(created).toBe(5);
    // Every event arrived once, in order, with nothing between them missing; the page never reloaded.
    const events: { id: string; type: string }[] = await page.evaluate(() => (window as any).__liveEvents);
    const ids = events.map((e) => Number(e.id));
    expect(ids.length).toBeGreaterThanOrEqual(5);
    expect(ids).toEqual(ids.map((_, i) => ids[0] + i));
    expect(events.filter((e) => e.type === 'task.created')).toHaveLength(5);
    expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
    expect(await page.evaluate(() => (window as any).__liveSources)).toBeGreaterThanOrEqual(1);
    for (const title of ['Before the crash', ...whileDown, 'After the restart']) {
      await expect(row(page, title)).toHaveCount(1);
    }
    // The dropped connection is the only kind of error the console may show.
    expect(errors.filter((e) => !e.includes('/events'))).toEqual([]);
  } finally {
    if (other) await stop(other, 'SIGTERM');
    await stop(server, 'SIGTERM');
  }
});
