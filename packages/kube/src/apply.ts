import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from './client.ts';
import { KubeError, KubeObjectError, isStatus } from './errors.ts';
import { inventoryId, inventoryObject, ownedByInventory, pruneCandidates, readInventory, type InventoryRef } from './inventory.ts';
import { ANNOTATIONS, groupOf, identityKey, sortForApply, type KubeObject, type ObjectRef } from '@ringmaster/kube-common';
import { diffPaths, formatRef, refOf } from './object.ts';

/** The field manager Ringmaster applies with. */
export const FIELD_MANAGER = 'ringmaster';

/** Options of applyObjects. */
export interface ApplyOptions {
  /** Field manager name (default "ringmaster"). */
  fieldManager?: string;
  /** Take ownership of fields other managers set (default true, as GitOps tools do). */
  force?: boolean;
  /** Server-side dry run: nothing is written; each object reports what would happen. */
  dryRun?: boolean;
  /** Record what was applied here; objects recorded earlier and gone from the set are pruned. */
  inventory?: InventoryRef;
  /** Delete prune candidates (default true when an inventory is given). */
  prune?: boolean;
  /** Also prune Namespaces and CRDs (default false: deleting them deletes everything they hold). */
  pruneContainers?: boolean;
  /** Milliseconds to wait for a CRD to become Established (default 60 s). */
  crdTimeoutMs?: number;
  /** Namespace for namespaced objects that name none (as `kubectl apply -n` does). */
  namespace?: string;
}

/** What happened (or, in a dry run, would happen) to one object. */
export interface ObjectResult {
  ref: ObjectRef;
  action: 'create' | 'update' | 'unchanged' | 'delete' | 'skip';
  /** Paths that change (dry run, update) or why an object was skipped. */
  changedPaths?: string[];
  reason?: string;
  resourceVersion?: string;
}

/** The outcome of applyObjects. */
export interface ApplyResult {
  dryRun: boolean;
  objects: ObjectResult[];
}

/** Removes what the server owns or generates, so a dry-run answer can be compared with the live object. */
function comparable(obj: KubeObject): KubeObject {
  const { managedFields: _m, resourceVersion: _r, generation: _g, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

async function withNamespace(client: KubeClient, obj: KubeObject, namespace: string | undefined, all: KubeObject[]): Promise<KubeObject> {
  if (!namespace || obj.metadata?.namespace) return obj;
  let namespaced: boolean;
  try {
    namespaced = (await client.resourceFor(obj.apiVersion, obj.kind)).namespaced;
  } catch (err) {
    if (!(err instanceof KubeObjectError)) throw err;
    // a custom resource whose CRD comes in this same apply: the CRD says its scope
    const crd = all.find((c) => c.kind === 'CustomResourceDefinition' && (c.spec as { group?: string; names?: { kind?: string } } | undefined)?.group === groupOf(obj.apiVersion)
      && (c.spec as { names?: { kind?: string } }).names?.kind === obj.kind);
    if (!crd) throw err;
    namespaced = (crd.spec as { scope?: string }).scope !== 'Cluster';
  }
  return namespaced ? { ...obj, metadata: { ...obj.metadata, namespace } } : obj;
}

function withInventory(obj: KubeObject, inv: InventoryRef | undefined): KubeObject {
  if (!inv) return obj;
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata.annotations, [ANNOTATIONS.inventory]: inventoryId(inv) } } };
}

/** Waits until a CustomResourceDefinition reports Established=True and discovery serves its kind. */
export async function waitForCrdEstablished(client: KubeClient, name: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const timeout = () => new KubeError('RINGMASTER_KUBE_TIMEOUT', `CustomResourceDefinition ${name} was not Established after ${timeoutMs} ms`);
  let crd: KubeObject | undefined;
  for (;;) {
    crd = await client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });
    const conds = ((crd?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions) ?? [];
    if (conds.some((c) => c.type === 'Established' && c.status === 'True')) break;
    if (Date.now() > until) throw timeout();
    await sleep(100);
  }
  // discovery can trail the Established condition by a moment; applying a custom resource needs it
  const spec = crd?.spec as { group?: string; names?: { kind?: string }; versions?: { name: string; served?: boolean }[] } | undefined;
  const version = spec?.versions?.find((v) => v.served !== false)?.name;
  if (!spec?.group || !spec.names?.kind || !version) return;
  for (;;) {
    try {
      await client.resourceFor(`${spec.group}/${version}`, spec.names.kind);
      return;
    } catch (err) {
      if (!(err instanceof KubeObjectError)) throw err;
    }
    if (Date.now() > until) throw timeout();
    await sleep(100);
  }
}

/**
 * Server-side applies objects with field manager "ringmaster" in dependency order (CRDs, waiting
 * until Established, then Namespaces, then the rest); with an inventory, prunes what an earlier
 * apply recorded and this set dropped. A dry run writes nothing and reports create/update/unchanged/delete.
 */
