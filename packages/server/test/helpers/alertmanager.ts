import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@ringmaster/kube';

/** A real Prometheus Alertmanager (Debian's prometheus-alertmanager, scripts/setup.d/39-alertmanager.sh) on loopback. */
export interface TestAlertmanager {
  url: string;
  /** Posts alerts to Alertmanager's own API (/api/v2/alerts), as Prometheus would. */
  fire(alerts: Array<{ labels: Record<string, string>; annotations?: Record<string, string>; startsAt?: string; endsAt?: string }>): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts Alertmanager on 127.0.0.1:<free port>, its cluster port off, with one route to Ringmaster's
 * webhook (bearer token, resolved alerts sent too) that groups by alert and cluster and sends at once.
 */
export async function startAlertmanager(webhookUrl: string, token: string): Promise<TestAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'ringmaster-alertmanager-'));
  const port = await freePort();
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'alertmanager.yml'), [
    'route:', '  receiver: ringmaster', '  group_by: [alertname, cluster]', '  group_wait: 0s', '  group_interval: 1s', '  repeat_interval: 1h',
    'receivers:', '  - name: ringmaster', '    webhook_configs:', `      - url: ${webhookUrl}`, '        send_resolved: true',
    '        http_config:', '          authorization:', '            type: Bearer', `            credentials_file: ${join(dir, 'token')}`, '',
  ].join('\n'));
  const proc: ChildProcess = spawn('prometheus-alertmanager', [
    `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=',
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`prometheus-alertmanager exited with ${proc.exitCode}: ${log}`);
      const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 300) throw new Error(`prometheus-alertmanager did not become ready: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async fire(alerts) {
      const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      if (!res.ok) throw new Error(`Alertmanager refused the alerts: ${res.status} ${await res.text()}`);
    },
    stop,
  };
}
