import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Installs a hook script in a (bare) repository. */
export function installHook(repo: string, name: string, body: string): void {
  const file = join(repo, 'hooks', name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

/** A slow hook (a slow policy check, a slow CI trigger): it records its pid and waits until `gate` exists. */
export interface SlowHook {
  dir: string;
  pidFile: string;
  gate: string;
}

/**
 * Installs a hook that waits for its gate; with `deliverOnly`, only for pushes whose commit delivers
 * a release (`Ringmaster-Step: deliver`), so rollbacks go through at once.
 */
export function installSlowHook(repo: string, name: 'pre-receive' | 'post-receive', opts: { deliverOnly?: boolean } = {}): SlowHook {
  const dir = mkdtempSync(join(tmpdir(), 'ringmaster-hook-'));
  const pidFile = join(dir, 'pid');
  const gate = join(dir, 'gate');
  const wait = [`echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}`, `while [ ! -e ${gate} ]; do sleep 0.05; done`];
  installHook(repo, name, opts.deliverOnly
    ? ['while read old new ref; do', '  if git log -1 --format=%B "$new" | grep -q "^Ringmaster-Step: deliver"; then', ...wait.map((l) => `    ${l}`), '  fi', 'done'].join('\n')
    : ['cat >/dev/null', ...wait].join('\n'));
  return { dir, pidFile, gate };
}

/** Whether a process still runs (a killed one that nobody reaped yet, a zombie, runs nothing). */
export function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
