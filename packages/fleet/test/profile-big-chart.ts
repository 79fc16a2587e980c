// Measures Ringmaster's own processing of a chart with about 1 MB of CRDs:
//   node --import tsx packages/fleet/test/profile-big-chart.ts   (add --cpu-prof to profile)
// Prints the time of `helm template` alone and of rendering the instance (helm included).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, loadFleet, Renderer } from '@ringmaster/fleet';
import { parseChartOutput } from '../src/helm.ts';
import { writeBigCrdChart } from './big-chart.ts';

const root = mkdtempSync(join(tmpdir(), 'ringmaster-big-chart-'));
try {
  const write = (p: string, text: string) => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  write('ringmaster.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: big\nrings: [{ name: dev }]\n');
  write('clusters/dev.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: dev-1\nring: dev\nregion: eu\ndelivery: { mode: argocd }\n');
  write('apps/big/app.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: big\nsource: { type: helm, chart: chart }\nnamespace: big\n');
  write('instances/big.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: big-dev-1\napp: big\ncluster: dev-1\n');
  const bytes = writeBigCrdChart(join(root, 'apps/big/chart'));
  // For a Ringmaster without crds/ support: the same CRDs as templates.
  if (process.env.CRDS_IN_TEMPLATES) renameSync(join(root, 'apps/big/chart/crds'), join(root, 'apps/big/chart/templates/crds'));
  const helm = findTool('helm', 'RINGMASTER_HELM').path!;
  const runs = Number(process.env.RUNS ?? 5);
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    const out = execFileSync(helm, ['template', 'big-dev-1', join(root, 'apps/big/chart'), '--include-crds', '--namespace', 'big'], { maxBuffer: 1 << 28 }).toString();
    const helmMs = performance.now() - t;
    t = performance.now();
    parseChartOutput(out, 'apps/big/chart');
    const parseMs = performance.now() - t;
    const fleet = await loadFleet(root);
    t = performance.now();
    const r = await new Renderer(fleet).render('big-dev-1');
    const totalMs = performance.now() - t;
    console.log(
      `CRDs ${(bytes / 1e6).toFixed(2)} MB, ${r.objects.length} objects: helm template ${helmMs.toFixed(0)} ms; ` +
        `render ${totalMs.toFixed(0)} ms (helm included), of which parsing helm's output ${parseMs.toFixed(0)} ms; Ringmaster's own ≈ ${(totalMs - helmMs).toFixed(0)} ms`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
