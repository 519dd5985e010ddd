// The header's search: matches while typing (the matched words marked), the
// arrow keys and Enter, "See all" to the list's own search, answers to an
// older text never shown over a newer one, and the plain form without
// JavaScript.
import { expect, Page, Request, test } from '@playwright/test';
import { row, signUp, watchConsole } from './support';

const searchBox = (page: Page) => page.getByRole('combobox', { name: 'Find tasks' });
const options = (page: Page) => page.getByRole('listbox', { name: 'Matching tasks' }).getByRole('option');
const option = (page: Page, title: string) => options(page).filter({ hasText: title });
const asked = (r: Request, q: string) =>
  r.url().endsWith('/api/search_tasks') && new URLSearchParams(r.postData() ?? '').get('q') === q;

/**
 * Adds each task through the full form (a page load each, so no live list is
 * involved), `#tags` going to the tags field, then opens the list.
 */
async function addTasks(page: Page, tasks: string[]) {
  for (const task of tasks) {
    const title = task.replace(/ #\w+/g, '');
    await page.goto('/tasks/new');
    await page.getByLabel('Title').fill(title);
    const tags = [...task.matchAll(/#(\w+)/g)].map((m) => m[1]).join(', ');
    if (tags) await page.getByLabel('Tags (comma-separated)').fill(tags);
    await page.getByRole('button', { name: 'Create task' }).click();
    await expect(page.getByRole('heading', { name: title, exact: true })).toBeVisible();
  }
  await page.goto('/tasks');
}

/** Signs up, adds `tasks` and waits until the header's search has hydrated. */
async function ready(page: Page, name: string, tasks: string[]) {
  await signUp(page, name);
  await addTasks(page, tasks);
  await expect(searchBox(page)).toHaveAttribute('aria-expanded', 'false');
}

test('typing shows the matching tasks with the words marked; arrows and Enter open one', async ({ page }) => {
  const errors = watchConsole(page);
  await ready(page, 'Finder', ['Pay rent', 'Rent a car', 'Call the plumber', 'Crème brûlée']);
  const search = searchBox(page);
  await search.click();
  await search.pressSequentially('ren');
  await expect(search).toHaveAttribute('aria-expanded', 'true');
  await expect(options(page)).toHaveCount(3);
  await expect(option(page, 'Pay rent').locator('mark')).toHaveText(['ren']);
  await expect(option(page, 'Rent a car').locator('mark')).toHaveText(['Ren']);
  await expect(options(page).last()).toHaveText('See all 2 results');
  await expect(page.getByRole('listbox').getByText('Call the plumber')).toHaveCount(0);

  // Accents fold as the list's search folds them.
  await search.fill('creme');
  await expect(options(page)).toHaveText(['Crème brûlée', 'See it in the list']);
  await expect(option(page, 'Crème').locator('mark')).toHaveText(['Crème']);

  // Escape closes the options and keeps the text.
  await search.press('Escape');
  await expect(page.getByRole('listbox', { name: 'Matching tasks' })).toBeHidden();
  await expect(search).toHaveAttribute('aria-expanded', 'false');
  await expect(search).toHaveValue('creme');

  await search.fill('plumb');
  await expect(options(page)).toHaveText(['Call the plumber', 'See it in the list']);
  await search.press('ArrowDown');
  const first = options(page).first();
  await expect(first).toHaveAttribute('aria-selected', 'true');
  await expect(search).toHaveAttribute('aria-activedescendant', (await first.getAttribute('id'))!);
  await search.press('Enter');
  await expect(page).toHaveURL(/\/tasks\/[0-9a-f-]+$/);
  await expect(page.getByRole('heading', { name: 'Call the plumber' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('"See all" and Enter without a choice open the list\'s own search', async ({ page }) => {
  const errors = watchConsole(page);
  await ready(page, 'Seeall', ['Pay rent #home', 'Rent a car', 'Water the plants']);
  const search = searchBox(page);
  await search.fill('rent #home');
  await expect(options(page)).toHaveText(['Pay rent', 'See it in the list']);
  // Up from the input goes to the last option, "See all".
  await search.press('ArrowUp');
  await expect(options(page).last()).toHaveAttribute('aria-selected', 'true');
  await search.press('Enter');
  await expect(page).toHaveURL(/\/tasks\?q=rent%20%23home$/);
  await expect(page.getByRole('searchbox', { name: 'Search', exact: true })).toHaveValue('rent #home');
  await expect(page.locator('#task-list > li')).toHaveText([/Pay rent/]);

  await searchBox(page).fill('rent');
  await expect(options(page)).toHaveCount(3);
  await option(page, 'See all 2 results').click();
  await expect(page).toHaveURL(/\/tasks\?q=rent$/);
  await expect(page.locator('#task-list > li')).toHaveCount(2);

  // Enter with no option chosen submits the form.
  await searchBox(page).fill('water');
  await expect(options(page)).toHaveCount(2);
  await searchBox(page).press('Enter');
  await expect(page).toHaveURL(/\/tasks\?q=water$/);
  await expect(page.locator('#task-list > li')).toHaveText([/Water the plants/]);
  expect(errors).toEqual([]);
});

test('an answer to an older text never replaces the answer to a newer one', async ({ page }) => {
  const errors = watchConsole(page);
  await ready(page, 'Racer', ['Apples', 'Apricots', 'Bananas']);
  const search = searchBox(page);

  // Hold the answer to "ap" until the answer to "apr" is shown, then let it through.
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  await page.route('**/api/search_tasks', async (route) => {
    if (asked(route.request(), 'ap')) {
      const response = await route.fetch();
      await held;
      await route.fulfill({ response });
    } else {
      await route.continue();
    }
  });
  const sentOld = page.waitForRequest((r) => asked(r, 'ap'));
  await search.click();
  await search.pressSequentially('ap');
  await sentOld;
  await search.press('r');
  await expect(options(page)).toHaveText(['Apricots', 'See it in the list']);
  const oldAnswered = page.waitForEvent('requestfinished', (r) => asked(r, 'ap'));
  release();
  await oldAnswered;
  // Let the page handle what it received before looking again.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  await expect(options(page)).toHaveText(['Apricots', 'See it in the list']);
  await page.unroute('**/api/search_tasks');

  // Typing fast: whatever answers arrive, the options end as the last text's.
  await search.fill('');
  await expect(page.getByRole('listbox', { name: 'Matching tasks' })).toBeHidden();
  await search.pressSequentially('bananas');
  await expect(options(page)).toHaveText(['Bananas', 'See it in the list']);
  for (let i = 0; i < 'bananas'.length; i++) await search.press('Backspace');
  await search.pressSequentially('apples');
  await expect(options(page)).toHaveText(['Apples', 'See it in the list']);
  await expect(search).toHaveValue('apples');
  expect(errors).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the header search is a plain form to the list', async ({ page }) => {
    await signUp(page, 'Plainfinder', false);
    for (const title of ['Water the plants', 'Wash the car']) {
      await page.getByLabel('New task title').fill(title);
      await page.getByLabel('New task title').press('Enter');
      await expect(row(page, title)).toBeVisible();
    }
    await page.goto('/tags');
    const search = page.getByRole('searchbox', { name: 'Find tasks' });
    await search.fill('wat');
    await search.press('Enter');
    await expect(page).toHaveURL(/\/tasks\?q=wat$/);
    await expect(page.locator('#task-list > li')).toHaveText([/Water the plants/]);
    await expect(page.locator('#task-list mark')).toHaveText(['Wat']);
  });
});
