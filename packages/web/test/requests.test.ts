import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { startLocalFleet, type LocalFleet } from '@ringmaster/kube';
import { launchBrowser, SCREENSHOTS, startDashboard, timingOf, type Browser, type Dashboard } from './helpers.ts';

// The Requests view on real parts: a provision request against a real local cluster (API server,
// controllers, kwok nodes), approved from the dashboard by an approver, followed to its end.

const GIT_ENV = { GIT_AUTHOR_NAME: 'Fleet Author', GIT_AUTHOR_EMAIL: 'fleet@acme.test', GIT_COMMITTER_NAME: 'Fleet Author', GIT_COMMITTER_EMAIL: 'fleet@acme.test' };
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } }).trim();
const root = mkdtempSync(join(tmpdir(), 'ringmaster-web-requests-'));
const fleetDir = join(root, 'fleet');
const manifests = join(root, 'manifests.git');
const write = (path: string, text: string) => {
  mkdirSync(dirname(join(fleetDir, path)), { recursive: true });
  writeFileSync(join(fleetDir, path), text);
};

let kube: LocalFleet | undefined;
let dash: Dashboard | undefined;
let browser: Browser | undefined;
let id = '';

beforeAll(async () => {
  kube = await startLocalFleet({ clusters: ['web-1'], management: false });
  mkdirSync(fleetDir);
  git(fleetDir, 'init', '-q', '-b', 'main');
  write('ringmaster.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: acme\nrings:\n  - name: dev\n    policy: { approval: auto, soak: 1s, maxFailures: 0, autoRollback: false, progressDeadline: 5m }\nregions:\n  - name: eu\n');
  write('clusters/web-1.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: web-1\nring: dev\nregion: eu\ndelivery: { mode: direct }\n');
  write('apps/shop/app.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: shop\nteam: storefront\nsource: { type: manifests, path: manifests }\nnamespace: ${instance.name}\nvalues:\n  image: "acme/shop:1.0.0"\n');
  write('apps/shop/manifests/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${instance.namespace}\n');
  write('apps/shop/manifests/deployment.yaml', [
    'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: shop', 'spec:', '  replicas: 1', '  selector:', '    matchLabels: { app: shop }',
    '  template:', '    metadata:', '      labels: { app: shop }', '    spec:', '      containers:', '        - name: shop', '          image: ${image}', '',
  ].join('\n'));
  git(fleetDir, 'add', '-A');
  git(fleetDir, 'commit', '-q', '-m', 'fleet: the shop app, no instance yet');
  git(root, 'init', '-q', '--bare', '-b', 'main', manifests);
  const seed = join(root, 'seed');
  mkdirSync(seed);
  git(seed, 'init', '-q', '-b', 'main');
  writeFileSync(join(seed, 'README.md'), 'Rendered manifests, written by Ringmaster.\n');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'initial');
  git(seed, 'push', '-q', manifests, 'main');

  dash = await startDashboard({
    rings: ['dev'],
    extra: {
      flighting: {
        fleetRepo: fleetDir, manifestRepo: { url: manifests }, workDir: join(root, 'work'), timeScale: 0.1, pollIntervalMs: 200,
        access: { kubeconfig: kube.kubeconfigPath, clusters: { 'web-1': { kubeconfig: kube.cluster('web-1').kubeconfigPath } } },
      },
      drift: { enabled: false },
      requests: { pollIntervalMs: 200 },
    },
  });
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const created = await dash.call('POST', '/api/v1/requests', { kind: 'provision', app: 'shop', cluster: 'web-1', name: 'shop-acme', ticket: 'CHG-7', reason: 'new tenant Acme' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  id = created.body.id;
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  await kube?.stop();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('requests', () => {
  test('a viewer sees the waiting request with its preflight and fleet diff, but cannot approve it, and the API refuses it too', async () => {
    const page = await browser!.page(dash!.tokens.viewer);
    try {
      await page.goto(`${dash!.url}/requests`);
      await timingOf(page, 'requests');
      const row = page.locator(`tr[data-request="${id}"]`);
      expect(await row.textContent()).toContain('awaiting approval');
      expect(await row.textContent()).toContain('CHG-7');
      await row.locator('a').click();
      await timingOf(page, 'request');
      await page.getByRole('heading', { name: 'provision shop-acme' }).waitFor();
      const checks = page.getByTestId('request-preflight').locator('li');
      expect(await checks.count()).toBeGreaterThan(2);
      expect(await page.getByTestId('request-preflight').locator('li.st-failed').count()).toBe(0);
      expect(await page.getByTestId('request-diff').textContent()).toContain('name: shop-acme');
      const approve = page.getByRole('button', { name: 'Approve' });
      expect(await approve.isDisabled()).toBe(true);
      expect(await page.locator('.actions').textContent()).toContain('needs the approver role for app shop');
      const refused = await dash!.call('POST', `/api/v1/requests/${id}/approve`, {}, dash!.tokens.viewer);
      expect(refused.status).toBe(403);
      expect((await dash!.call('GET', `/api/v1/requests/${id}`)).body.state).toBe('awaiting_approval');
    } finally {
      await page.close();
    }
  });

  test('an approval from the page runs the request; the page follows its steps and logs to the end without reloading', async () => {
    const page = await browser!.page(dash!.tokens.approver);
    try {
      page.on('dialog', (d) => void d.accept('capacity checked with the tenant'));
      await page.goto(`${dash!.url}/requests/${id}`);
      await timingOf(page, 'request');
      await page.screenshot({ path: join(SCREENSHOTS, 'request-waiting.png') });
      await page.evaluate(() => ((window as any).__notReloaded = true));
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('status').filter({ hasText: /Request (running|succeeded)/ }).waitFor();
      await vi.waitFor(async () => {
        const shown = await page.locator('.title-row .state').textContent();
        if (shown === 'failed') throw new Error(`the request failed: ${JSON.stringify((await dash!.call('GET', `/api/v1/requests/${id}`)).body.error)}`);
        expect(shown).toBe('succeeded');
      }, { timeout: 240_000, interval: 500 });
      expect(await page.getByTestId('request-approval').textContent()).toContain('approved by ada-approver');
      const steps = page.getByTestId('request-steps');
      expect(await steps.locator('[data-step=release] .state').textContent()).toBe('succeeded');
      await page.getByTestId('request-logs').waitFor();
      expect(await page.getByTestId('request-logs').textContent()).toMatch(/release/);
      expect(await page.evaluate(() => (window as any).__notReloaded)).toBe(true);
      await page.screenshot({ path: join(SCREENSHOTS, 'request-succeeded.png') });
      // what the page said is what happened: the instance runs on the cluster
      const deployment = await kube!.cluster('web-1').client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop-acme', name: 'shop' });
      expect(deployment).toBeDefined();
    } finally {
      await page.close();
    }
  }, 300_000);
});
