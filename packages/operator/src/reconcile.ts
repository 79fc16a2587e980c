import { jsonEqual, type KubeObject } from '@ringmaster/kube';
import { ANNOTATIONS, LABELS } from './constants.ts';
import { cacheConfigMap, contains, desiredNodes, nodePod, operatorHashOf, podName, roleService, specHashOf, type DesiredNode, type OperatorTemplate } from './nodes.ts';
import { podFailure, podImage, podReady } from './pods.ts';
import type { AppCluster, AppClusterStatus, CacheStatus, Condition, NodeStatus } from './types.ts';

/** What one reconcile of an AppCluster sees: the object, its children, the operator's template. */
export interface Snapshot {
  app: AppCluster;
  pods: KubeObject[];
  services: KubeObject[];
  configMap?: KubeObject;
  template: OperatorTemplate;
  /** ISO time, for condition transitions. */
  now: string;
}

/** One change to the AppCluster's children, with the Event that records it. */
export type Action =
  | { kind: 'createPod'; pod: KubeObject; reason: string; note: string }
  | { kind: 'deletePod'; name: string; uid: string; reason: string; note: string }
  | { kind: 'patchPod'; name: string; metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; reason: string; note: string }
  | { kind: 'apply'; object: KubeObject; reason: string; note: string }
  | { kind: 'delete'; object: KubeObject; reason: string; note: string };

/** The decision: actions to take (none when paused) and the status to record. */
export interface Plan {
  actions: Action[];
  status: AppClusterStatus;
  /** Actions held back by the paused annotation. */
  held: number;
}

export const isPaused = (app: AppCluster): boolean => app.metadata.annotations?.[ANNOTATIONS.paused] === 'true';

/** The cache state after what the builder's Pods show (pure). */
function nextCache(app: AppCluster, builderPods: { node: DesiredNode; pod?: KubeObject }[], snap: Snapshot): CacheStatus | undefined {
  if (!app.spec.cache) return undefined;
  const prev = app.status?.cache;
  const cache: CacheStatus = { phase: prev?.phase ?? 'Building', build: prev?.build ?? 1, ...(prev?.version ? { version: prev.version } : {}), ...(prev?.copiedFrom ? { copiedFrom: prev.copiedFrom } : {}) };
  if (cache.phase === 'Building') {
    const up = builderPods.filter((b) => b.node.state === 'up');
    const built = up.length > 0 && up.every((b) => b.pod && podReady(b.pod) && b.pod.metadata.annotations?.[ANNOTATIONS.cacheBuild] === String(cache.build)
      && b.pod.metadata.annotations?.[ANNOTATIONS.specHash] === specHashOf(app, b.node, cache.build));
    if (built) {
      cache.phase = 'Ready';
      cache.version = `${app.metadata.name}.${cache.build}`;
      delete cache.copiedFrom;
    }
  }
  void snap;
  return cache;
}

function condition(prev: Condition[] | undefined, c: Omit<Condition, 'lastTransitionTime'>, now: string, generation: number | undefined): Condition {
  const old = prev?.find((p) => p.type === c.type);
  return { ...c, observedGeneration: generation, lastTransitionTime: old && old.status === c.status ? (old.lastTransitionTime ?? now) : now };
}

/** May the operator replace a Pod because its own template changed? (updatePolicy) */
function operatorUpdateAccepted(app: AppCluster, t: OperatorTemplate): { accepted: boolean; release?: string } {
  const release = app.metadata.annotations?.[ANNOTATIONS.release];
  const st = app.status;
  if (st?.operatorRevision === t.revision) return { accepted: true, release: st.acceptedRelease };
  // a new AppCluster (nothing runs yet) takes the current template
  if (st?.operatorRevision === undefined) return { accepted: true, release };
  const policy = app.spec.updatePolicy ?? 'onRelease';
  if (policy === 'immediate') return { accepted: true, release };
  if (policy === 'onRelease' && release !== undefined && release !== st.acceptedRelease) return { accepted: true, release };
  return { accepted: false, release: st.acceptedRelease };
}

/**
 * Decides one reconcile of an AppCluster (pure): which Pods to create, replace, relabel or delete,
 * which Services and cache ConfigMap to apply, and the status. Roles start in order; a replacement
 * happens one node at a time and only while every other node is Ready; the paused annotation holds
 * every action but the status is still computed.
 */
