import { applyObjects, assessHealth, assessWorkloadPods, readInventory, selectorString, worstHealth, type Health, type InventoryRef, type KubeClient, type KubeObject } from '@ringmaster/kube';
import type { RenderedInstance, RenderedObject } from '@ringmaster/fleet';

/** Kinds whose health is waited for before the next role starts (AppCluster: the operator's conditions). */
const WATCHED = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'Pod', 'PersistentVolumeClaim', 'AppCluster']);

/** Where the record of an instance's applied objects lives (prune deletes only what it lists). */
export function inventoryFor(instance: string, namespace: string): InventoryRef {
  return { namespace, name: `ringmaster-inventory-${instance}`.slice(0, 253) };
}

/**
 * The apply stages of an instance: first everything without a role (CRDs, Namespaces, config), then
 * one stage per role in the app's declared order (the render already sorts objects that way).
 */
export function stagesOf(inst: RenderedInstance): RenderedObject[][] {
  const stages: RenderedObject[][] = [[]];
  let current: string | undefined;
  for (const o of inst.objects) {
    if (o.role === undefined) {
      stages[0]!.push(o);
      continue;
    }
    if (o.role !== current) {
      stages.push([]);
      current = o.role;
    }
    stages[stages.length - 1]!.push(o);
  }
  return stages;
}

const copy = (o: RenderedObject): KubeObject => structuredClone(o.object) as KubeObject;

/** Server-side applies one stage, recording it in the inventory without pruning (later stages are still to come). */
export async function applyStage(client: KubeClient, inst: RenderedInstance, stage: number): Promise<void> {
  const objs = stagesOf(inst)[stage];
  if (!objs?.length) return;
  await applyObjects(client, objs.map(copy), { inventory: inventoryFor(inst.instance, inst.namespace), prune: false });
}

/** The worst health of a stage's workloads (Healthy when it has none). */
export async function stageHealth(client: KubeClient, inst: RenderedInstance, stage: number): Promise<Health> {
  const objs = (stagesOf(inst)[stage] ?? []).filter((o) => WATCHED.has(o.kind));
  const verdicts = await Promise.all(objs.map(async (o) => {
    const live = await client.get({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.namespace, name: o.name });
    let h = assessHealth(live);
    if (h.status === 'Progressing' && live && POD_OWNERS.has(o.kind)) h = (await podsVerdict(client, live)) ?? h;
    return { status: h.status, reason: `${o.kind} ${o.namespace ? o.namespace + '/' : ''}${o.name}: ${h.reason}` };
  }));
  return worstHealth(verdicts);
}

/** Workloads whose Pods are read when their own status only says "not ready yet". */
const POD_OWNERS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** Degraded when Pods of the workload's current template crash-loop or cannot pull their image. */
async function podsVerdict(client: KubeClient, workload: KubeObject): Promise<Health | undefined> {
  const labelSelector = selectorString((workload.spec as { selector?: Parameters<typeof selectorString>[0] } | undefined)?.selector);
  if (!labelSelector) return undefined;
  const pods = await client.list('v1', 'Pod', { namespace: workload.metadata.namespace, labelSelector });
  return assessWorkloadPods(workload, pods.items);
}

/** Applies the whole instance once more and prunes what this release removed; `null` removes the instance. */
export async function finishInstance(client: KubeClient, instance: string, namespace: string, inst: RenderedInstance | null): Promise<void> {
  const inventory = inventoryFor(instance, namespace);
  // removing an instance that never reached the cluster (its delivery stopped before applying) leaves nothing to prune
  if (!inst && (await readInventory(client, inventory)).length === 0) return;
  await applyObjects(client, inst ? inst.objects.map(copy) : [], { inventory, prune: true });
}

type StatefulSetLive = KubeObject & {
  spec?: { podManagementPolicy?: string; selector?: Parameters<typeof selectorString>[0] };
  status?: { updateRevision?: string; currentRevision?: string };
};

/**
 * The StatefulSet "forced rollback": with the default OrderedReady policy, a StatefulSet whose Pod
 * runs a template that never turns Ready does not replace that Pod after the template is reverted —
 * it waits for it to turn Ready first, for ever (the Kubernetes documentation tells operators to
 * delete such Pods by hand). During a rollback, Ringmaster deletes the Pods of the stage's
 * OrderedReady StatefulSets that are not Ready and not at the reverted revision, so the controller
 * recreates them from it. Returns the Pods it deleted ("namespace/name").
 */
export async function replaceStuckStatefulSetPods(client: KubeClient, inst: RenderedInstance, stage: number): Promise<string[]> {
  const deleted: string[] = [];
  for (const o of (stagesOf(inst)[stage] ?? []).filter((x) => x.kind === 'StatefulSet')) {
    const live = (await client.get({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.namespace, name: o.name })) as StatefulSetLive | undefined;
    const revision = live?.status?.updateRevision;
    if (!live || !revision || live.spec?.podManagementPolicy === 'Parallel') continue;
    const labelSelector = selectorString(live.spec?.selector);
    if (!labelSelector) continue;
    const pods = await client.list('v1', 'Pod', { namespace: o.namespace, labelSelector });
    for (const p of pods.items) {
      const ready = ((p.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready || p.metadata.deletionTimestamp || p.metadata.labels?.['controller-revision-hash'] === revision) continue;
      await client.delete({ apiVersion: 'v1', kind: 'Pod', namespace: o.namespace, name: p.metadata.name! }, { preconditionUid: p.metadata.uid });
      deleted.push(`${o.namespace}/${p.metadata.name}`);
    }
  }
  return deleted;
}
