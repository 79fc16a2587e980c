import type { KubeObject } from './types.ts';
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
 * `$deleteFromPrimitiveList/<field>`; `$setElementOrder/<field>` is accepted and ignored.
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

/** A patch value with no counterpart in the target: directives and nulls resolve against nothing. */
function fresh(patch: unknown, schema: Schema | undefined, ctx: Ctx, at: string): unknown {
  // Returns DELETE for a `$patch: delete` map, which callers drop.
  if (isObj(patch)) return mergeMap({}, patch, schema?.t === 'struct' ? schema : undefined, ctx, at);
  if (Array.isArray(patch)) return mergeList([], patch, schema, ctx, at);
  return patch;
}

/** Merges `patch` into `orig` in place (orig is already a private copy); returns DELETE for `$patch: delete`. */
function mergeMap(orig: Obj, patch: Obj, schema: Struct | undefined, ctx: Ctx, at: string): Obj | typeof DELETE {
  const directive = patch.$patch;
  if (directive !== undefined) {
    if (directive === 'delete') return DELETE;
    if (directive === 'replace') {
      const rest: Obj = {};
      for (const k of Object.keys(patch)) if (k !== '$patch') setOwn(rest, k, patch[k]);
      return mergeMap({}, rest, schema, ctx, at);
    }
    if (directive !== 'merge') throw new PatchError(`strategic merge patch at ${at || '/'}: unknown directive "$patch: ${String(directive)}" (use delete, replace or merge)`);
  }
  for (const k of Object.keys(patch)) {
    if (!k.startsWith('$deleteFromPrimitiveList/')) continue;
    const field = k.slice('$deleteFromPrimitiveList/'.length);
    const drop = patch[k];
    const cur = orig[field];
    if (!Array.isArray(drop)) throw new PatchError(`strategic merge patch at ${at}/${field}: "${k}" must be a list of values to remove`);
    if (Array.isArray(cur)) orig[field] = cur.filter((x) => !drop.some((d) => jsonEqual(d, x)));
  }
  for (const k of Object.keys(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$deleteFromPrimitiveList/') || k.startsWith('$setElementOrder/')) continue;
    const pv = patch[k];
    const path = `${at}/${k}`;
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
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((x) => typeof x === 'string')) throw new PatchError(`strategic merge patch at ${at || '/'}: "$retainKeys" must be a list of field names`);
    for (const k of Object.keys(orig)) if (!retain.includes(k)) delete orig[k];
  }
  return orig;
}

function mergeList(orig: unknown[], patch: unknown[], schema: Schema | undefined, ctx: Ctx, at: string): unknown[] {
  const replace = patch.some((e) => isObj(e) && e.$patch === 'replace' && Object.keys(e).length === 1);
  if (replace || !ctx.strategic || schema === undefined || schema.t === 'struct') {
    const item = schema?.t === 'keyed' ? schema.item : undefined;
    // Elements carry directives only in strategic lists; an atomic list is taken as written.
    return patch
      .filter((e) => !isDirectiveOnly(e))
      .map((e, i) => (isObj(e) ? fresh(e, item, ctx, `${at}/${i}`) : cloneJson(e)))
      .filter((e) => e !== DELETE);
  }
  // Order as Kustomize renders it: the patch's elements first, in the patch's order, then the
  // target's elements the patch did not mention, in their order.
  if (schema.t === 'set') {
    const head: unknown[] = [];
    for (const e of patch) if (!head.some((x) => jsonEqual(x, e))) head.push(cloneJson(e));
    return [...head, ...orig.filter((x) => !head.some((h) => jsonEqual(h, x)))];
  }
  const head: unknown[] = [];
  const taken = new Set<number>();
  patch.forEach((e, i) => {
    if (!isObj(e)) throw new PatchError(`strategic merge patch at ${at}: element #${i} must be a map (the list merges by "${schema.key}"), got ${JSON.stringify(e)}`);
    if (!Object.hasOwn(e, schema.key) || e[schema.key] === null) {
      throw new PatchError(`strategic merge patch at ${at}: element #${i} has no "${schema.key}"; this list merges by "${schema.key}", so each element must name one (or use "- $patch: replace" to replace the list)`);
    }
    const inHead = head.findIndex((x) => sameElement(x, e, schema));
    const inOrig = inHead >= 0 ? -1 : orig.findIndex((x, n) => !taken.has(n) && sameElement(x, e, schema));
    if (inOrig >= 0) taken.add(inOrig);
    if (e.$patch === 'delete') {
      if (inHead >= 0) head.splice(inHead, 1);
      return;
    }
    const base = inHead >= 0 ? (head[inHead] as Obj) : inOrig >= 0 ? (orig[inOrig] as Obj) : undefined;
    const r = base ? mergeMap(base, e, schema.item, ctx, `${at}/${i}`) : fresh(e, schema.item, ctx, `${at}/${i}`);
    if (inHead >= 0) {
      if (r === DELETE) head.splice(inHead, 1);
      else head[inHead] = r;
    } else if (r !== DELETE) head.push(r);
  });
  return [...head, ...orig.filter((_, n) => !taken.has(n))];
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
export function applyStrategicMerge(target: KubeObject, patch: Record<string, unknown>): KubeObject {
  if (!isObj(patch)) throw new PatchError('a strategic merge patch must be a map');
  const schema = schemaFor(target.apiVersion, target.kind);
  const out = mergeMap(cloneJson(target) as unknown as Obj, cloneJson(patch), schema, { strategic: schema !== undefined }, '');
  if (out === DELETE) throw new PatchError(`strategic merge patch "$patch: delete" at the top level deletes the object ${target.kind}/${target.metadata.name}; use applyPatches, which drops it`);
  return out as KubeObject;
}

/** True when a patch body asks to delete the whole object (`$patch: delete` at the top level), as Kustomize allows. */
export function isDeletePatch(patch: Record<string, unknown>): boolean {
  return patch.$patch === 'delete';
}