export async function applyObjects(client: KubeClient, objects: KubeObject[], opts: ApplyOptions = {}): Promise<ApplyResult> {
  const fieldManager = opts.fieldManager ?? FIELD_MANAGER;
  const force = opts.force ?? true;
  const dryRun = opts.dryRun ?? false;
  const inv = opts.inventory;
  const desired = sortForApply(await Promise.all(objects.map(async (o) => withInventory(await withNamespace(client, o, opts.namespace, objects), inv))));
  const refs = desired.map((o) => refOf(o));
  const seen = new Set<string>();
  for (const r of refs) {
    if (seen.has(identityKey(r))) throw new KubeObjectError(`${formatRef(r)} appears twice in the desired set`);
    seen.add(identityKey(r));
  }
  const results: ObjectResult[] = [];
  // in a dry run, objects that would be created in a namespace or of a kind created by this same set cannot be checked by the server
  const pendingNamespaces = new Set<string>();
  const pendingKinds = new Set<string>();

  let previous: ObjectRef[] = [];
  if (inv) {
    previous = await readInventory(client, inv);
    const invNs = desired.find((o) => o.kind === 'Namespace' && o.apiVersion === 'v1' && o.metadata.name === inv.namespace);
    if (!dryRun) {
      if (invNs) await client.apply(invNs, { fieldManager, force });
      // record the union first: a crash halfway through must not forget what it already created
      await client.apply(inventoryObject(inv, [...previous, ...refs]), { fieldManager, force });
    }
  }

  for (const obj of desired) {
    const ref = refOf(obj);
    let live: KubeObject | undefined;
    try {
      live = await client.get(ref);
    } catch (err) {
      if (dryRun && err instanceof KubeObjectError && pendingKinds.has(`${groupOf(ref.apiVersion)}/${ref.kind}`)) {
        results.push({ ref, action: 'create', reason: 'its CustomResourceDefinition is created by this apply' });
        continue;
      }
      throw err;
    }
    if (dryRun) {
      if (!live && ref.namespace && pendingNamespaces.has(ref.namespace)) {
        results.push({ ref, action: 'create', reason: `namespace ${ref.namespace} is created by this apply` });
        continue;
      }
      const after = await client.apply(obj, { fieldManager, force, dryRun: true });
      if (!live) {
        results.push({ ref, action: 'create' });
        if (obj.kind === 'Namespace') pendingNamespaces.add(ref.name);
        if (obj.kind === 'CustomResourceDefinition') {
          const spec = obj.spec as { group?: string; names?: { kind?: string } } | undefined;
          pendingKinds.add(`${spec?.group ?? ''}/${spec?.names?.kind ?? ''}`);
        }
        continue;
      }
      const changed = diffPaths(comparable(live), comparable(after));
      results.push(changed.length ? { ref, action: 'update', changedPaths: changed } : { ref, action: 'unchanged', resourceVersion: live.metadata.resourceVersion });
      continue;
    }
    const after = await client.apply(obj, { fieldManager, force });
    const rv = after.metadata.resourceVersion;
    results.push({ ref, action: !live ? 'create' : live.metadata.resourceVersion === rv ? 'unchanged' : 'update', ...(rv ? { resourceVersion: rv } : {}) });
    if (obj.kind === 'CustomResourceDefinition' && obj.apiVersion.startsWith('apiextensions.k8s.io/')) {
      client.invalidateDiscovery();
      await waitForCrdEstablished(client, ref.name, opts.crdTimeoutMs);
    }
  }

  if (inv) {
    const kept: ObjectRef[] = [];
    if (opts.prune ?? true) {
      for (const ref of sortForApply(pruneCandidates(previous, refs)).reverse()) {
        const outcome = await pruneOne(client, ref, inv, dryRun, opts.pruneContainers ?? false);
        results.push(outcome);
        if (outcome.action === 'skip' && outcome.reason !== notOursReason) kept.push(ref);
      }
    } else {
      kept.push(...pruneCandidates(previous, refs));
    }
    if (!dryRun) await client.apply(inventoryObject(inv, [...refs, ...kept]), { fieldManager, force });
  }
  return { dryRun, objects: results };
}

const notOursReason = 'not applied by this inventory (annotation missing or different): left alone';

async function pruneOne(client: KubeClient, ref: ObjectRef, inv: InventoryRef, dryRun: boolean, pruneContainers: boolean): Promise<ObjectResult> {
  let live: KubeObject | undefined;
  try {
    live = await client.get(ref);
  } catch (err) {
    // the kind is no longer served (its CRD is gone): nothing left to delete
    if (err instanceof KubeObjectError) return { ref, action: 'skip', reason: notOursReason };
    throw err;
  }
  if (!live || !ownedByInventory(live, inv)) return { ref, action: 'skip', reason: notOursReason };
  // Argo CD's own way to keep an object its app prunes or deletes (a data volume, say): honoured here too
  const syncOptions = live.metadata.annotations?.['argocd.argoproj.io/sync-options'] ?? '';
  if (/(^|,)\s*(Prune|Delete)=false\s*(,|$)/.test(syncOptions)) return { ref, action: 'skip', reason: `kept: its sync options say ${syncOptions}` };
  if (!pruneContainers && (ref.kind === 'Namespace' || ref.kind === 'CustomResourceDefinition')) {
    return { ref, action: 'skip', reason: `${ref.kind} is not pruned by default: deleting it deletes everything it holds (pass pruneContainers)` };
  }
  try {
    // the uid precondition makes sure we delete the very object we checked, not a newcomer with the same name
    await client.delete(ref, { dryRun, preconditionUid: live.metadata.uid });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    return { ref, action: 'skip', reason: notOursReason };
  }
  return { ref, action: 'delete' };
}
