import { ForbiddenError } from '../errors.ts';

import { ROLES, type Role } from '@ringmaster/api';

/** Roles in increasing power; each includes the ones before it (the API contract's list). */
export { ROLES, type Role };

/** Who is calling: a token's identity, or a webhook source authenticated by its signature. */
export interface Principal {
  /** Token name, or `webhook:github` etc. */
  name: string;
  tokenId?: string;
  role: Role;
  /** Apps this principal may act on; empty means all. Only deployer and approver are scoped. */
  apps: string[];
  /** Rings this principal may act on; empty means all. */
  rings: string[];
}

export interface Scope {
  app?: string | null;
  ring?: string | null;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Throws ForbiddenError unless the principal has at least `role`, and its app/ring scope covers `scope`. */
export function requireRole(principal: Principal, role: Role, scope: Scope = {}): void {
  if (ROLES.indexOf(principal.role) < ROLES.indexOf(role)) {
    throw new ForbiddenError(`token "${principal.name}" has role ${principal.role}; this call needs ${role} or higher`);
  }
  if (principal.role === 'admin') return;
  if (scope.app && principal.apps.length > 0 && !principal.apps.includes(scope.app)) {
    throw new ForbiddenError(`token "${principal.name}" is not scoped to app "${scope.app}" (allowed: ${principal.apps.join(', ')})`);
  }
  if (scope.ring && principal.rings.length > 0 && !principal.rings.includes(scope.ring)) {
    throw new ForbiddenError(`token "${principal.name}" is not scoped to ring "${scope.ring}" (allowed: ${principal.rings.join(', ')})`);
  }
}

/**
 * The one authorisation check of an action that touches several apps and rings: the principal needs
 * `role`, and its scope must cover every target (each an app and/or ring the action reads or changes).
 * An action that touches nothing scoped needs the role only.
 */
export function requireScopes(principal: Principal, role: Role, targets: Iterable<Scope>): void {
  requireRole(principal, role);
  for (const t of targets) requireRole(principal, role, t);
}

/** True when the principal is limited to some apps or rings (its calls need their targets resolved). */
export function isScoped(principal: Principal): boolean {
  return principal.role !== 'admin' && (principal.apps.length > 0 || principal.rings.length > 0);
}
