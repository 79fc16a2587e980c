import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, useBackends, type TestServer } from './helpers/harness.ts';
import { digest, nextId, sendAzure, sendGithub, sendGitlab, sha, WEBHOOKS } from './helpers/webhooks.ts';

// Payloads are written here in each host's documented shape, with values of our own.
const backends = useBackends();
const GH_REPO = { id: 7301, name: 'storefront', full_name: 'Nimbus-Labs/storefront', private: true, html_url: 'https://github.com/Nimbus-Labs/storefront' };
const GH_OWNER = { login: 'Nimbus-Labs', id: 5501, type: 'Organization' };
const ZERO = '0001-01-01T00:00:00Z';

function ghPush(commit: string, at: string) {
  return {
    ref: 'refs/heads/main', before: sha(`${commit}-parent`), after: commit, created: false, deleted: false, forced: false,
    commits: [{
      id: commit, tree_id: sha(`${commit}-tree`), distinct: true, message: 'Storefront: lazy-load product images', timestamp: at,
      url: `https://github.com/Nimbus-Labs/storefront/commit/${commit}`,
      author: { name: 'Mara Koenig', email: 'mara@nimbus-labs.example', username: 'mara-k' },
      committer: { name: 'Mara Koenig', email: 'mara@nimbus-labs.example', username: 'mara-k' }, added: [], removed: [], modified: ['src/images.ts'],
    }],
    repository: GH_REPO, pusher: { name: 'mara-k', email: 'mara@nimbus-labs.example' }, sender: { login: 'mara-k', id: 9101 },
  };
}

/** A `package` (or `registry_package`) published delivery for a container image on GitHub's registry. */
function ghContainerPackage(opts: { key: 'package' | 'registry_package'; tag?: string; imageDigest: string; revision?: string; targetOid?: string; type?: string }) {
  const labels: Record<string, unknown> = { description: 'Storefront web app', source: 'https://github.com/Nimbus-Labs/storefront' };
  if (opts.revision) labels.revision = opts.revision;
  labels.all_labels = opts.revision ? { 'org.opencontainers.image.revision': opts.revision, 'org.opencontainers.image.source': 'https://github.com/Nimbus-Labs/storefront' } : {};
  const type = opts.type ?? 'CONTAINER';
  return {
    action: 'published',
    [opts.key]: {
      id: 88120, name: 'storefront', namespace: 'Nimbus-Labs', description: '', ecosystem: type, package_type: type,
      html_url: 'https://github.com/orgs/Nimbus-Labs/packages/container/package/storefront',
      created_at: '2026-02-10T08:00:00Z', updated_at: '2026-03-05T10:11:12Z', owner: GH_OWNER,
      package_version: {
        id: 440012, version: opts.imageDigest, name: opts.imageDigest, description: '', summary: '', body: '', body_html: '',
        html_url: 'https://github.com/orgs/Nimbus-Labs/packages/container/storefront/440012',
        target_commitish: '', target_oid: opts.targetOid ?? '', created_at: ZERO, updated_at: ZERO, metadata: [],
        container_metadata: {
          tag: { name: opts.tag ?? '', digest: opts.imageDigest }, labels,
          manifest: { digest: opts.imageDigest, media_type: 'application/vnd.oci.image.manifest.v1+json', size: 1203 },
        },
        package_files: [], author: { login: 'release-bot', id: 9102, type: 'Bot' },
        installation_command: `docker pull ghcr.io/nimbus-labs/storefront:${opts.tag ?? ''}`,
        package_url: 'ghcr.io/Nimbus-Labs/storefront:',
      },
      registry: { about_url: 'https://docs.github.com/packages', name: 'GitHub CONTAINER registry', type: 'CONTAINER', url: 'https://ghcr.io/Nimbus-Labs', vendor: 'GitHub Inc' },
    },
    repository: GH_REPO, organization: GH_OWNER, sender: { login: 'release-bot', id: 9102 },
  };
}

function ghWorkflowRun(action: string, run: Record<string, unknown>) {
  return {
    action, repository: GH_REPO, sender: { login: 'outside-contributor', id: 9200 },
    workflow_run: {
      id: 5_550_001, name: 'ci', head_branch: 'patch-1', run_attempt: 1, event: 'pull_request',
      html_url: 'https://github.com/Nimbus-Labs/storefront/actions/runs/5550001', actor: { login: 'outside-contributor' },
      created_at: '2026-03-05T11:00:00Z', run_started_at: '2026-03-05T11:00:00Z', updated_at: '2026-03-05T11:00:01Z', ...run,
    },
  };
}

const GL_PROJECT = { id: 412, name: 'Ledger', path_with_namespace: 'finance/ledger', web_url: 'https://gitlab.example.org/finance/ledger', default_branch: 'main' };

