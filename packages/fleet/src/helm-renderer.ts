import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { RenderToolError } from './errors.ts';
import { cacheDir, findTool } from './tools.ts';

/** The protocol of tools/helm-renderer this client speaks (its `protocol` constant). */
const PROTOCOL = 1;
/** A process that fails this often in a row while rendering one request fails that request. */
const TRIES = 2;
/** How long close() waits for a child to finish before killing it. */
const CLOSE_GRACE_MS = 2000;

/** One `helm template` as the renderer takes it: the values file's text and every flag as a field. */
export interface HelmRenderRequest {
  chart: string;
  /** Equal keys promise equal chart content at `chart`: the renderer reads such a chart once. */
  chartKey: string;
  release: string;
  namespace: string;
  /** The values file (JSON text, read by Helm's own YAML reader as `--values -` is). */
  values: string;
  includeCRDs: boolean;
  kubeVersion?: string;
  apiVersions?: string[];
  /** The render's time limit. */
  timeoutMs: number;
}

/** What `helm template` printed: its standard output, or its error (as helm prints it, "Error: …"). */
export type HelmRenderResult = { output: string; error?: undefined } | { output?: undefined; error: string; timeout?: boolean };

interface Hello {
  ready: boolean;
  protocol: number;
  helmVersion: string;
  kubeVersion: string;
  workers: number;
}

interface Answer {
  id: number;
  output?: string;
  error?: string;
  timeout?: boolean;
}

interface Pending {
  id: number;
  req: HelmRenderRequest;
  tries: number;
  resolve: (r: HelmRenderResult) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/** One running renderer process and the requests it holds. */
class Child {
  readonly pending = new Map<number, Pending>();
  hello?: Hello;
  /** Set when the process must not be used again (it said so, it hung, or it speaks another protocol). */
  retired = false;
  /** A reason no request should be retried on a new process (the binary itself is wrong). */
  fatal?: string;
  exited = false;
  private buffered = '';
  private stderrTail = '';
  readonly done: Promise<void>;

