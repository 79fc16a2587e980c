import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Storage } from '../storage/storage.ts';
import { ConflictError, InputError, NotFoundError } from '../errors.ts';
import { isRole, ROLES, type Principal, type Role } from './roles.ts';
import type { TokenInfo } from '@ringmaster/api';
export type { TokenInfo };

export const TOKEN_PREFIX = 'rmt_';

export interface CreateTokenInput {
  name: string;
  role: Role;
  apps?: string[];
  rings?: string[];
  createdBy?: string;
}

/** Only the SHA-256 of a token is stored; the token itself is shown once, at creation. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Creates a bearer token and returns it in clear text, once. */
export async function createToken(storage: Storage, input: CreateTokenInput): Promise<{ token: string; info: TokenInfo }> {
  if (!isRole(input.role)) throw new InputError(`role must be one of ${ROLES.join(', ')} (got "${String(input.role)}")`, 'role');
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$/.test(input.name)) {
    throw new InputError('name must be 1-200 characters of letters, digits, ".", "_", "@" or "-"', 'name');
  }
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = randomUUID();
  const now = Date.now();
  const existing = await storage.db.selectFrom('tokens').select('id').where('name', '=', input.name).executeTakeFirst();
  if (existing) throw new ConflictError(`a token named "${input.name}" exists already; revoke it or choose another name`);
  await storage.db.insertInto('tokens').values({
    id, name: input.name, role: input.role,
    apps: input.apps?.length ? JSON.stringify(input.apps) : null,
    rings: input.rings?.length ? JSON.stringify(input.rings) : null,
    token_hash: hashToken(token), created_at: now, created_by: input.createdBy ?? null, revoked_at: null,
  }).execute();
  return {
    token,
    info: { id, name: input.name, role: input.role, apps: input.apps ?? [], rings: input.rings ?? [], createdAt: new Date(now).toISOString(), createdBy: input.createdBy ?? null, revokedAt: null },
  };
}

export async function listTokens(storage: Storage): Promise<TokenInfo[]> {
  const rows = await storage.db.selectFrom('tokens').selectAll().orderBy('created_at').execute();
  return rows.map((r) => ({
    id: r.id, name: r.name, role: r.role as Role, apps: parseList(r.apps), rings: parseList(r.rings),
    createdAt: new Date(r.created_at).toISOString(), createdBy: r.created_by, revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  }));
}

export async function revokeToken(storage: Storage, id: string): Promise<void> {
  const res = await storage.db.updateTable('tokens').set({ revoked_at: Date.now() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) throw new NotFoundError(`no live token with id "${id}"`);
}

function parseList(v: string | null): string[] {
  return v ? (JSON.parse(v) as string[]) : [];
}

/**
 * Resolves bearer tokens to principals. Lookups are cached for a few seconds because every
 * ingested event is authenticated; a revoked token therefore stops working within `ttlMs`.
 */
export class TokenAuthenticator {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  constructor(private readonly storage: Storage, private readonly ttlMs = 5000) {}

  async authenticate(token: string): Promise<Principal | null> {
    const hash = hashToken(token);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.principal;
    const row = await this.storage.db.selectFrom('tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    const principal: Principal | null = row && row.revoked_at === null
      ? { name: row.name, tokenId: row.id, role: row.role as Role, apps: parseList(row.apps), rings: parseList(row.rings) }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + this.ttlMs });
    return principal;
  }

  forget(): void {
    this.cache.clear();
  }
}
