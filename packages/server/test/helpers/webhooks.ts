import { createHash, createHmac } from 'node:crypto';
import type { TestServer } from './harness.ts';

/** The shared secrets the webhook tests configure, and senders that sign as each host signs. */
export const GITHUB_SECRET = 'gh-hook-secret-for-tests';
export const GITLAB_TOKEN = 'gl-hook-token-for-tests';
export const AZURE = { username: 'ringmaster-hook', password: 'az-hook-password', secret: 'az-hook-header-secret' };
export const WEBHOOKS = { github: { secret: GITHUB_SECRET }, gitlab: { token: GITLAB_TOKEN }, azure: AZURE };

/** A stable, distinct 40-hex commit id per label. */
export function sha(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}

/** A stable `sha256:` digest per label. */
export function digest(label: string): string {
  return 'sha256:' + createHash('sha256').update(label).digest('hex');
}

let seq = 0;
const body = (payload: unknown) => Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));

/** POSTs a GitHub delivery signed with X-Hub-Signature-256 (HMAC-SHA256 of the raw body). */
export function sendGithub(s: TestServer, event: string, payload: unknown, delivery = `gh-${++seq}`) {
  const raw = body(payload);
  return s.call('POST', '/api/v1/webhooks/github', {
    token: null, raw,
    headers: {
      'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': delivery,
      'x-hub-signature-256': 'sha256=' + createHmac('sha256', GITHUB_SECRET).update(raw).digest('hex'),
    },
  });
}

/** POSTs a GitLab delivery with the shared X-Gitlab-Token. */
export function sendGitlab(s: TestServer, event: string, payload: unknown, uuid = `gl-${++seq}`) {
  return s.call('POST', '/api/v1/webhooks/gitlab', {
    token: null, raw: body(payload),
    headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': GITLAB_TOKEN, 'x-gitlab-event-uuid': uuid },
  });
}

/** POSTs an Azure DevOps service-hook delivery with basic authentication. */
export function sendAzure(s: TestServer, payload: unknown) {
  return s.call('POST', '/api/v1/webhooks/azure', {
    token: null, raw: body(payload),
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(`${AZURE.username}:${AZURE.password}`).toString('base64') },
  });
}

export function nextId(prefix: string): string {
  return `${prefix}-${++seq}`;
}
