import { UnauthenticatedError, InputError } from '../errors.ts';
import type { EventInput } from '../ingest/event-schema.ts';
import { branchOf, compact, header, isSha, safeEqual, type Headers, type WebhookReceiver } from './receiver.ts';

/** GitLab: X-Gitlab-Token carries the shared secret as is; X-Gitlab-Event-UUID names the delivery. */
export function gitlabReceiver(token: string): WebhookReceiver {
  return {
    source: 'gitlab',
    verify(headers) {
      const got = header(headers, 'x-gitlab-token');
      if (!got) throw new UnauthenticatedError('X-Gitlab-Token header is missing');
      if (!safeEqual(got, token)) throw new UnauthenticatedError('X-Gitlab-Token does not match');
    },
    deliveryId(headers) {
      const id = header(headers, 'x-gitlab-event-uuid') ?? header(headers, 'idempotency-key');
      if (!id) throw new InputError('X-Gitlab-Event-UUID header is missing', 'headers.x-gitlab-event-uuid');
      return id;
    },
    translate: translateGitlab,
  };
}

/** GitLab timestamps look like "2026-01-02 10:00:00 UTC" in some hooks; make them ISO 8601. */
function iso(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const d = new Date(v.replace(/ UTC$/, 'Z').replace(/^(\d{4}-\d\d-\d\d) /, '$1T'));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function translateGitlab(headers: Headers, p: any): EventInput[] {
  const event = header(headers, 'x-gitlab-event') ?? '';
  const repository: string | undefined = p?.project?.path_with_namespace;
  if (event === 'Push Hook' || p?.object_kind === 'push') {
    const branch = branchOf(p.ref);
    if (!branch || !isSha(p.after)) return [];
    const commits: any[] = Array.isArray(p.commits) ? p.commits : [];
    // GitLab lists commits oldest first, like GitHub; the newest carries the push range.
    return commits.filter((c) => isSha(c?.id)).map((c) => compact({
      kind: 'commit' as const, repository, branch, commit: c.id,
      previousCommit: c.id === p.after && isSha(p.before) ? p.before : undefined,
      author: c.author?.name, authorEmail: c.author?.email, message: c.message, url: c.url, occurredAt: iso(c.timestamp),
    }) as EventInput);
  }
  if (event === 'Merge Request Hook' || p?.object_kind === 'merge_request') {
    const mr = p.object_attributes;
    if (!mr || mr.action !== 'merge' || !isSha(mr.merge_commit_sha)) return [];
    return [compact({
      kind: 'pr.merged' as const, repository, commit: mr.merge_commit_sha, branch: mr.target_branch,
      author: p.user?.username, message: mr.title, url: mr.url, occurredAt: iso(mr.updated_at),
      data: { iid: mr.iid },
    }) as EventInput];
  }
  if (event === 'Pipeline Hook' || p?.object_kind === 'pipeline') {
    const pl = p.object_attributes;
    if (!pl || !isSha(pl.sha)) return [];
    const base = {
      repository, commit: pl.sha, branch: pl.tag ? undefined : pl.ref, buildId: `gitlab:${pl.id}`, buildUrl: pl.url,
      author: p.user?.username,
    };
    if (pl.status === 'running') return [compact({ kind: 'build.started' as const, ...base, occurredAt: iso(pl.created_at) }) as EventInput];
    const status = pl.status === 'success' ? 'succeeded' : pl.status === 'failed' ? 'failed' : pl.status === 'canceled' ? 'cancelled' : undefined;
    if (!status) return [];
    return [compact({ kind: 'build.finished' as const, ...base, status, occurredAt: iso(pl.finished_at) }) as EventInput];
  }
  return [];
}
