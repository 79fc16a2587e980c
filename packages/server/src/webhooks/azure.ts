import { z } from 'zod';
import { UnauthenticatedError } from '../errors.ts';
import type { EventInput } from '../ingest/event-schema.ts';
import { branchOf, compact, deliveryIdOf, header, isSha, safeEqual, type Headers, type WebhookReceiver } from './receiver.ts';
import { emailOf, hostTime, list, numericId, part, text, translateWith, translator, type EventTranslator } from './payload.ts';

export interface AzureWebhookAuth {
  /** Basic authentication configured on the service hook subscription. */
  username?: string;
  password?: string;
  /** Or a shared secret sent in a custom header (X-Ringmaster-Secret) configured on the subscription. */
  secret?: string;
}

export const AZURE_SECRET_HEADER = 'x-ringmaster-secret';

/** Azure DevOps service hooks: basic auth or a shared secret header; the payload's `id` names the delivery. */
export function azureReceiver(auth: AzureWebhookAuth): WebhookReceiver {
  return {
    source: 'azure',
    verify(headers) {
      const secret = header(headers, AZURE_SECRET_HEADER);
      if (auth.secret && secret !== undefined) {
        if (!safeEqual(secret, auth.secret)) throw new UnauthenticatedError(`${AZURE_SECRET_HEADER} does not match`);
        return;
      }
      const authz = header(headers, 'authorization');
      if (auth.username !== undefined && auth.password !== undefined && authz?.startsWith('Basic ')) {
        const expected = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
        if (!safeEqual(authz.slice(6).trim(), expected)) throw new UnauthenticatedError('basic credentials do not match');
        return;
      }
      throw new UnauthenticatedError(`basic credentials or the ${AZURE_SECRET_HEADER} header are required`);
    },
    deliveryId(_headers, payload) {
      return deliveryIdOf(payload.id, 'id');
    },
    translate: translateAzure,
  };
}

const repository = part({ id: text, name: text, project: part({ name: text }) });
/** An Azure DevOps identity (IdentityRef): `displayName` is the person's name, `uniqueName` usually their e-mail. */
const identity = part({ displayName: text, uniqueName: text });
const links = part({ web: part({ href: text }) });

/** Per event type, the fields of `resource` Ringmaster reads (docs/api.md lists them). */
const pushResource = z.object({
  repository,
  refUpdates: list(z.object({ name: text, oldObjectId: text, newObjectId: text })),
  commits: list(z.object({ commitId: text, comment: text, url: text, author: part({ name: text, email: text, date: text }) })),
});
const pullRequestResource = z.object({
  repository, lastMergeCommit: part({ commitId: text }), mergeStatus: text, targetRefName: text, createdBy: identity,
  title: text, _links: links, url: text, closedDate: text, pullRequestId: numericId,
});
const buildResource = z.object({
  id: numericId, buildNumber: text, url: text, _links: links, finishTime: text, repository, definition: part({ name: text }),
  // resourceVersion 2.0: `result` and `sourceVersion`; 1.0: the outcome in `status`, the commit in `sourceGetVersion`
  result: text, status: text, sourceBranch: text, sourceVersion: text, sourceGetVersion: text,
  requestedFor: identity, requests: list(z.object({ requestedFor: identity })),
});
const envelope = <T extends z.ZodType>(resource: T) => z.object({ eventType: text, createdDate: text, resource: resource.nullish() });
const pushPayload = envelope(pushResource);
const pullRequestPayload = envelope(pullRequestResource);
const buildPayload = envelope(buildResource);

function repoName(repo: z.output<typeof repository>): string | undefined {
  if (!repo?.name) return undefined;
  return repo.project?.name ? `${repo.project.name}/${repo.name}` : repo.name;
}

/** The person behind an identity, named as pushes name commit authors (their display name). */
function person(who: z.output<typeof identity>): { author?: string; authorEmail?: string } {
  return { author: who?.displayName ?? who?.uniqueName ?? undefined, authorEmail: emailOf(who?.uniqueName) };
}

const translators = new Map<string, EventTranslator>([
  ['git.push', translator(pushPayload, push)],
  ['git.pullrequest.merged', translator(pullRequestPayload, pullRequestMerged)],
  ['build.complete', translator(buildPayload, buildComplete)],
]);

export function translateAzure(_headers: Headers, body: Record<string, unknown>): EventInput[] {
  return translateWith(translators, body.eventType, body);
}

function push(p: z.output<typeof pushPayload>): EventInput[] {
  const r = p.resource;
  const update = (r?.refUpdates ?? []).find((u) => branchOf(u.name));
  const branch = branchOf(update?.name);
  if (!r || !update || !branch) return [];
  // Azure lists the newest commit first; its range is oldObjectId..newObjectId.
  return (r.commits ?? []).filter((c) => isSha(c.commitId)).map((c) => compact({
    kind: 'commit' as const, repository: repoName(r.repository), branch, commit: c.commitId!,
    previousCommit: c.commitId === update.newObjectId && isSha(update.oldObjectId) ? update.oldObjectId : undefined,
    author: c.author?.name, authorEmail: emailOf(c.author?.email), message: c.comment, url: c.url, occurredAt: hostTime(c.author?.date),
  }) as EventInput).reverse();
}

function pullRequestMerged(p: z.output<typeof pullRequestPayload>): EventInput[] {
  const r = p.resource;
  const sha = r?.lastMergeCommit?.commitId;
  if (!r || !isSha(sha) || (r.mergeStatus && r.mergeStatus !== 'succeeded')) return [];
  return [compact({
    kind: 'pr.merged' as const, repository: repoName(r.repository), commit: sha, branch: branchOf(r.targetRefName),
    ...person(r.createdBy), message: r.title, url: r._links?.web?.href ?? r.url,
    occurredAt: hostTime(r.closedDate) ?? hostTime(p.createdDate), data: { pullRequestId: r.pullRequestId },
  }) as EventInput];
}

/** `result` (2.0) or `status` (1.0) → the build's outcome; 1.0 says `stopped` for a cancelled build. */
const OUTCOMES: Record<string, 'succeeded' | 'failed' | 'cancelled'> = {
  succeeded: 'succeeded', partiallySucceeded: 'succeeded', failed: 'failed', canceled: 'cancelled', stopped: 'cancelled',
};
/** 1.0's `sourceGetVersion` of a Git build: `LG:<ref>:<commit>`. */
const GIT_SOURCE = /^LG:(refs\/[^:]+):([0-9a-f]{40}|[0-9a-f]{64})$/i;

function buildComplete(p: z.output<typeof buildPayload>): EventInput[] {
  const r = p.resource;
  if (!r) return [];
  const source = GIT_SOURCE.exec(r.sourceGetVersion ?? '');
  const commit = isSha(r.sourceVersion) ? r.sourceVersion : source?.[2];
  const outcome = r.result ?? r.status ?? '';
  const status = Object.hasOwn(OUTCOMES, outcome) ? OUTCOMES[outcome] : undefined;
  if (!commit || !status) return [];
  return [compact({
    kind: 'build.finished' as const, repository: repoName(r.repository) ?? r.repository?.id, commit,
    branch: branchOf(r.sourceBranch) ?? branchOf(source?.[1]), buildId: `azure:${r.id}`, buildUrl: r._links?.web?.href ?? r.url,
    author: person(r.requestedFor ?? r.requests?.[0]?.requestedFor).author, status,
    occurredAt: hostTime(r.finishTime) ?? hostTime(p.createdDate),
    data: { buildNumber: r.buildNumber, definition: r.definition?.name },
  }) as EventInput];
}
