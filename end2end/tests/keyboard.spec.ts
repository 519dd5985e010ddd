// Keyboard shortcuts on the task list: add with q, move with j/k, complete
// with x, edit with e, delete with #, list them with ?, find with /; and keys
// typed into a field stay in the field.
import { expect, Page, test } from '@playwright/test';
import { row, signUp, watchConsole } from './support';

const current = (page: Page) => page.locator('#task-list > li[aria-current="true"]');
const titleLink = (page: Page, title: string) => row(page, title).getByRole('link', { name: title, exact: true });

/** Signs up and waits until both the board and the shortcuts have hydrated. */
async function ready(page: Page, name: string) {
  await signUp(page, name);
  await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Keyboard shortcuts (?)' })).toBeVisible();
}

/** Adds a task with the keyboard alone: q, the title, Enter, then Tab out of the field. */
async function addWithKeys(page: Page, title: string) {
  const input = page.getByLabel('New task title');
  await page.keyboard.press('q');
  await expect(input).toBeFocused();
  await expect(input).toHaveValue('');
  await page.keyboard.type(title);
  await page.keyboard.press('Enter');
  await expect(row(page, title)).toBeVisible();
  await expect(input).toHaveValue('');
  await page.keyboard.press('Tab');
  await expect(input).not.toBeFocused();
}

test('the list works from the keyboard alone: q adds, j/k move, x completes, e edits, # deletes', async ({ page }) => {
  const errors = watchConsole(page);
  await ready(page, 'Keys');
  for (const title of ['First task', 'Second task', 'Third task']) await addWithKeys(page, title);
  // Newest first.
  await expect(page.locator('#task-list > li')).toHaveCount(3);
  await expect(page.locator('#task-list > li').first()).toContainText('Third task');

  await page.keyboard.press('j');
  await expect(current(page)).toHaveCount(1);
  await expect(current(page)).toContainText('Third task');
  await expect(titleLink(page, 'Third task')).toBeFocused();
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await expect(current(page)).toContainText('First task');
  // The last row stays current past the end.
  await page.keyboard.press('j');
  await expect(current(page)).toContainText('First task');
  await page.keyboard.press('k');
  await expect(current(page)).toHaveCount(1);
  await expect(current(page)).toContainText('Second task');
  await expect(titleLink(page, 'Second task')).toBeFocused();

  // x completes the current row in place, as its own button would.
  const toggle = row(page, 'Second task').getByRole('button', { name: 'Done: Second task' });
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await page.keyboard.press('x');
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await expect(row(page, 'Second task').locator('form[data-busy]')).toHaveCount(0);
  await expect(page).toHaveURL(/\/tasks$/);
  await page.reload();
  await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Keyboard shortcuts (?)' })).toBeVisible();
  await expect(page.locator('#task-list > li')).toHaveText([/Third task/, /First task/]);

  // A j typed into quick-add is text, not a move.
  await page.keyboard.press('j');
  await expect(current(page)).toContainText('Third task');
  await page.keyboard.press('q');
  await page.keyboard.type('jjk x');
  await expect(page.getByLabel('New task title')).toHaveValue('jjk x');
  await expect(current(page)).toHaveCount(1);
  await expect(current(page)).toContainText('Third task');
  await expect(row(page, 'Third task').getByRole('button', { name: 'Done: Third task' })).toHaveAttribute(
    'aria-pressed',
    'false',
  );
  // Nor with Ctrl held.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+j');
  await expect(current(page)).toContainText('Third task');

  // e edits the current row.
  await page.keyboard.press('e');
  await expect(page).toHaveURL(/\/tasks\/[^/]+\/edit$/);
  await expect(page.getByLabel('Title')).toHaveValue('Third task');

  // # asks to delete the row (the confirmation page).
  await page.goto('/tasks');
  await expect(page.getByRole('button', { name: 'Keyboard shortcuts (?)' })).toBeVisible();
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await expect(current(page)).toContainText('First task');
  await page.keyboard.press('#');
  await expect(page).toHaveURL(/\/tasks\/[^/]+\/delete$/);
  await expect(page.getByRole('heading', { name: 'Delete this task?' })).toBeVisible();
  await expect(page.locator('main')).toContainText('“First task” will be deleted');
  expect(errors).toEqual([]);
});

test('? lists the shortcuts in a dialog that Escape closes, and / goes to the search', async ({ page }) => {
  const errors = watchConsole(page);
  await ready(page, 'Dialog');
  const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(dialog).toBeHidden();
  await page.keyboard.press('?');
  await expect(dialog).toBeVisible();
  await expect(dialog.locator('dt')).toHaveText(['/', 'q', 'j', 'k', 'x', 'e', '#', '?']);
  // The dialog has the keyboard: j moves nothing, q focuses nothing behind it.
  await page.keyboard.press('q');
  await expect(page.getByLabel('New task title')).not.toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // The visible hint opens the same dialog; its button closes it.
  await page.getByRole('button', { name: 'Keyboard shortcuts (?)' }).click();
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Close' }).click();
  await expect(dialog).toBeHidden();

  // / focuses the header's search, on any page, without typing the slash.
  await page.goto('/tags');
  await expect(page.getByRole('button', { name: 'Keyboard shortcuts (?)' })).toBeVisible();
  await page.keyboard.press('/');
  const search = page.getByRole('combobox', { name: 'Find tasks' });
  await expect(search).toBeFocused();
  await expect(search).toHaveValue('');
  expect(errors).toEqual([]);
});
