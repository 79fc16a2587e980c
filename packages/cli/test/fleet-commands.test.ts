import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_FLEET, TempRepo } from '../../fleet/test/helpers.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'ringmaster.js');
function ringmaster(...args: string[]) {
  return ringmasterIn(undefined, ...args);
}
function ringmasterIn(cwd: string | undefined, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let repo: TempRepo;
let base: string;
let changed: string;
const out = mkdtempSync(join(tmpdir(), 'ringmaster-cli-'));
beforeAll(() => {
  repo = new TempRepo(EXAMPLE_FLEET);
  base = repo.commit('fleet');
  repo.edit('apps/edge-proxy/app.yaml', 'replicas: 2', 'replicas: 4');
  changed = repo.commit('edge proxy: 4 replicas');
});
afterAll(() => {
  repo.cleanup();
  rmSync(out, { recursive: true, force: true });
});

describe('ringmaster CLI', () => {
  it('plan exits 2 when something changes and 0 when nothing does', () => {
    const r = ringmaster('plan', '--repo', repo.dir, '--from', base, '--to', changed, '--output', 'json');
    expect(r.code).toBe(2);
    const plan = JSON.parse(r.stdout);
    expect(plan.summary.instances).toBe(2); // edge-proxy-dev-eu-1 sets its own replicas
    expect(plan.instances.map((i: { instance: string }) => i.instance)).toEqual(['edge-proxy-prod-eu-1', 'edge-proxy-prod-us-1']);
    expect(ringmaster('plan', '--repo', repo.dir, '--from', base, '--to', base).code).toBe(0);
  });

  it('plan exits 1 with a message on an unknown revision', () => {
    const r = ringmaster('plan', '--repo', repo.dir, '--from', base, '--to', 'nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown revision "nope"');
  });

  it('plan --output markdown is a pull-request comment', () => {
    const r = ringmaster('plan', '--repo', repo.dir, '--from', base, '--to', changed, '--output', 'markdown');
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^### Ringmaster plan/);
  });

  it('validate and render print the warning for a shell ${…} they leave as it is', () => {
    const shell = new TempRepo(EXAMPLE_FLEET);
    try {
      shell.write('apps/appserver/manifests/backup.yaml', `apiVersion: batch/v1
kind: CronJob
metadata:
  name: cache-backup
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: backup
            image: backup-tool:1.0
            command: ["/bin/sh", "-c", "tar czf \${BACKUP_DIR}/cache.tgz /cache"]
`);
      const v = ringmaster('validate', '--repo', shell.dir);
      expect(v.code, v.stderr).toBe(0);
      const lines = v.stderr.split('\n').filter((l) => l.startsWith('warning: '));
      expect(lines).toHaveLength(1); // once, though every appserver instance renders it
      expect(lines[0]).toContain('apps/appserver/manifests/backup.yaml');
      expect(lines[0]).toContain('BACKUP_DIR');
      const json = JSON.parse(ringmaster('validate', '--repo', shell.dir, '--output', 'json').stdout);
      expect(json.warnings).toHaveLength(1);
      const r = ringmaster('render', '--repo', shell.dir, '--out', '-');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('${BACKUP_DIR}/cache.tgz');
      expect(r.stderr).toContain('BACKUP_DIR');
    } finally {
      shell.cleanup();
    }
  });

  it('validate prints file:line:column and exits 1 on a broken fleet', () => {
    const broken = new TempRepo(EXAMPLE_FLEET);
    try {
      broken.edit('instances/appserver.yaml', 'app: appserver', 'app: appsrv');
      const r = ringmaster('validate', '--repo', broken.dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('instances/appserver.yaml:5:6: instance "appserver-acme" refers to app "appsrv", which does not exist');
      const j = ringmaster('validate', '--repo', broken.dir, '-o', 'json');
      expect(JSON.parse(j.stdout).issues[0].location).toEqual({ file: 'instances/appserver.yaml', line: 5, column: 6 });
    } finally {
      broken.cleanup();
    }
  });

  it('render writes one folder per cluster and instance', () => {
    const target = join(out, 'rendered');
    const r = ringmaster('render', '--repo', repo.dir, '--rev', base, '--instance', 'appserver-acme', '--instance', 'edge-proxy-dev-eu-1', '--out', target, '-o', 'json');
    expect(r.code).toBe(0);
    expect(readdirSync(target).sort()).toEqual(['.ringmaster-output', 'dev-eu-1']);
    expect(readdirSync(join(target, 'dev-eu-1')).sort()).toEqual(['appserver-acme', 'edge-proxy-dev-eu-1']);
    expect(JSON.parse(r.stdout).files).toBeGreaterThan(5);
  });

  it('render of an unknown instance fails and writes nothing', () => {
    const target = join(out, 'never');
    const r = ringmaster('render', '--repo', repo.dir, '--instance', 'ghost', '--out', target);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('instance "ghost" does not exist');
    expect(existsSync(target)).toBe(false);
  });

  it('validate and plan default --repo to the Git repository of the current folder, from any of its subfolders', () => {
    const inside = join(repo.dir, 'apps', 'edge-proxy');
    const v = ringmasterIn(inside, 'validate', '-o', 'json');
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: true, instances: 20 });
    expect(ringmasterIn(inside, 'plan', '--from', base, '--to', changed, '-o', 'json').code).toBe(2);
  });

  it('says how to give --repo when the current folder is not in a Git repository', () => {
    const r = ringmasterIn(out, 'validate');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: --repo is not given and ${out} is not inside a Git repository: run from inside the fleet repo or pass --repo DIR`);
  });

  it('refuses an unknown --output format', () => {
    const r = ringmaster('validate', '--repo', repo.dir, '-o', 'xml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--output must be one of table, json, yaml');
  });
});
