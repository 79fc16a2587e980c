import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalKubeError } from './errors.ts';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // last line of defence: a failing test or an uncaught error must not leave servers behind
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** A free TCP port on 127.0.0.1: `preferred` when it is free, else one the kernel picks (then released). */
export function freePort(preferred = 0): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
      });
    });
  // a preferred port (e.g. a well-known default) when it is free, any free port otherwise
  if (preferred) return tryPort(preferred).catch(() => fresh(tryPort));
  return fresh(tryPort);
}

/**
 * Ports this process handed out recently: the kernel may offer a released port again at once, and a
 * fleet starting many components in parallel would then give two of them the same port (the second
 * exits with "address already in use" while the first answers its health check).
 */
const handedOut = new Set<number>();

async function fresh(tryPort: (port: number) => Promise<number>): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await tryPort(0);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (handedOut.size > 4096) handedOut.delete(handedOut.values().next().value!);
    return port;
  }
  return tryPort(0);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and waits until the process is gone. */
export async function terminate(pid: number, graceMs = 10_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitExit(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitExit(pid, 5_000);
}

/** The last lines of a log file, for error messages. */
export function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** True when `pid` runs `binary` (argv[0] is the binary or ends with /binary): a stale pid may be reused. */
export function runs(pid: number, binary: string): boolean {
  try {
    // redis-server rewrites its title into argv[0] ("redis-server 127.0.0.1:port"): the first word counts
    const argv0 = (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '').split(' ')[0] ?? '';
    return argv0 === binary || argv0.endsWith('/' + binary);
  } catch {
    return false;
  }
}

/** Options of a ProcessGroup. */
export interface ProcessGroupOptions {
  /** Keep the processes running after this Node process exits (for `ringmaster dev kube up`). */
  detached: boolean;
  /** Whether the watchdog removes the folder after killing the processes. */
  removeDir: boolean;
}

/**
 * The processes of one local control plane or fleet, each with `<dir>/<name>.log` and
 * `<dir>/<name>.pid`. Unless detached, they never outlive this Node process: an exit hook kills
 * them, and a tiny `sh` watchdog kills them (and removes the folder) if Node dies without running
 * exit hooks (SIGKILL).
 */
export class ProcessGroup {
  private readonly children = new Map<string, ChildProcess>();
  private watchdog: ChildProcess | undefined;

  constructor(
    readonly dir: string,
    private readonly opts: ProcessGroupOptions,
  ) {
    if (opts.detached) return;
    installExitHook();
    const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; for f in "$2"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done; ' + (opts.removeDir ? 'rm -rf "$2"' : 'true');
    this.watchdog = spawn('sh', ['-c', script, 'ringmaster-kube-watchdog', String(process.pid), dir], { detached: true, stdio: 'ignore' });
    this.watchdog.unref();
  }

  /** The log file of a process of this group. */
  logOf(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  /** Starts `bin` as process `name`, its output appended to `<dir>/<name>.log`. */
  launch(name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
    const log = openSync(this.logOf(name), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', log, log], detached: this.opts.detached, env: env ? { ...process.env, ...env } : process.env });
    closeSync(log);
    if (child.pid === undefined) throw new LocalKubeError(`could not start ${name} (${bin}); its log is ${this.logOf(name)}`);
    writeFileSync(join(this.dir, `${name}.pid`), String(child.pid));
    if (this.opts.detached) child.unref();
    else {
      running.add(child);
      child.once('exit', () => running.delete(child));
    }
    this.children.set(name, child);
    return child;
  }

  get(name: string): ChildProcess | undefined {
    return this.children.get(name);
  }

  /** The pid of every process of the group, by name. */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, child] of this.children) if (child.pid !== undefined) out[name] = child.pid;
    return out;
  }

  /** A LocalKubeError when `name` has exited: it names the process and quotes its log. */
  exitedError(name: string): LocalKubeError | undefined {
    const child = this.children.get(name);
    if (!child || (child.exitCode === null && child.signalCode === null)) return undefined;
    return new LocalKubeError(`${name} exited (${child.exitCode ?? child.signalCode}) while starting; its log is ${this.logOf(name)}, last lines:\n${tail(this.logOf(name))}`);
  }

  /**
   * Stops process `name` (SIGTERM, SIGKILL after `graceMs`). Its pid file goes too unless `keepPidFile`
   * (while the group lives on, the watchdog must not kill a pid the kernel may hand out again).
   */
  async stop(name: string, graceMs = 10_000, keepPidFile = false): Promise<void> {
    const child = this.children.get(name);
    if (child?.pid !== undefined) await terminate(child.pid, graceMs);
    if (!keepPidFile) rmSync(join(this.dir, `${name}.pid`), { force: true });
    this.children.delete(name);
  }

  /** Stops every process, the given names first in that order, the rest in parallel, then the watchdog. */
  async stopAll(first: string[] = [], last: string[] = [], graceMs = 2_000): Promise<void> {
    // the watchdog goes with the group, so the pid files may stay (a failed start is diagnosed from them)
    for (const name of first) await this.stop(name, graceMs, true);
    const middle = [...this.children.keys()].filter((n) => !last.includes(n));
    await Promise.all(middle.map((n) => this.stop(n, graceMs, true)));
    for (const name of last) await this.stop(name, 10_000, true);
    if (this.watchdog?.pid !== undefined) {
      try {
        process.kill(this.watchdog.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
