import { describe, expect, it } from 'vitest';
import { appClusterHealth } from './health.ts';
import type { AppCluster, Condition } from './types.ts';

const app = (generation: number, observedGeneration: number | undefined, conditions: Partial<Condition>[]): AppCluster => ({
  apiVersion: 'ringmaster.dev/v1alpha1', kind: 'AppCluster', metadata: { name: 'a', namespace: 'n', generation },
  spec: { roles: [{ name: 'web', replicas: 1, image: 'x:1' }] },
  status: { ...(observedGeneration !== undefined ? { observedGeneration } : {}), conditions: conditions as Condition[] },
});

describe('appClusterHealth', () => {
  it('follows the conditions once the generation is observed', () => {
    expect(appClusterHealth(app(2, 2, [{ type: 'Ready', status: 'True', message: '5 nodes Ready' }])).status).toBe('Healthy');
    expect(appClusterHealth(app(2, 2, [{ type: 'Ready', status: 'False' }, { type: 'Degraded', status: 'True', message: 'frontend-1: CrashLoopBackOff' }]))).toEqual({ status: 'Degraded', reason: 'frontend-1: CrashLoopBackOff' });
    expect(appClusterHealth(app(2, 2, [{ type: 'Ready', status: 'False', message: 'roles not Ready: backend 1/2' }]))).toEqual({ status: 'Progressing', reason: 'roles not Ready: backend 1/2' });
  });

  it('is Progressing while the operator has not seen the spec or the AppCluster is paused', () => {
    expect(appClusterHealth(app(3, 2, [{ type: 'Ready', status: 'True' }])).status).toBe('Progressing');
    expect(appClusterHealth(app(1, undefined, [])).status).toBe('Progressing');
    expect(appClusterHealth(app(1, 1, [{ type: 'Ready', status: 'True' }, { type: 'Paused', status: 'True' }])).reason).toContain('paused');
  });
});
