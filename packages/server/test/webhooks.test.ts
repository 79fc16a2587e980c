import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, useBackends, type TestServer } from './helpers/harness.ts';

const backends = useBackends();
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'webhooks', name));
const GITHUB_SECRET = 'storefront’s hook secret — rotated in May';
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
    await s.call('PUT', '/api/v1/apps/storefront', { body: { team: 'checkout', repositories: ['nimbus-labs/storefront'] } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('GitHub push: verifies the HMAC, stores one commit event per commit, joined to its app by repository', async () => {
    const res = await github(s, 'push', fixture('github-push.json'), { delivery: '69be1c01-dee0-4146-b6bb-3bf05f2d3a2f' });
    expect(res).toMatchObject({ status: 202, body: { duplicate: false, stored: 2 } });
    const change = await s.call('GET', '/api/v1/changes/7a38e8cc9bab4e2db3af865b813cacd9c4b3f048');
    expect(change.body).toMatchObject({
      app: 'storefront', team: 'checkout', repository: 'nimbus-labs/storefront', branch: 'main', author: 'ines-okafor',
      authorEmail: 'ines.okafor@example.com', title: 'Round gift-card balances to whole cents', committedAt: '2026-05-12T12:09:37.000Z', stage: 'commit',
    });
  });

  it('GitHub redelivery of the same delivery id stores nothing new', async () => {
    const again = await github(s, 'push', fixture('github-push.json'), { delivery: '69be1c01-dee0-4146-b6bb-3bf05f2d3a2f' });
    expect(again).toMatchObject({ status: 200, body: { duplicate: true, stored: 0 } });
    const change = await s.call('GET', '/api/v1/changes/7a38e8cc9bab4e2db3af865b813cacd9c4b3f048');
    expect(change.body.timeline).toHaveLength(1);
  });

  it('GitHub refuses a forged, missing or wrong-secret signature and stores nothing', async () => {
    const body = fixture('github-pull_request-closed.json');
    const forged = await github(s, 'pull_request', body, { signature: 'sha256=' + '0'.repeat(64), delivery: 'f1' });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('RINGMASTER_UNAUTHENTICATED');
    expect((await github(s, 'pull_request', body, { secret: 'guess', delivery: 'f2' })).status).toBe(401);
    const tampered = Buffer.from(body.toString().replace('Checkout: accept gift cards', 'Checkout: accept store credit'));
    const sig = 'sha256=' + createHmac('sha256', GITHUB_SECRET).update(body).digest('hex');
    expect((await github(s, 'pull_request', tampered, { signature: sig, delivery: 'f3' })).status).toBe(401);
    expect((await s.call('POST', '/api/v1/webhooks/github', { token: null, body: {}, headers: { 'x-github-event': 'ping', 'x-github-delivery': 'f4' } })).status).toBe(401);
    expect((await s.call('GET', '/api/v1/changes/6931db47823cb3395edd8e384e6e6ba48588982c')).status).toBe(404);
    const audit = await s.call('GET', '/api/v1/audit?actor=webhook:github&limit=10');
    expect(audit.body.entries.filter((e: any) => e.result === 'denied').length).toBeGreaterThanOrEqual(4);
  });

  it('GitHub pull_request closed+merged, workflow_run and package published join one change', async () => {
    expect((await github(s, 'pull_request', fixture('github-pull_request-closed.json'), { delivery: 'pr-1' })).body.stored).toBe(1);
    const pr = await s.call('GET', '/api/v1/changes/6931db47823cb3395edd8e384e6e6ba48588982c');
    expect(pr.body).toMatchObject({ app: 'storefront', branch: 'main', author: 'tvarga', title: 'Checkout: accept gift cards' });

    expect((await github(s, 'workflow_run', fixture('github-workflow_run-completed.json'), { delivery: 'wr-1' })).status).toBe(202);
    expect((await github(s, 'package', fixture('github-package-published.json'), { delivery: 'pkg-1' })).status).toBe(202);
    const change = await s.call('GET', '/api/v1/changes/7a38e8cc9bab4e2db3af865b813cacd9c4b3f048');
    expect(change.body).toMatchObject({
      stage: 'image', buildId: 'github:8841207733', buildUrl: 'https://github.com/nimbus-labs/storefront/actions/runs/8841207733',
      image: 'ghcr.io/nimbus-labs/storefront:2.4.0', imageDigest: 'sha256:2669c436b83463b34cc2b6c8b0d2b6132557c1d4b0f8745643b7a20e7116e821',
    });
    expect(change.body.timeline.map((e: any) => e.kind)).toEqual(['commit', 'image.pushed', 'build.finished']); // by time: the image is pushed before the workflow run ends
  });

  it('GitHub events Ringmaster does not follow are acknowledged and store nothing', async () => {
    const res = await github(s, 'star', Buffer.from(JSON.stringify({ action: 'created', repository: { full_name: 'nimbus-labs/storefront' } })), { delivery: 'star-1' });
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

    const change = await s.call('GET', '/api/v1/changes/42662b67ce5696f0898cd4b3524f63174f6f71e8');
    expect(change.body).toMatchObject({
      repository: 'nimbus-labs/ledger', author: 'Dario Benedetti', stage: 'build', status: 'failed', buildId: 'gitlab:9187',
      committedAt: '2026-05-13T07:31:05.000Z',
    });
    const mr = await s.call('GET', '/api/v1/changes/bc15cee6e563b18f4927d2b7f4a9ec244e07510e');
    expect(mr.body).toMatchObject({ author: 'mkowalczyk', branch: 'main', title: 'Ledger: quarterly close export' });
  });

  it('Azure DevOps git.push, git.pullrequest.merged and build.complete with basic auth or the secret header', async () => {
    const send = (file: string, headers: Record<string, string>) => s.call('POST', '/api/v1/webhooks/azure', {
      token: null, raw: fixture(file), headers: { 'content-type': 'application/json', ...headers },
    });
    const basic = 'Basic ' + Buffer.from(`${AZURE.username}:${AZURE.password}`).toString('base64');
    expect((await send('azure-git.push.json', { authorization: 'Basic ' + Buffer.from('ringmaster:nope').toString('base64') })).status).toBe(401);
    expect((await send('azure-git.push.json', {})).status).toBe(401);
    expect((await send('azure-git.push.json', { 'x-ringmaster-secret': 'nope' })).status).toBe(401);
    expect((await send('azure-git.push.json', { authorization: basic })).body).toMatchObject({ stored: 1, delivery: '0f4aa29c-6004-449d-92d9-0d514cfd85ad' });
    expect((await send('azure-git.push.json', { 'x-ringmaster-secret': AZURE.secret })).body).toMatchObject({ duplicate: true, stored: 0 });
    expect((await send('azure-git.pullrequest.merged.json', { 'x-ringmaster-secret': AZURE.secret })).body.stored).toBe(1);
    expect((await send('azure-build.complete.json', { authorization: basic })).body.stored).toBe(1);

    const change = await s.call('GET', '/api/v1/changes/9e3e24ea6240fda5532d3accf60108d1e22f1c67');
    expect(change.body).toMatchObject({
      repository: 'Payments/payments-api', branch: 'main', author: 'Aiko Tanaka', stage: 'build',
      status: 'in_progress', buildId: 'azure:5523', title: 'Retry the settlement callback when the bank answers 503',
    });
    expect((await s.call('GET', '/api/v1/changes/3130a74fc111fa97fc2c3e82d23d65aeba1407d8')).body.branch).toBe('main');
  });

  it('answers 404 for a webhook source that is not configured', async () => {
    const res = await s.call('POST', '/api/v1/webhooks/bitbucket', { token: null, body: {} });
    expect(res.status).toBe(404);
  });
});
