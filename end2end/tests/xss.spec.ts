// User text can never become markup: an XSS corpus goes through every text
// field (title, description, tags, display name) and every reflected query
// parameter, and every page that shows them is checked in Chromium: no script
// ran, no element was injected, no navigation happened, no CSP violation was
// reported, and raw-text fields (textarea, title) show the text exactly.
import { test, expect, Page } from '@playwright/test';

const CORPUS = [
  '<script>window.__xss=1</script>',
  '"><img src=x onerror="window.__xss=1" data-xss>',
  "'><svg onload=window.__xss=1 data-xss>",
  '</textarea><img src=x onerror="window.__xss=1" data-xss>',
  '</textarea><meta http-equiv="refresh" content="0;url=/xss-landed" data-xss>',
  '</title><img data-xss src=x>',
  '</script><script>window.__xss=1</script>',
  '</style><b data-xss>styled</b>',
  '<!--<img data-xss src=x>--> & &amp; &lt;b&gt;',
  '[link](javascript:window.__xss=1) [far](//evil.example/x) <a data-xss href=x>a</a>',
];

/** Records anything a successful injection would leave behind, from before the page's own scripts run. */
async function arm(page: Page) {
  await page.addInitScript(() => {
    (window as any).__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => (window as any).__csp.push(e.violatedDirective));
  });
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return dialogs;
}

async function expectInert(page: Page, path: string, dialogs: string[]) {
  const res = await page.goto(path);
  expect(res?.status(), path).toBeLessThan(500);
  await page.waitForLoadState('networkidle');
  const found = await page.evaluate(() => ({
    injected: document.querySelectorAll('[data-xss], meta[http-equiv]').length,
    ran: (window as any).__xss ?? null,
    csp: (window as any).__csp,
  }));
  expect(found, path).toEqual({ injected: 0, ran: null, csp: [] });
  expect(new URL(page.url()).pathname, `${path} stayed where it was`).toBe(new URL(path, 'http://x').pathname);
  expect(dialogs, path).toEqual([]);
}

test('an XSS corpus in every text field and query parameter stays text on every page', async ({ page }) => {
  test.setTimeout(180_000);
  const dialogs = await arm(page);
  const email = `xss-${Date.now()}@example.com`;
  const name = CORPUS[1].slice(0, 80);
  await page.goto('/signup');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/tasks$/);

  const ids: string[] = [];
  for (const [n, payload] of CORPUS.entries()) {
    const res = await page.request.post('/api/create_task', {
      form: { title: payload.slice(0, 200), description: `${payload}\n\n${CORPUS[(n + 3) % CORPUS.length]}` },
      maxRedirects: 0,
    });
    expect(res.status(), payload).toBe(200);
    ids.push((res.headers()['location'] ?? '').replace('/tasks/', ''));
  }

  const pages = ['/tasks', '/tasks?completed=1', '/activity', '/settings'];
  for (const id of ids) pages.push(`/tasks/${id}`, `/tasks/${id}/edit`, `/tasks/${id}/delete`);
  for (const payload of CORPUS.slice(0, 4)) {
    const q = encodeURIComponent(payload);
    pages.push(`/tasks?tag=${q}&priority=${q}&after=${q}&before=${q}`, `/settings?saved=${q}`, `/tasks/new?__path=${q}&__err=${q}`);
  }
  for (const path of pages) await expectInert(page, path, dialogs);

  // Raw-text elements show the stored text exactly: escaped once, not twice.
  for (const [n, id] of ids.entries()) {
    await page.goto(`/tasks/${id}/edit`);
    await expect(page.getByLabel('Description (Markdown)')).toHaveValue(`${CORPUS[n]}\n\n${CORPUS[(n + 3) % CORPUS.length]}`);
    await expect(page).toHaveTitle(`Edit ${CORPUS[n]} · Cadence`);
  }

  // A form shown again after an error echoes what was typed, inertly, tags and all.
  await page.goto('/tasks/new');
  await page.getByLabel('Title').fill(CORPUS[3]);
  await page.getByLabel('Description (Markdown)').fill(CORPUS[4]);
  await page.getByLabel('Tags (comma-separated)').fill(CORPUS[0]);
  await page.getByRole('button', { name: 'Create task' }).click();
  await expect(page.locator('#tags-error')).toBeVisible();
  await page.waitForLoadState('networkidle');
  const echoed = await page.evaluate(() => ({
    injected: document.querySelectorAll('[data-xss], meta[http-equiv]').length,
    ran: (window as any).__xss ?? null,
    csp: (window as any).__csp,
  }));
  expect(echoed).toEqual({ injected: 0, ran: null, csp: [] });
  await expect(page.getByLabel('Description (Markdown)')).toHaveValue(CORPUS[4]);
  await expect(page.getByLabel('Tags (comma-separated)')).toHaveValue(CORPUS[0]);
  expect(dialogs).toEqual([]);
});
