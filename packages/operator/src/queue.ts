/** Options of WorkQueue. */
export interface WorkQueueOptions {
  /** First retry delay after a failure (default 200 ms); doubles per consecutive failure of the key. */
  baseDelayMs?: number;
  /** Longest retry delay (default 30 s). */
  maxDelayMs?: number;
  /** Keys worked on at once (default 4); one key is never worked on twice at the same time. */
  concurrency?: number;
  onError?: (key: string, err: unknown, attempt: number) => void;
}

/**
 * A rate-limited work queue of keys, as client-go's: a key added while it is being worked on is
 * worked on again once, afterwards (never concurrently); a failed key is retried with bounded
 * exponential backoff; `after` asks for a later look (e.g. a step's deadline).
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly base: number;
  private readonly max: number;
  private readonly concurrency: number;

  constructor(private readonly work: (key: string) => Promise<void>, private readonly opts: WorkQueueOptions = {}) {
    this.base = opts.baseDelayMs ?? 200;
    this.max = opts.maxDelayMs ?? 30_000;
    this.concurrency = opts.concurrency ?? 4;
  }

  /** Asks for `key` to be worked on (deduplicated). */
  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Asks for `key` to be worked on after `ms` (an earlier request for the same key wins). */
  after(key: string, ms: number): void {
    if (this.stopped || this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  /** Resolves when nothing is queued, being worked on or waiting for a retry timer. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Number of keys waiting (queued, not yet worked on). */
  get depth(): number {
    return this.queue.length;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.notifyIdle();
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.active.size === 0 && this.timers.size === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle() && !this.stopped) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.work(key);
      this.failures.delete(key);
    } catch (err) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.opts.onError?.(key, err, attempt);
      const delay = Math.min(this.base * 2 ** (attempt - 1), this.max);
      const old = this.timers.get(key);
      if (old) clearTimeout(old);
      this.timers.delete(key);
      this.after(key, delay);
    } finally {
      this.active.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
      this.notifyIdle();
    }
  }
}
