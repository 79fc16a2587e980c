import { describe, expect, it } from 'vitest';
import { assessHealth, worstHealth } from './health.ts';
import type { KubeObject } from '@ringmaster/kube-common';

const obj = (apiVersion: string, kind: string, spec: unknown, status: unknown, generation = 1): KubeObject => ({ apiVersion, kind, metadata: { name: 'x', namespace: 'ns', generation }, spec, status });

describe('assessHealth', () => {
  it('is Missing for an absent object', () => {
    expect(assessHealth(undefined)).toEqual({ status: 'Missing', reason: 'object does not exist' });
  });

  it('follows a Deployment rollout', () => {
    const dep = (status: unknown, gen = 2) => assessHealth(obj('apps/v1', 'Deployment', { replicas: 3 }, status, gen));
    expect(dep({ observedGeneration: 1 }).status).toBe('Progressing');
    expect(dep({ observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 3 })).toEqual({ status: 'Progressing', reason: '1 of 3 replicas updated' });
    expect(dep({ observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3 }).reason).toMatch(/old replicas/);
    expect(dep({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2 }).status).toBe('Progressing');
    expect(dep({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }).status).toBe('Healthy');
    expect(dep({ observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' }] }).status).toBe('Degraded');
  });

  it('follows StatefulSet and DaemonSet rollouts', () => {
    expect(assessHealth(obj('apps/v1', 'StatefulSet', { replicas: 2 }, { observedGeneration: 1, readyReplicas: 1 })).status).toBe('Progressing');
    expect(assessHealth(obj('apps/v1', 'StatefulSet', { replicas: 2 }, { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' })).status).toBe('Progressing');
    expect(assessHealth(obj('apps/v1', 'StatefulSet', { replicas: 2 }, { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2, currentRevision: 'b', updateRevision: 'b' })).status).toBe('Healthy');
    expect(assessHealth(obj('apps/v1', 'StatefulSet', { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, { observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1 })).status).toBe('Healthy');
    expect(assessHealth(obj('apps/v1', 'DaemonSet', {}, { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 })).status).toBe('Progressing');
    expect(assessHealth(obj('apps/v1', 'DaemonSet', {}, { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 })).status).toBe('Healthy');
  });

  it('judges Jobs by their conditions', () => {
    expect(assessHealth(obj('batch/v1', 'Job', {}, { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] }))).toEqual({ status: 'Degraded', reason: 'job failed: BackoffLimitExceeded' });
    expect(assessHealth(obj('batch/v1', 'Job', {}, { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] })).status).toBe('Healthy');
    expect(assessHealth(obj('batch/v1', 'Job', {}, { active: 1 })).status).toBe('Progressing');
  });

  it('judges Pods by phase, readiness and waiting reasons', () => {
    expect(assessHealth(obj('v1', 'Pod', {}, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })).status).toBe('Healthy');
    expect(assessHealth(obj('v1', 'Pod', {}, { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] })).status).toBe('Progressing');
    expect(assessHealth(obj('v1', 'Pod', {}, { phase: 'Pending', containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ImagePullBackOff' } } }] }))).toEqual({ status: 'Degraded', reason: 'container app: ImagePullBackOff' });
    expect(assessHealth(obj('v1', 'Pod', {}, { phase: 'Failed' })).status).toBe('Degraded');
    expect(assessHealth(obj('v1', 'Pod', {}, { phase: 'Succeeded' })).status).toBe('Healthy');
  });

  it('judges Services, claims and Ingresses', () => {
    expect(assessHealth(obj('v1', 'Service', { type: 'ClusterIP' }, {})).status).toBe('Healthy');
    expect(assessHealth(obj('v1', 'Service', { type: 'LoadBalancer' }, {})).status).toBe('Progressing');
    expect(assessHealth(obj('v1', 'Service', { type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '10.1.1.1' }] } })).status).toBe('Healthy');
    expect(assessHealth(obj('v1', 'PersistentVolumeClaim', {}, { phase: 'Bound' })).status).toBe('Healthy');
    expect(assessHealth(obj('v1', 'PersistentVolumeClaim', {}, { phase: 'Lost' })).status).toBe('Degraded');
    expect(assessHealth(obj('v1', 'PersistentVolumeClaim', {}, { phase: 'Pending' })).status).toBe('Progressing');
    expect(assessHealth(obj('networking.k8s.io/v1', 'Ingress', {}, {})).status).toBe('Progressing');
  });

  it('judges custom resources by standard conditions', () => {
    const cr = (conditions: unknown[], gen = 1, observed?: number) => assessHealth(obj('example.io/v1', 'Thing', {}, { conditions, ...(observed !== undefined ? { observedGeneration: observed } : {}) }, gen));
    expect(cr([{ type: 'Ready', status: 'True', reason: 'Done' }])).toEqual({ status: 'Healthy', reason: 'Ready: Done' });
    expect(cr([{ type: 'Ready', status: 'True' }], 3, 2).status).toBe('Progressing');
    expect(cr([{ type: 'Ready', status: 'True', observedGeneration: 1 }], 2).status).toBe('Progressing');
    expect(cr([{ type: 'Ready', status: 'False', reason: 'InstallFailed' }]).status).toBe('Degraded');
    expect(cr([{ type: 'Ready', status: 'False', reason: 'Waiting' }]).status).toBe('Progressing');
    expect(cr([{ type: 'Stalled', status: 'True', reason: 'Quota' }]).status).toBe('Degraded');
    expect(cr([{ type: 'Reconciling', status: 'True' }, { type: 'Ready', status: 'True' }]).status).toBe('Progressing');
    expect(cr([{ type: 'Available', status: 'True' }]).status).toBe('Healthy');
    expect(cr([])).toEqual({ status: 'Healthy', reason: 'exists (no health conditions)' });
  });

  it('judges an AppCluster by the operator\'s conditions: paused, not observed, Degraded, Ready', () => {
    const app = (conditions: unknown[], gen = 2, observed: number | undefined = 2) => assessHealth(obj('ringmaster.dev/v1alpha1', 'AppCluster', {}, { conditions, ...(observed !== undefined ? { observedGeneration: observed } : {}) }, gen));
    const ready = { type: 'Ready', status: 'True', reason: 'AllNodesReady', message: '5 nodes Ready' };
    expect(app([ready])).toEqual({ status: 'Healthy', reason: '5 nodes Ready' });
    expect(app([ready], 3, 2)).toEqual({ status: 'Progressing', reason: 'waiting for the operator to observe generation 3 (observed 2)' });
    expect(app([], 1, undefined).status).toBe('Progressing');
    expect(app([{ type: 'Paused', status: 'True' }, ready])).toEqual({ status: 'Progressing', reason: 'paused: ringmaster.dev/paused is "true"' });
    // Degraded wins over Ready; its message names the failing node
    expect(app([ready, { type: 'Degraded', status: 'True', reason: 'NodesFailed', message: 'frontend-1: container frontend: CrashLoopBackOff' }])).toEqual({ status: 'Degraded', reason: 'frontend-1: container frontend: CrashLoopBackOff' });
    expect(app([{ type: 'Ready', status: 'False', reason: 'NodesNotReady', message: 'role backend: 1 of 2 Ready' }])).toEqual({ status: 'Progressing', reason: 'role backend: 1 of 2 Ready' });
    // another group's AppCluster is judged by the generic rule
    expect(assessHealth(obj('example.io/v1', 'AppCluster', {}, { conditions: [ready] })).reason).toBe('Ready: AllNodesReady');
  });

  it('reads Argo CD Application health and a deletion in progress', () => {
    expect(assessHealth(obj('argoproj.io/v1alpha1', 'Application', {}, { health: { status: 'Suspended' } })).status).toBe('Progressing');
    expect(assessHealth(obj('argoproj.io/v1alpha1', 'Application', {}, { health: { status: 'Missing' } })).status).toBe('Missing');
    const deleting = obj('v1', 'ConfigMap', undefined, undefined);
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(assessHealth(deleting).status).toBe('Progressing');
  });
});

describe('worstHealth', () => {
  it('picks Degraded over Missing over Progressing over Healthy', () => {
    const v = (status: 'Healthy' | 'Progressing' | 'Degraded' | 'Missing') => ({ status, reason: status });
    expect(worstHealth([v('Healthy'), v('Missing'), v('Progressing')]).status).toBe('Missing');
    expect(worstHealth([v('Degraded'), v('Missing')]).status).toBe('Degraded');
    expect(worstHealth([]).status).toBe('Healthy');
  });
});
