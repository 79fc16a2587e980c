import { z } from 'zod';
import { UnauthenticatedError } from '../errors.ts';
import type { EventInput } from '../ingest/event-schema.ts';
import { branchOf, compact, deliveryIdOf, hmacSha256Hex, header, isSha, safeEqual, type Headers, type WebhookReceiver } from './receiver.ts';
import { emailOf, flag, hostTime, list, numericId, part, text, translateWith, translator, type EventTranslator } from './payload.ts';

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
      return deliveryIdOf(header(headers, 'x-github-delivery'), 'headers.x-github-delivery');
    },
    translate: translateGithub,
  };
}

const user = part({ login: text, name: text, email: text, username: text });
const repository = part({ full_name: text });

/** Per event, the fields Ringmaster reads (docs/api.md lists them). */
const pushPayload = z.object({
  ref: text, before: text, deleted: flag, repository,
  commits: list(z.object({ id: text, message: text, timestamp: text, url: text, author: user })),
});
const pullRequestPayload = z.object({
  action: text, repository,
  pull_request: part({
    merged: flag, merge_commit_sha: text, base: part({ ref: text }), user, title: text, html_url: text, merged_at: text,
    number: numericId, merged_by: user,
  }),
});
const workflowRunPayload = z.object({
  action: text, repository,
  workflow_run: part({
    id: numericId, head_sha: text, head_branch: text, html_url: text, actor: user, name: text, run_attempt: numericId,
    status: text, conclusion: text, run_started_at: text, created_at: text, updated_at: text,
  }),
});
const packagePart = part({
  name: text, namespace: text, package_type: text, ecosystem: text, owner: user, updated_at: text,
  registry: part({ url: text }),
  package_version: part({
    version: text, html_url: text, created_at: text, updated_at: text, author: user, package_url: text,
    container_metadata: part({
      tag: part({ name: text, digest: text }),
      labels: z.record(z.string(), z.unknown()).nullish(),
    }),
  }),
});
const packagePayload = z.object({ action: text, repository, package: packagePart, registry_package: packagePart });

const translators = new Map<string, EventTranslator>([
  ['push', translator(pushPayload, push)],
  ['pull_request', translator(pullRequestPayload, pullRequest)],
  ['workflow_run', translator(workflowRunPayload, workflowRun)],
  ['package', translator(packagePayload, packagePublished)],
  ['registry_package', translator(packagePayload, packagePublished)],
]);

export function translateGithub(headers: Headers, body: Record<string, unknown>): EventInput[] {
  return translateWith(translators, header(headers, 'x-github-event'), body);
}

function push(p: z.output<typeof pushPayload>): EventInput[] {
  const branch = branchOf(p.ref);
  if (!branch || p.deleted) return [];
  const commits = (p.commits ?? []).filter((c) => isSha(c.id));
  return commits.map((c, i) => compact({
    kind: 'commit' as const, repository: p.repository?.full_name, branch, commit: c.id!,
    // the push's `before` is the parent of its first commit; the last commit carries the range for fleet planning
    previousCommit: i === commits.length - 1 && isSha(p.before) ? p.before : undefined,
    author: c.author?.username ?? c.author?.name, authorEmail: emailOf(c.author?.email), message: c.message,
    url: c.url, occurredAt: hostTime(c.timestamp),
  }) as EventInput);
}

function pullRequest(p: z.output<typeof pullRequestPayload>): EventInput[] {
  const pr = p.pull_request;
  if (p.action !== 'closed' || !pr?.merged || !isSha(pr.merge_commit_sha)) return [];
  return [compact({
    kind: 'pr.merged' as const, repository: p.repository?.full_name, commit: pr.merge_commit_sha, branch: pr.base?.ref,
    author: pr.user?.login, message: pr.title, url: pr.html_url, occurredAt: hostTime(pr.merged_at),
    data: { number: pr.number, mergedBy: pr.merged_by?.login },
  }) as EventInput];
}

