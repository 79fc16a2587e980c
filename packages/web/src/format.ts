/** Short human durations: 45s, 12m, 3h 5m, 2d 4h. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

export function between(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  return Date.parse(to) - Date.parse(from);
}

// Intl formatters are costly to build and a page formats thousands of times: build each once.
const timeFormat = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat([], { month: 'short', day: 'numeric' });
const DAY_MS = 86_400_000;

/** Time of day for today, else date and time; always in the viewer's zone, with the full ISO time as a tooltip. */
export function when(isoTime: string | null | undefined): string {
  if (!isoTime) return '–';
  const t = Date.parse(isoTime);
  const d = new Date(t);
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const sameDay = t >= midnight.getTime() && t < midnight.getTime() + DAY_MS;
  const time = timeFormat.format(d);
  return sameDay ? time : `${dayFormat.format(d)} ${time}`;
}

export function ago(isoTime: string | null | undefined): string {
  if (!isoTime) return '–';
  const ms = Date.now() - Date.parse(isoTime);
  return ms >= 0 ? `${duration(ms)} ago` : `in ${duration(-ms)}`;
}

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 8) : '–';
}

export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '–' : `${Math.round(rate * 1000) / 10}%`;
}

/** Time-range choices kept in the URL as `since`; turned into an ISO `from` for the API. */
export const RANGES: Record<string, number> = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, '90d': 90 * 86_400_000 };
export function sinceToFrom(since: string | null): string | undefined {
  const ms = since ? RANGES[since] : undefined;
  return ms ? new Date(Date.now() - ms).toISOString() : undefined;
}

/** The API's from/to for a view: picked days (local midnight to midnight) win over a relative range. */
export function timeWindow(params: URLSearchParams): { from?: string; to?: string } {
  const day = (v: string | null, plusDays: number) => {
    if (!v || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return undefined;
    const [y, m, d] = v.split('-').map(Number) as [number, number, number];
    return new Date(y, m - 1, d + plusDays).toISOString();
  };
  const from = day(params.get('from'), 0);
  const to = day(params.get('to'), 1);
  if (from || to) return { from, to };
  return { from: sinceToFrom(params.get('since')) };
}

/** The version an image reference runs: its tag (`registry:5000/shop:2.1` → `2.1`), else a short digest, else "latest". */
export function versionOf(image: string): string {
  const at = image.indexOf('@');
  const name = (at >= 0 ? image.slice(0, at) : image).split('/').pop() ?? '';
  const colon = name.indexOf(':');
  if (colon >= 0) return name.slice(colon + 1);
  return at >= 0 ? image.slice(at + 1, at + 1 + 'sha256:'.length + 8) : 'latest';
}
