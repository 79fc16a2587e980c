import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, useBackends, type TestServer } from './helpers/harness.ts';
import { nextId, sendAzure, sendGithub, sendGitlab, sha, WEBHOOKS } from './helpers/webhooks.ts';

const backends = useBackends();

function push(commit: string) {
  return {
    ref: 'refs/heads/main', before: sha(`${commit}-before`), after: commit, deleted: false,
    commits: [{ id: commit, message: 'Replay me', timestamp: '2026-03-06T08:00:00Z', url: `https://github.com/acme/shop/commit/${commit}`, author: { name: 'Avery', email: 'avery@acme.example', username: 'avery' } }],
    repository: { full_name: 'acme/shop' },
  };
}

function nested(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

describe.each(BACKENDS)('hostile webhook and event bodies on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(await backends.options(backend), { webhooks: WEBHOOKS });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('a signed GitHub body replayed under a new delivery id is not stored again', async () => {
    const commit = sha('replayed');
    const body = push(commit);
    expect((await sendGithub(s, 'push', body, 'delivery-original')).body).toMatchObject({ stored: 1, duplicate: false });
    const replay = await sendGithub(s, 'push', body, 'delivery-forged-new-id');
    expect(replay).toMatchObject({ status: 200, body: { duplicate: true, stored: 0 } });
    expect((await s.call('GET', `/api/v1/changes/${commit}`)).body.timeline).toHaveLength(1);
    // the replay's own id is remembered too: sending it yet again is a duplicate as well
    expect((await sendGithub(s, 'push', body, 'delivery-forged-new-id')).body.duplicate).toBe(true);
  });

  it.each([
    ['GitHub', () => sendGithub(s, 'push', 'null')],
    ['GitLab', () => sendGitlab(s, 'Push Hook', 'null')],
    ['Azure DevOps', () => sendAzure(s, 'null')],
  ])('a signed %s body that is JSON null answers 400 naming the body', async (_host, send) => {
    const res = await send();
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'RINGMASTER_INVALID_INPUT', field: '(body)' });
  });

  it.each([
    ['GitHub push commits', () => sendGithub(s, 'push', { ...push(sha('wrong-1')), commits: 'not-a-list' }), 'commits'],
    ['GitHub push commit message', () => sendGithub(s, 'push', { ...push(sha('wrong-2')), commits: [{ id: sha('wrong-2'), message: 42 }] }), 'commits.0.message'],
    ['GitHub package url', () => sendGithub(s, 'package', { action: 'published', package: { package_type: 'CONTAINER', name: 'x', package_version: { package_url: 7 } } }), 'package.package_version.package_url'],
    ['GitHub workflow run', () => sendGithub(s, 'workflow_run', { action: 'completed', workflow_run: [] }), 'workflow_run'],
    ['GitLab push ref', () => sendGitlab(s, 'Push Hook', { object_kind: 'push', ref: ['refs/heads/main'], after: sha('gl-wrong') }), 'ref'],
    ['GitLab pipeline attributes', () => sendGitlab(s, 'Pipeline Hook', { object_kind: 'pipeline', object_attributes: 'running' }), 'object_attributes'],
    ['Azure refUpdates', () => sendAzure(s, { id: nextId('az'), eventType: 'git.push', resource: { refUpdates: 'refs/heads/main', commits: [] } }), 'resource.refUpdates'],
    ['Azure build status', () => sendAzure(s, { id: nextId('az'), eventType: 'build.complete', resource: { id: 3, status: { value: 'succeeded' } } }), 'resource.status'],
    ['Azure delivery id', () => sendAzure(s, { id: 12, eventType: 'git.push' }), 'id'],
  ])('a signed body with a field of the wrong type answers 400 naming it (%s)', async (_what, send, field) => {
    const res = await send();
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'RINGMASTER_INVALID_INPUT', field });
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('POST /api/v1/webhooks/%s without credentials answers 404', async (name) => {
    const res = await s.call('POST', `/api/v1/webhooks/${name}`, { token: null, body: { zen: 'hello' } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('RINGMASTER_NOT_FOUND');
  });

  it('event data nested deeper than the limit answers 400 naming data, at 5,000 levels as at 33', async () => {
    for (const depth of [5000, 33]) {
      const raw = `{"kind":"commit","commit":"${sha(`deep-${depth}`)}","data":${nested(depth)}}`;
      const res = await s.call('POST', '/api/v1/events', { raw, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'RINGMASTER_INVALID_INPUT', field: 'data' });
      expect(res.body.error.message).toMatch(/32 levels/);
    }
    const ok = await s.call('POST', '/api/v1/events', { raw: `{"kind":"commit","commit":"${sha('deep-ok')}","data":${nested(31)}}`, headers: { 'content-type': 'application/json' } });
    expect(ok.status).toBe(201);
  });

  it.each([
    ['__proto__', '{"__proto__":{"region":"eu-west"}}', 'data.__proto__'],
    ['constructor', '{"build":{"constructor":{"prototype":{"x":1}}}}', 'data.build.constructor'],
    ['prototype', '{"steps":[{"prototype":1}]}', 'data.steps.0.prototype'],
  ])('event data holding a %s key is refused, naming where', async (_key, data, field) => {
    const commit = sha(`proto-${field}`);
    const res = await s.call('POST', '/api/v1/events', { raw: `{"kind":"commit","commit":"${commit}","data":${data}}`, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'RINGMASTER_INVALID_INPUT', field });
    expect((await s.call('GET', `/api/v1/changes/${commit}`)).status).toBe(404);
  });

  it.each([
    ['a NUL character in a message', { kind: 'commit', commit: sha('nul'), message: 'fix\u0000' }, 'message'],
    ['a ring longer than 100 characters', { kind: 'health', cluster: 'c1', status: 'Healthy', ring: 'r'.repeat(101) }, 'ring'],
  ])('an event with %s answers 400 naming the field, on PostgreSQL as on SQLite', async (_what, body, field) => {
    const res = await s.call('POST', '/api/v1/events', { body });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
  });

  it.each([
    ['GitHub', () => sendGithub(s, 'push', push(sha('long-id')), 'd'.repeat(201)), 'headers.x-github-delivery'],
    ['GitLab', () => sendGitlab(s, 'Push Hook', { object_kind: 'push' }, 'u'.repeat(201)), 'headers.x-gitlab-event-uuid'],
    ['Azure DevOps', () => sendAzure(s, { id: 'a'.repeat(201), eventType: 'git.push' }), 'id'],
  ])('a %s delivery id longer than 200 characters answers 400 naming it', async (_host, send, field) => {
    const res = await send();
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
  });

  it('a signed GitHub commit message holding a NUL character answers 400, not 500', async () => {
    const body = push(sha('gh-nul'));
    body.commits[0]!.message = 'Replay\u0000me';
    const res = await sendGithub(s, 'push', body);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('translated.0.message');
  });

  it.each([
    ['/fleet', 'null'], ['/fleet', '{"cluster":"a"}'], ['/fleet', '[1,2]'],
    ['/changes', 'null'], ['/changes', '{"at":1}'], ['/changes', '[1e400,"abc"]'],
  ])('%s with a cursor holding %s answers 400', async (path, json) => {
    const cursor = Buffer.from(json).toString('base64url');
    const res = await s.call('GET', `/api/v1${path}?cursor=${cursor}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'RINGMASTER_INVALID_INPUT', field: 'cursor' });
  });
});
