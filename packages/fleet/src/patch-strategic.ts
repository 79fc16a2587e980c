import type { NamedObject } from '@ringmaster/kube-common';
import { isUnsafeKey, UNSAFE_KEYS } from './keys.ts';
import { cloneJson, jsonEqual, PatchError } from './patch-json6902.ts';

/*
 * Kubernetes strategic merge patch, as `kubectl patch` and Kustomize's patchesStrategicMerge
 * apply it to built-in kinds: maps merge, `null` deletes, lists replace unless the API type
 * declares a merge key (the `patchMergeKey` / `patchStrategy:"merge"` tags of k8s.io/api),
 * in which case elements merge by that key. Kinds outside the built-in API groups (custom
 * resources) get JSON merge patch semantics (RFC 7386: lists replace), as kubectl does.
 *
 * Directives: `$patch: delete` (a map, or a list element by key), `$patch: replace` (a map, or
 * a `- $patch: replace` element that makes the list replace), `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`. Merged lists come out in the
 * order Kubernetes' own strategic merge gives (checked against `kubectl patch --local`).
 */

type Obj = { [k: string]: unknown };

interface Struct {
  t: 'struct';
  fields: Record<string, Schema>;
}
/** A list merged by key. `also` are further list-map keys compared only when both sides set them (with defaults), so 53/TCP and 53/UDP stay two ports. */
interface Keyed {
  t: 'keyed';
  key: string;
  also?: { field: string; default?: string }[];
  item?: Struct;
}
/** A list of scalars with patchStrategy merge: union, keeping order. */
interface SetList {
  t: 'set';
}
type Schema = Struct | Keyed | SetList;

const struct = (fields: Record<string, Schema>): Struct => ({ t: 'struct', fields });
const keyed = (key: string, item?: Struct, also?: Keyed['also']): Keyed => ({ t: 'keyed', key, item, also });

const objectMeta = struct({ finalizers: { t: 'set' }, ownerReferences: keyed('uid') });
const conditions = struct({ conditions: keyed('type') });
const container = struct({
  ports: keyed('containerPort', undefined, [{ field: 'protocol', default: 'TCP' }]),
  env: keyed('name'),
  volumeMounts: keyed('mountPath'),
  volumeDevices: keyed('devicePath'),
});
const podSpec = struct({
  containers: keyed('name', container),
  initContainers: keyed('name', container),
  ephemeralContainers: keyed('name', container),
  volumes: keyed('name'),
  imagePullSecrets: keyed('name'),
  hostAliases: keyed('ip'),
  topologySpreadConstraints: keyed('topologyKey', undefined, [{ field: 'whenUnsatisfiable' }]),
  resourceClaims: keyed('name'),
  schedulingGates: keyed('name'),
});
const podTemplate = struct({ metadata: objectMeta, spec: podSpec });
const workload = struct({ metadata: objectMeta, spec: struct({ template: podTemplate }), status: conditions });
const builtinDefault = struct({ metadata: objectMeta, status: conditions });

const KINDS: Record<string, Struct> = {
  Pod: struct({ metadata: objectMeta, spec: podSpec, status: conditions }),
  PodTemplate: struct({ metadata: objectMeta, template: podTemplate }),
  Deployment: workload,
  ReplicaSet: workload,
  StatefulSet: workload,
  DaemonSet: workload,
  ReplicationController: workload,
  Job: workload,
  CronJob: struct({ metadata: objectMeta, spec: struct({ jobTemplate: struct({ metadata: objectMeta, spec: struct({ template: podTemplate }) }) }), status: conditions }),
  Service: struct({ metadata: objectMeta, spec: struct({ ports: keyed('port', undefined, [{ field: 'protocol', default: 'TCP' }]) }), status: conditions }),
  ServiceAccount: struct({ metadata: objectMeta, secrets: keyed('name') }),
  Node: struct({ metadata: objectMeta, spec: struct({ podCIDRs: { t: 'set' } }), status: struct({ addresses: keyed('type'), conditions: keyed('type') }) }),
  MutatingWebhookConfiguration: struct({ metadata: objectMeta, webhooks: keyed('name') }),
  ValidatingWebhookConfiguration: struct({ metadata: objectMeta, webhooks: keyed('name') }),
};

