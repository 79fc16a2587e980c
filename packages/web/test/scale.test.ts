import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, SCREENSHOTS, startDashboard, timingOf, type Browser, type Dashboard, type Timing } from './helpers.ts';
import { scaleSeed } from './seed.ts';

// Speed at fleet scale: 10,000 instances on 500 clusters and 1,000 changes, seeded through the
// batch events API. The figures are printed (docs/dashboard.md, "Speed"), never asserted: a test
// asserts what the page shows and how little travels, a benchmark reports how long it took.
let dash: Dashboard;
let browser: Browser;
const figures: Array<{ view: string; runs: number; navToDataMedian: number; navToDataMax: number; renderMedian: number; renderMax: number; bytes: number }> = [];
let seeding = { events: 0, ms: 0 };

beforeAll(async () => {
  dash = await startDashboard();
  const seed = scaleSeed(Date.now());
  const started = performance.now();
  await dash.post(seed.events);
  seeding = { events: seed.events.length, ms: Math.round(performance.now() - started) };
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  if (figures.length) {
    const rows = figures.map((f) => `| ${f.view} | ${f.runs} | ${f.navToDataMedian} / ${f.navToDataMax} | ${f.renderMedian} / ${f.renderMax} | ${f.bytes ? `${Math.round(f.bytes / 1024)} KiB` : '–'} |`);
    console.log([
      `Seeded ${seeding.events} events through POST /api/v1/events in ${seeding.ms} ms (${Math.round(seeding.events / (seeding.ms / 1000))} events/s).`,
      '| view | loads | navigation → data, ms (median / max) | data → rendered, ms (median / max) | API payload |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n'));
  }
  await browser?.close();
  await dash?.close();
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;

/** Loads `path` afresh `runs` times (first load warms caches and is dropped) and keeps the figures. */
async function measure(name: string, path: string, view: string, runs = 5, check?: (page: import('playwright-core').Page) => Promise<void>) {
  const timings: Timing[] = [];
  let bytes = 0;
  for (let i = 0; i <= runs; i++) {
    const page = await browser.page(dash.tokens.viewer);
    try {
      page.on('response', (r) => {
        if (i === runs && r.url().includes('/api/v1/') && !r.url().includes('/stream')) void r.body().then((b) => (bytes += b.length), () => undefined);
      });
      await page.goto(dash.url + path);
      const t = await timingOf(page, view);
      if (i > 0) timings.push(t);
      if (i === runs) {
        await check?.(page);
        if (name === 'fleet' || name === 'changes') await page.screenshot({ path: join(SCREENSHOTS, `scale-${name}.png`) });
      }
    } finally {
      await page.close();
    }
  }
  figures.push({
    view: name, runs,
    navToDataMedian: round(median(timings.map((t) => t.navigationToDataMs))), navToDataMax: round(Math.max(...timings.map((t) => t.navigationToDataMs))),
    renderMedian: round(median(timings.map((t) => t.dataToRenderMs))), renderMax: round(Math.max(...timings.map((t) => t.dataToRenderMs))),
    bytes,
  });
}

describe('at fleet scale (10,000 instances, 500 clusters, 1,000 changes)', () => {
  test('in-app navigation: from the board to a change and on to the fleet', async () => {
    const inApp: Timing[][] = [[], []];
    for (let i = 0; i <= 5; i++) {
      const page = await browser.page(dash.tokens.viewer);
      try {
        await page.goto(`${dash.url}/changes`);
        await timingOf(page, 'changes');
        await page.locator('[data-testid=changes-table] tbody tr[data-change] a.title').first().click();
        const detail = await timingOf(page, 'change');
        await page.getByRole('link', { name: 'Fleet' }).click();
        const fleet = await timingOf(page, 'fleet');
        if (i > 0) {
          inApp[0]!.push(detail);
          inApp[1]!.push(fleet);
        }
      } finally {
        await page.close();
      }
    }
    for (const [name, timings] of [['change detail, opened from the board (in-app)', inApp[0]!], ['fleet, opened from the menu (in-app)', inApp[1]!]] as const) {
      figures.push({
        view: name, runs: timings.length,
        navToDataMedian: round(median(timings.map((t) => t.navigationToDataMs))), navToDataMax: round(Math.max(...timings.map((t) => t.navigationToDataMs))),
        renderMedian: round(median(timings.map((t) => t.dataToRenderMs))), renderMax: round(Math.max(...timings.map((t) => t.dataToRenderMs))),
        bytes: 0,
      });
    }
  }, 300_000);

  test('the fleet matrix sends and renders one page of clusters, with totals for the whole fleet', async () => {
    const api = await dash.call('GET', '/api/v1/dashboard/fleet');
    expect(api.body.total).toBe(500);
    expect(api.body.clusters).toHaveLength(50);
    expect(api.body.groups.reduce((n: number, g: { instances: number }) => n + g.instances, 0)).toBe(10_000);
    expect(JSON.stringify(api.body).length).toBeLessThan(1_000_000);
    await measure('fleet', '/fleet', 'fleet', 5, async (page) => {
      expect(await page.locator('[data-testid=fleet-matrix] tbody tr[data-cluster]').count()).toBe(50);
      expect(await page.locator('[data-testid=fleet-matrix] thead th').count()).toBe(6);
      expect(await page.locator('[data-testid=fleet-matrix] tbody li').count()).toBe(1000);
      expect(await page.getByText('Page 1 of 10').count()).toBe(1);
    });
    await measure('fleet, ring prod, last page', '/fleet?ring=prod&page=6', 'fleet');
    await measure('fleet, drift only', '/fleet?drift=true', 'fleet');
  }, 300_000);

  test('the changes board loads one page of 50 with stage times, ring counts and ETAs', async () => {
    await measure('changes', '/changes', 'changes', 5, async (page) => {
      expect(await page.locator('[data-testid=changes-table] tbody tr[data-change]').count()).toBe(50);
      expect(await page.locator('td[data-ring=prod]').first().textContent()).toMatch(/synced|ETA/);
    });
    await measure('changes, filtered (app, 7 days)', '/changes?app=billing&since=7d', 'changes');
  }, 300_000);

  test('change detail, instance and metrics', async () => {
    const newest = (await dash.call('GET', '/api/v1/changes?app=shop&limit=1')).body.items[0].id as string;
    await measure('change detail (newest shop change, ~2,000 targets)', `/changes/${newest}`, 'change');
    await measure('instance', '/fleet/prod-us-east-102/shop-1', 'instance');
    await measure('metrics (90 days)', '/dora?since=90d', 'metrics', 5, async (page) => {
      expect(await page.getByTestId('dora-by').locator('tbody tr').count()).toBe(5);
    });
  }, 300_000);
});
