import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, useBackends, type TestServer } from './helpers/harness.ts';

const backends = useBackends();
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'webhooks', name));
const GITHUB_SECRET = 'It’s a Secret to Everybody';
const GITLAB_TOKEN = 'gl-shared-token';
const AZURE = { username: 'ringmaster', password: 'az-pass', secret: 'az-header-secret' };

function github(s: TestServer, event: string, body: Buffer, opts: { delivery?: string; secret?: string; signature?: string } = {}) {
  const signature = opts.signature ?? 'sha256=' + createHmac('sha256', opts.secret ?? GITHUB_SECRET).update(body).digest('hex');
  return s.call('POST', '/api/v1/webhooks/github', {
    token: null, raw: body,
    headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': opts.delivery ?? `${event}-1`, 'x-hub-signature-256': signature },
  });
}

describe.each(BACKENDS)('webhooks on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(await backends.options(backend), {
      webhooks: { github: { secret: GITHUB_SECRET }, gitlab: { token: GITLAB_TOKEN }, azure: AZURE },
    });
    await s.call('PUT', '/api/v1/apps/shop', { body: { team: 'checkout', repositories: ['acme/shop'] } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('GitHub push: verifies the HMAC, stores one commit event per commit, joined to its app by repository', async () => {
    const res = await github(s, 'push', fixture('github-push.json'), { delivery: '72d3162e-cc78-11e3-81ab-4c9367dc0958' });
    expect(res).toMatchObject({ status: 202, body: { duplicate: false, stored: 2 } });
    const change = await s.call('GET', '/api/v1/changes/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c');
    expect(change.body).toMatchObject({
      app: 'shop', team: 'checkout', repository: 'acme/shop', branch: 'main', author: 'octocat',
      authorEmail: 'octocat@github.com', title: 'Fix basket totals', committedAt: '2026-03-02T09:05:00.000Z', stage: 'commit',
    });
  });

  it('GitHub redelivery of the same delivery id stores nothing new', async () => {
    const again = await github(s, 'push', fixture('github-push.json'), { delivery: '72d3162e-cc78-11e3-81ab-4c9367dc0958' });
    expect(again).toMatchObject({ status: 200, body: { duplicate: true, stored: 0 } });
    const change = await s.call('GET', '/api/v1/changes/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c');
    expect(change.body.timeline).toHaveLength(1);
  });

  it('GitHub refuses a forged, missing or wrong-secret signature and stores nothing', async () => {
    const body = fixture('github-pull_request-closed.json');
    const forged = await github(s, 'pull_request', body, { signature: 'sha256=' + '0'.repeat(64), delivery: 'f1' });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('RINGMASTER_UNAUTHENTICATED');
    expect((await github(s, 'pull_request', body, { secret: 'guess', delivery: 'f2' })).status).toBe(401);
    const tampered = Buffer.from(body.toString().replace('Checkout: support vouchers', 'Checkout: support coupons'));
    const sig = 'sha256=' + createHmac('sha256', GITHUB_SECRET).update(body).digest('hex');
    expect((await github(s, 'pull_request', tampered, { signature: sig, delivery: 'f3' })).status).toBe(401);
    expect((await s.call('POST', '/api/v1/webhooks/github', { token: null, body: {}, headers: { 'x-github-event': 'ping', 'x-github-delivery': 'f4' } })).status).toBe(401);
    expect((await s.call('GET', '/api/v1/changes/e5bd3914e2e596debea16f433f57875b5b90bcd6')).status).toBe(404);
    const audit = await s.call('GET', '/api/v1/audit?actor=webhook:github&limit=10');
    expect(audit.body.entries.filter((e: any) => e.result === 'denied').length).toBeGreaterThanOrEqual(4);
  });

  it('GitHub pull_request closed+merged, workflow_run and package published join one change', async () => {
    expect((await github(s, 'pull_request', fixture('github-pull_request-closed.json'), { delivery: 'pr-1' })).body.stored).toBe(1);
    const pr = await s.call('GET', '/api/v1/changes/e5bd3914e2e596debea16f433f57875b5b90bcd6');
    expect(pr.body).toMatchObject({ app: 'shop', branch: 'main', author: 'hubot', title: 'Checkout: support vouchers' });

    expect((await github(s, 'workflow_run', fixture('github-workflow_run-completed.json'), { delivery: 'wr-1' })).status).toBe(202);
    expect((await github(s, 'package', fixture('github-package-published.json'), { delivery: 'pkg-1' })).status).toBe(202);
    const change = await s.call('GET', '/api/v1/changes/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c');
    expect(change.body).toMatchObject({
      stage: 'image', buildId: 'github:30433642', buildUrl: 'https://github.com/acme/shop/actions/runs/30433642',
      image: 'ghcr.io/acme/shop:1.8.0', imageDigest: 'sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b',
    });
    expect(change.body.timeline.map((e: any) => e.kind)).toEqual(['commit', 'image.pushed', 'build.finished']); // by time: the image is pushed before the workflow run ends
  });

  it('GitHub events Ringmaster does not follow are acknowledged and store nothing', async () => {
    const res = await github(s, 'star', Buffer.from(JSON.stringify({ action: 'created', repository: { full_name: 'acme/shop' } })), { delivery: 'star-1' });
    expect(res).toMatchObject({ status: 202, body: { stored: 0 } });
  });

  it('GitLab push, merge request and pipeline with X-Gitlab-Token; forged token refused; redelivery idempotent', async () => {
    const send = (event: string, file: string, uuid: string, token = GITLAB_TOKEN) => s.call('POST', '/api/v1/webhooks/gitlab', {
      token: null, raw: fixture(file), headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': token, 'x-gitlab-event-uuid': uuid },
    });
    expect((await send('Push Hook', 'gitlab-push.json', 'u-1', 'wrong')).status).toBe(401);
    expect((await send('Push Hook', 'gitlab-push.json', 'u-1')).body).toMatchObject({ stored: 2, duplicate: false });
    expect((await send('Push Hook', 'gitlab-push.json', 'u-1')).body).toMatchObject({ stored: 0, duplicate: true });
    expect((await send('Merge Request Hook', 'gitlab-merge_request.json', 'u-2')).body.stored).toBe(1);
    expect((await send('Pipeline Hook', 'gitlab-pipeline.json', 'u-3')).body.stored).toBe(2); // the pipeline's commit and its outcome

    const change = await s.call('GET', '/api/v1/changes/da1560886d4f094c3e6c9ef40349f7d38b5d27d7');
    expect(change.body).toMatchObject({
      repository: 'payments/billing', author: 'GitLab dev user', stage: 'build', status: 'failed', buildId: 'gitlab:31',
      committedAt: '2026-03-03T13:57:21.000Z',
    });
    const mr = await s.call('GET', '/api/v1/changes/f0f2b9a4c3e7d8a1b2c3d4e5f60718293a4b5c6d');
    expect(mr.body).toMatchObject({ author: 'root', branch: 'main', title: 'MS-Viewport' });
  });

  it('Azure DevOps git.push, git.pullrequest.merged and build.complete with basic auth or the secret header', async () => {
    const send = (file: string, headers: Record<string, string>) => s.call('POST', '/api/v1/webhooks/azure', {
      token: null, raw: fixture(file), headers: { 'content-type': 'application/json', ...headers },
    });
    const basic = 'Basic ' + Buffer.from(`${AZURE.username}:${AZURE.password}`).toString('base64');
    expect((await send('azure-git.push.json', { authorization: 'Basic ' + Buffer.from('ringmaster:nope').toString('base64') })).status).toBe(401);
    expect((await send('azure-git.push.json', {})).status).toBe(401);
    expect((await send('azure-git.push.json', { 'x-ringmaster-secret': 'nope' })).status).toBe(401);
    expect((await send('azure-git.push.json', { authorization: basic })).body).toMatchObject({ stored: 1, delivery: '03c164c2-8912-4d5e-8009-3707d5f83734' });
    expect((await send('azure-git.push.json', { 'x-ringmaster-secret': AZURE.secret })).body).toMatchObject({ duplicate: true, stored: 0 });
    expect((await send('azure-git.pullrequest.merged.json', { 'x-ringmaster-secret': AZURE.secret })).body.stored).toBe(1);
    expect((await send('azure-build.complete.json', { authorization: basic })).body.stored).toBe(1);

    const change = await s.call('GET', '/api/v1/changes/33b55f7cb7e7e245323987634f960cf4a6e6bc74');
    expect(change.body).toMatchObject({
      repository: 'Fabrikam-Fiber-Git/Fabrikam-Fiber-Git', branch: 'master', author: 'Jamal Hartnett', stage: 'build',
      status: 'in_progress', buildId: 'azure:2', title: 'Fixed bug in web.config file',
    });
    expect((await s.call('GET', '/api/v1/changes/eef717f69257a6333f221566c1c987dc94cc0d72')).body.branch).toBe('master');
  });

  it('answers 404 for a webhook source that is not configured', async () => {
    const res = await s.call('POST', '/api/v1/webhooks/bitbucket', { token: null, body: {} });
    expect(res.status).toBe(404);
  });
});
