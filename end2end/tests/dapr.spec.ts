// Cadence on Dapr in a real browser: the server as separate `web` and
// `worker` processes with CADENCE_BUS=dapr and reminders as Dapr jobs,
// beside the sidecar simulator (`server/examples/dapr-sim.rs`, a simulator
// of Dapr's protocol, not Dapr). A reminder's job calls the worker back at
// its time, its `reminder.due` goes through the simulated pub/sub to the
// worker's notifier, and the notification comes to the web pod's page as a
// toast; a repeating task completed on the web pod gets its next instance
// from the worker.
import { test, expect, BrowserContext } from '@playwright/test';
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berlin, newTask, row, signUp, startServer, stop, watchConsole } from './support';

const dataDir = mkdtempSync(join(tmpdir(), 'cadence-e2e-dapr-'));

/** Starts the simulator and resolves with its ports, from the line it prints first. */
async function startSimulator(): Promise<{ child: ChildProcess; grpc: number; http: number }> {
  const child = spawn(process.env.CADENCE_DAPR_SIM_BIN ?? '../target/debug/examples/dapr-sim', [], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ports = await new Promise<{ grpc_port: number; http_port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the simulator did not start')), 30_000);
    child.once('exit', (code) => reject(new Error(`the simulator exited with ${code}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
  });
  return { child, grpc: ports.grpc_port, http: ports.http_port };
}

test('a reminder scheduled as a Dapr job comes to the web pod as a toast, and the worker makes a repeating task\'s next instance', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const sim = await startSimulator();
  const running: ChildProcess[] = [sim.child];
  let context: BrowserContext | undefined;
  try {
    const env = (role: string) => ({
      DATABASE_URL: `sqlite://${dataDir}/cadence.db`,
      CADENCE_BIND: '127.0.0.1:0',
      CADENCE_ROLE: role,
      CADENCE_BUS: 'dapr',
      CADENCE_REMINDERS: 'dapr-jobs',
      DAPR_GRPC_PORT: String(sim.grpc),
      DAPR_HTTP_PORT: String(sim.http),
    });
    const worker = await startServer(env('worker'));
    running.push(worker.child);
    // The sidecar reads the worker's subscriptions, as Dapr does when it starts beside it.
    const registered = await fetch(`http://127.0.0.1:${sim.http}/simulator/apps`, {
      method: 'POST',
      body: `http://127.0.0.1:${worker.port}`,
    });
    expect(registered.status).toBe(204);
    const web = await startServer(env('web'));
    running.push(web.child);

    context = await browser.newContext({ baseURL: `http://127.0.0.1:${web.port}`, timezoneId: 'Europe/Berlin' });
    const page = await context.newPage();
    const errors = watchConsole(page);
    await signUp(page, 'Clustered');
    // The due time is the first whole minute at least 20 seconds ahead: the job calls back then.
    const due = berlin(new Date(Math.ceil((Date.now() + 20_000) / 60_000) * 60_000));
    await newTask(page, { title: 'Renew the lease', date: due.date, time: due.time, reminders: 'at due' });
    await page.goto('/tasks');
    await expect(page.locator('.bell-wrap')).toBeVisible();
    const toast = page.locator('.toast').filter({ hasText: 'Renew the lease' });
    await expect(toast).toBeVisible({ timeout: 100_000 });
    await expect(toast).toContainText('Reminder: at the due time');
    await expect(page.getByRole('link', { name: 'Notifications, 1 unread' })).toBeVisible();

    // A repeating task completed on the web pod: the worker makes the next instance from the event.
    await newTask(page, { title: 'Water the plants', date: berlin(new Date()).date, repeat: 'daily' });
    await page.goto('/tasks');
    await expect(page.locator('.task-board[data-hydrated="true"]')).toBeVisible();
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/set_completed') && r.request().method() === 'POST');
    await row(page, 'Water the plants').getByRole('button', { name: /^Done: / }).click();
    expect((await saved).ok()).toBe(true);
    // The completed one and the next: the list of all tasks shows both once the worker made it.
    await expect
      .poll(
        async () => {
          await page.goto('/tasks?completed=1');
          return row(page, 'Water the plants').count();
        },
        { timeout: 20_000 },
      )
      .toBe(2);
    await page.goto('/tasks');
    await expect(row(page, 'Water the plants')).toHaveCount(1);

    // What the worker took came through the simulated sidecar.
    const ready = await (await fetch(`http://127.0.0.1:${worker.port}/readyz`)).json();
    expect(ready.received.succeeded).toBeGreaterThan(0);
    expect(ready.received.dropped).toBe(0);
    expect(errors).toEqual([]);
  } finally {
    await context?.close();
    for (const child of running.reverse()) await stop(child, 'SIGTERM');
  }
});
