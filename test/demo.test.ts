import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'ringmaster-demo-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs `npm run demo -- --exit` as the README's first command does, and returns its output. */
function demo(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'demo.ts'), '--exit'], {
      cwd: ROOT,
      env: { ...process.env, RINGMASTER_DEMO_DIR: join(work, 'demo'), NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('npm run demo', () => {
  it('plays the example fleet end to end through the product\'s own CLI and API, and stops cleanly', async () => {
    const { code, out } = await demo();
    expect(code, out.slice(-3000)).toBe(0);
    expect(out).toContain('✓ fleet "example" is valid');
    expect(out).toMatch(/Dashboard: http:\/\/127\.0\.0\.1:\d+\/changes#token=rmt_/);
    // three releases reached an end; the bad one never got past its first ring
    const ends = [...out.matchAll(/^(?:\[[\w-]+\] +)?release (r\S+) (succeeded|failed|halted|aborted|rolled_back)/gm)].map((m) => m[2]);
    expect(ends).toHaveLength(3);
    // the first went through every ring (Argo CD synced canary and most of prod); then two teams released at once: the
    // metrics-agent change through every ring, the bad appserver one rolled back by itself
    expect(ends[0]).toBe('succeeded');
    expect(ends.slice(1).sort()).toEqual(['rolled_back', 'succeeded']);
    const started = (tag: string) => out.search(new RegExp(`^\\[${tag}\\] +release r\\S+: `, 'm'));
    const ended = (tag: string) => out.search(new RegExp(`^\\[${tag}\\] +release r\\S+ (succeeded|rolled_back)`, 'm'));
    expect(started('metrics-agent')).toBeGreaterThan(-1);
    // the second team's release started while the first team's was still running
    expect(started('metrics-agent')).toBeLessThan(ended('appserver'));
    expect(started('appserver')).toBeLessThan(ended('metrics-agent'));
    // neither waited for the other: two apps, two releases at once
    expect(out).not.toMatch(/queued behind/);
    // the canary ring's metric gate measured on the real Prometheus and held
    expect(out).toMatch(/canary +metric gate error-rate: \d+ measurement\(s\) of max\(appserver_error_ratio\{cluster="…"\}\), max 0\.01 \(threshold max 0\.05\), 0 failed/);
    expect(out).toMatch(/approved by alice \(approver\)/);
    expect(out).toMatch(/Deliver release r\S+ to dev-eu-1/);
    // what runs is said on screen: real Kubernetes, kwok nodes, real Argo CD — and no stand-in
    expect(out).toMatch(/^Kubernetes v1\.\d+\.\d+: per cluster kube-apiserver, kube-controller-manager, kube-scheduler/m);
    expect(out).toMatch(/^kwok v\d+\.\d+\.\d+: plays the nodes and their kubelets — .*\bdev-eu-1 3 nodes\b/m);
    expect(out).toMatch(/^Argo CD v2\.\d+\.\d+: application-controller, repo-server and Redis/m);
    // the operator runs for real, a process per cluster, and runs the appserver's AppClusters
    expect(out).toMatch(/^Ringmaster operator: 7 `ringmaster operator` processes, one per workload cluster/m);
    expect(out).not.toMatch(/stand-in/i);
    // the bad release failed because its Pods crash-looped on the real cluster
    expect(out).toMatch(/dev-eu-1 .*AppCluster .*(CrashLoopBackOff)/);
    // one NodeOperation end to end: a frontend taken dark, upgraded, served again
    expect(out).toMatch(/^ {2}step dark +Succeeded/m);
    expect(out).toMatch(/^ {2}step upgrade +Succeeded/m);
    expect(out).toMatch(/^ {2}step serve +Succeeded/m);
    expect(out).toMatch(/^NodeOperation upgrade-frontend-1 Succeeded \(audited, on the journey/m);
    // a new tenant provisioned through one request: approved from its ticket, its DNS record answering dig at the local BIND
    expect(out).toMatch(/^ticket CHG-2041 approved by the change board → POST \/api\/v1\/webhooks\/ticket 200/m);
    expect(out).toMatch(/^request \S+ succeeded \(audited, on the journey/m);
    expect(out).toMatch(/^appserver-soylent\.tenants\.ringmaster\.test → \d+\.\d+\.\d+\.\d+/m);
  }, 900_000);
});
