import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalKubeError } from './errors.ts';

/**
 * Pods whose image tag is this one or ends with `-` and this one (`registry/app:bad`,
 * `app:2.0.0-bad`) never turn Ready on the local fleet: the kwok Stage below plays a container that
 * keeps crashing (CrashLoopBackOff, Ready=False), so a bad release fails through the real
 * Deployment/StatefulSet controllers and Argo CD's own health.
 */
export const BAD_IMAGE_TAG = 'bad';

/**
 * A Pod with this annotation (any value) stays Pending with its containers creating, as a slow
 * image pull or a long start would leave it; removing the annotation lets it start and turn Ready.
 * For tests that need a role to be "still starting" while they look at what waits for it.
 */
export const HOLD_ANNOTATION = 'kwok.ringmaster.dev/hold';

/**
 * A running Pod given this annotation with the value `crash-loop` starts crashing
 * (CrashLoopBackOff, Ready=False), as a process that falls over under load would.
 */
export const FAULT_ANNOTATION = 'kwok.ringmaster.dev/fault';

// kwok's own default stages (as kwokctl installs them), read from kwok's module in the Go module
// cache rather than copied: nodes turn Ready and keep a lease; pods turn Ready, complete, delete.
const DEFAULT_STAGES = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
];

/** The head of a Pod Stage of ours: its name, and the selector's "not being deleted, in this phase" part. */
function podStageHead(name: string, phase: 'Pending' | 'Running'): string {
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ${name}
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
      values: ['${phase}']`;
}

/** The crash-looping status; `start` also gives a pending Pod its IP, phase and start time. */
const crashLoopNext = (start: boolean) => `  next:
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
${start ? `      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
` : ''}`;

// Ringmaster's own Stage: a pending pod with a `:bad` image goes Running with its containers in
// CrashLoopBackOff. Weight 1 wins over pod-ready (weight 0, which kwok then never picks).
const badImageStage = (crashing: string[]) => `${podStageHead('ringmaster-bad-image-crash-loop', 'Pending')}
    - key: '[ .spec.containers.[] | .image | (${[`":${BAD_IMAGE_TAG}"`, `"-${BAD_IMAGE_TAG}"`, ...crashing.map(jqString)].map((x) => `endswith(${x})`).join(' or ')}) ] | any'
      operator: 'In'
      values: ['true']
    - key: '.metadata.annotations["${HOLD_ANNOTATION}"]'
      operator: 'DoesNotExist'
  weight: 1
${crashLoopNext(true)}`;

// A pending pod with the hold annotation is left creating: scheduled, containers waiting. No
// timestamps, so applying it again is a no-op patch (no watch event, no loop). Weight 2: chosen over
// pod-ready (weight 0); the bad-image Stage leaves held pods alone.
const holdStage = `${podStageHead('ringmaster-hold-pending', 'Pending')}
    - key: '.metadata.annotations["${HOLD_ANNOTATION}"]'
      operator: 'Exists'
  weight: 2
  next:
    statusTemplate: |
      conditions:
      - status: "True"
        type: PodScheduled
      - status: "False"
        reason: ContainersNotReady
        type: Ready
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          waiting:
            reason: ContainerCreating
      {{ end }}
      phase: Pending
`;

// A running, ready pod given the fault annotation starts crash-looping (then Ready=False: no loop).
const faultStage = `${podStageHead('ringmaster-fault-crash-loop', 'Running')}
    - key: '.metadata.annotations["${FAULT_ANNOTATION}"]'
      operator: 'In'
      values: ['crash-loop']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values: ['True']
  weight: 1
${crashLoopNext(false)}`;

const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._\/:@-]{0,254}$/;

/** A jq string literal inside a single-quoted YAML scalar; only image-reference characters are accepted. */
function jqString(s: string): string {
  if (!IMAGE_REF.test(s)) throw new LocalKubeError(`crashing image ${JSON.stringify(s)} is not an image reference (letters, digits, . _ / : @ -)`);
  return JSON.stringify(s);
}

/**
 * kwok's configuration file: its default node and pod Stages plus Ringmaster's bad-image, hold and
 * fault Stages. `crashingImages` adds images (matched at the end of the reference, e.g.
 * `appserver:7.5.1`) whose Pods crash-loop like a `:bad` tag.
 */
export function kwokConfig(kwokModuleDir: string, opts: { crashingImages?: string[] } = {}): string {
  const defaults = DEFAULT_STAGES.map((f) => readFileSync(join(kwokModuleDir, 'kustomize', 'stage', f), 'utf8').trim());
  return [...defaults, badImageStage(opts.crashingImages ?? []).trim(), holdStage.trim(), faultStage.trim()].join('\n---\n') + '\n';
}
