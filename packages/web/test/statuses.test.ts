import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Page } from 'playwright-core';
import { planRevisions } from '@ringmaster/fleet';
import { planImageIntroductions, type EventInput } from '@ringmaster/server';
import { launchBrowser, startDashboard, timingOf, type Browser, type Dashboard } from './helpers.ts';
import { FlightFixture } from './fleet-fixture.ts';

/**
 * The dashboard says only what is true: a ring is done when all of it is, a change waiting for an
 * approver says so (and offers the approval to those who may give it), a halted release leaves the
 * rest "not reached", an unadopted commit stops being "in progress", fleet cells show the version
 * that runs, and data stays on screen, marked stale, when the server stops answering.
 */
let fx: FlightFixture;
let dash: Dashboard;
let browser: Browser;
let release: string;
let shop: string;
const DAY = 86_400_000;

const releaseView = async () => (await dash.call('GET', `/api/v1/releases/${release}`)).body;
const rowOf = (page: Page, sha: string) => page.locator(`tr[data-change="${sha}"]`);
/** What makes a button look like one that can be pressed. */
const looks = (page: Page, selector: string) => page.locator(selector).evaluate((el) => {
  const s = getComputedStyle(el);
  return { background: `${s.backgroundColor} ${s.backgroundImage}`, border: s.borderStyle, color: s.color, cursor: s.cursor };
});

