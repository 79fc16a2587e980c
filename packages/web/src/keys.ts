/**
 * The dashboard's query keys, and which live updates touch which of them: a live update
 * invalidates only the queries it concerns (see live.ts), so a busy fleet does not reload every view.
 */

/** What GET /api/v1/stream announces: the kinds of events recorded and the objects they name. */
import type { LiveUpdate } from '@ringmaster/api';
export type { LiveUpdate };

/** Filter values as a view reads them from its URL. */
export type FilterValues = Record<string, string | null>;

export type QueryKeyOf =
  | readonly ['facets']
  | readonly ['changes', { filters: FilterValues; cursor: string | null }]
  | readonly ['change', string]
  | readonly ['fleet', { filters: FilterValues; page: number; drift: boolean }]
  | readonly ['cluster', string, { app: string | null; cursor: string | null }]
  | readonly ['instance', string, string]
  | readonly ['drift', string, string]
  | readonly ['nodes', string, string]
  | readonly ['releases', { state: string | null; before: string | null }]
  | readonly ['release', string]
  | readonly ['metrics', FilterValues]
  | readonly ['requests', { state: string | null; kind: string | null }]
  | readonly ['request', string]
  | readonly ['request-logs', string, string];

export const keys = {
  facets: () => ['facets'] as const,
  changes: (filters: FilterValues, cursor: string | null) => ['changes', { filters, cursor }] as const,
  change: (id: string) => ['change', id] as const,
  fleet: (filters: FilterValues, page: number, drift: boolean) => ['fleet', { filters, page, drift }] as const,
  cluster: (cluster: string, app: string | null, cursor: string | null) => ['cluster', cluster, { app, cursor }] as const,
  instance: (cluster: string, instance: string) => ['instance', cluster, instance] as const,
  drift: (cluster: string, instance: string) => ['drift', cluster, instance] as const,
  nodes: (cluster: string, instance: string) => ['nodes', cluster, instance] as const,
  releases: (state: string | null, before: string | null) => ['releases', { state, before }] as const,
  release: (id: string) => ['release', id] as const,
  metrics: (choice: FilterValues) => ['metrics', choice] as const,
  requests: (state: string | null, kind: string | null) => ['requests', { state, kind }] as const,
  request: (id: string) => ['request', id] as const,
  /** A request's log lines as of one state of the request: read again when the state changes. */
  requestLogs: (id: string, state: string) => ['request-logs', id, state] as const,
} satisfies Record<string, (...args: never[]) => QueryKeyOf>;

/** The reconnection pseudo-update: events recorded while the stream was down were not announced. */
export function reconnected(at: string): LiveUpdate {
  return { kinds: ['reconnected'], changes: [], clusters: [], releases: [], at };
}

/** Whether a live update (or a reconnection) makes what a query holds out of date. */
export function touches(key: QueryKeyOf, u: LiveUpdate): boolean {
  const again = u.kinds.includes('reconnected');
  switch (key[0]) {
    // filter choices change rarely: read once per page load
    case 'facets':
      return false;
    // the first page of the board follows every update; deeper pages stay put while someone reads them
    case 'changes':
      return key[1].cursor === null;
    case 'change':
      return again || u.changes.includes(key[1]);
    case 'fleet':
      return again || u.clusters.length > 0;
    case 'cluster':
    case 'instance':
    case 'drift':
    case 'nodes':
      return again || u.clusters.includes(key[1]);
    case 'releases':
      return again || (key[1].before === null && u.releases.length > 0);
    case 'release':
      return again || u.releases.includes(key[1]) || u.kinds.includes('promotion.step');
    // DORA moves only when something reaches a ring: health events, not every build
    case 'metrics':
      return again || u.kinds.includes('health');
    case 'requests':
    case 'request':
      return again || u.kinds.includes('request');
    // read again when the request's state changes (its key), not on events
    case 'request-logs':
      return false;
  }
}
