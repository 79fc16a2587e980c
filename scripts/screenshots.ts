// Screenshots of every dashboard view, from a running `ringmaster serve` (the demo's real data):
//   node --import tsx scripts/screenshots.ts --server http://127.0.0.1:7420 --token rmt_… [--out docs/screenshots]
// The demo runs this itself with `npm run demo -- --screenshots`.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** Saves one PNG per view into `out`; returns the files written. */
export async function takeScreenshots(server: string, token: string, out: string): Promise<string[]> {
  const browserPath = [process.env.RINGMASTER_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  if (!browserPath) throw new Error('Chromium is not installed: run `bash scripts/setup.d/40-chromium.sh` or set RINGMASTER_CHROMIUM');
  mkdirSync(out, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'ringmaster-shots-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browserPath,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const written: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const api = async (path: string) => {
      const res = await fetch(`${server}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
      return res.json() as Promise<any>;
    };
    const shot = async (name: string, path: string, ready: string) => {
      if (path) await page.goto(`${server}${path}`);
      await page.waitForSelector(ready, { timeout: 15_000 });
      await page.waitForTimeout(400); // let live data and fonts settle
      const file = join(out, `${name}.png`);
      await page.screenshot({ path: file });
      written.push(file);
    };
    // Sign in through the URL fragment, as the demo's printed link does (kept for the tab's session).
    await page.goto(`${server}/changes#token=${encodeURIComponent(token)}`);
    await shot('changes', '', 'table');
    const changes = await api('/changes?limit=1');
    const first = changes.changes?.[0] ?? changes.items?.[0];
    if (first?.id) await shot('change-detail', `/changes/${first.id}`, 'h1');
    await shot('fleet', '/fleet', 'table');
    await shot('releases', '/releases', 'table');
    const releases = await api('/releases?limit=10');
    const interesting = releases.releases.find((r: { state: string }) => r.state === 'rolled_back') ?? releases.releases[0];
    if (interesting) await shot('release', `/releases/${interesting.id}`, 'h1');
    await shot('requests', '/requests', 'table');
    const requests = await api('/requests?limit=5');
    if (requests.requests[0]) await shot('request', `/requests/${requests.requests[0].id}`, '[data-testid=request-steps]');
    await shot('metrics', '/dora', 'svg');
    await page.setViewportSize({ width: 420, height: 860 });
    await shot('changes-narrow', '/changes', 'h1');
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i === -1 ? undefined : process.argv[i + 1];
  };
  const server = arg('server') ?? process.env.RINGMASTER_SERVER ?? 'http://127.0.0.1:7420';
  const token = arg('token') ?? process.env.RINGMASTER_TOKEN;
  if (!token) {
    process.stderr.write('a token is needed: --token or RINGMASTER_TOKEN\n');
    process.exit(1);
  }
  const files = await takeScreenshots(server, token, arg('out') ?? join(import.meta.dirname, '..', 'docs', 'screenshots'));
  for (const f of files) process.stdout.write(`wrote ${f}\n`);
}
