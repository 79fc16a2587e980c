import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Pods whose image tag is this one (`registry/app:bad`) never turn Ready on the local fleet: the
 * kwok Stage below plays a container that keeps crashing (CrashLoopBackOff, Ready=False), so a bad
 * release fails through the real Deployment/StatefulSet controllers and Argo CD's own health.
 */
export const BAD_IMAGE_TAG = 'bad';

// kwok's own default stages (as kwokctl installs them), read from kwok's module in the Go module
// cache rather than copied: nodes turn Ready and keep a lease; pods turn Ready, complete, delete.
const DEFAULT_STAGES = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
];

// Ringmaster's own Stage: a pending pod with a `:bad` image goes Running with its containers in
// CrashLoopBackOff. Weight 1 wins over pod-ready (weight 0, which kwok then never picks).
const badImageStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ringmaster-bad-image-crash-loop
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
    - key: '[ .spec.containers.[] | .image | endswith(":${BAD_IMAGE_TAG}") ] | any'
      operator: 'In'
      values: ['true']
  weight: 1
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        started: false
        restartCount: 5
        lastState:
          terminated:
            exitCode: 1
            reason: Error
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
        state:
          waiting:
            reason: CrashLoopBackOff
            message: back-off restarting failed container {{ .name }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
`;

/** kwok's configuration file: its default node and pod Stages plus the bad-image Stage. */
export function kwokConfig(kwokModuleDir: string): string {
  const defaults = DEFAULT_STAGES.map((f) => readFileSync(join(kwokModuleDir, 'kustomize', 'stage', f), 'utf8').trim());
  return [...defaults, badImageStage.trim()].join('\n---\n') + '\n';
}
