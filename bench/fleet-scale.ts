// The plain-manifest fleet of bench/fleet.ts at 10,000 instances × 40 objects on 500 clusters: cold
// render from a Git revision, and the peak resident memory of this process (run by bench/helm.ts in
// a process of its own, so the figure is this render's alone). Prints one JSON line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFleetFrom, openSource, renderFleet } from '@ringmaster/fleet';
import { generate } from './fleet.ts';

const INSTANCES = 10_000;
const CLUSTERS = 500;

const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.net', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.net' };
const root = mkdtempSync(join(tmpdir(), 'ringmaster-bench-scale-'));
try {
  const repo = join(root, 'fleet');
  generate(repo, INSTANCES, CLUSTERS);
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'synthetic fleet']]) execFileSync('git', args, { cwd: repo, env });
  const base = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo }).toString().trim();
  const t = performance.now();
  const rendered = await renderFleet(await loadFleetFrom(await openSource(repo, base)));
  const coldRenderMs = performance.now() - t;
  const objects = rendered.reduce((n, r) => n + r.objects.length, 0);
  // maxRSS is in KiB on Linux.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ instances: INSTANCES, clusters: CLUSTERS, objects, coldRenderMs, peakRssMb }) + '\n');
} finally {
  rmSync(root, { recursive: true, force: true });
}