function glPipeline(id: number, commit: string, status: string, at: string) {
  return {
    object_kind: 'pipeline',
    object_attributes: {
      id, iid: id - 1000, name: null, ref: 'main', tag: false, sha: commit, before_sha: sha(`${commit}-before`), source: 'push',
      status, detailed_status: status, stages: ['test'], created_at: at.replace('T', ' ').replace('Z', ' UTC'),
      finished_at: status === 'running' ? null : at.replace('T', ' ').replace('Z', ' UTC'), duration: 300, queued_duration: 2,
      url: `https://gitlab.example.org/finance/ledger/-/pipelines/${id}`,
    },
    user: { id: 31, name: 'Ops Robot', username: 'ops-robot', email: '[REDACTED]' },
    project: GL_PROJECT,
    commit: {
      id: commit, message: 'Ledger: round half to even\n\nFixes #88', title: 'Ledger: round half to even', timestamp: '2026-03-05T09:15:00+01:00',
      url: `https://gitlab.example.org/finance/ledger/-/commit/${commit}`, author: { name: 'Ines Duarte', email: 'ines@ledger.example' },
    },
    builds: [],
  };
}

const AZ_REPO = { id: 'b1f0c1de-0000-4000-8000-00000000a001', name: 'payroll', url: 'https://dev.azure.com/contoso/_apis/git/repositories/b1f0c1de', project: { id: 'p1', name: 'HR' } };

function azureBuildV1(id: number, commit: string, status: string) {
  return {
    subscriptionId: 'sub-1', notificationId: id, id: `az-build-${id}-${status}`, eventType: 'build.complete', publisherId: 'tfs',
    message: { text: `Build payroll_${id} ${status}` },
    resource: {
      uri: `vstfs:///Build/Build/${id}`, id, buildNumber: `payroll_${id}`,
      url: `https://dev.azure.com/contoso/HR/_apis/build/Builds/${id}`,
      startTime: '2026-03-05T12:00:00Z', finishTime: '2026-03-05T12:07:30Z', reason: 'individualCI', status,
      dropLocation: '#/9/drop', sourceGetVersion: `LG:refs/heads/release/2026.3:${commit}`,
      lastChangedBy: { displayName: 'Build Service', uniqueName: 'build@contoso.example' },
      retainIndefinitely: false, hasDiagnostics: true,
      definition: { batchSize: 1, triggerType: 'continuousIntegration', definitionType: 'build', id: 9, name: 'payroll-ci' },
      queue: { queueType: 'buildController', id: 4, name: 'Hosted' },
      requests: [{ id: 70, requestedFor: { displayName: 'Tomas Varga', uniqueName: 'tomas@contoso.example' } }],
    },
    resourceVersion: '1.0', createdDate: '2026-03-05T12:07:35Z',
  };
}