  constructor(
    readonly proc: ChildProcessWithoutNullStreams,
    onAnswer: (c: Child, line: string) => void,
    onExit: (c: Child, why: string) => void,
  ) {
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      let text = this.buffered + chunk;
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (line) onAnswer(this, line);
      }
      this.buffered = text;
    });
    // Read continuously: a child whose stderr pipe fills up would stop.
    proc.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    proc.stdin.on('error', () => undefined);
    this.done = new Promise((resolve) => {
      let ended = false;
      const end = (why: string) => {
        if (ended) return;
        ended = true;
        this.exited = true;
        onExit(this, why);
        resolve();
      };
      proc.on('error', (e) => end(`cannot run ${proc.spawnfile}: ${e.message}`));
      proc.on('close', (code, signal) => end(`helm-renderer exited (${signal ?? `code ${code}`})${this.stderrTail.trim() ? `: ${this.stderrTail.trim().split('\n').slice(-3).join(' ')}` : ''}`));
    });
    this.idle();
  }

  send(p: Pending): void {
    this.pending.set(p.id, p);
    this.busy();
    const { req } = p;
    this.proc.stdin.write(
      JSON.stringify({ id: p.id, chart: req.chart, chartKey: req.chartKey, release: req.release, namespace: req.namespace, values: req.values, includeCRDs: req.includeCRDs, kubeVersion: req.kubeVersion, apiVersions: req.apiVersions, timeoutMs: req.timeoutMs }) + '\n',
    );
  }

  /** No more requests: the process finishes the renders it holds, then exits. */
  retire(): void {
    this.retired = true;
    this.proc.stdin.end();
  }

  kill(): void {
    this.retired = true;
    this.proc.kill('SIGKILL');
  }

  /** While it holds requests the child keeps Node running; idle, it never does (the caller is done). */
  busy(): void {
    if (this.pending.size !== 1) return;
    this.proc.ref();
    for (const s of [this.proc.stdin, this.proc.stdout, this.proc.stderr]) (s as unknown as { ref?: () => void }).ref?.();
  }

  idle(): void {
    if (this.pending.size !== 0) return;
    this.proc.unref();
    for (const s of [this.proc.stdin, this.proc.stdout, this.proc.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  }
}

/**
 * The client of tools/helm-renderer: a long-lived child started on the first render, sent many
 * renders at once (as many as it has workers, twice over; the rest wait here), replaced when it dies
 * (the renders it held are sent again, once) or when a render ran past its limit (Go cannot stop a
 * running template: the old process finishes its other renders and exits, the runaway with it).
 */
export class HelmRendererClient {
  private child?: Child;
  private readonly children = new Set<Child>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    readonly bin: string,
    private readonly workers = Math.max(1, availableParallelism()),
  ) {}

  /** Renders one chart with one value set, as `helm template` would. */
  render(req: HelmRenderRequest): Promise<HelmRenderResult> {
    if (this.closed) return Promise.reject(new RenderToolError('the helm renderer was closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, req, tries: 0, resolve, reject });
      this.pump();
    });
  }

  /** The renderer's process id while one runs (tests check that a bad render did not replace it). */
  get pid(): number | undefined {
    return this.child?.proc.pid;
  }

  /** Stops every child: each finishes what it holds, or is killed after a grace period. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new RenderToolError('the helm renderer was closed'));
    const all = [...this.children];
    for (const c of all) c.retire();
    await Promise.all(
      all.map(async (c) => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([c.done, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
        clearTimeout(timer);
        if (!c.exited) {
          c.kill();
          await c.done;
        }
      }),
    );
    this.child = undefined;
  }

  private live(): Child {
    if (this.child && !this.child.retired && !this.child.exited) return this.child;
    const proc = spawn(this.bin, ['-workers', String(this.workers)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, HELM_CACHE_HOME: process.env.HELM_CACHE_HOME ?? join(cacheDir(), 'helm-cache') },
    });
    const child = new Child(
      proc,
      (c, line) => this.answer(c, line),
      (c, why) => this.exited(c, why),
    );
    this.children.add(child);
    this.child = child;
    return child;
  }

  private pump(): void {
    while (this.queue.length) {
      const child = this.live();
      if (child.pending.size >= this.workers * 2) return;
      const p = this.queue.shift()!;
      p.tries++;
      // Go answers at the limit; this only catches a process that stopped answering at all.
      p.timer = setTimeout(() => this.hung(child, p), p.req.timeoutMs * 2 + 10_000);
      p.timer.unref();
      child.send(p);
    }
  }

  private answer(child: Child, line: string): void {
    let msg: Answer & Partial<Hello>;
    try {
      msg = JSON.parse(line) as Answer & Partial<Hello>;
    } catch {
      return this.fail(child, `helm-renderer wrote a line that is not JSON: ${line.slice(0, 200)}`);
    }
    if (msg.ready) {
      child.hello = msg as Hello;
      if (msg.protocol !== PROTOCOL) {
        this.fail(child, `${this.bin} speaks protocol ${msg.protocol}, this Ringmaster ${PROTOCOL}: rebuild it with \`npm run setup\``);
      }
      return;
    }
    const p = child.pending.get(msg.id);
    if (!p) return;
    child.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.timeout) {
      // The runaway render still runs in that process: no new work for it.
      if (this.child === child) this.child = undefined;
      child.retire();
    }
    if (typeof msg.output === 'string') p.resolve({ output: msg.output });
    else p.resolve({ error: msg.error ?? 'Error: helm-renderer gave no output', timeout: msg.timeout });
    child.idle();
    this.pump();
  }

  /** The child cannot be used: nothing it held is retried. */
  private fail(child: Child, why: string): void {
    child.fatal = why;
    child.kill();
  }

  private hung(child: Child, p: Pending): void {
    if (!child.pending.delete(p.id)) return;
    p.resolve({ error: `Error: rendering did not finish within ${Math.round(p.req.timeoutMs / 1000)}s and helm-renderer stopped answering`, timeout: true });
    // Its other renders are sent again to a new process when this one is gone.
    child.kill();
  }

  private exited(child: Child, why: string): void {
    this.children.delete(child);
    if (this.child === child) this.child = undefined;
    const retry: Pending[] = [];
    for (const p of child.pending.values()) {
      clearTimeout(p.timer);
      if (!child.fatal && !this.closed && p.tries < TRIES) retry.push(p);
      else p.reject(new RenderToolError(`${child.fatal ?? why} (while rendering release "${p.req.release}" of ${p.req.chart})`));
    }
    child.pending.clear();
    child.idle();
    this.queue.unshift(...retry);
    if (this.queue.length && !this.closed) this.pump();
  }
}

const clients = new Map<string, HelmRendererClient>();

/** The process-wide renderer client (one per binary), or a RenderToolError saying how to build it. */
export function helmRenderer(): HelmRendererClient {
  const found = findTool('helm-renderer', 'RINGMASTER_HELM_RENDERER');
  if (!found.path) {
    throw new RenderToolError(
      `the helm renderer is not built: looked for "helm-renderer" in ${found.tried.join(', ')}. ` +
        'Run `npm run setup` (it builds tools/helm-renderer from Helm\'s Go module), set RINGMASTER_HELM_RENDERER to its path, ' +
        'or set helm: { renderer: template } in ringmaster.yaml to render with `helm template`.',
    );
  }
  let client = clients.get(found.path);
  if (!client) clients.set(found.path, (client = new HelmRendererClient(found.path)));
  return client;
}

/** Stops every helm renderer this process started (tests; a caller that wants its children gone now). */
export async function closeHelmRenderers(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.all(all.map((c) => c.close()));
}
