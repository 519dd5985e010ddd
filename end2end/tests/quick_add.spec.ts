// Quick-add that understands a sentence: the chips that preview what will be
// read from it, removing one to keep its words in the title, and the same
// reading without JavaScript.
import { expect, test } from '@playwright/test';
import { row, signUp, watchConsole } from './support';

const sentence = 'Pay rent every month on the 1st at 9am #home !high remind me 1 day before';

test('typing a sentence shows what it sets as chips, and Enter adds the task with all of it', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, 'Chips');
  await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  const input = page.getByLabel('New task title');
  await input.fill(sentence);
  const chips = page.getByRole('list', { name: 'What the new task will get' }).getByRole('listitem');
  await expect(chips).toHaveText([
    /every month on the 1st at 9am/,
    /#home/,
    /Priority high/,
    /remind me 1 day before/,
  ]);
  await input.press('Enter');
  const added = row(page, 'Pay rent');
  await expect(added).toBeVisible();
  await expect(added).toContainText('09:00');
  await expect(added).toContainText(/\b1 [A-Z][a-z]{2}\b/);
  await expect(added).toContainText('#home');
  await expect(input).toHaveValue('');
  await expect(page.getByRole('list', { name: 'What the new task will get' })).toBeHidden();
  await added.getByRole('link', { name: 'Pay rent', exact: true }).click();
  await expect(page.getByText('Every month on the 1st')).toBeVisible();
  expect(errors).toEqual([]);
});

test('removing a chip keeps its words in the title', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, 'Literal');
  await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
  const input = page.getByLabel('New task title');
  await input.fill('Read Tomorrow Never Dies tomorrow');
  const chips = page.getByRole('list', { name: 'What the new task will get' }).getByRole('listitem');
  await expect(chips).toHaveCount(1);
  await page.getByRole('button', { name: 'Keep “Tomorrow” in the title' }).click();
  await expect(input).toHaveValue('Read "Tomorrow" Never Dies tomorrow');
  await expect(input).toBeFocused();
  // The later "tomorrow" is the due date now.
  await expect(page.getByRole('button', { name: 'Keep “tomorrow” in the title' })).toBeVisible();
  await expect(chips).toHaveCount(1);
  await input.press('Enter');
  await expect(row(page, 'Read Tomorrow Never Dies')).toBeVisible();
  expect(errors).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the server reads the sentence the same way', async ({ page }) => {
    await signUp(page, 'Plainsentence', false);
    await page.getByLabel('New task title').fill('Call the plumber tomorrow at 5pm #home');
    await page.getByLabel('New task title').press('Enter');
    const added = row(page, 'Call the plumber');
    await expect(added).toBeVisible();
    await expect(added).toContainText('17:00');
    await expect(added).toContainText('#home');
  });
});
