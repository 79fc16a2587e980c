import { UnauthenticatedError, InputError } from '../errors.ts';
import type { EventInput } from '../ingest/event-schema.ts';
import { branchOf, compact, header, isSha, safeEqual, type Headers, type WebhookReceiver } from './receiver.ts';

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
      if (typeof payload?.id !== 'string' || payload.id === '') throw new InputError('the payload has no "id"', 'id');
      return payload.id;
    },
    translate: translateAzure,
  };
}

function repoName(repo: any): string | undefined {
  if (!repo?.name) return undefined;
  return repo.project?.name ? `${repo.project.name}/${repo.name}` : repo.name;
}

export function translateAzure(_headers: Headers, p: any): EventInput[] {
  const r = p?.resource;
  switch (p?.eventType) {
    case 'git.push': {
      const update = (r?.refUpdates ?? []).find((u: any) => branchOf(u?.name));
      const branch = branchOf(update?.name);
      if (!branch) return [];
      const commits: any[] = Array.isArray(r.commits) ? r.commits : [];
      // Azure lists the newest commit first; its range is oldObjectId..newObjectId.
      return commits.filter((c) => isSha(c?.commitId)).map((c) => compact({
        kind: 'commit' as const, repository: repoName(r.repository), branch, commit: c.commitId,
        previousCommit: c.commitId === update.newObjectId && isSha(update.oldObjectId) ? update.oldObjectId : undefined,
        author: c.author?.name, authorEmail: c.author?.email, message: c.comment, url: c.url, occurredAt: c.author?.date,
      }) as EventInput).reverse();
    }
    case 'git.pullrequest.merged': {
      const sha = r?.lastMergeCommit?.commitId;
      if (!isSha(sha) || (r.mergeStatus && r.mergeStatus !== 'succeeded')) return [];
      return [compact({
        kind: 'pr.merged' as const, repository: repoName(r.repository), commit: sha, branch: branchOf(r.targetRefName),
        author: r.createdBy?.uniqueName ?? r.createdBy?.displayName, message: r.title, url: r._links?.web?.href ?? r.url,
        occurredAt: r.closedDate ?? p.createdDate, data: { pullRequestId: r.pullRequestId },
      }) as EventInput];
    }
    case 'build.complete': {
      if (!r || !isSha(r.sourceVersion)) return [];
      const status = r.result === 'succeeded' || r.result === 'partiallySucceeded' ? 'succeeded' : r.result === 'canceled' ? 'cancelled' : r.result === 'failed' ? 'failed' : undefined;
      if (!status) return [];
      return [compact({
        kind: 'build.finished' as const, repository: repoName(r.repository) ?? r.repository?.id, commit: r.sourceVersion,
        branch: branchOf(r.sourceBranch), buildId: `azure:${r.id}`, buildUrl: r._links?.web?.href ?? r.url,
        author: r.requestedFor?.uniqueName ?? r.requestedFor?.displayName, status, occurredAt: r.finishTime ?? p.createdDate,
        data: { buildNumber: r.buildNumber, definition: r.definition?.name },
      }) as EventInput];
    }
    default:
      return [];
  }
}