describe.each(BACKENDS)('webhook payloads as the hosts send them, on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(await backends.options(backend), { webhooks: WEBHOOKS });
    await s.call('PUT', '/api/v1/apps/storefront', { body: { team: 'web', repositories: ['Nimbus-Labs/storefront'] } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('GitHub package published (container): the image is registry/lower-cased name:tag and the zero time counts as absent', async () => {
    const commit = sha('pkg-container');
    expect((await sendGithub(s, 'push', ghPush(commit, '2026-03-05T09:00:00Z'))).status).toBe(202);
    const d = digest('storefront-2.4.1');
    const res = await sendGithub(s, 'package', ghContainerPackage({ key: 'package', tag: '2.4.1', imageDigest: d, revision: commit }));
    expect(res).toMatchObject({ status: 202, body: { stored: 1 } });
    const change = (await s.call('GET', `/api/v1/changes/${commit}`)).body;
    expect(change).toMatchObject({ image: 'ghcr.io/nimbus-labs/storefront:2.4.1', imageDigest: d, committedAt: '2026-03-05T09:00:00.000Z', stage: 'image' });
    // package_version's times are zero: the package's own update time (the publication) dates the event
    expect(change.timeline.find((e: any) => e.kind === 'image.pushed').occurredAt).toBe('2026-03-05T10:11:12.000Z');
  });

  it('GitHub package published without a tag names the image by its digest; a change first seen there is not dated year 1', async () => {
    const commit = sha('pkg-untagged');
    const d = digest('storefront-untagged');
    expect((await sendGithub(s, 'package', ghContainerPackage({ key: 'package', imageDigest: d, revision: commit }))).body.stored).toBe(1);
    const change = (await s.call('GET', `/api/v1/changes/${commit}`)).body;
    expect(change.image).toBe(`ghcr.io/nimbus-labs/storefront@${d}`);
    expect(new Date(change.committedAt).getUTCFullYear()).toBeGreaterThanOrEqual(2026);
  });

  it('GitHub registry_package published: the commit comes from the OCI revision label, never from the manifest digest in target_oid', async () => {
    const withLabel = sha('registry-package-labelled');
    const d1 = digest('rp-1');
    const r1 = await sendGithub(s, 'registry_package', ghContainerPackage({ key: 'registry_package', tag: '2.5.0', imageDigest: d1, revision: withLabel, targetOid: d1.slice(7) }));
    expect(r1.body.stored).toBe(1);
    expect((await s.call('GET', `/api/v1/changes/${withLabel}`)).body.image).toBe('ghcr.io/nimbus-labs/storefront:2.5.0');
    expect((await s.call('GET', `/api/v1/changes/${d1.slice(7)}`)).status).toBe(404);

    const d2 = digest('rp-2');
    const r2 = await sendGithub(s, 'registry_package', ghContainerPackage({ key: 'registry_package', tag: '2.5.1', imageDigest: d2, targetOid: d2.slice(7) }));
    expect(r2.body.stored).toBe(1);
    expect((await s.call('GET', `/api/v1/changes/${d2.slice(7)}`)).status).toBe(404);
    expect((await s.call('GET', `/api/v1/changes/${d2.slice(7, 47)}`)).status).toBe(404);
  });

  it('GitHub package published for npm is not an image and leaves the change as it was', async () => {
    const commit = sha('pkg-npm');
    await sendGithub(s, 'push', ghPush(commit, '2026-03-05T09:30:00Z'));
    const d = digest('storefront-2.6.0');
    await sendGithub(s, 'package', ghContainerPackage({ key: 'package', tag: '2.6.0', imageDigest: d, revision: commit }));
    const npm = ghContainerPackage({ key: 'package', tag: '2.6.0', imageDigest: digest('npm'), revision: commit, type: 'npm' });
    expect((await sendGithub(s, 'package', npm)).body).toMatchObject({ stored: 0 });
    const change = (await s.call('GET', `/api/v1/changes/${commit}`)).body;
    expect(change).toMatchObject({ image: 'ghcr.io/nimbus-labs/storefront:2.6.0', imageDigest: d });
    expect(change.timeline.filter((e: any) => e.kind === 'image.pushed')).toHaveLength(1);
  });

  it('GitHub workflow run waiting for approval (action_required) is not a started build', async () => {
    const commit = sha('needs-approval');
    const requested = ghWorkflowRun('requested', { head_sha: commit, status: 'action_required', conclusion: 'action_required' });
    expect((await sendGithub(s, 'workflow_run', requested)).body).toMatchObject({ stored: 0 });
    const completed = ghWorkflowRun('completed', { head_sha: commit, status: 'completed', conclusion: 'action_required' });
    expect((await sendGithub(s, 'workflow_run', completed)).body).toMatchObject({ stored: 0 });
    expect((await s.call('GET', `/api/v1/changes/${commit}`)).status).toBe(404);
  });

  it('GitLab push from a user with a hidden e-mail stores no e-mail', async () => {
    const commit = sha('gl-redacted');
    const push = {
      object_kind: 'push', event_name: 'push', before: sha('gl-redacted-before'), after: commit, ref: 'refs/heads/main', checkout_sha: commit,
      user_id: 31, user_name: 'Ines Duarte', user_username: 'ines', user_email: '[REDACTED]', project_id: 412, project: GL_PROJECT,
      commits: [{
        id: commit, message: 'Ledger: audit trail for reversals\n', title: 'Ledger: audit trail for reversals', timestamp: '2026-03-05T08:00:00+00:00',
        url: `https://gitlab.example.org/finance/ledger/-/commit/${commit}`, author: { name: 'Ines Duarte', email: '[REDACTED]' },
        added: [], modified: ['ledger.rb'], removed: [],
      }],
      total_commits_count: 1, repository: { name: 'Ledger', homepage: 'https://gitlab.example.org/finance/ledger' },
    };
    expect((await sendGitlab(s, 'Push Hook', push)).body.stored).toBe(1);
    const change = (await s.call('GET', `/api/v1/changes/${commit}`)).body;
    expect(change).toMatchObject({ author: 'Ines Duarte', authorEmail: null });
  });

  it('GitLab pipeline as the first sight of a change: the change takes the commit author and commit time', async () => {
    const commit = sha('gl-pipeline-first');
    expect((await sendGitlab(s, 'Pipeline Hook', glPipeline(2001, commit, 'running', '2026-03-05T10:00:00Z'))).status).toBe(202);
    const change = (await s.call('GET', `/api/v1/changes/${commit}`)).body;
    expect(change).toMatchObject({
      author: 'Ines Duarte', authorEmail: 'ines@ledger.example', committedAt: '2026-03-05T08:15:00.000Z',
      title: 'Ledger: round half to even', repository: 'finance/ledger', stage: 'build', buildId: 'gitlab:2001',
    });
  });

  it('GitLab: a later successful pipeline on the same commit makes the change no longer failed', async () => {
    const commit = sha('gl-retry');
    await sendGitlab(s, 'Pipeline Hook', glPipeline(2101, commit, 'failed', '2026-03-05T10:10:00Z'));
    expect((await s.call('GET', `/api/v1/changes/${commit}`)).body).toMatchObject({ status: 'failed' });
    await sendGitlab(s, 'Pipeline Hook', glPipeline(2102, commit, 'success', '2026-03-05T10:30:00Z'));
    const change = (await s.call('GET', `/api/v1/changes/${commit}`)).body;
    expect(change).toMatchObject({ status: 'in_progress', failedAt: null, buildId: 'gitlab:2102' });
    expect(change.timeline.filter((e: any) => e.kind === 'commit')).toHaveLength(1);
  });

  it('a build failure reported after a later success leaves the change succeeded at building', async () => {
    const commit = sha('gl-late-failure');
    await sendGitlab(s, 'Pipeline Hook', glPipeline(2202, commit, 'success', '2026-03-05T11:30:00Z'));
    await sendGitlab(s, 'Pipeline Hook', glPipeline(2201, commit, 'failed', '2026-03-05T11:10:00Z'));
    expect((await s.call('GET', `/api/v1/changes/${commit}`)).body).toMatchObject({ status: 'in_progress', failedAt: null });
  });

  it('Azure DevOps build.complete in resourceVersion 1.0: outcome from resource.status, commit and branch from sourceGetVersion', async () => {
    const ok = sha('az-v1-ok');
    expect((await sendAzure(s, azureBuildV1(301, ok, 'succeeded'))).body.stored).toBe(1);
    const change = (await s.call('GET', `/api/v1/changes/${ok}`)).body;
    expect(change).toMatchObject({ repository: null, branch: 'release/2026.3', buildId: 'azure:301', stage: 'build', status: 'in_progress', author: 'Tomas Varga' });
    expect(change.timeline[0]).toMatchObject({ kind: 'build.finished', status: 'succeeded' });

    const bad = sha('az-v1-failed');
    expect((await sendAzure(s, azureBuildV1(302, bad, 'failed'))).body.stored).toBe(1);
    expect((await s.call('GET', `/api/v1/changes/${bad}`)).body.status).toBe('failed');

    const stopped = sha('az-v1-stopped');
    expect((await sendAzure(s, azureBuildV1(303, stopped, 'stopped'))).body.stored).toBe(1);
    expect((await s.call('GET', `/api/v1/changes/${stopped}`)).body.timeline[0]).toMatchObject({ kind: 'build.finished', status: 'cancelled' });
  });

  it('Azure DevOps pull request author is the display name, as for pushes, with the unique name as e-mail', async () => {
    const head = sha('az-pr-head');
    const merge = sha('az-pr-merge');
    const who = { displayName: 'Priya Raman', uniqueName: 'priya@contoso.example', id: 'u-77' };
    await sendAzure(s, {
      id: nextId('az-push'), eventType: 'git.push', publisherId: 'tfs', resourceVersion: '1.0', createdDate: '2026-03-05T13:00:05Z',
      resource: {
        commits: [{ commitId: head, author: { name: 'Priya Raman', email: 'priya@contoso.example', date: '2026-03-05T13:00:00Z' }, comment: 'Payroll: overtime rounding', url: `https://dev.azure.com/contoso/HR/_git/payroll/commit/${head}` }],
        refUpdates: [{ name: 'refs/heads/feature/overtime', oldObjectId: sha('az-pr-base'), newObjectId: head }], repository: AZ_REPO, pushedBy: who,
      },
    });
    await sendAzure(s, {
      id: nextId('az-pr'), eventType: 'git.pullrequest.merged', publisherId: 'tfs', resourceVersion: '1.0', createdDate: '2026-03-05T14:00:05Z',
      resource: {
        repository: AZ_REPO, pullRequestId: 61, status: 'completed', createdBy: who, creationDate: '2026-03-05T13:05:00Z', closedDate: '2026-03-05T14:00:00Z',
        title: 'Payroll: overtime rounding', sourceRefName: 'refs/heads/feature/overtime', targetRefName: 'refs/heads/main', mergeStatus: 'succeeded',
        lastMergeSourceCommit: { commitId: head }, lastMergeTargetCommit: { commitId: sha('az-pr-base') }, lastMergeCommit: { commitId: merge },
      },
    });
    const pushed = (await s.call('GET', `/api/v1/changes/${head}`)).body;
    const merged = (await s.call('GET', `/api/v1/changes/${merge}`)).body;
    expect(merged).toMatchObject({ author: pushed.author, authorEmail: pushed.authorEmail, branch: 'main' });
    expect(merged.author).toBe('Priya Raman');
  });
});
