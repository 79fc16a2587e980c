import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { contrastFailures, launchBrowser, SCREENSHOTS, startDashboard, timingOf, type Browser, type Dashboard } from './helpers.ts';
import { journeySeed, sha, SeedFinder, type JourneyChange } from './seed.ts';

// One server and one browser for the file: the views are read-only except where a test says so.
let dash: Dashboard;
let browser: Browser;
let changes: JourneyChange[];

beforeAll(async () => {
  const finder = new SeedFinder();
  dash = await startDashboard({ extra: { finder } });
  const seed = journeySeed(Date.now(), finder);
  changes = seed.changes;
  await dash.post(seed.events);
  await dash.call('PUT', '/api/v1/apps/shop', { team: 'storefront', contacts: ['#storefront-oncall', 'storefront@acme.test'] });
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await dash?.close();
});

async function open(path: string, token = dash.tokens.admin, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await browser.page(token, viewport);
  await page.goto(dash.url + path);
  return page;
}

describe('signing in', () => {
  test('asks for a token, keeps it in session storage and sends it as a bearer token', async () => {
    const page = await browser.page();
    try {
      await page.goto(`${dash.url}/changes`);
      await page.getByLabel('API token').fill('not-a-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('unknown or revoked');
      await page.getByLabel('API token').fill(dash.tokens.viewer);
      const request = page.waitForRequest((r) => r.url().includes('/api/v1/dashboard/me'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      expect((await request).headers().authorization).toBe(`Bearer ${dash.tokens.viewer}`);
      await page.getByRole('heading', { name: 'Changes' }).waitFor();
      expect(await page.evaluate(() => sessionStorage.getItem('ringmaster.token'))).toBe(dash.tokens.viewer);
      expect(await page.evaluate(() => localStorage.length)).toBe(0);
      await expect.poll(() => page.locator('.who').textContent()).toContain('victor-viewer');
    } finally {
      await page.close();
    }
  });
});

describe('a sign-in link', () => {
  test('signs in from the #token fragment and removes it from the address', async () => {
    const page = await browser.page();
    try {
      await page.goto(`${dash.url}/fleet?ring=prod#token=${dash.tokens.viewer}`);
      await timingOf(page, 'fleet');
      expect(page.url()).toBe(`${dash.url}/fleet?ring=prod`);
      expect(await page.evaluate(() => sessionStorage.getItem('ringmaster.token'))).toBe(dash.tokens.viewer);
    } finally {
      await page.close();
    }
  });
});

describe('a revoked token', () => {
  test('sends the user back to the sign-in form on the next call', async () => {
    const created = await dash.call('POST', '/api/v1/tokens', { name: 'temp-viewer', role: 'viewer' });
    const page = await open('/changes', created.body.token);
    try {
      await timingOf(page, 'changes');
      expect((await dash.call('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(204);
      await page.getByLabel('App').selectOption('shop');
      await page.getByLabel('API token').waitFor();
      expect(await page.getByRole('alert').textContent()).toContain('Signed out');
      expect(await page.evaluate(() => sessionStorage.getItem('ringmaster.token'))).toBeNull();
    } finally {
      await page.close();
    }
  });
});

describe('changes', () => {
  test('one row per change, newest first, columns filled as far as each change travelled', async () => {
    const page = await open('/changes');
    try {
      await timingOf(page, 'changes');
      const rows = page.locator('[data-testid=changes-table] tbody tr');
      expect(await rows.count()).toBe(40);
      const newest = changes[changes.length - 1]!;
      expect(await rows.first().getAttribute('data-change')).toBe(newest.commit);
      // the newest is still building: its build cell says so and the ring cells predict arrival with a sample size
      await expect.poll(() => rows.first().locator('td').first().textContent()).toContain('running');
      expect(await rows.first().locator('td[data-ring=prod]').textContent()).toMatch(/ETA .*\(n=\d+\)/);
      // a finished change: every ring healthy everywhere
      const done = rows.nth(10);
      expect(await done.locator('td[data-ring=prod]').textContent()).toMatch(/(\d+)\/\1 healthy/);
      expect(await done.locator('td[data-ring=prod]').getAttribute('class')).toContain('st-ok');
      // links to the commit, the build and the pull request
      expect(await rows.first().getByRole('link', { name: 'PR' }).getAttribute('href')).toMatch(/\/pull\/\d+$/);
      expect(await rows.nth(1).locator('td').first().getByRole('link').getAttribute('href')).toMatch(/\/builds\//);
      await page.screenshot({ path: join(SCREENSHOTS, 'changes.png'), fullPage: false });
    } finally {
      await page.close();
    }
  });

  test('filters and chosen columns round-trip through the URL', async () => {
    const page = await open('/changes');
    try {
      await timingOf(page, 'changes');
      await page.getByLabel('App').selectOption('billing');
      await page.getByLabel('Status').selectOption('succeeded');
      await page.getByLabel('Time range').selectOption('7d');
      await page.getByLabel('Author').fill('Aiko Tanaka');
      await page.getByLabel('Author').press('Enter');
      await page.getByRole('checkbox', { name: 'Image' }).uncheck();
      await expect.poll(() => new URL(page.url()).searchParams.get('hide')).toBe('image');
      const url = new URL(page.url());
      expect(Object.fromEntries(url.searchParams)).toEqual({ app: 'billing', status: 'succeeded', since: '7d', author: 'Aiko Tanaka', hide: 'image' });
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=changes-table] tbody tr .meta')].every((m) => m.textContent?.includes('billing')));
      const shown = await page.locator('[data-testid=changes-table] tbody tr[data-change]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-change')));

      // someone else opens the same link: same filters, same columns, same rows
      const other = await browser.page(dash.tokens.viewer);
      try {
        await other.goto(url.toString());
        await timingOf(other, 'changes');
        expect(await other.getByLabel('App').inputValue()).toBe('billing');
        expect(await other.getByLabel('Status').inputValue()).toBe('succeeded');
        expect(await other.getByLabel('Time range').inputValue()).toBe('7d');
        expect(await other.getByLabel('Author').inputValue()).toBe('Aiko Tanaka');
        expect(await other.getByRole('checkbox', { name: 'Image' }).isChecked()).toBe(false);
        expect(await other.locator('thead th').allTextContents()).not.toContain('Image');
        const again = await other.locator('[data-testid=changes-table] tbody tr[data-change]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-change')));
        expect(again).toEqual(shown);
        expect(again.length).toBeGreaterThan(0);
        // the API agrees with what the page shows
        const api = await dash.call('GET', `/api/v1/changes?app=billing&status=succeeded&author=${encodeURIComponent('Aiko Tanaka')}&from=${encodeURIComponent(new Date(Date.now() - 7 * 86_400_000).toISOString())}`);
        expect(api.body.items.map((c: { id: string }) => c.id)).toEqual(shown);
      } finally {
        await other.close();
      }

      // back and forward walk through the filter history
      await page.goBack();
      await expect.poll(() => new URL(page.url()).searchParams.get('hide')).toBeNull();
      expect(new URL(page.url()).searchParams.get('author')).toBe('Aiko Tanaka');

      // picked days replace the relative range, and the other way round
      await page.getByLabel('From day').fill('2026-01-05');
      await expect.poll(() => new URL(page.url()).searchParams.get('from')).toBe('2026-01-05');
      expect(new URL(page.url()).searchParams.get('since')).toBeNull();
      const fromRequest = page.waitForRequest((r) => r.url().includes('/api/v1/dashboard/changes') && r.url().includes('from='));
      await page.getByLabel('To day').fill('2026-01-06');
      expect(new URL((await fromRequest).url()).searchParams.get('from')).toBe(new Date(2026, 0, 5).toISOString());
      await page.getByLabel('Time range').selectOption('30d');
      await expect.poll(() => new URL(page.url()).searchParams.get('from')).toBeNull();
      expect(new URL(page.url()).searchParams.get('to')).toBeNull();
    } finally {
      await page.close();
    }
  });

  test('a new change appears live, without reloading the page', async () => {
    const page = await open('/changes');
    try {
      await timingOf(page, 'changes');
      await page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor();
      await page.evaluate(() => ((window as any).__notReloaded = true));
      const commit = sha('live-update');
      await dash.post([{ kind: 'commit', app: 'search', team: 'discovery', repository: 'acme/search', commit, author: 'Live Tester', message: 'Arrives while you watch', occurredAt: new Date().toISOString() }]);
      await page.locator(`tr[data-change="${commit}"]`).waitFor({ timeout: 10_000 });
      expect(await page.locator('[data-testid=changes-table] tbody tr').first().getAttribute('data-change')).toBe(commit);
      expect(await page.evaluate(() => (window as any).__notReloaded)).toBe(true);
      // and its build shows up in the same row as it happens
      await dash.post([{ kind: 'build.started', app: 'search', commit, buildId: 'search-live-1', buildUrl: 'https://ci.acme.test/builds/search-live-1' }]);
      await expect.poll(() => page.locator(`tr[data-change="${commit}"] td`).first().textContent(), { timeout: 10_000 }).toContain('running');
    } finally {
      await page.close();
    }
  });

  test('rows are reachable and openable with the keyboard, with a visible focus', async () => {
    const page = await open('/changes');
    try {
      await timingOf(page, 'changes');
      const first = page.locator('[data-testid=changes-table] tbody tr').first();
      await first.focus();
      const outline = await first.evaluate((el) => getComputedStyle(el).outlineStyle);
      await page.keyboard.press('ArrowDown');
      const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-change'));
      expect(focused).toBe(await page.locator('[data-testid=changes-table] tbody tr').nth(1).getAttribute('data-change'));
      expect(outline).not.toBe('none');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Who to contact' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/changes/${focused}`);
    } finally {
      await page.close();
    }
  });
});

describe('change detail', () => {
  test('shows the full timeline, whom to contact and every cluster', async () => {
    const failed = changes[changes.length - 1 - 9]!;
    const page = await open(`/changes/${failed.commit}`);
    try {
      await timingOf(page, 'change');
      expect(await page.getByTestId('timeline').locator('li').count()).toBeGreaterThan(20);
      expect(await page.locator('.badge').first().textContent()).toBe('failed');
      expect(await page.locator('td.st-failed').count()).toBeGreaterThan(0);
      const shop = changes[changes.length - 1 - 6]!;
      expect(shop.app.app).toBe('shop');
      await page.goto(`${dash.url}/changes/${shop.commit}`);
      await timingOf(page, 'change');
      const contacts = await page.getByTestId('contacts').textContent();
      expect(contacts).toContain('storefront');
      expect(contacts).toContain('#storefront-oncall');
      // a change waiting for an approval before production: its journey so far, and no pretended arrival in prod
      const waiting = changes[changes.length - 1 - 2]!;
      await page.goto(`${dash.url}/changes/${waiting.commit}`);
      await timingOf(page, 'change');
      expect(await page.getByTestId('eta').textContent()).toMatch(/prod: no arrival time: nothing moves until an approver of ring prod approves/);
      expect(await page.getByTestId('approval-wait').textContent()).toMatch(/Waiting since .* for an approver of ring prod/);
      expect(await page.getByTestId('journey').locator('li.st-ok').count()).toBe(7);
      await page.screenshot({ path: join(SCREENSHOTS, 'change-detail.png'), fullPage: false });
    } finally {
      await page.close();
    }
  });
});

describe('fleet', () => {
  test('instances × clusters grouped by ring and region, with a click-through to the instance', async () => {
    const page = await open('/fleet');
    try {
      await timingOf(page, 'fleet');
      const groups = await page.locator('[data-testid=fleet-matrix] tr.group th').allTextContents();
      expect(groups[0]).toMatch(/Ring dev · region eu-west/);
      expect(groups.at(-1)).toMatch(/Ring prod · region us-east/);
      // columns are apps; a cell lists the app's instances on that cluster (two tenants of shop)
      expect((await page.locator('[data-testid=fleet-matrix] thead th').allTextContents()).map((t) => t.split(/\d/)[0])).toEqual(['Cluster', 'billing', 'search', 'shop']);
      expect(await page.locator('tr[data-cluster=dev-eu-1] td').nth(2).locator('.inst').allTextContents()).toEqual(['shop-acme', 'shop-globex']);
      await page.screenshot({ path: join(SCREENSHOTS, 'fleet.png'), fullPage: false });
      // keyboard: a cluster row, Enter into its first cell, Enter opens that instance, back
      await page.locator('tr[data-cluster=dev-eu-1]').focus();
      await page.keyboard.press('ArrowDown');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-cluster'))).toBe('dev-us-1');
      await page.keyboard.press('Enter');
      expect(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-cluster'))).toBe('dev-us-1');
      await page.keyboard.press('Enter');
      // the cluster's own page lists all its instances
      await page.getByTestId('cluster').waitFor();
      expect(new URL(page.url()).pathname).toBe('/fleet/dev-us-1');
      expect(await page.getByTestId('cluster').locator('tbody tr').count()).toBe(4);
      await page.goBack();
      await page.locator('[data-testid=fleet-matrix]').waitFor();

      await page.getByLabel('Ring').selectOption('canary');
      await expect.poll(() => page.locator('[data-testid=fleet-matrix] tbody tr[data-cluster]').count()).toBe(3);
      expect(new URL(page.url()).searchParams.get('ring')).toBe('canary');
      await page.locator('tr[data-cluster=canary-eu-1] td a').first().click();
      await page.getByTestId('instance').waitFor();
      expect(new URL(page.url()).pathname).toBe('/fleet/canary-eu-1/billing');
      expect(await page.getByTestId('instance').textContent()).toContain('rel-billing-');
    } finally {
      await page.close();
    }
  });

  test('marks drift and follows sync changes live', async () => {
    const page = await open('/fleet?ring=prod&region=eu-west');
    try {
      await timingOf(page, 'fleet');
      await page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor();
      expect(await page.locator('.drift').count()).toBe(0);
      await dash.post([{ kind: 'sync', cluster: 'prod-eu-2', instance: 'search', status: 'OutOfSync', data: { region: 'eu-west' } }]);
      await page.locator('tr[data-cluster=prod-eu-2] .drift').waitFor({ timeout: 10_000 });
      await dash.post([{ kind: 'sync', cluster: 'prod-eu-2', instance: 'search', status: 'Synced', data: { region: 'eu-west' } }]);
      await expect.poll(() => page.locator('tr[data-cluster=prod-eu-2] .drift').count(), { timeout: 10_000 }).toBe(0);
    } finally {
      await page.close();
    }
  });
});

describe('drift of an instance', () => {
  test('lists each drifted field with who changed it; Heal and Adopt only for a deployer of its app, with the answer shown', async () => {
    // what the drift detector stores (the detection itself is tested against a real cluster in packages/server/test/drift.test.ts)
    const row = {
      cluster: 'canary-eu-1', instance: 'billing', app: 'billing', ring: 'canary', object_key: 'apps/Deployment/billing/api', api_version: 'apps/v1', kind: 'Deployment',
      namespace: 'billing', name: 'api', path: 'spec.template.spec.containers[name=api].image', state: 'drifted', desired: '"billing:2.0.0"', live: '"billing:2.0.1-hotfix"',
      manager: 'kubectl-edit', operation: 'Update', changed_at: '2026-12-02T04:00:00Z', audit_user: 'alice', audit_verb: 'update', audit_at: '2026-12-02T04:00:00.4Z',
      release_id: 'rel-x', first_seen: Date.now(), last_seen: Date.now(),
    };
    await dash.storage.db.insertInto('drift_fields').values(row).execute();
    const viewer = await open('/fleet/canary-eu-1/billing', dash.tokens.viewer);
    try {
      const panel = viewer.getByTestId('drift');
      await panel.waitFor();
      expect(await panel.textContent()).toContain('billing:2.0.1-hotfix');
      expect(await viewer.getByTestId('drift-user').first().textContent()).toBe('alice (kubectl-edit)');
      expect(await viewer.getByRole('button', { name: 'Adopt into Git' }).count()).toBe(0);
      expect(await panel.textContent()).toContain('needs the deployer role for app billing in ring canary');
    } finally {
      await viewer.close();
    }
    const admin = await open('/fleet/canary-eu-1/billing');
    try {
      await admin.getByRole('button', { name: 'Adopt into Git' }).click();
      // this server runs without flighting: the refusal is shown as the server gave it
      await expect.poll(() => admin.getByTestId('drift-outcome').textContent()).toContain('drift detection is not running');
    } finally {
      await admin.close();
      await dash.storage.db.deleteFrom('drift_fields').execute();
    }
  });
});

describe('metrics', () => {
  test('DORA over the chosen window as charts, per app and team, filters in the URL', async () => {
    const page = await open('/dora?since=30d');
    try {
      await timingOf(page, 'metrics');
      expect(await page.locator('figure.chart svg').count()).toBe(4);
      expect(await page.getByTestId('dora').textContent()).toContain('Deployment frequency');
      expect(await page.getByTestId('dora-by').locator('tbody tr').count()).toBe(3);
      await page.screenshot({ path: join(SCREENSHOTS, 'metrics.png'), fullPage: false });
      await page.getByTestId('dora-by').getByRole('button', { name: 'shop' }).click();
      await expect.poll(() => new URL(page.url()).searchParams.get('app')).toBe('shop');
      const api = await dash.call('GET', '/api/v1/dora?app=shop');
      await expect.poll(() => page.getByTestId('dora').textContent()).toContain(`${api.body.deploymentFrequency.deployments} deployments`);
    } finally {
      await page.close();
    }
  });
});

describe('narrow window and contrast', () => {
  test('every view fits a phone-width window without the page scrolling sideways, and its text meets WCAG AA contrast', async () => {
    for (const [path, view] of [['/changes', 'changes'], ['/fleet', 'fleet'], ['/dora', 'metrics'], [`/changes/${changes[5]!.commit}`, 'change']] as const) {
      const page = await open(path, dash.tokens.viewer, { width: 390, height: 800 });
      try {
        await timingOf(page, view);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${path} scrolls sideways by ${overflow}px`).toBeLessThanOrEqual(0);
        expect(await contrastFailures(page), path).toEqual([]);
        if (view === 'changes') await page.screenshot({ path: join(SCREENSHOTS, 'changes-narrow.png') });
        if (view === 'change') {
          // the check itself catches grey on white
          await page.evaluate(() => document.querySelector('main')!.insertAdjacentHTML('beforeend', '<p style="color:#aaa">faint</p>'));
          expect((await contrastFailures(page)).join()).toContain('faint');
        }
      } finally {
        await page.close();
      }
    }
  });
});
