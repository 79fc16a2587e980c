/**
 * Which app a repository belongs to and which team owns an app, cached across requests for a few
 * seconds: every ingested commit needs them and they change rarely. The server clears the cache when
 * the mapping is changed through the API; another replica's change shows within `ttlMs`.
 */
export class AppDirectory {
  private readonly entries = new Map<string, { value: string | null; until: number }>();

  constructor(private readonly ttlMs = 5000) {}

  get(kind: 'app' | 'team', key: string): { value: string | null } | undefined {
    const e = this.entries.get(`${kind}\0${key}`);
    if (!e || e.until < Date.now()) return undefined;
    return { value: e.value };
  }

  set(kind: 'app' | 'team', key: string, value: string | null): void {
    if (this.entries.size > 50_000) this.entries.clear();
    this.entries.set(`${kind}\0${key}`, { value, until: Date.now() + this.ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }
}