export function decide(snap: Snapshot): Plan {
  const { app, template: t, now } = snap;
  const appName = app.metadata.name!;
  const nodes = desiredNodes(app);
  const podsByNode = new Map<string, KubeObject>();
  for (const p of snap.pods) {
    const n = p.metadata.labels?.[LABELS.node];
    if (n) podsByNode.set(n, p);
  }
  const cache = nextCache(app, nodes.filter((n) => n.isBuilder).map((node) => ({ node, pod: podsByNode.get(node.name) })), snap);
  const update = operatorUpdateAccepted(app, t);
  const opHash = operatorHashOf(t);
  const actions: Action[] = [];
  const statuses: NodeStatus[] = [];
  const roleStats: NonNullable<AppClusterStatus['roles']> = [];
  let previousRoleReady = true;
  let previousRole = '';
  let replacing = false;
  const builderStopped = cache?.phase === 'Ready' && app.spec.cache?.stopBuilderWhenReady === true;
  const wanted = (n: DesiredNode): boolean => n.state === 'up' && !(n.isBuilder && builderStopped);
  const notReady = new Set(nodes.filter((n) => wanted(n) && !(podsByNode.get(n.name) && podReady(podsByNode.get(n.name)!))).map((n) => n.name));

  for (const [ri, role] of app.spec.roles.entries()) {
    const roleNodes = nodes.filter((n) => n.roleIndex === ri);
    const isBuilder = app.spec.cache?.builder === role.name;
    let ready = 0;
    let wantedCount = 0;
    let started = false;
    for (const node of roleNodes) {
      const pod = podsByNode.get(node.name);
      const want = wanted(node);
      const desired = nodePod(app, node, t, { build: cache?.build, version: cache?.version });
      const st: NodeStatus = { name: node.name, role: node.role, phase: 'Waiting', state: node.state, traffic: node.traffic, image: node.image };
      if (pod) {
        st.pod = pod.metadata.name;
        st.image = podImage(pod);
        const cv = pod.metadata.annotations?.[ANNOTATIONS.cacheVersion];
        if (cv) st.cacheVersion = cv;
      }
      if (want) wantedCount++;
      if (!want) {
        st.phase = pod ? 'Terminating' : 'Stopped';
        st.message = node.state === 'down' ? 'state: down' : 'the cache is Ready; the builder stops';
        if (pod && !pod.metadata.deletionTimestamp) {
          actions.push({ kind: 'deletePod', name: pod.metadata.name!, uid: pod.metadata.uid!, reason: 'NodeStopped', note: `node ${node.name}: ${st.message}` });
        }
      } else if (!pod) {
        if (!previousRoleReady) {
          st.message = `waiting for role ${previousRole} to be Ready`;
        } else {
          st.phase = 'Starting';
          st.message = 'creating its Pod';
          actions.push({ kind: 'createPod', pod: desired, reason: 'NodeCreated', note: `node ${node.name}: Pod ${desired.metadata.name} created (${node.image})` });
        }
      } else if (pod.metadata.deletionTimestamp) {
        st.phase = 'Terminating';
        st.message = 'its Pod is being replaced';
      } else {
        const failure = podFailure(pod);
        const isReady = podReady(pod);
        st.phase = isReady ? 'Ready' : failure ? 'Failed' : 'Starting';
        if (failure) st.message = failure;
        if (isReady) ready++;
        started = true;
        const a = pod.metadata.annotations ?? {};
        const da = desired.metadata.annotations!;
        const specChanged = a[ANNOTATIONS.specHash] !== da[ANNOTATIONS.specHash];
        const operatorChanged = a[ANNOTATIONS.operatorHash] !== opHash;
        const othersReady = [...notReady].every((n) => n === node.name);
        if (specChanged || (operatorChanged && update.accepted)) {
          const why = specChanged ? 'its spec changed' : `the operator's template changed (revision ${t.revision})`;
          if (!replacing && othersReady) {
            replacing = true;
            actions.push({ kind: 'deletePod', name: pod.metadata.name!, uid: pod.metadata.uid!, reason: specChanged ? 'NodeReplaced' : 'NodeUpdated', note: `node ${node.name}: Pod replaced, ${why}` });
          } else {
            st.message = `${why}; waits until the other nodes are Ready`;
          }
        } else if (operatorChanged) {
          st.updatePending = true;
          st.message = `runs an older operator template; updatePolicy ${app.spec.updatePolicy ?? 'onRelease'} holds the update`;
        }
        const labels: Record<string, string> = {};
        if (pod.metadata.labels?.[LABELS.traffic] !== node.traffic) labels[LABELS.traffic] = node.traffic;
        const annotations: Record<string, string> = {};
        const wantVersion = da[ANNOTATIONS.cacheVersion];
        if (wantVersion && a[ANNOTATIONS.cacheVersion] !== wantVersion) annotations[ANNOTATIONS.cacheVersion] = wantVersion;
        if (Object.keys(labels).length || Object.keys(annotations).length) {
          const what = [labels[LABELS.traffic] ? `traffic ${node.traffic}` : '', annotations[ANNOTATIONS.cacheVersion] ? `cache ${wantVersion}` : ''].filter(Boolean).join(', ');
          actions.push({ kind: 'patchPod', name: pod.metadata.name!, metadata: { ...(Object.keys(labels).length ? { labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) }, reason: labels[LABELS.traffic] ? 'TrafficChanged' : 'CacheDistributed', note: `node ${node.name}: ${what}` });
        }
      }
      statuses.push(st);
    }
    const roleReady = isBuilder ? cache?.phase === 'Ready' : ready >= wantedCount;
    roleStats.push({ name: role.name, desired: wantedCount, ready, phase: roleReady ? 'Ready' : started || ready > 0 ? 'Starting' : 'Waiting' });
    previousRoleReady = previousRoleReady && roleReady;
    previousRole = role.name;
    const svc = roleService(app, role);
    const live = svc && snap.services.find((s) => s.metadata.name === svc.metadata.name);
    if (svc && !(live && contains(live, { metadata: { labels: svc.metadata.labels }, spec: svc.spec }))) {
      actions.push({ kind: 'apply', object: svc, reason: 'ServiceApplied', note: `Service ${svc.metadata.name} selects the serving nodes of role ${role.name}` });
    }
  }
  // Pods and Services of nodes and roles the spec no longer has
  const known = new Set(nodes.map((n) => podName(appName, n.name)));
  for (const p of snap.pods) if (!known.has(p.metadata.name!) && !p.metadata.deletionTimestamp) actions.push({ kind: 'deletePod', name: p.metadata.name!, uid: p.metadata.uid!, reason: 'NodeRemoved', note: `Pod ${p.metadata.name} belongs to no node of the spec` });
  const services = new Set(app.spec.roles.map((r) => roleService(app, r)?.metadata.name).filter(Boolean));
  for (const s of snap.services) if (!services.has(s.metadata.name)) actions.push({ kind: 'delete', object: s, reason: 'ServiceDeleted', note: `Service ${s.metadata.name} belongs to no role with ports` });
  if (cache?.version) {
    const cm = cacheConfigMap(app, cache.version);
    if (!(snap.configMap && contains(snap.configMap, { data: cm.data }))) actions.push({ kind: 'apply', object: cm, reason: 'CacheVersionPublished', note: `cache version ${cache.version} published to the nodes` });
  }

  const paused = isPaused(app);
  const gen = app.metadata.generation;
  const prevConds = app.status?.conditions;
  const failed = statuses.filter((s) => s.phase === 'Failed');
  const allReady = roleStats.every((r) => r.phase === 'Ready') && actions.length === 0 && statuses.every((s) => s.phase === 'Ready' || s.phase === 'Stopped');
  const progressing = !allReady && failed.length === 0;
  const pendingUpdates = statuses.filter((s) => s.updatePending).length;
  const conditions: Condition[] = [
    condition(prevConds, allReady
      ? { type: 'Ready', status: 'True', reason: 'AllNodesReady', message: `${statuses.filter((s) => s.phase === 'Ready').length} nodes Ready` }
      : { type: 'Ready', status: 'False', reason: failed.length ? 'NodesFailed' : 'NodesNotReady', message: notReadyMessage(roleStats) }, now, gen),
    condition(prevConds, progressing
      ? { type: 'Progressing', status: 'True', reason: paused ? 'Paused' : 'Reconciling', message: paused ? `paused: ${actions.length} changes held` : `${actions.length} changes in progress` }
      : { type: 'Progressing', status: 'False', reason: failed.length ? 'NodesFailed' : 'Reconciled', message: pendingUpdates ? `${pendingUpdates} nodes wait for the update policy` : 'nothing to change' }, now, gen),
    condition(prevConds, failed.length
      ? { type: 'Degraded', status: 'True', reason: 'NodesFailed', message: failed.map((f) => `${f.name}: ${f.message ?? 'failed'}`).join('; ').slice(0, 1000) }
      : { type: 'Degraded', status: 'False', reason: 'NoFailures', message: 'no node failed' }, now, gen),
    condition(prevConds, paused
      ? { type: 'Paused', status: 'True', reason: 'PausedByAnnotation', message: `${ANNOTATIONS.paused}: "true" holds every change` }
      : { type: 'Paused', status: 'False', reason: 'NotPaused', message: 'changes are applied' }, now, gen),
  ];
  const status: AppClusterStatus = {
    observedGeneration: gen,
    conditions,
    roles: roleStats,
    nodes: statuses,
    ...(cache ? { cache } : {}),
    ...(update.accepted ? { operatorRevision: t.revision } : app.status?.operatorRevision ? { operatorRevision: app.status.operatorRevision } : {}),
    ...(update.release !== undefined ? { acceptedRelease: update.release } : {}),
    ...(app.status?.activeOperation ? { activeOperation: app.status.activeOperation } : {}),
  };
  return { actions: paused ? [] : actions, status, held: paused ? actions.length : 0 };
}

function notReadyMessage(roles: NonNullable<AppClusterStatus['roles']>): string {
  const waiting = roles.filter((r) => r.phase !== 'Ready').map((r) => `${r.name} ${r.ready}/${r.desired}`);
  return waiting.length ? `roles not Ready: ${waiting.join(', ')}` : 'changes in progress';
}

/** True when the recorded status already says what `next` says (no write needed). */
export function statusUnchanged(prev: AppClusterStatus | undefined, next: AppClusterStatus): boolean {
  return jsonEqual(prev ?? {}, next);
}
