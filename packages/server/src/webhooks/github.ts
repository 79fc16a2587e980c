import { UnauthenticatedError, InputError } from '../errors.ts';
import type { EventInput } from '../ingest/event-schema.ts';
import { branchOf, compact, hmacSha256Hex, header, isSha, safeEqual, type Headers, type WebhookReceiver } from './receiver.ts';

/** GitHub: X-Hub-Signature-256 = sha256=HMAC(secret, raw body); X-GitHub-Delivery names the delivery. */
export function githubReceiver(secret: string): WebhookReceiver {
  return {
    source: 'github',
    verify(headers, rawBody) {
      const sig = header(headers, 'x-hub-signature-256');
      if (!sig) throw new UnauthenticatedError('X-Hub-Signature-256 header is missing');
      if (!safeEqual(sig, 'sha256=' + hmacSha256Hex(secret, rawBody))) throw new UnauthenticatedError('X-Hub-Signature-256 does not match the body');
    },
    deliveryId(headers) {
      const id = header(headers, 'x-github-delivery');
      if (!id) throw new InputError('X-GitHub-Delivery header is missing', 'headers.x-github-delivery');
      return id;
    },
    translate: translateGithub,
  };
}

export function translateGithub(headers: Headers, p: any): EventInput[] {
  const event = header(headers, 'x-github-event');
  const repository: string | undefined = p?.repository?.full_name;
  switch (event) {
    case 'push': {
      const branch = branchOf(p.ref);
      if (!branch || p.deleted) return [];
      const commits: any[] = Array.isArray(p.commits) ? p.commits : [];
      return commits.filter((c) => isSha(c?.id)).map((c, i) => compact({
        kind: 'commit' as const, repository, branch, commit: c.id,
        // the push's `before` is the parent of its first commit; the last commit carries the range for fleet planning
        previousCommit: i === commits.length - 1 && isSha(p.before) ? p.before : undefined,
        author: c.author?.username ?? c.author?.name, authorEmail: c.author?.email, message: c.message,
        url: c.url, occurredAt: c.timestamp,
      }) as EventInput);
    }
    case 'pull_request': {
      const pr = p.pull_request;
      if (p.action !== 'closed' || !pr?.merged || !isSha(pr.merge_commit_sha)) return [];
      return [compact({
        kind: 'pr.merged' as const, repository, commit: pr.merge_commit_sha, branch: pr.base?.ref,
        author: pr.user?.login, message: pr.title, url: pr.html_url, occurredAt: pr.merged_at,
        data: { number: pr.number, mergedBy: pr.merged_by?.login },
      }) as EventInput];
    }
    case 'workflow_run': {
      const run = p.workflow_run;
      if (!run || !isSha(run.head_sha)) return [];
      const base = {
        repository, commit: run.head_sha, branch: run.head_branch, buildId: `github:${run.id}`, buildUrl: run.html_url,
        author: run.actor?.login, data: { workflow: run.name, attempt: run.run_attempt },
      };
      if (p.action === 'requested' || p.action === 'in_progress') {
        return [compact({ kind: 'build.started' as const, ...base, occurredAt: run.run_started_at ?? run.created_at }) as EventInput];
      }
      if (p.action === 'completed') {
        const status = run.conclusion === 'success' ? 'succeeded' : run.conclusion === 'cancelled' ? 'cancelled'
          : ['failure', 'timed_out', 'startup_failure'].includes(run.conclusion) ? 'failed' : undefined;
        if (!status) return [];
        return [compact({ kind: 'build.finished' as const, ...base, status, occurredAt: run.updated_at }) as EventInput];
      }
      return [];
    }
    case 'package':
    case 'registry_package': {
      const pkg = p.package ?? p.registry_package;
      const version = pkg?.package_version;
      if (p.action !== 'published' || !version) return [];
      const tag = version.container_metadata?.tag;
      const digest = typeof tag?.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(tag.digest) ? tag.digest
        : typeof version.version === 'string' && /^sha256:[0-9a-f]{64}$/.test(version.version) ? version.version : undefined;
      const image: string | undefined = version.package_url ?? (pkg.namespace && pkg.name ? `${pkg.namespace}/${pkg.name}:${tag?.name ?? version.version}` : undefined);
      if (!image) return [];
      return [compact({
        kind: 'image.pushed' as const, repository, image: image.replace(/\s/g, ''), imageDigest: digest,
        // the OCI revision label (set by docker/metadata-action) or the release's target names the source commit
        commit: [version.container_metadata?.labels?.revision, version.target_oid, version.target_commitish].find(isSha),
        author: version.author?.login, occurredAt: version.created_at ?? version.updated_at, url: version.html_url,
      }) as EventInput];
    }
    default:
      return [];
  }
}
