/** The control plane's HTTP API, as the dashboard uses it; the token lives in sessionStorage only. */

const TOKEN_KEY = 'ringmaster.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
}

/** Drops empty values so that URLs and queries carry only what was chosen. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, {
    method: init.method ?? 'GET', headers, signal: init.signal,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: any = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const e = body?.error ?? {};
    // a token revoked or unknown mid-session: back to the sign-in form
    if (res.status === 401 && getToken()) window.dispatchEvent(new CustomEvent('ringmaster:unauthenticated', { detail: e.message }));
    throw new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? `${res.status} ${res.statusText}`, e.field);
  }
  return body as T;
}

export type Role = 'viewer' | 'deployer' | 'approver' | 'admin';
export const ROLES: Role[] = ['viewer', 'deployer', 'approver', 'admin'];

export interface Me {
  name: string;
  role: Role;
  apps: string[];
  rings: string[];
}

/** Mirrors the server's rule (the server refuses anyway): at least `role`, and scoped to the app and ring. */
export function may(me: Me | null, role: Role, scope: { app?: string | null; ring?: string | null } = {}): boolean {
  if (!me) return false;
  if (ROLES.indexOf(me.role) < ROLES.indexOf(role)) return false;
  if (me.role === 'admin') return true;
  if (scope.app && me.apps.length > 0 && !me.apps.includes(scope.app)) return false;
  if (scope.ring && me.rings.length > 0 && !me.rings.includes(scope.ring)) return false;
  return true;
}

export interface StageCell {
  startedAt: string | null;
  finishedAt: string | null;
  status: string | null;
  url: string | null;
  ref: string | null;
}

/** A release that waits for a person: which ring, since when, who may approve. */
export interface ApprovalWait {
  kind: 'approval';
  release: string;
  ring: string;
  since: string;
  who: string;
}

/** A ring a change reached: n of m targets healthy; complete once all are. */
export interface RingReach {
  ring: string;
  reachedAt: string;
  targets: number;
  healthy: number;
  completedAt: string | null;
}

export interface RingCell {
  targets: number;
  synced: number;
  healthy: number;
  failed: number;
  rolledBack: number;
  waiting: number;
  notReached: number;
  reachedAt: string | null;
  completedAt: string | null;
  /** The ring's own gate as promotion steps report it: waiting (for approval), started, succeeded, failed. */
  gate: string | null;
  eta: { expectedAt: string | null; expectedAtP90: string | null; medianMs: number | null; samples: number; waitingFor: ApprovalWait | null } | null;
}

export interface BoardRow {
  id: string;
  app: string | null;
  team: string | null;
  repository: string | null;
  commit: string;
  title: string | null;
  author: string | null;
  authorEmail: string | null;
  branch: string | null;
  stage: string;
  status: string;
  committedAt: string;
  updatedAt: string;
  buildId: string | null;
  buildUrl: string | null;
  image: string | null;
  imageDigest: string | null;
  fleetRevision: string | null;
  release: string | null;
  failedAt: string | null;
  rings: RingReach[];
  waiting: ApprovalWait | null;
  stages: Record<'commit' | 'build' | 'image' | 'config' | 'release', StageCell>;
  pullRequestUrl: string | null;
  commitUrl: string | null;
  ringCells: Record<string, RingCell>;
}

export interface Board {
  rings: string[];
  items: BoardRow[];
  nextCursor: string | null;
}

export interface TimelineEntry {
  id: number;
  kind: string;
  source: string;
  occurredAt: string;
  repository: string | null;
  commit: string | null;
  buildId: string | null;
  image: string | null;
  release: string | null;
  ring: string | null;
  cluster: string | null;
  instance: string | null;
  status: string | null;
  url: string | null;
  author: string | null;
  message: string | null;
}

export interface TargetState {
  cluster: string;
  instance: string;
  app: string | null;
  ring: string | null;
  state: string;
  manifestCommit: string | null;
  release: string | null;
  image: string | null;
  syncedAt: string | null;
  healthyAt: string | null;
  updatedAt: string;
}

export interface ChangeDetail extends Omit<BoardRow, 'stages' | 'ringCells' | 'pullRequestUrl' | 'commitUrl'> {
  timeline: TimelineEntry[];
  targets: TargetState[];
}

export interface Eta {
  change: string;
  status: string;
  reached: string[];
  waiting: ApprovalWait | null;
  remaining: Array<{ ring: string; medianMs: number | null; p90Ms: number | null; samples: number; expectedAt: string | null; expectedAtP90: string | null; waitingFor: ApprovalWait | null }>;
  successRate: { rate: number | null; succeeded: number; samples: number };
}

export interface AppInfo {
  app: string;
  team: string | null;
  contacts: string[];
  repositories: string[];
}

export interface FleetCell {
  instance: string;
  release: string | null;
  image: string | null;
  revision: string | null;
  change: string | null;
  sync: string | null;
  health: string | null;
  drift: boolean;
  updatedAt: string;
}

export interface FleetAppCell {
  instances: FleetCell[];
  more: number;
  healthy: number;
  degraded: number;
  drifted: number;
}

export interface FleetGroup {
  ring: string | null;
  region: string | null;
  clusters: number;
  instances: number;
  healthy: number;
  synced: number;
  degraded: number;
  drifted: number;
}

export interface FleetMatrix {
  rings: string[];
  apps: Array<{ app: string; instances: number; clusters: number }>;
  groups: FleetGroup[];
  total: number;
  offset: number;
  limit: number;
  clusters: Array<{ cluster: string; ring: string | null; region: string | null; instances: number; synced: number; healthy: number; degraded: number; drifted: number; cells: Record<string, FleetAppCell> }>;
}

export interface Facets {
  apps: string[];
  teams: string[];
  rings: string[];
  regions: string[];
  clusters: string[];
  authors: string[];
  branches: string[];
}

export interface Dora {
  app: string | null;
  team: string | null;
  ring: string;
  window: { from: string; to: string; days: number };
  deploymentFrequency: { deployments: number; perDay: number | null };
  leadTime: { medianMs: number | null; p90Ms: number | null; samples: number };
  changeFailureRate: { failed: number; deployments: number; rate: number | null };
  timeToRestore: { medianMs: number | null; p90Ms: number | null; samples: number; open: number };
}
