import { z } from 'zod';
import { UnauthenticatedError } from '../errors.ts';
import type { EventInput } from '../ingest/event-schema.ts';
import { branchOf, compact, deliveryIdOf, header, isSha, safeEqual, type Headers, type WebhookReceiver } from './receiver.ts';
import { emailOf, flag, hostTime, list, numericId, part, text, translateWith, translator, type EventTranslator } from './payload.ts';

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
      return deliveryIdOf(header(headers, 'x-gitlab-event-uuid') ?? header(headers, 'idempotency-key'), 'headers.x-gitlab-event-uuid');
    },
    translate: translateGitlab,
  };
}

const project = part({ path_with_namespace: text });
const person = part({ name: text, email: text, username: text });

/** Per hook, the fields Ringmaster reads (docs/api.md lists them). */
const pushPayload = z.object({
  object_kind: text, ref: text, before: text, after: text, project,
  commits: list(z.object({ id: text, message: text, timestamp: text, url: text, author: person })),
});
const mergeRequestPayload = z.object({
  object_kind: text, project, user: person,
  object_attributes: part({ action: text, merge_commit_sha: text, target_branch: text, title: text, url: text, updated_at: text, iid: numericId }),
});
const pipelinePayload = z.object({
  object_kind: text, project, user: person,
  object_attributes: part({ id: numericId, sha: text, ref: text, tag: flag, url: text, status: text, created_at: text, finished_at: text }),
  commit: part({ id: text, message: text, timestamp: text, url: text, author: person }),
});

// keyed by X-Gitlab-Event and by the payload's object_kind (hooks sent without the header)
const translators = new Map<string, EventTranslator>([
  ['Push Hook', translator(pushPayload, push)], ['push', translator(pushPayload, push)],
  ['Merge Request Hook', translator(mergeRequestPayload, mergeRequest)], ['merge_request', translator(mergeRequestPayload, mergeRequest)],
  ['Pipeline Hook', translator(pipelinePayload, pipeline)], ['pipeline', translator(pipelinePayload, pipeline)],
]);

export function translateGitlab(headers: Headers, body: Record<string, unknown>): EventInput[] {
  const event = header(headers, 'x-gitlab-event');
  return translateWith(translators, event !== undefined && translators.has(event) ? event : body.object_kind, body);
}

type Commit = NonNullable<z.output<typeof pipelinePayload>['commit']>;

/** A commit as GitLab describes it in push and pipeline hooks. */
function commitEvent(repository: string | null | undefined, branch: string | undefined, c: Commit): EventInput {
  return compact({
    kind: 'commit' as const, repository, branch, commit: c.id!,
    author: c.author?.name, authorEmail: emailOf(c.author?.email), message: c.message, url: c.url, occurredAt: hostTime(c.timestamp),
  }) as EventInput;
}

function push(p: z.output<typeof pushPayload>): EventInput[] {
  const branch = branchOf(p.ref);
  if (!branch || !isSha(p.after)) return [];
  // GitLab lists commits oldest first, like GitHub; the newest carries the push range.
  return (p.commits ?? []).filter((c) => isSha(c.id)).map((c) => compact({
    ...commitEvent(p.project?.path_with_namespace, branch, c),
    previousCommit: c.id === p.after && isSha(p.before) ? p.before : undefined,
  }) as EventInput);
}

function mergeRequest(p: z.output<typeof mergeRequestPayload>): EventInput[] {
  const mr = p.object_attributes;
  if (!mr || mr.action !== 'merge' || !isSha(mr.merge_commit_sha)) return [];
  return [compact({
    kind: 'pr.merged' as const, repository: p.project?.path_with_namespace, commit: mr.merge_commit_sha, branch: mr.target_branch,
    author: p.user?.username, message: mr.title, url: mr.url, occurredAt: hostTime(mr.updated_at),
    data: { iid: mr.iid },
  }) as EventInput];
}

const PIPELINE_STATUS: Record<string, 'succeeded' | 'failed' | 'cancelled'> = { success: 'succeeded', failed: 'failed', canceled: 'cancelled' };

function pipeline(p: z.output<typeof pipelinePayload>): EventInput[] {
  const pl = p.object_attributes;
  if (!pl || !isSha(pl.sha)) return [];
  const repository = p.project?.path_with_namespace;
  const branch = pl.tag ? undefined : pl.ref ?? undefined;
  // The hook describes the commit too (author, time, message): a change first seen through its
  // pipeline takes them. Keyed, so the pipeline's later deliveries do not repeat it.
  const commit = p.commit && p.commit.id === pl.sha
    ? [{ ...commitEvent(repository, branch, p.commit), idempotencyKey: `gitlab:pipeline-commit:${pl.sha}` }] : [];
  const base = { repository, commit: pl.sha, branch, buildId: `gitlab:${pl.id}`, buildUrl: pl.url, author: p.user?.username };
  if (pl.status === 'running') return [...commit, compact({ kind: 'build.started' as const, ...base, occurredAt: hostTime(pl.created_at) }) as EventInput];
  const status = Object.hasOwn(PIPELINE_STATUS, pl.status ?? '') ? PIPELINE_STATUS[pl.status!] : undefined;
  if (!status) return [];
  return [...commit, compact({ kind: 'build.finished' as const, ...base, status, occurredAt: hostTime(pl.finished_at) }) as EventInput];
}
