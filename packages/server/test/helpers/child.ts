import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const TSX = join(import.meta.dirname, '..', '..', '..', '..', 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');

/** Starts a TypeScript server script as a child process (through tsx) and resolves once it prints "listening". */
export async function startChild(script: string, env: Record<string, string>): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['--import', TSX, script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  c.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${err}`)), 60_000);
    c.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    c.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}: ${err}`));
    });
  });
  c.removeAllListeners('exit');
  // keep draining output so the child never blocks on a full pipe
  c.stdout!.resume();
  return c;
}

/** SIGKILLs a child and resolves once it is gone. */
export async function killChild(c: ChildProcess): Promise<void> {
  const gone = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGKILL');
  await gone;
}
