// The time engine and the live islands in a real browser: a reminder that
// comes live as a toast and on the bell in two tabs (and as a system
// notification in a hidden one), the bell's panel by keyboard, the task list
// kept live across tabs with an undo, the desktop-notification switch, and a
// repeating task whose next instance appears once the current one is
// completed, with and without JavaScript.
import { test, expect, Page } from '@playwright/test';
import { berlin, newTask, row, signUp, watchConsole } from './support';

test('a reminder comes live as a toast and on the bell in every tab, and reading it in one tab clears the others', async ({
  page,
  browser,
}) => {
  // The due time is the first whole minute at least 20 seconds ahead: the reminder fires then.
  test.setTimeout(150_000);
  const errors = watchConsole(page);
  await signUp(page, 'Reminded');
  const due = berlin(new Date(Math.ceil((Date.now() + 20_000) / 60_000) * 60_000));
  await newTask(page, { title: 'Call the plumber', date: due.date, time: due.time, reminders: 'at due' });
  await expect(page.getByText('At the due time:', { exact: false })).toBeVisible();
  // A second tab of the same session, on another page, in the background, with desktop notifications on
  // (the browser's API stubbed: a headless browser shows none).
  const other = await page.context().newPage();
  const otherErrors = watchConsole(other);
  await other.addInitScript(() => {
    Object.defineProperty(document, 'hidden', { get: () => true });
    (window as any).__shown = [];
    class FakeNotification {
      static permission = 'granted';
      static requestPermission() {
        return Promise.resolve('granted');
      }
      onclick: unknown = null;
      constructor(title: string, options?: { body?: string; tag?: string }) {
        (window as any).__shown.push({ title, body: options?.body, tag: options?.tag });
      }
    }
    (window as any).Notification = FakeNotification;
    localStorage.setItem('cadence.desktop', 'on');
  });
  await other.goto('/notifications');
  await expect(other.getByText('No notifications yet', { exact: false })).toBeVisible();
  await page.goto('/tasks');
  for (const tab of [page, other]) {
    await expect(tab.locator('.bell-wrap')).toBeVisible();
    await expect(tab.getByRole('link', { name: 'Notifications', exact: true })).toBeVisible();
  }
  // No reload: the toast slides in and the count goes up in both tabs when the reminder fires.
  for (const tab of [page, other]) {
    const toast = tab.locator('.toast').filter({ hasText: 'Call the plumber' });
    await expect(toast).toBeVisible({ timeout: 100_000 });
    await expect(toast).toContainText('Reminder: at the due time');
    await expect(tab.getByRole('link', { name: 'Notifications, 1 unread' })).toBeVisible();
  }
  // The hidden tab also showed it as a system notification, tagged so several tabs make one; the visible tab did not.
  expect(await other.evaluate(() => (window as any).__shown)).toEqual([
    { title: 'Call the plumber', body: 'Reminder: at the due time', tag: 'cadence-1' },
  ]);
  // The bell's panel, with the keyboard alone: Enter opens it, arrows move, Escape closes it
  // (in the foreground tab: a background tab's animation frames are throttled).
  await page.bringToFront();
  const bell = page.getByRole('link', { name: 'Notifications, 1 unread' });
  await bell.focus();
  await page.keyboard.press('Enter');
  const panel = page.getByRole('dialog', { name: 'Latest notifications' });
  await expect(panel).toBeVisible();
  await expect(panel.getByRole('link', { name: 'Call the plumber' })).toBeVisible();
  await page.keyboard.press('ArrowDown');
  await expect(panel.getByRole('button', { name: 'Mark all read' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await expect(bell).toBeFocused();
  // Reading it in this tab clears the count in the other, live.
  await page.keyboard.press('Enter');
  await panel.getByRole('button', { name: 'Mark read' }).click();
  for (const tab of [page, other]) {
    await expect(tab.getByRole('link', { name: 'Notifications', exact: true })).toBeVisible();
  }
  expect(errors).toEqual([]);
  expect(otherErrors).toEqual([]);

  // The same account without JavaScript: the count and the notifications page are server-rendered.
  const plain = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() });
  const noJs = await plain.newPage();
  await noJs.goto('/notifications');
  await expect(noJs.getByRole('link', { name: 'Call the plumber' })).toBeVisible();
  await expect(noJs.getByRole('link', { name: 'Notifications', exact: true })).toBeVisible();
  await plain.close();
});

test('desktop notifications are turned on and off in the settings', async ({ page, context }) => {
  await context.grantPermissions(['notifications']);
  await signUp(page, 'Desktop');
  await page.goto('/settings');
  const on = page.getByRole('button', { name: 'Turn on desktop notifications' });
  await expect(on).toBeVisible();
  await on.click();
  await expect(page.getByText('On: reminders also show as system notifications', { exact: false })).toBeVisible();
  expect(await page.evaluate(() => localStorage.getItem('cadence.desktop'))).toBe('on');
  await page.getByRole('button', { name: 'Turn off' }).click();
  await expect(page.getByText('Off.')).toBeVisible();
});

test('a task added or completed in one tab shows in the other tab\'s list without a reload, and undo reopens it', async ({ page }) => {
  await signUp(page, 'Lister');
  const other = await page.context().newPage();
  await other.goto('/tasks');
  await expect(other.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  await expect(other.locator('.bell-wrap')).toBeVisible();
  await other.evaluate(() => ((window as any).__noReload = true));
  // Work in the first tab in the foreground: a background tab's animation frames are throttled,
  // and a click waits for frames to see its button stand still.
  await page.bringToFront();
  await page.goto('/tasks');
  await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  await page.getByLabel('New task title').fill('Bought in the other tab');
  await page.getByLabel('New task title').press('Enter');
  await expect(row(other, 'Bought in the other tab')).toBeVisible();
  // Completing it here shows it done there too, and this tab offers an undo that really reopens it.
  const done = (tab: Page) => row(tab, 'Bought in the other tab').getByRole('button', { name: /^Done: / });
  await done(page).click();
  await expect(done(other)).toHaveAttribute('aria-pressed', 'true');
  const toast = page.locator('.toast').filter({ hasText: 'Task completed' });
  await expect(toast).toContainText('Bought in the other tab');
  await toast.getByRole('button', { name: 'Undo' }).click();
  await expect(toast).toHaveCount(0);
  for (const tab of [page, other]) {
    await expect(done(tab)).toHaveAttribute('aria-pressed', 'false');
  }
  expect(await other.evaluate(() => (window as any).__noReload)).toBe(true);
});

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled });

    test('completing a repeating task brings its next instance into the list', async ({ page }) => {
      await signUp(page, 'Repeater', javaScriptEnabled);
      const today = berlin(new Date());
      await newTask(page, { title: 'Water the plants', date: today.date, repeat: 'daily' });
      await expect(page.getByText('Every day')).toBeVisible();
      await expect(page.getByRole('list', { name: 'Upcoming occurrences' }).getByRole('listitem')).toHaveCount(5);
      await page.goto('/tasks');
      const first = row(page, 'Water the plants');
      await expect(first).toHaveCount(1);
      await expect(first.getByText('Repeats')).toBeVisible();
      if (javaScriptEnabled) {
        // The island handles the toggle once hydrated; before that the form would post natively.
        await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
        const saved = page.waitForResponse((r) => r.url().endsWith('/api/set_completed') && r.request().method() === 'POST');
        await first.getByRole('button', { name: /^Done: / }).click();
        expect((await saved).ok()).toBe(true);
      } else {
        await first.getByRole('button', { name: /^Done: / }).click();
        await expect(page).toHaveURL(/\/tasks/);
      }
      // The recurrence consumer makes the next one from the completion event, a moment later.
      await expect
        .poll(
          async () => {
            await page.goto('/tasks');
            return row(page, 'Water the plants').count();
          },
          { timeout: 20_000 },
        )
        .toBe(1);
      await expect(row(page, 'Water the plants').getByText('Repeats')).toBeVisible();
      await page.goto('/tasks?completed=1');
      await expect(row(page, 'Water the plants')).toHaveCount(2);
    });
  });
}
