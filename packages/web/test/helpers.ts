import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createToken, openStorage, startServer, type EventInput, type Storage } from '@ringmaster/server';

export const WEB = fileURLToPath(new URL('..', import.meta.url));
export const REPO = fileURLToPath(new URL('../../..', import.meta.url));
/** Where tests save screenshots (a temporary folder; docs/screenshots come from the demo's data: `npm run demo -- --screenshots`). */
export const SCREENSHOTS = process.env.RINGMASTER_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'ringmaster-test-screenshots-'));

/** Debian's Chromium, installed by scripts/setup.d/40-chromium.sh; never skipped silently. */
export function chromiumPath(): string {
  const candidates = [process.env.RINGMASTER_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`Chromium is not installed (looked at ${candidates.join(', ')}). Run \`npm run setup\` (scripts/setup.d/40-chromium.sh installs Debian's chromium package) or set RINGMASTER_CHROMIUM.`);
  }
  return found;
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the dashboard bundle when it is missing or older than its sources (the setup step does the same). */
export function ensureBundle(): string {
  const root = join(WEB, 'build');
  const index = join(root, 'index.html');
  const sources = Math.max(newest(join(WEB, 'src')), statSync(join(WEB, 'index.html')).mtimeMs, statSync(join(WEB, 'vite.config.ts')).mtimeMs);
  if (!existsSync(index) || statSync(index).mtimeMs < sources) {
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: WEB, stdio: 'inherit',
      // vitest sets NODE_ENV=test, which would make Vite bundle React's development build
      env: { ...process.env, NODE_ENV: 'production' },
    });
  }
  return root;
}

export interface Dashboard {
  url: string;
  storage: Storage;
  tokens: { admin: string; viewer: string; approver: string };
  /** Posts events through the batch endpoint, in order, 5,000 per request. */
  post(events: EventInput[]): Promise<void>;
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A real `ringmaster serve` on SQLite in a temporary folder, listening on a free loopback port. */
export async function startDashboard(options: { rings?: string[]; extra?: Record<string, unknown> } = {}): Promise<Dashboard> {
  ensureBundle();
  const dir = mkdtempSync(join(tmpdir(), 'ringmaster-web-'));
  const storage = await openStorage({ dataDir: dir });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    server = await startServer({
      storage, host: '127.0.0.1', port: 0, logLevel: false, bodyLimit: 16 * 1024 * 1024,
      settings: { rings: options.rings ?? ['dev', 'canary', 'prod'], fleetRepository: 'acme/fleet', manifestRepository: 'acme/manifests' },
      ...options.extra,
    });
  } catch (err) {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const s = server;
  const tokens = {
    admin: (await createToken(storage, { name: 'alice-admin', role: 'admin' })).token,
    viewer: (await createToken(storage, { name: 'victor-viewer', role: 'viewer' })).token,
    approver: (await createToken(storage, { name: 'ada-approver', role: 'approver' })).token,
  };
  const call: Dashboard['call'] = async (method, path, body, token = tokens.admin) => {
    const res = await fetch(s.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  };
  return {
    url: s.url, storage, tokens, call,
    async post(events) {
      for (let i = 0; i < events.length; i += 5000) {
        const r = await call('POST', '/api/v1/events', { events: events.slice(i, i + 5000) });
        if (r.status >= 300) throw new Error(`seeding failed: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
      }
    },
    async close() {
      await s.close();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Browser {
  context: BrowserContext;
  /** A new tab signed in with `token` (kept in sessionStorage, as the login form does). */
  page(token?: string, viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Headless Debian Chromium with a fresh profile, closed (and its profile removed) by close(). */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  const profile = mkdtempSync(join(tmpdir(), 'ringmaster-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath, headless: true, viewport: { width: 1440, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async page(token, viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      if (token) await page.addInitScript((t) => sessionStorage.setItem('ringmaster.token', t), token);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface Timing {
  view: string;
  navigationToDataMs: number;
  dataToRenderMs: number;
}

/** Waits until the view has recorded a render after data (see src/perf.ts) and returns that timing. */
export async function timingOf(page: Page, view: string, after = 0): Promise<Timing> {
  await page.waitForFunction(([v, n]) => ((window as any).__ringmasterTimings as Timing[] | undefined ?? []).filter((t) => t.view === v).length > (n as number), [view, after] as const, { timeout: 30_000 });
  const all = await page.evaluate((v) => ((window as any).__ringmasterTimings as Timing[] | undefined ?? []).filter((t) => t.view === v), view);
  return all[all.length - 1]!;
}

/**
 * Every visible text on the page whose contrast with its background is below WCAG AA (4.5:1;
 * 3:1 for large text), computed from the rendered colours. Disabled controls are exempt, as in WCAG.
 */
export async function contrastFailures(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const parse = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
    };
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3]! > 0.5)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || !n.textContent?.trim() || el.closest('[disabled], .sr-only, svg, option, datalist')) continue;
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      const style = getComputedStyle(el);
      const fg = parse(style.color);
      const a = lum(fg);
      const b = lum(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.push(`"${n.textContent.trim().slice(0, 40)}" ${style.color} on rgb(${background(el).join(',')}): ${ratio.toFixed(2)}`);
    }
    return [...new Set(out)];
  });
}
