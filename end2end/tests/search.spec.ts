// The list's search box: words and filters in one link, the chips that
// remove a part, and a shared link that shows each account only its own tasks.
import { expect, Page, test } from '@playwright/test';
import { row, signUp, watchConsole } from './support';

async function quickAdd(page: Page, sentence: string, title: string) {
  await page.getByLabel('New task title').fill(sentence);
  await page.getByLabel('New task title').press('Enter');
  await expect(row(page, title)).toBeVisible();
}

async function search(page: Page, q: string) {
  await page.getByRole('searchbox', { name: 'Search' }).fill(q);
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
  await expect(page).toHaveURL(/[?&]q=/);
}

const list = (page: Page) => page.getByRole('list', { name: 'Tasks' }).getByRole('listitem');

test('a shared search link shows each account only its own tasks, and a chip removes its part', async ({
  browser,
}) => {
  const owner = await browser.newPage();
  const errors = watchConsole(owner);
  await signUp(owner, 'Sharer');
  await expect(owner.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  await quickAdd(owner, 'Pay rent #home !high', 'Pay rent');
  await quickAdd(owner, 'Rent a car #trip', 'Rent a car');
  await quickAdd(owner, 'Crème brûlée #home', 'Crème brûlée');
  await search(owner, 'rent #home');
  await expect(list(owner)).toHaveText([/Pay rent/]);
  await expect(row(owner, 'Pay rent').locator('mark')).toHaveText(['rent']);
  await search(owner, 'creme');
  await expect(list(owner)).toHaveText([/Crème brûlée/]);
  await search(owner, 'rent #home');
  const shared = owner.url();

  const other = await browser.newPage();
  await signUp(other, 'Receiver');
  await expect(other.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  await quickAdd(other, 'Rent the hall #home', 'Rent the hall');
  await quickAdd(other, 'Rent skis #trip', 'Rent skis');
  await other.goto(shared);
  await expect(list(other)).toHaveText([/Rent the hall/]);
  await expect(other.getByText('Pay rent')).toHaveCount(0);
  await other.getByRole('link', { name: 'Remove Tag: home' }).click();
  await expect(other).toHaveURL(/\?q=rent$/);
  await expect(list(other)).toHaveCount(2);
  await expect(other.getByRole('searchbox', { name: 'Search' })).toHaveValue('rent');
  expect(errors).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the search form filters the list and names a part it cannot read', async ({ page }) => {
    await signUp(page, 'Plainsearch', false);
    for (const title of ['Water the plants', 'Wash the car']) {
      await page.getByLabel('New task title').fill(title);
      await page.getByLabel('New task title').press('Enter');
      await expect(row(page, title)).toBeVisible();
    }
    await search(page, 'wa plants due:tomorow');
    await expect(list(page)).toHaveText([/Water the plants/]);
    await expect(page.getByRole('alert')).toContainText('due:tomorow');
  });
});