/** A run waiting for someone's approval has not started; its jobs have not run. */
const WAITING = new Set(['action_required', 'waiting']);
const CONCLUSIONS: Record<string, 'succeeded' | 'failed' | 'cancelled'> = {
  success: 'succeeded', failure: 'failed', timed_out: 'failed', startup_failure: 'failed', cancelled: 'cancelled',
};

function workflowRun(p: z.output<typeof workflowRunPayload>): EventInput[] {
  const run = p.workflow_run;
  if (!run || !isSha(run.head_sha)) return [];
  const base = {
    repository: p.repository?.full_name, commit: run.head_sha, branch: run.head_branch, buildId: `github:${run.id}`, buildUrl: run.html_url,
    author: run.actor?.login, data: { workflow: run.name, attempt: run.run_attempt },
  };
  if (p.action === 'requested' || p.action === 'in_progress') {
    if (WAITING.has(run.status ?? '') || WAITING.has(run.conclusion ?? '')) return [];
    return [compact({ kind: 'build.started' as const, ...base, occurredAt: hostTime(run.run_started_at) ?? hostTime(run.created_at) }) as EventInput];
  }
  const status = p.action === 'completed' && Object.hasOwn(CONCLUSIONS, run.conclusion ?? '') ? CONCLUSIONS[run.conclusion!] : undefined;
  if (!status) return [];
  return [compact({ kind: 'build.finished' as const, ...base, status, occurredAt: hostTime(run.updated_at) }) as EventInput];
}

/** Package types whose versions are container images (`docker` is the registry GitHub had before ghcr.io). */
const IMAGE_TYPES = new Set(['container', 'docker']);
const OCI_REVISION = 'org.opencontainers.image.revision';
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function packagePublished(p: z.output<typeof packagePayload>): EventInput[] {
  const pkg = p.package ?? p.registry_package;
  const version = pkg?.package_version;
  if (p.action !== 'published' || !pkg || !version) return [];
  if (!IMAGE_TYPES.has((pkg.package_type ?? pkg.ecosystem ?? '').toLowerCase())) return [];
  const tag = version.container_metadata?.tag;
  const digest = [tag?.digest, version.version].find((d) => typeof d === 'string' && DIGEST.test(d)) ?? undefined;
  const image = imageReference(pkg, tag?.name, digest);
  if (!image) return [];
  return [compact({
    kind: 'image.pushed' as const, repository: p.repository?.full_name, image, imageDigest: digest,
    // only the OCI revision label names the source commit: `target_oid` of a container is its manifest digest
    commit: revisionLabel(version.container_metadata?.labels),
    author: version.author?.login, url: version.html_url,
    occurredAt: hostTime(version.created_at) ?? hostTime(version.updated_at) ?? hostTime(pkg.updated_at),
  }) as EventInput];
}

type Package = NonNullable<z.output<typeof packagePart>>;

/** registry host / lower-cased namespace and name, then `:tag` or `@digest`; undefined when no valid reference can be made. */
function imageReference(pkg: Package, tag: string | null | undefined, digest: string | undefined): string | undefined {
  const host = hostOf(pkg.registry?.url) ?? hostOf(pkg.package_version?.package_url ? `https://${pkg.package_version.package_url}` : undefined);
  const namespace = pkg.namespace ?? pkg.owner?.login;
  if (!host || !namespace || !pkg.name) return undefined;
  const path = `${namespace}/${pkg.name}`.toLowerCase();
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(path)) return undefined;
  if (tag && /^\w[\w.-]{0,127}$/.test(tag)) return `${host}/${path}:${tag}`;
  return digest ? `${host}/${path}@${digest}` : undefined;
}

function hostOf(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).host.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

/** GitHub lists an image's labels flat, under `all_labels`, and the revision also as `revision`. */
function revisionLabel(labels: Record<string, unknown> | null | undefined): string | undefined {
  if (!labels) return undefined;
  const all = labels.all_labels;
  const candidates = [labels[OCI_REVISION], all && typeof all === 'object' ? (all as Record<string, unknown>)[OCI_REVISION] : undefined, labels.revision];
  return candidates.find(isSha);
}