beforeAll(async () => {
  fx = new FlightFixture();
  const from = fx.commit('fleet: shop 1.0.0');
  fx.setTag('1.1.0');
  const to = fx.commit('shop: 1.1.0');
  dash = await startDashboard({ rings: ['dev', 'prod'], extra: { flighting: fx.options(), finder: planImageIntroductions(planRevisions, fx.fleet) } });
  browser = await launchBrowser();
  // the change: a source commit built into acme/shop:1.1.0, adopted by the fleet commit that bumps the tag
  shop = 'a1'.repeat(20);
  const now = Date.now();
  await dash.post([
    { kind: 'commit', repository: 'acme/shop', commit: shop, app: 'shop', message: 'Shop: one-click reorder', author: 'Ana Lima', occurredAt: new Date(now - 3600_000).toISOString() },
    { kind: 'image.pushed', repository: 'acme/shop', commit: shop, image: 'acme/shop:1.1.0' },
    { kind: 'commit', repository: 'acme/fleet', commit: to, previousCommit: from, message: 'shop: 1.1.0', author: 'Fleet Author' },
  ]);
  const created = await dash.call('POST', '/api/v1/releases', { revision: 'main', message: 'shop 1.1.0' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  release = created.body.id;
  // the engine plans the release in the background; the first ring then waits for its approval
  await vi.waitFor(async () => {
    const view = await releaseView();
    expect(view.rings?.find((r: { ring: string }) => r.ring === 'dev')?.state, `ring dev never waited for approval: ${JSON.stringify(view)}`).toBe('waiting_for_approval');
  }, { timeout: 20_000, interval: 100 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  fx?.remove();
});

describe('a change waiting for an approver', () => {
  test('says on the board and on the change who must act and since when, and predicts no time meanwhile', async () => {
    // the engine's waiting step is recorded on the change's journey
    await expect.poll(async () => (await dash.call('GET', `/api/v1/changes/${shop}`)).body.waiting?.ring, { timeout: 10_000 }).toBe('dev');
    const page = await browser.page(dash.tokens.viewer);
    try {
      await page.goto(`${dash.url}/changes`);
      await timingOf(page, 'changes');
      const dev = rowOf(page, shop).locator('td[data-ring=dev]');
      expect(await dev.textContent()).toMatch(/waiting for approval since .* needs an approver of ring dev/);
      expect(await rowOf(page, shop).locator('td[data-ring=prod]').textContent()).toContain('no ETA: waits for an approver of ring dev');

      await page.goto(`${dash.url}/changes/${shop}`);
      await timingOf(page, 'change');
      const wait = page.getByTestId('approval-wait');
      expect(await wait.textContent()).toMatch(new RegExp(`Waiting since .* for an approver of ring dev: release ${release} does not go on to ring dev`));
      expect(await page.locator('table caption', { hasText: 'Ring dev' }).locator('..').textContent()).toContain('waiting for approval');
    } finally {
      await page.close();
    }
  });

  test('a viewer\'s Approve button is disabled, looks it, and says why', async () => {
    const page = await browser.page(dash.tokens.viewer);
    try {
      await page.goto(`${dash.url}/changes/${shop}`);
      await timingOf(page, 'change');
      const approve = page.getByTestId('approval-wait').getByRole('button', { name: 'Approve dev' });
      expect(await approve.isDisabled()).toBe(true);
      expect(await approve.getAttribute('title')).toBe('Approving needs the approver role for ring dev and app shop; you are viewer.');

      // the same button on the release page, for a viewer and for an approver, side by side
      await page.goto(`${dash.url}/releases/${release}`);
      await timingOf(page, 'release');
      const disabled = await looks(page, 'article[data-ring=dev] button.primary');
      const other = await browser.page(dash.tokens.approver);
      try {
        await other.goto(`${dash.url}/releases/${release}`);
        await timingOf(other, 'release');
        const enabled = await looks(other, 'article[data-ring=dev] button.primary');
        expect(disabled.cursor).toBe('not-allowed');
        expect(disabled.background).not.toBe(enabled.background);
        expect(disabled.border).not.toBe(enabled.border);
        expect(disabled.color).not.toBe(enabled.color);
      } finally {
        await other.close();
      }
      expect(await page.locator('article[data-ring=dev] button.primary').getAttribute('title')).toMatch(/needs the approver role for ring dev/);
    } finally {
      await page.close();
    }
  });
});

describe('when the server stops answering', () => {
  test('the release page keeps its data on screen, marked stale since when, and recovers', async () => {
    const page = await browser.page(dash.tokens.viewer);
    try {
      await page.goto(`${dash.url}/releases/${release}`);
      await timingOf(page, 'release');
      // the page reloads an active release every few seconds; from now on every request fails as with a stopped server
      await page.route('**/api/v1/**', (route) => route.abort('connectionrefused'));
      const stale = page.getByTestId('stale');
      await stale.waitFor({ timeout: 20_000 });
      expect(await stale.textContent()).toMatch(/Stale: the server has not answered since \d{1,2}:\d{2}.*showing what it said at \d{1,2}:\d{2}/);
      expect(await page.getByRole('heading', { name: `Release ${release}` }).isVisible()).toBe(true);
      expect(await page.locator('article[data-ring=dev]').textContent()).toContain('waits for approval');
      await page.unroute('**/api/v1/**');
      await stale.waitFor({ state: 'detached', timeout: 20_000 });
    } finally {
      await page.close();
    }
  });
});

describe('statuses of what the fleet runs', () => {
  test('a ring reads n/m and the change stays in progress until every prod cluster is healthy', async () => {
    const cart = 'c4'.repeat(20);
    const at = (m: number) => new Date(Date.now() - 60 * 60_000 + m * 60_000).toISOString();
    const step = (cluster: string, ring: string): EventInput[] => [
      { kind: 'promotion.step', release: 'rel-cart', ring, cluster, status: 'started', occurredAt: at(5) },
      { kind: 'sync', app: 'cart', cluster, instance: `cart-${cluster}`, ring, release: 'rel-cart', status: 'Synced', occurredAt: at(6) },
    ];
    await dash.post([
      { kind: 'commit', repository: 'acme/cart', commit: cart, app: 'cart', message: 'Cart: keep items for a week', occurredAt: at(0) },
      { kind: 'image.pushed', repository: 'acme/cart', commit: cart, image: 'acme/cart:3.2.0' },
      { kind: 'release', release: 'rel-cart', image: 'acme/cart:3.2.0', occurredAt: at(2) },
      ...step('dev-cart-1', 'dev'), ...step('prod-cart-1', 'prod'), ...step('prod-cart-2', 'prod'),
      { kind: 'health', app: 'cart', cluster: 'dev-cart-1', instance: 'cart-dev-cart-1', ring: 'dev', release: 'rel-cart', status: 'Healthy', occurredAt: at(7) },
      { kind: 'health', app: 'cart', cluster: 'prod-cart-1', instance: 'cart-prod-cart-1', ring: 'prod', release: 'rel-cart', status: 'Healthy', occurredAt: at(8) },
    ]);
    const page = await browser.page(dash.tokens.viewer);
    try {
      await page.goto(`${dash.url}/changes?app=cart`);
      await timingOf(page, 'changes');
      const row = rowOf(page, cart);
      expect(await row.locator('.badge').textContent()).toBe('in progress');
      const prod = row.locator('td[data-ring=prod]');
      expect(await prod.textContent()).toContain('1/2 healthy');
      expect(await prod.getAttribute('class')).not.toContain('st-ok');

      await page.goto(`${dash.url}/changes/${cart}`);
      await timingOf(page, 'change');
      expect(await page.getByTestId('journey').textContent()).toContain('Ring prod 1/2');
    } finally {
      await page.close();
    }
  });

  test('fleet cells show the version each instance runs, so mixed versions across prod show', async () => {
    const older = 'c3'.repeat(20);
    await dash.post([
      { kind: 'commit', repository: 'acme/cart', commit: older, app: 'cart', message: 'Cart: 3.1.0', occurredAt: new Date(Date.now() - 2 * DAY).toISOString() },
      { kind: 'image.pushed', repository: 'acme/cart', commit: older, image: 'acme/cart:3.1.0' },
      { kind: 'release', release: 'rel-cart-old', image: 'acme/cart:3.1.0' },
      // prod-cart-2 still runs the older release
      { kind: 'health', app: 'cart', cluster: 'prod-cart-2', instance: 'cart-prod-cart-2', ring: 'prod', release: 'rel-cart-old', status: 'Healthy' },
    ]);
    const page = await browser.page(dash.tokens.viewer);
    try {
      await page.goto(`${dash.url}/fleet?app=cart&ring=prod`);
      await timingOf(page, 'fleet');
      const version = (cluster: string) => page.locator(`tr[data-cluster=${cluster}] [data-testid=version]`).textContent();
      expect(await version('prod-cart-1')).toBe('3.2.0');
      expect(await version('prod-cart-2')).toBe('3.1.0');
      expect(await page.locator('tr[data-cluster=prod-cart-2] a[title]').getAttribute('title')).toBe('acme/cart:3.1.0 · release rel-cart-old');
    } finally {
      await page.close();
    }
  });

  test('a commit the fleet never adopted reads "not adopted", with no overdue ETA', async () => {
    const stray = 'c5'.repeat(20);
    await dash.post([{ kind: 'commit', repository: 'acme/cart', commit: stray, app: 'cart', message: 'Cart: spike, never shipped', occurredAt: new Date(Date.now() - 10 * DAY).toISOString() }]);
    // a short window, so that the commit's last event is older than it without waiting a week
    const put = await dash.call('PUT', '/api/v1/settings', { notAdoptedAfterMs: 1000 });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    await expect.poll(async () => (await dash.call('GET', `/api/v1/changes/${stray}`)).body.status, { timeout: 10_000 }).toBe('not_adopted');
    const page = await browser.page(dash.tokens.viewer);
    try {
      await page.goto(`${dash.url}/changes?app=cart`);
      await timingOf(page, 'changes');
      const row = rowOf(page, stray);
      expect(await row.locator('.badge').textContent()).toBe('not adopted');
      expect(await row.textContent()).not.toMatch(/ETA|overdue/);
    } finally {
      await page.close();
      await dash.call('PUT', '/api/v1/settings', { notAdoptedAfterMs: 7 * DAY });
    }
  });
});

describe('after the release halts', () => {
  test('the rings it never reached read "not reached" on the change, the board and the release', async () => {
    const page = await browser.page(dash.tokens.approver);
    try {
      await page.goto(`${dash.url}/changes/${shop}`);
      await timingOf(page, 'change');
      await page.getByTestId('approval-wait').getByRole('button', { name: 'Approve dev' }).click();
      await page.getByRole('status').filter({ hasText: 'Ring dev approved' }).waitFor();
      // the dev cluster's API server does not answer, so the ring halts
      await expect.poll(async () => (await releaseView()).state, { timeout: 45_000 }).toBe('halted');
      await expect.poll(async () => (await dash.call('GET', `/api/v1/changes/${shop}`)).body.targets.map((t: { state: string }) => t.state), { timeout: 10_000 })
        .toEqual([expect.stringMatching(/^(failed|degraded)$/), 'not_reached', 'not_reached']);

      await page.reload();
      await timingOf(page, 'change');
      const prodTable = page.locator('table', { has: page.locator('caption', { hasText: 'Ring prod' }) });
      expect(await prodTable.locator('tbody td.cell').allTextContents()).toEqual(['not reached', 'not reached']);
      expect(await page.getByTestId('approval-wait').count()).toBe(0);

      await page.goto(`${dash.url}/changes?app=shop`);
      await timingOf(page, 'changes');
      const prod = rowOf(page, shop).locator('td[data-ring=prod]');
      expect(await prod.textContent()).toContain('not reached');
      expect(await prod.getAttribute('class')).toContain('st-none');
      expect(await rowOf(page, shop).locator('td[data-ring=dev]').getAttribute('class')).toContain('st-failed');

      await page.goto(`${dash.url}/releases/${release}`);
      await timingOf(page, 'release');
      const ring = page.locator('article[data-ring=prod]');
      expect(await ring.locator('header .state').textContent()).toBe('not reached');
      expect(await ring.locator('li').allTextContents()).toEqual([expect.stringMatching(/^prod-eu-1 not reached/), expect.stringMatching(/^prod-eu-2 not reached/)]);
    } finally {
      await page.close();
    }
  });
});
