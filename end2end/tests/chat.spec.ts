// The assistant in a real browser, against a fake OpenAI-compatible model
// server run by this spec (Node's http, answering from a script with
// streamed chat.completion chunks): a task added through a tool call shows
// as its line and in the list, the answer streams in as text (markup from
// the model stays text), a deletion waits for Confirm (Cancel keeps the
// task), and without JavaScript the plain form gets the finished reply.
import { test, expect, BrowserContext } from '@playwright/test';
import { ChildProcess } from 'node:child_process';
import { createServer, IncomingMessage, Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berlin, row, signUp, startServer, stop, watchConsole } from './support';

/** One scripted answer: built from the request the app sent, as a list of chunks. */
type Answer = (body: any) => object[];

/** In an answer's chunks: the fake holds the rest back until the test calls `release`. */
const PAUSE = { pause: true };
const text = (piece: string) => ({ choices: [{ index: 0, delta: { content: piece } }] });
const done = (reason: string) => ({ choices: [{ index: 0, delta: {}, finish_reason: reason }] });
const says =
  (...pieces: (string | typeof PAUSE)[]): Answer =>
  () => [...pieces.map((p) => (p === PAUSE ? PAUSE : text(p as string))), done('stop')];
const calls =
  (id: string, name: string, args: (body: any) => object): Answer =>
  (body) => [
    { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id, type: 'function', function: { name, arguments: '' } }] } }] },
    { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: JSON.stringify(args(body)) } }] } }] },
    done('tool_calls'),
  ];

/** The id of the task the conversation's last add_task result names. */
function addedId(body: any): string {
  const added = body.messages.filter((m: any) => m.role === 'tool' && m.content.includes('"id"')).pop();
  return JSON.parse(added.content.slice(added.content.indexOf('{'))).id;
}

/** The fake model server: each request takes the next answer, streamed a chunk every 30 ms. */
async function startModel(script: Answer[]): Promise<{ server: Server; url: string; release: () => void }> {
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  const server = createServer(async (req: IncomingMessage, res) => {
    let raw = '';
    for await (const piece of req) raw += piece;
    const answer = script.shift();
    if (!answer) {
      res.writeHead(500).end('{"error":{"message":"the script ran out"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const chunk of answer(JSON.parse(raw))) {
      if (chunk === PAUSE) {
        await held;
        continue;
      }
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      await new Promise((r) => setTimeout(r, 30));
    }
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, release };
}

async function withChat(
  script: Answer[],
  javaScriptEnabled: boolean,
  browser: any,
  body: (page: any, release: () => void) => Promise<void>,
) {
  const model = await startModel(script);
  const dataDir = mkdtempSync(join(tmpdir(), 'cadence-e2e-chat-'));
  let app: { child: ChildProcess; port: number } | undefined;
  let context: BrowserContext | undefined;
  try {
    app = await startServer({
      DATABASE_URL: `sqlite://${dataDir}/cadence.db`,
      CADENCE_BIND: '127.0.0.1:0',
      CADENCE_AI_BASE_URL: model.url,
      CADENCE_AI_MODEL: 'fake-model',
      CADENCE_AI_TIMEOUT_SECS: '20',
    });
    context = await browser.newContext({
      baseURL: `http://127.0.0.1:${app.port}`,
      timezoneId: 'Europe/Berlin',
      javaScriptEnabled,
    });
    await body(await context!.newPage(), model.release);
  } finally {
    await context?.close();
    if (app) await stop(app.child, 'SIGTERM');
    model.server.close();
  }
}

test('the assistant adds a task through a tool, streams its answer as text, and deletes only once confirmed', async ({
  browser,
}) => {
  const tomorrow = berlin(new Date(Date.now() + 24 * 3600_000)).date;
  const script: Answer[] = [
    calls('call_add', 'add_task', () => ({ title: 'Buy milk', due: { date: tomorrow, time: '09:00' } })),
    says('Added ', '<img src=x onerror="window.hacked=1">', PAUSE, ' for tomorrow.'),
    calls('call_del', 'delete_task', (body) => ({ id: addedId(body) })),
    says('Fine, I kept it.'),
    calls('call_del2', 'delete_task', (body) => ({ id: addedId(body) })),
    says('Deleted.'),
  ];
  await withChat(script, true, browser, async (page, release) => {
    const errors = watchConsole(page);
    await signUp(page, 'Chatty');
    await page.getByRole('link', { name: 'Assistant' }).click();
    await expect(page.locator('.chat[data-hydrated="true"]')).toBeVisible();
    const field = page.getByLabel('Message');
    const log = page.getByRole('list', { name: 'Conversation' });

    await field.fill('Buy milk tomorrow at 9');
    await field.press('Enter');
    await expect(log.locator('.chat-user')).toHaveText(['You: Buy milk tomorrow at 9']);
    await expect(log.locator('.chat-tool')).toHaveText(['Added task \u201cBuy milk\u201d \u2014 due tomorrow 9:00']);
    // The answer shows as it streams: its first pieces while the model holds back the rest.
    await expect(log.locator('.chat-assistant')).toHaveText(['Added <img src=x onerror="window.hacked=1">']);
    await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled();
    release();
    await expect(log.locator('.chat-assistant')).toHaveText(['Added <img src=x onerror="window.hacked=1"> for tomorrow.']);
    await expect(log.locator('img')).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).hacked)).toBeUndefined();
    await expect(field).toHaveValue('');

    const send = page.getByRole('button', { name: 'Send' });
    await expect(send).toBeEnabled();
    await field.fill('Delete it');
    await send.click();
    const confirm = log.locator('.chat-confirm');
    await expect(confirm).toContainText('Delete task \u201cBuy milk\u201d?');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect(log.locator('.chat-tool').last()).toHaveText('Cancelled: the task was not deleted');
    await expect(log.locator('.chat-assistant').last()).toHaveText('Fine, I kept it.');
    await expect(confirm).toHaveCount(0);

    await expect(send).toBeEnabled();
    await field.fill('No, really, delete it');
    await field.press('Enter');
    await expect(confirm).toContainText('Delete task \u201cBuy milk\u201d?');
    await page.goto('/tasks');
    await expect(row(page, 'Buy milk')).toBeVisible();
    await page.goBack();
    // The conversation lives in the page; a new one starts after leaving it.
    await expect(page.locator('.chat[data-hydrated="true"]')).toBeVisible();
    expect(errors).toEqual([]);
  });
});

