/** The control plane's HTTP API, as the dashboard uses it; the token lives in sessionStorage only. */
import { ApiError, ROLES, type Me, type Role } from '@ringmaster/api';

const TOKEN_KEY = 'ringmaster.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export { ApiError };

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
    throw new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? `${res.status} ${res.statusText}`, e.field, e.details);
  }
  return body as T;
}

export { ROLES, type Me, type Role };

/** Mirrors the server's rule (the server refuses anyway): at least `role`, and scoped to the app and ring. */
export function may(me: Me | null, role: Role, scope: { app?: string | null; ring?: string | null } = {}): boolean {
  if (!me) return false;
  if (ROLES.indexOf(me.role) < ROLES.indexOf(role)) return false;
  if (me.role === 'admin') return true;
  if (scope.app && me.apps.length > 0 && !me.apps.includes(scope.app)) return false;
  if (scope.ring && me.rings.length > 0 && !me.rings.includes(scope.ring)) return false;
  return true;
}

// The API's shapes are the contract's (@ringmaster/api): one definition for the server, the dashboard and the CLI.
export type {
  ApprovalWait, AppInfo, Board, BoardRow, ChangeDetail, ChangeEta as Eta, Dora, Facets, FleetAppCell, FleetCell, FleetGroup, FleetMatrix,
  RingCell, RingReach, StageCell, TargetState, TimelineEntry,
} from '@ringmaster/api';
