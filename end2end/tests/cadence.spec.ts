// Cadence in a real browser: the island flow with JavaScript, the same flow
// without it, isolation between users, and a clean console on every page.
import { test, expect, Page, BrowserContext } from '@playwright/test';
import { watchConsole } from './support';

let counter = 0;
function uniqueEmail(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now()}-${counter}@example.com`;
}

async function signUp(page: Page, name: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase());
  await page.goto('/signup');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  return email;
}

function row(page: Page, title: string) {
  return page.getByRole('listitem').filter({ has: page.getByRole('link', { name: title, exact: true }) });
}

/** A row's complete toggle, found as a screen reader finds it. */
function toggleOf(item: ReturnType<typeof row>) {
  return item.getByRole('button', { name: /^Done: / });
}

/**
 * Clicks a row's toggle with JavaScript on and waits for the server's answer:
 * the island shows the new state at once, before the change is saved, so a
 * reload right after the click could read the list before it commits.
 */
async function toggleAndWaitForSave(page: Page, toggle: ReturnType<typeof toggleOf>) {
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/set_completed') && r.request().method() === 'POST');
  await toggle.click();
  expect((await saved).ok()).toBe(true);
}

async function editAndDelete(page: Page, title: string, renamed: string) {
  await page.getByRole('link', { name: title, exact: true }).first().click();
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByLabel('Title').fill(renamed);
  await page.getByLabel('Priority').selectOption('high');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('link', { name: renamed, exact: true })).toBeVisible();
  await expect(page.getByText('High', { exact: true })).toBeVisible();
  await page.getByRole('link', { name: 'Delete…' }).click();
  await expect(page.getByRole('heading', { name: 'Delete this task?' })).toBeVisible();
  await page.getByRole('button', { name: 'Delete task' }).click();
  await expect(page).toHaveURL(/\/tasks/);
  await expect(row(page, renamed)).toHaveCount(0);
}

async function expectActivity(page: Page, renamed: string, title: string) {
  await page.getByRole('link', { name: 'Activity' }).click();
  const log = page.getByTestId('activity');
  await expect(log).toContainText(`Deleted “${renamed}”`);
  await expect(log).toContainText(`Completed “${title}”`);
  await expect(log).toContainText(`Created “${title}”`);
  await expect(log).toContainText('Created the account');
}

test.describe('with JavaScript', () => {
  test('a user signs up, quick-adds, completes, edits and deletes a task, and sees the activity', async ({ page }) => {
    const errors = watchConsole(page);
    await page.goto('/signup');
    // The time zone island fills in the browser's zone (the context runs in Europe/Berlin).
    await expect(page.getByLabel('Time zone')).toHaveValue('Europe/Berlin');
    await signUp(page, 'Ada');

    const board = page.locator('.task-board[data-hydrated="true"]');
    await expect(board).toBeVisible();
    await page.evaluate(() => ((window as any).__noReload = true));
    await page.getByLabel('New task title').fill('Buy oat milk');
    await page.getByLabel('New task title').press('Enter');
    await expect(row(page, 'Buy oat milk')).toBeVisible();
    expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
    await expect(page.getByLabel('New task title')).toHaveValue('');

    const toggle = toggleOf(row(page, 'Buy oat milk'));
    await toggleAndWaitForSave(page, toggle);
    await expect(toggle).toHaveAttribute('aria-pressed', 'true');
    expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

    await page.reload();
    await expect(row(page, 'Buy oat milk')).toHaveCount(0);
    await page.getByLabel('Show completed').check();
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect(toggleOf(row(page, 'Buy oat milk'))).toHaveAttribute('aria-pressed', 'true');

    await editAndDelete(page, 'Buy oat milk', 'Buy oat milk and bread');
    await expectActivity(page, 'Buy oat milk and bread', 'Buy oat milk');
    expect(errors).toEqual([]);
  });

  test('no page logs a console error', async ({ page }) => {
    const errors = watchConsole(page);
    for (const path of ['/', '/signin', '/signup']) {
      await page.goto(path);
    }
    // A missing page answers 404, which Chromium logs for the document itself;
    // check it on its own page.
    const missing = await page.context().newPage();
    expect((await missing.goto('/no-such-page'))?.status()).toBe(404);
    await expect(missing.getByRole('heading', { name: 'Not found' })).toBeVisible();
    await missing.close();
    await signUp(page, 'Grace');
    await page.getByLabel('New task title').fill('Check the console');
    await page.getByLabel('New task title').press('Enter');
    await expect(row(page, 'Check the console')).toBeVisible();
    await page.getByRole('link', { name: 'Check the console', exact: true }).first().click();
    // A click does not wait for the navigation it starts: read the address once it is the task's.
    await expect(page).toHaveURL(/\/tasks\/[0-9a-f-]{36}$/);
    const taskUrl = page.url();
    for (const path of ['/tasks', '/tasks/new', `${taskUrl}/edit`, `${taskUrl}/delete`, taskUrl, '/activity', '/settings']) {
      await page.goto(path);
      await page.waitForLoadState('networkidle');
    }
    expect(errors).toEqual([]);
  });
});

test('quick-add on an empty list puts the new tasks in the list and the empty message away', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, 'Empty');
  await expect(page.getByText('Nothing to do')).toBeVisible();
  await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  for (const title of ['First thing', 'Second thing']) {
    await page.getByLabel('New task title').fill(title);
    await page.getByLabel('New task title').press('Enter');
    await expect(row(page, title)).toBeVisible();
  }
  await expect(page.getByText('Nothing to do')).toBeHidden();
  // Newest first, inside the one task list, below the filters: as a reload shows them.
  const list = page.getByRole('list', { name: 'Tasks' });
  await expect(list.getByRole('listitem')).toHaveText([/Second thing/, /First thing/]);
  const filtersFirst = await page.evaluate(() => {
    const filters = document.querySelector('form.filters')!;
    const list = document.getElementById('task-list')!;
    return Boolean(filters.compareDocumentPosition(list) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  expect(filtersFirst).toBe(true);
  await page.getByLabel('New task title').fill('   ');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.locator('#quick-add-error')).toHaveText('Give the task a title.');
  await toggleAndWaitForSave(page, toggleOf(list.getByRole('listitem').first()));
  await expect(toggleOf(list.getByRole('listitem').first())).toHaveAttribute('aria-pressed', 'true');
  await page.reload();
  await expect(page.getByRole('list', { name: 'Tasks' }).getByRole('listitem')).toHaveText([/First thing/]);
  // The empty title was refused on purpose: Chromium logs that 422, and nothing else may be logged.
  expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
  expect(errors.length).toBe(1);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the same flow works with plain form posts', async ({ page }) => {
    await signUp(page, 'Noscript');
    await page.getByLabel('New task title').fill('Paper task');
    await page.getByLabel('New task title').press('Enter');
    await expect(row(page, 'Paper task')).toBeVisible();
    await toggleOf(row(page, 'Paper task')).click();
    await expect(row(page, 'Paper task')).toHaveCount(0);
    await page.goto('/tasks?completed=1');
    await expect(toggleOf(row(page, 'Paper task'))).toHaveAttribute('aria-pressed', 'true');
    await editAndDelete(page, 'Paper task', 'Paper task, revised');
    await expectActivity(page, 'Paper task, revised', 'Paper task');
  });

  test('a bad field comes back with its error beside it', async ({ page }) => {
    await signUp(page, 'Validator');
    await page.goto('/tasks/new');
    await page.getByLabel('Title').fill('Needs a date');
    await page.getByLabel('Time (optional)').fill('10:30');
    await page.getByRole('button', { name: 'Create task' }).click();
    await expect(page.locator('#due_date-error')).toHaveText('Pick a date for this time.');
    await expect(page.getByLabel('Due date')).toHaveAttribute('aria-invalid', 'true');
    // What was typed is still there, and the page's own address is in the bar.
    await expect(page.getByLabel('Title')).toHaveValue('Needs a date');
    await expect(page.getByLabel('Time (optional)')).toHaveValue('10:30');
    expect(new URL(page.url()).pathname).toBe('/tasks/new');
    // Failing again and again keeps one error in the address, so it never grows until the browser drops it.
    for (let n = 0; n < 4; n++) {
      await page.getByRole('button', { name: 'Create task' }).click();
      await expect(page.locator('#due_date-error')).toHaveText('Pick a date for this time.');
      expect(new URL(page.url()).pathname).toBe('/tasks/new');
      expect(page.url().split('__err=').length - 1).toBe(1);
    }
    await page.getByLabel('Due date').fill('2031-05-06');
    await page.getByRole('button', { name: 'Create task' }).click();
    await expect(page).toHaveURL(/\/tasks\/[0-9a-f-]{36}$/);
  });
});

test('a second user sees none of the first user’s tasks', async ({ browser }) => {
  const first: BrowserContext = await browser.newContext();
  const a = await first.newPage();
  await signUp(a, 'Owner');
  await a.getByLabel('New task title').fill('Owner only');
  await a.getByLabel('New task title').press('Enter');
  await expect(row(a, 'Owner only')).toBeVisible();
  await a.reload();
  await a.getByRole('link', { name: 'Owner only', exact: true }).click();
  await expect(a).toHaveURL(/\/tasks\/[0-9a-f-]{36}$/);
  const privateUrl = a.url();

  const second = await browser.newContext();
  const b = await second.newPage();
  await signUp(b, 'Stranger');
  await expect(b.getByText('Nothing to do')).toBeVisible();
  await expect(b.getByText('Owner only')).toHaveCount(0);
  const res = await b.goto(privateUrl);
  expect(res?.status()).toBe(404);
  await expect(b.getByText('Owner only')).toHaveCount(0);
  await first.close();
  await second.close();
});
