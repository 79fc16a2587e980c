import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** True while a process with this pid exists. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Runs a fixture that starts servers and hangs; resolves with the JSON line it reports and the child to kill. */
export async function startHangingFixture<T>(fixture: string): Promise<{ child: ChildProcess; started: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`fixture exited with ${code} before reporting`)));
  });
  return { child, started: JSON.parse(line) as T };
}
