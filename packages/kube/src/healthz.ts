import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalKubeError } from './errors.ts';
import { tail, type ProcessGroup } from './processes.ts';

/** GET `url` on loopback; the HTTP status, or undefined when nothing answers. Self-signed serving certificates are accepted. */
export function probe(url: string, timeoutMs = 3_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    // the components' serving certificates are self-signed throwaways on 127.0.0.1
    const req = get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Waits until `url` answers 200; fails early, naming the process and its log, when process `name` exits. */
export async function waitHealthz(url: string, group: ProcessGroup, name: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: number | undefined;
  while (Date.now() < until) {
    const exited = group.exitedError(name);
    if (exited) throw exited;
    last = await probe(url);
    if (last === 200) return;
    await sleep(200);
  }
  throw new LocalKubeError(`${name} was not healthy at ${url} after ${timeoutMs} ms (last answer: ${last ?? 'none'}); its log is ${group.logOf(name)}, last lines:\n${tail(group.logOf(name))}`);
}
