// Bulk actions: a range of rows ticked with shift-click, completed in one
// action, and the undo notice putting them all back.
import { expect, Page, test } from '@playwright/test';
import { row, signUp, watchConsole } from './support';

async function quickAdd(page: Page, title: string) {
  await page.getByLabel('New task title').fill(title);
  await page.getByLabel('New task title').press('Enter');
  await expect(row(page, title)).toBeVisible();
}

const select = (page: Page, title: string) => page.getByRole('checkbox', { name: `Select: ${title}`, exact: true });

test('shift-click ticks a range, one action completes it, and undo brings every task back', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, 'Bulker');
  await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  for (const title of ['Delta', 'Charlie', 'Bravo', 'Alpha']) {
    await quickAdd(page, title);
  }
  await page.goto('/tasks?q=sort:title');
  await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  await select(page, 'Alpha').check();
  await select(page, 'Charlie').click({ modifiers: ['Shift'] });
  for (const title of ['Alpha', 'Bravo', 'Charlie']) {
    await expect(select(page, title)).toBeChecked();
  }
  await expect(select(page, 'Delta')).not.toBeChecked();
  await expect(page.locator('#bulk-count')).toHaveText('Selected tasks: 3');
  await page.getByRole('form', { name: 'Change selected tasks' }).getByLabel('Action').selectOption('complete');
  await page.getByRole('button', { name: 'Change selected' }).click();

  const notice = page.locator('.undo-toast');
  await expect(notice).toContainText('3 tasks completed.');
  await expect(page.getByRole('list', { name: 'Tasks' }).getByRole('listitem')).toHaveText([/Delta/]);
  await notice.getByRole('button', { name: 'Undo' }).click();
  await expect(page.locator('.undo-toast')).toHaveCount(0);
  await expect(page.getByRole('list', { name: 'Tasks' }).getByRole('listitem')).toHaveText([
    /Alpha/,
    /Bravo/,
    /Charlie/,
    /Delta/,
  ]);
  expect(errors).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('ticked rows are deleted with the plain form and come back with undo', async ({ page }) => {
    await signUp(page, 'Plainbulk', false);
    for (const title of ['Keep', 'Drop one', 'Drop two']) {
      await page.getByLabel('New task title').fill(title);
      await page.getByLabel('New task title').press('Enter');
      await expect(row(page, title)).toBeVisible();
    }
    await select(page, 'Drop one').check();
    await select(page, 'Drop two').check();
    await page.getByRole('form', { name: 'Change selected tasks' }).getByLabel('Action').selectOption('delete');
    await page.getByRole('button', { name: 'Change selected' }).click();
    await expect(page.locator('.undo-toast')).toContainText('2 tasks deleted.');
    await expect(page.getByRole('list', { name: 'Tasks' }).getByRole('listitem')).toHaveText([/Keep/]);
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect(page.getByRole('list', { name: 'Tasks' }).getByRole('listitem')).toHaveCount(3);
  });
});
