// A throwaway BIND 9 for tests and the demo: one primary zone on 127.0.0.1:<free port>, updatable
// with a fresh TSIG key, every file (config, zone, journal, pid, log) inside one folder.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@ringmaster/kube';
import type { DnsConfig, DnsRecordType } from './dns.ts';

export interface LocalBind {
  port: number;
  zone: string;
  tsig: { name: string; algorithm: 'hmac-sha256'; secret: string };
  config: DnsConfig;
  /** `dig @127.0.0.1 -p PORT name TYPE +short`: its answer lines (CNAME targets end with ".", TXT is quoted). */
  dig(name: string, type?: DnsRecordType | 'SOA' | 'NS'): Promise<string[]>;
  stop(): Promise<void>;
}

const DEFAULT_ZONE = 'tenants.ringmaster.test';
const KEY_NAME = 'ringmaster-update';
const READY_TIMEOUT_MS = 30_000;

/** A binary on PATH or in the sbin folders Debian puts BIND in (not always on a user's PATH). */
function locate(binary: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const path = join(dir, binary);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

function need(binary: string): string {
  const path = locate(binary);
  if (!path) throw new Error(`${binary} (BIND 9) is not installed: run bash scripts/setup.sh (its step 35-bind.sh installs bind9 and bind9-dnsutils)`);
  return path;
}

function runDig(dig: string, port: number, name: string, type: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(dig, [`@127.0.0.1`, '-p', String(port), name, type, '+short', '+norecurse', '+time=2', '+tries=1'], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`dig ${name} ${type} at 127.0.0.1:${port} failed: ${(stdout + stderr).trim() || err.message}`));
      else resolve(stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith(';')));
    });
  });
}

function zoneFile(zone: string): string {
  // the NS needs an address inside the zone, or named refuses to load it
  return [
    '$TTL 60',
    `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 60`,
    `@ IN NS ns.${zone}.`,
    'ns IN A 127.0.0.1',
    '',
  ].join('\n');
}

function namedConf(dir: string, port: number, zone: string, secret: string): string {
  return `options {
  directory "${dir}";
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  allow-transfer { none; };
  dnssec-validation no;
  notify no;
};
// no rndc: without this named looks for /etc/bind/rndc.key
controls { };
key "${KEY_NAME}" { algorithm hmac-sha256; secret "${secret}"; };
zone "${zone}" {
  type primary;
  file "${join(dir, `${zone}.zone`)}";
  allow-update { key "${KEY_NAME}"; };
};
`;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Spawns named on the written configuration, with the exit hook and the watchdog that keep it from outliving this process. */
function spawnNamed(named: string, dir: string, ownDir: boolean, log: string): { child: ChildProcess; stop: () => Promise<void> } {
  const out = openSync(log, 'a');
  const child = spawn(named, ['-g', '-4', '-n', '1', '-c', join(dir, 'named.conf')], { stdio: ['ignore', out, out] });
  closeSync(out);
  const killNow = () => {
    if (alive(child)) child.kill('SIGKILL');
  };
  // a process that exits without stop() leaves neither named nor (when it is ours) the folder
  const onExit = () => {
    killNow();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  // Node killed outright runs no exit hook: a detached sh outlives it and kills named (if that pid is still named)
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; grep -q named "/proc/$2/cmdline" 2>/dev/null && kill -9 "$2"; [ -n "$3" ] && rm -rf "$3"; true';
  const watchdog = spawn('sh', ['-c', script, 'ringmaster-bind-watchdog', String(process.pid), String(child.pid), ownDir ? dir : ''], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  const stop = async () => {
    process.off('exit', onExit);
    if (alive(child)) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const force = setTimeout(killNow, 5_000);
      await exited;
      clearTimeout(force);
    }
    try {
      if (watchdog.pid !== undefined) process.kill(watchdog.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return { child, stop };
}

/** True once dig gets the zone's SOA from named; false when named exits or the time is up. */
async function answersSoa(dig: string, port: number, zone: string, child: ChildProcess): Promise<boolean> {
  const until = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < until && alive(child)) {
    const soa = await runDig(dig, port, zone, 'SOA').catch(() => []);
    if (soa.length > 0) return true;
    await sleep(100);
  }
  return false;
}

/**
 * Starts BIND 9 (`named -g`, in the foreground) on 127.0.0.1:<free port> serving one zone (default
 * 'tenants.ringmaster.test', SOA + NS, `allow-update { key ringmaster-update; }`) with a fresh TSIG
 * key, its files under `dir` (created; default a temp folder, removed by stop()). Resolves once dig
 * gets the SOA. named never outlives this process: stop(), an exit hook, and a watchdog for a Node
 * that is SIGKILLed.
 */
export async function startLocalBind(opts: { dir?: string; zone?: string } = {}): Promise<LocalBind> {
  const named = need('named');
  const dig = need('dig');
  const zone = (opts.zone ?? DEFAULT_ZONE).replace(/\.$/, '').toLowerCase();
  if (!/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,63}$/.test(zone)) throw new Error(`zone "${zone}" is not a domain name`);
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ringmaster-bind-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64');
  const log = join(dir, 'named.log');

  // a port free for TCP may still be taken for UDP: a start that loses that race tries another port
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    // the zone is rewritten at each attempt: a journal of a failed start must not replay into it
    rmSync(join(dir, `${zone}.zone.jnl`), { force: true });
    writeFileSync(join(dir, `${zone}.zone`), zoneFile(zone));
    writeFileSync(join(dir, 'named.conf'), namedConf(dir, port, zone, secret), { mode: 0o600 });
    const { child, stop } = spawnNamed(named, dir, ownDir, log);
    const ready = await answersSoa(dig, port, zone, child);
    if (ready) {
      const tsig = { name: KEY_NAME, algorithm: 'hmac-sha256' as const, secret };
      let stopped: Promise<void> | undefined;
      return {
        port,
        zone,
        tsig,
        config: { server: { host: '127.0.0.1', port }, zone, tsig: { ...tsig }, timeoutMs: 5_000 },
        dig: (name, type = 'A') => runDig(dig, port, name, type),
        stop: () =>
          (stopped ??= stop().then(() => {
            if (ownDir) rmSync(dir, { recursive: true, force: true });
          })),
      };
    }
    const why = alive(child) ? `did not answer the SOA of ${zone} within ${READY_TIMEOUT_MS / 1000} s` : `exited (${child.exitCode ?? child.signalCode})`;
    await stop();
    const logTail = tail(log);
    lastError = new Error(`named on 127.0.0.1:${port} ${why}; its log is ${log}, last lines:\n${logTail}`);
    if (!/address in use/i.test(logTail)) break;
  }
  // the folder stays: its log explains the failure
  throw lastError!;
}
