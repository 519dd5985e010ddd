// What the browser test files share.
import { expect, Page } from '@playwright/test';
import { spawn, ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

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

let counter = 0;

/** Signs up a new account named `name` (relative to the page's base URL) and lands on the list. */
export async function signUp(page: Page, name: string, javaScriptEnabled = true) {
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
export function berlin(at: Date): { date: string; time: string } {
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

/** Creates a task through the full form. */
export async function newTask(
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

/** The list's row for the task titled `title`. */
export function row(page: Page, title: string) {
  return page.getByRole('listitem').filter({ has: page.getByRole('link', { name: title, exact: true }) });
}

/**
 * Starts the server binary with `env` (which names its database and bind
 * address) and resolves with the port it listens on, read from its own log,
 * so a port another process holds fails here instead of reaching that process.
 */
export async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.env.CADENCE_SERVER_BIN ?? '../target/debug/server', [], {
    env: {
      ...process.env,
      CADENCE_LOG_FORMAT: 'json',
      LEPTOS_SITE_ROOT: process.env.CADENCE_SITE_ROOT ?? '../target/site',
      RUST_LOG: process.env.RUST_LOG ?? 'warn,server=info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no server started on ${env.CADENCE_BIND}`)), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server for ${env.CADENCE_BIND} exited with ${code}`));
    });
    lines.on('line', (line) => {
      if (process.env.RUST_LOG) console.log(line);
      try {
        const log = JSON.parse(line);
        if (log.message === 'Cadence is listening') {
          clearTimeout(timer);
          resolve(Number(String(log.addr).split(':').pop()));
        }
      } catch {
        // Not a log line of ours.
      }
    });
  });
  const port = await listening;
  await expect
    .poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status, { message: `the server on ${port} is ready` })
    .toBe(200);
  return { child, port };
}

/** Stops a process with `signal` and waits until it has exited. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}