/** API groups served by Kubernetes itself; anything else is a custom resource. */
const BUILTIN_GROUPS = new Set([
  '',
  'apps',
  'batch',
  'autoscaling',
  'policy',
  'networking.k8s.io',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'node.k8s.io',
  'certificates.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'resource.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'internal.apiserver.k8s.io',
  'storagemigration.k8s.io',
]);

/** The strategic-merge schema of a kind, or undefined for a custom resource (JSON merge patch). */
function schemaFor(apiVersion: unknown, kind: unknown): Struct | undefined {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  if (!BUILTIN_GROUPS.has(group)) return undefined;
  return KINDS[kind] ?? builtinDefault;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setOwn(obj: Obj, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

const DELETE = Symbol('delete');

interface Ctx {
  /** false for custom resources: every list replaces. */
  strategic: boolean;
}

function child(schema: Schema | undefined, key: string): Schema | undefined {
  return schema?.t === 'struct' ? schema.fields[key] : undefined;
}

function isDirectiveOnly(v: unknown): boolean {
  return isObj(v) && Object.keys(v).length === 1 && Object.hasOwn(v, '$patch');
}

type At = (string | number)[];

/** The path of a problem as the messages show it: /spec/ports/0. */
function show(at: At): string {
  return at.length ? '/' + at.join('/') : '/';
}

/** Throws a PatchError about `at`, located at `where` (an element inside it, by default `at` itself). */
function fail(at: At, message: string, where: At = at): never {
  throw new PatchError(`strategic merge patch at ${show(at)}: ${message}`, { path: where });
}

/** A patch value with no counterpart in the target: directives and nulls resolve against nothing. */
function fresh(patch: unknown, schema: Schema | undefined, ctx: Ctx, at: At): unknown {
  // Returns DELETE for a `$patch: delete` map, which callers drop.
  if (isObj(patch)) return mergeMap({}, patch, schema?.t === 'struct' ? schema : undefined, ctx, at);
  if (Array.isArray(patch)) return mergeList([], patch, schema, ctx, at);
  return patch;
}

/** A key of a patch that would reach JavaScript object internals is refused, never merged. */
function checkKey(k: string, at: At): void {
  const field = k.startsWith('$deleteFromPrimitiveList/') || k.startsWith('$setElementOrder/') ? k.slice(k.indexOf('/') + 1) : k;
  if (isUnsafeKey(field)) fail([...at, k], `the key "${field}" is not allowed ("${[...UNSAFE_KEYS].join('", "')}" reach JavaScript object internals)`);
}

/** Merges `patch` into `orig` in place (orig is already a private copy); returns DELETE for `$patch: delete`. */
function mergeMap(orig: Obj, patch: Obj, schema: Struct | undefined, ctx: Ctx, at: At): Obj | typeof DELETE {
  for (const k of Object.keys(patch)) checkKey(k, at);
  const directive = patch.$patch;
  if (directive !== undefined) {
    if (directive === 'delete') return DELETE;
    if (directive === 'replace') {
      const rest: Obj = {};
      for (const k of Object.keys(patch)) if (k !== '$patch') setOwn(rest, k, patch[k]);
      return mergeMap({}, rest, schema, ctx, at);
    }
    if (directive !== 'merge') fail(at, `unknown directive "$patch: ${String(directive)}" (use delete, replace or merge)`);
  }
  for (const k of Object.keys(patch)) {
    if (!k.startsWith('$deleteFromPrimitiveList/')) continue;
    const field = k.slice('$deleteFromPrimitiveList/'.length);
    const drop = patch[k];
    const cur = orig[field];
    if (!Array.isArray(drop)) fail([...at, k], `"${k}" must be a list of values to remove`);
    if (Array.isArray(cur)) orig[field] = cur.filter((x) => !drop.some((d) => jsonEqual(d, x)));
  }
  // `$setElementOrder/<field>` orders the merged list against the list as it was before the merge.
  const before = new Map<string, unknown[]>();
  for (const k of Object.keys(patch)) {
    if (!k.startsWith('$setElementOrder/')) continue;
    const field = k.slice('$setElementOrder/'.length);
    if (!Array.isArray(patch[k])) fail([...at, k], `"${k}" must be a list (the order of the elements of "${field}")`);
    before.set(field, Array.isArray(orig[field]) ? [...(orig[field] as unknown[])] : []);
  }
  for (const k of Object.keys(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$deleteFromPrimitiveList/') || k.startsWith('$setElementOrder/')) continue;
    const pv = patch[k];
    const path = [...at, k];
    if (pv === null) {
      delete orig[k];
      continue;
    }
    const sub = child(schema, k);
    const ov = Object.hasOwn(orig, k) ? orig[k] : undefined;
    if (isObj(pv)) {
      const r = isObj(ov) ? mergeMap(ov, pv, sub?.t === 'struct' ? sub : undefined, ctx, path) : pv.$patch === 'delete' ? DELETE : fresh(pv, sub, ctx, path);
      if (r === DELETE) delete orig[k];
      else setOwn(orig, k, r);
    } else if (Array.isArray(pv)) {
      setOwn(orig, k, mergeList(Array.isArray(ov) ? ov : [], pv, sub, ctx, path));
    } else {
      setOwn(orig, k, pv);
    }
  }
  for (const [field, was] of before) {
    const merged = orig[field];
    const sub = child(schema, field);
    if (Array.isArray(merged) && ctx.strategic && sub !== undefined && sub.t !== 'struct') {
      orig[field] = ordered(merged, patch[`$setElementOrder/${field}`] as unknown[], was, sub);
    }
  }
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((x) => typeof x === 'string')) fail([...at, '$retainKeys'], '"$retainKeys" must be a list of field names');
    for (const k of Object.keys(orig)) if (!retain.includes(k)) delete orig[k];
  }
  return orig;
}

/**
 * Kubernetes' order for a merged list (apimachinery's normalizeElementOrder): the elements the
 * patch (or `$setElementOrder`) names, in its order, interleaved with the others in the target's
 * order — an unnamed element goes before a named one that came after it in the target; a new
 * element goes where the patch puts it.
 */
function ordered(merged: unknown[], order: unknown[], was: unknown[], schema: Keyed | SetList): unknown[] {
  const indexIn = (list: unknown[], x: unknown): number => (schema.t === 'set' ? list.findIndex((y) => jsonEqual(y, x)) : list.findIndex((y) => isObj(y) && isObj(x) && jsonEqual(y[schema.key], x[schema.key])));
  const named = merged.filter((x) => indexIn(order, x) >= 0).sort((a, b) => indexIn(order, a) - indexIn(order, b));
  const rest = merged.filter((x) => indexIn(order, x) < 0).sort((a, b) => indexIn(was, a) - indexIn(was, b));
  return interleave(rest, named, (x) => indexIn(was, x));
}

/** apimachinery's mergeSortedSlice: both lists keep their order; a target-only element comes first when the target had it earlier. */
function interleave<T>(targetOnly: T[], named: T[], indexInTarget: (x: T) => number): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < targetOnly.length || j < named.length) {
    if (j >= named.length) out.push(targetOnly[i++]!);
    else if (i >= targetOnly.length) out.push(named[j++]!);
    else {
      const l = indexInTarget(targetOnly[i]!);
      const r = indexInTarget(named[j]!);
      out.push(l >= 0 && r >= 0 && l < r ? targetOnly[i++]! : named[j++]!);
    }
  }
  return out;
}

