// The time engine in a real browser: a reminder that fires and shows up on
// the notifications page (and is marked read there without JavaScript), and
// a repeating task whose next instance appears once the current one is
// completed, with and without JavaScript.
import { test, expect, Page } from '@playwright/test';

let counter = 0;

async function signUp(page: Page, name: string, javaScriptEnabled = true) {
  counter += 1;
  await page.goto('/signup');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(`${name.toLowerCase()}-${Date.now()}-${counter}@example.com`);
  await page.getByLabel('Password').fill('correct horse battery');
  // The dates below are Berlin's: the island detects the browser's zone; without JavaScript, type it.
  if (javaScriptEnabled) {
    await expect(page.getByLabel('Time zone')).toHaveValue('Europe/Berlin');
  } else {
    await page.getByLabel('Time zone').fill('Europe/Berlin');
  }
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
}

/** A moment as the date and time fields take it, on Berlin's wall clock. */
function berlin(at: Date): { date: string; time: string } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/Berlin',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}` };
}

async function newTask(
  page: Page,
  fields: { title: string; date: string; time?: string; reminders?: string; repeat?: string },
) {
  await page.goto('/tasks/new');
  await page.getByLabel('Title').fill(fields.title);
  await page.getByLabel('Due date').fill(fields.date);
  if (fields.time) await page.locator('#due_time').fill(fields.time);
  if (fields.reminders) await page.locator('#reminders').fill(fields.reminders);
  if (fields.repeat) await page.locator('#repeat').selectOption(fields.repeat);
  await page.getByRole('button', { name: 'Create task' }).click();
  await expect(page.getByRole('heading', { name: fields.title })).toBeAttached();
}

function row(page: Page, title: string) {
  return page.getByRole('listitem').filter({ has: page.getByRole('link', { name: title, exact: true }) });
}

test('a reminder at the due time shows up on the notifications page and in the header', async ({ page, browser }) => {
  // The due time is the first whole minute at least 20 seconds ahead: the reminder fires then.
  test.setTimeout(150_000);
  await signUp(page, 'Reminded');
  const due = berlin(new Date(Math.ceil((Date.now() + 20_000) / 60_000) * 60_000));
  await newTask(page, { title: 'Call the plumber', date: due.date, time: due.time, reminders: 'at due' });
  await expect(page.getByText('At the due time:', { exact: false })).toBeVisible();
  await page.goto('/notifications');
  await expect(page.getByText('No notifications yet', { exact: false })).toBeVisible();
  await expect
    .poll(
      async () => {
        await page.reload();
        return page.getByRole('link', { name: 'Call the plumber' }).count();
      },
      { timeout: 120_000, intervals: [1_000] },
    )
    .toBe(1);
  await expect(page.getByText('Reminder: at the due time')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Notifications (1 unread)' })).toBeVisible();

  // The same account without JavaScript: the page's forms post and it reloads.
  const plain = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() });
  const noJs = await plain.newPage();
  await noJs.goto('/notifications');
  await noJs.getByRole('button', { name: 'Mark read' }).click();
  await expect(noJs).toHaveURL(/\/notifications$/);
  await expect(noJs.getByRole('link', { name: 'Notifications', exact: true })).toBeVisible();
  await expect(noJs.getByRole('button', { name: 'Mark read' })).toHaveCount(0);
  await plain.close();
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