test('a deletion the user confirms in the page is done, and its line says so', async ({ browser }) => {
  const tomorrow = berlin(new Date(Date.now() + 24 * 3600_000)).date;
  const script: Answer[] = [
    calls('call_add', 'add_task', () => ({ title: 'Old report', due: { date: tomorrow } })),
    says('Added.'),
    calls('call_del', 'delete_task', (body) => ({ id: addedId(body) })),
    says('Deleted ', 'it.'),
  ];
  await withChat(script, true, browser, async (page) => {
    const errors = watchConsole(page);
    await signUp(page, 'Confirmer');
    await page.goto('/chat');
    await expect(page.locator('.chat[data-hydrated="true"]')).toBeVisible();
    const field = page.getByLabel('Message');
    const log = page.getByRole('list', { name: 'Conversation' });
    await field.fill('Add the old report for tomorrow');
    await field.press('Enter');
    await expect(log.locator('.chat-assistant')).toHaveText(['Added.']);
    await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
    await field.fill('Now delete it');
    await field.press('Enter');
    await log.locator('.chat-confirm').getByRole('button', { name: 'Confirm' }).click();
    await expect(log.locator('.chat-tool').last()).toHaveText('Deleted task \u201cOld report\u201d');
    await expect(log.locator('.chat-assistant').last()).toHaveText('Deleted it.');
    await page.goto('/tasks');
    await expect(row(page, 'Old report')).toHaveCount(0);
    expect(errors).toEqual([]);
  });
});

test('without JavaScript the plain form posts the message and the page shows the finished reply', async ({ browser }) => {
  await withChat([says('Hello ', 'from the model.')], false, browser, async (page) => {
    await signUp(page, 'Plainchat', false);
    await page.goto('/chat');
    await page.getByLabel('Message').fill('Hi');
    await page.getByRole('button', { name: 'Send' }).click();
    const log = page.getByRole('list', { name: 'Conversation' });
    await expect(log.locator('.chat-user')).toHaveText(['You: Hi']);
    await expect(log.locator('.chat-assistant')).toHaveText(['Hello from the model.']);
  });
});
