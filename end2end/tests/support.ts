// What the browser test files share.
import { Page } from '@playwright/test';

/** Collects console errors and uncaught exceptions for the whole page's life. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    // The location names the resource behind a "Failed to load resource" message.
    if (msg.type() === 'error') errors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  return errors;
}