function mergeList(orig: unknown[], patch: unknown[], schema: Schema | undefined, ctx: Ctx, at: At): unknown[] {
  const replace = patch.some((e) => isObj(e) && e.$patch === 'replace' && Object.keys(e).length === 1);
  if (replace || !ctx.strategic || schema === undefined || schema.t === 'struct') {
    const item = schema?.t === 'keyed' ? schema.item : undefined;
    // Elements carry directives only in strategic lists; an atomic list is taken as written.
    return patch
      .filter((e) => !isDirectiveOnly(e))
      .map((e, i) => (isObj(e) ? fresh(e, item, ctx, [...at, i]) : cloneJson(e)))
      .filter((e) => e !== DELETE);
  }
  if (schema.t === 'set') {
    const union = [...orig];
    for (const e of patch) if (!union.some((x) => jsonEqual(x, e))) union.push(cloneJson(e));
    const named = patch.filter((e, i) => patch.findIndex((x) => jsonEqual(x, e)) === i);
    return interleave(
      union.filter((x) => !named.some((e) => jsonEqual(e, x))),
      named.map((e) => union.find((x) => jsonEqual(x, e))),
      (x) => orig.findIndex((y) => jsonEqual(y, x)),
    );
  }
  // Each element: where it was in the target (-1: new) and where the patch first names it (-1: not named).
  const items: { value: unknown; inTarget: number; inPatch: number }[] = orig.map((value, n) => ({ value, inTarget: n, inPatch: -1 }));
  patch.forEach((e, i) => {
    if (!isObj(e)) fail(at, `element #${i} must be a map (the list merges by "${schema.key}"), got ${JSON.stringify(e)}`, [...at, i]);
    if (!Object.hasOwn(e, schema.key) || e[schema.key] === null) {
      fail(at, `element #${i} has no "${schema.key}"; this list merges by "${schema.key}", so each element must name one (or use "- $patch: replace" to replace the list)`, [...at, i]);
    }
    const found = items.findIndex((x) => sameElement(x.value, e, schema));
    if (e.$patch === 'delete') {
      if (found >= 0) items.splice(found, 1);
      return;
    }
    const item = found >= 0 ? items[found]! : undefined;
    const r = item ? mergeMap(item.value as Obj, e, schema.item, ctx, [...at, i]) : fresh(e, schema.item, ctx, [...at, i]);
    if (r === DELETE) {
      if (found >= 0) items.splice(found, 1);
    } else if (item) {
      item.value = r;
      if (item.inPatch < 0) item.inPatch = i;
    } else items.push({ value: r, inTarget: -1, inPatch: i });
  });
  const named = items.filter((x) => x.inPatch >= 0).sort((a, b) => a.inPatch - b.inPatch);
  return interleave(
    items.filter((x) => x.inPatch < 0),
    named,
    (x) => x.inTarget,
  ).map((x) => x.value);
}

