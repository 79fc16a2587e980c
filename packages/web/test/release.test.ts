import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { contrastFailures, launchBrowser, SCREENSHOTS, startDashboard, timingOf, type Browser, type Dashboard } from './helpers.ts';
import { FlightFixture } from './fleet-fixture.ts';

let fx: FlightFixture;
let dash: Dashboard;
let browser: Browser;
let release: string;

async function ringState(ring: string): Promise<{ state: string; approval: { approvedBy: string | null } }> {
  const r = await dash.call('GET', `/api/v1/releases/${release}`);
  return r.body.rings.find((x: { ring: string }) => x.ring === ring);
}

beforeAll(async () => {
  fx = new FlightFixture();
  dash = await startDashboard({ rings: ['dev', 'prod'], extra: { flighting: fx.options() } });
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const created = await dash.call('POST', '/api/v1/releases', { revision: 'main', message: 'shop 1.0.0 to every cluster' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  release = created.body.id;
  // the engine plans the release in the background; the first ring then waits for its approval
  await vi.waitFor(async () => {
    const dev = await ringState('dev');
    expect(dev?.state, `ring dev never waited for approval: ${JSON.stringify(dev)}`).toBe('waiting_for_approval');
  }, { timeout: 20_000, interval: 100 });
});

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  fx?.remove();
});

describe('release', () => {
  test('a viewer sees the waiting ring but cannot approve it, and the API refuses it too', async () => {
    const page = await browser.page(dash.tokens.viewer);
    try {
      await page.goto(`${dash.url}/releases/${release}`);
      await timingOf(page, 'release');
      const dev = page.locator('article[data-ring=dev]');
      await dev.getByText('waits for approval').waitFor();
      const approve = dev.getByRole('button', { name: 'Approve dev' });
      expect(await approve.isDisabled()).toBe(true);
      expect(await dev.textContent()).toContain('needs the approver role for ring dev');
      for (const name of ['Pause', 'Abort', 'Roll back']) expect(await page.getByRole('button', { name }).isDisabled()).toBe(true);

      const refused = await dash.call('POST', `/api/v1/releases/${release}/approve`, { ring: 'dev' }, dash.tokens.viewer);
      expect(refused.status).toBe(403);
      expect((await ringState('dev')).state).toBe('waiting_for_approval');
    } finally {
      await page.close();
    }
  });

  test('an approval from the UI moves the waiting ring, and the page follows without reloading', async () => {
    const page = await browser.page(dash.tokens.approver);
    try {
      await page.goto(`${dash.url}/releases`);
      await timingOf(page, 'releases');
      expect(await page.locator(`tr[data-release="${release}"]`).textContent()).toContain('waiting for approval');
      await page.screenshot({ path: join(SCREENSHOTS, 'releases.png') });
      await page.locator(`tr[data-release="${release}"] a`).click();
      await timingOf(page, 'release');
      await page.screenshot({ path: join(SCREENSHOTS, 'release-waiting.png') });
      await page.evaluate(() => ((window as any).__notReloaded = true));

      await page.locator('article[data-ring=dev]').getByRole('button', { name: 'Approve dev' }).click();
      await page.getByRole('status').filter({ hasText: 'Ring dev approved' }).waitFor();
      await page.locator('article[data-ring=dev]').getByText('approved by ada-approver').waitFor();
      const dev = await ringState('dev');
      expect(dev.approval.approvedBy).toBe('ada-approver');
      expect(dev.state).not.toBe('waiting_for_approval');
      const view = (await dash.call('GET', `/api/v1/releases/${release}`)).body;
      expect(view.approvals).toContainEqual(expect.objectContaining({ ring: 'dev', actor: 'ada-approver', result: 'approved' }));
      // the dev cluster's API server does not answer: the page shows the ring moving on to that failure by itself
      await page.locator('article[data-ring=dev] li.st-failed').waitFor({ timeout: 20_000 });
      expect(await page.locator('article[data-ring=dev] li').first().textContent()).toMatch(/dev-eu-1/);
      expect(await page.evaluate(() => (window as any).__notReloaded)).toBe(true);
      await page.screenshot({ path: join(SCREENSHOTS, 'release.png'), fullPage: true });
      expect(await contrastFailures(page)).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