function sameElement(x: unknown, e: Obj, schema: Keyed): boolean {
  if (!isObj(x) || !jsonEqual(x[schema.key], e[schema.key])) return false;
  for (const { field, default: def } of schema.also ?? []) {
    const a = x[field] ?? def;
    const b = e[field] ?? def;
    if (a !== undefined && b !== undefined && !jsonEqual(a, b)) return false;
  }
  return true;
}

/**
 * Applies a strategic merge patch to a Kubernetes object and returns a new object (inputs are
 * never modified). Built-in kinds merge lists by their Kubernetes merge keys; custom resources
 * get JSON merge patch semantics. Throws PatchError on a malformed patch.
 */
export function applyStrategicMerge(target: NamedObject, patch: Record<string, unknown>): NamedObject {
  if (!isObj(patch)) throw new PatchError('a strategic merge patch must be a map');
  const schema = schemaFor(target.apiVersion, target.kind);
  const out = mergeMap(cloneJson(target) as unknown as Obj, cloneJson(patch), schema, { strategic: schema !== undefined }, []);
  if (out === DELETE) throw new PatchError(`strategic merge patch "$patch: delete" at the top level deletes the object ${target.kind}/${target.metadata.name}; use applyPatches, which drops it`);
  return out as NamedObject;
}

/** True when a patch body asks to delete the whole object (`$patch: delete` at the top level), as Kustomize allows. */
export function isDeletePatch(patch: Record<string, unknown>): boolean {
  return patch.$patch === 'delete';
}
