import { ANNOTATIONS, LEGACY_ANNOTATIONS, type KubeObject, type ManagedFieldsEntry } from '@ringmaster/kube-common';
import { jsonEqual } from './object.ts';

/** Who owns one field of a live object, according to metadata.managedFields. */
export interface FieldOwner {
  /** Field path in Ringmaster's notation: `spec.template.spec.containers[name=web].image`, `metadata.labels["app.kubernetes.io/name"]`. */
  path: string;
  manager: string;
  /** "Apply" (server-side apply) or "Update" (create/update/patch, e.g. kubectl edit). */
  operation: string;
  /** When this manager last changed its set of fields (RFC 3339). */
  time?: string;
  subresource?: string;
}

/** One field whose live value differs from the desired one, with who set the live value. */
export interface FieldDrift {
  path: string;
  desired: unknown;
  /** undefined when the field is absent from the live object. */
  live: unknown;
  manager?: string;
  operation?: string;
  time?: string;
}

const plain = /^[A-Za-z_$][\w$-]*$/;

/** Renders a field name as a path segment (`.name`, or `["a.b/c"]` when it is not a plain identifier). */
function fieldSegment(name: string, first: boolean): string {
  if (plain.test(name)) return first ? name : `.${name}`;
  return `[${JSON.stringify(name)}]`;
}

function keySegment(key: Record<string, unknown>): string {
  return `[${Object.entries(key).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(',')}]`;
}

/** The leaf paths of one managedFields entry (fields the manager owns). Pure. */
export function managedPaths(fieldsV1: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    const entries = Object.entries(node).filter(([k]) => k !== '.');
    if (entries.length === 0 || Object.prototype.hasOwnProperty.call(node, '.')) {
      if (prefix !== '') out.push(prefix);
    }
    for (const [k, child] of entries) {
      const kind = k.slice(0, 2);
      const rest = k.slice(2);
      let seg: string;
      if (kind === 'f:') seg = fieldSegment(rest, prefix === '');
      else if (kind === 'k:') seg = keySegment(JSON.parse(rest) as Record<string, unknown>);
      else if (kind === 'v:') seg = `[=${rest}]`;
      else if (kind === 'i:') seg = `[${rest}]`;
      else continue;
      walk((child ?? {}) as Record<string, unknown>, prefix + seg);
    }
  };
  walk(fieldsV1 ?? {}, '');
  return out;
}

/** Every owned field of a live object with its manager, operation and time. Pure. */
export function fieldOwners(obj: KubeObject): FieldOwner[] {
  return (obj.metadata.managedFields ?? []).flatMap((e: ManagedFieldsEntry) =>
    managedPaths(e.fieldsV1).map((path) => ({
      path,
      manager: e.manager ?? '(unknown)',
      operation: e.operation ?? '(unknown)',
      ...(e.time ? { time: e.time } : {}),
      ...(e.subresource ? { subresource: e.subresource } : {}),
    })),
  );
}

const isPrefix = (prefix: string, path: string): boolean => path === prefix || path.startsWith(prefix + '.') || path.startsWith(prefix + '[');

/**
 * The managers of a field, most recent first: those owning exactly `path`, else one owning an
 * enclosing (atomic) field, else those owning fields inside it. Pure.
 */
export function fieldManagersOf(obj: KubeObject, path: string): FieldOwner[] {
  const owners = fieldOwners(obj);
  const byTime = (a: FieldOwner, b: FieldOwner) => (b.time ?? '').localeCompare(a.time ?? '');
  const exact = owners.filter((o) => o.path === path);
  if (exact.length) return exact.sort(byTime);
  const enclosing = owners.filter((o) => isPrefix(o.path, path)).sort((a, b) => b.path.length - a.path.length || byTime(a, b));
  if (enclosing.length) return enclosing.filter((o) => o.path === enclosing[0]!.path).sort(byTime);
  return owners.filter((o) => isPrefix(path, o.path)).sort(byTime);
}

/** Who set a field: the most recent owner of `path` (see fieldManagersOf), or undefined. Pure. */
export function attributeField(obj: KubeObject, path: string): FieldOwner | undefined {
  return fieldManagersOf(obj, path)[0];
}

/** Key field names the server uses for the list at `listPath` (e.g. ["name"] or ["containerPort","protocol"]). */
function listKeys(obj: KubeObject, listPath: string): string[] | undefined {
  for (const e of obj.metadata.managedFields ?? []) {
    const found = findKeys(e.fieldsV1 ?? {}, '', listPath);
    if (found) return found;
  }
  return undefined;
}

function findKeys(node: Record<string, unknown>, prefix: string, listPath: string): string[] | undefined {
  for (const [k, child] of Object.entries(node)) {
    if (k === '.') continue;
    const kind = k.slice(0, 2);
    const rest = k.slice(2);
    if (kind === 'k:' && prefix === listPath) return Object.keys(JSON.parse(rest) as object);
    let seg: string;
    if (kind === 'f:') seg = fieldSegment(rest, prefix === '');
    else if (kind === 'k:') seg = keySegment(JSON.parse(rest) as Record<string, unknown>);
    else if (kind === 'i:') seg = `[${rest}]`;
    else continue;
    const next = prefix + seg;
    if (!isPrefix(next, listPath)) continue;
    const r = findKeys((child ?? {}) as Record<string, unknown>, next, listPath);
    if (r) return r;
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// fields the server or other tooling write on every object; never drift
const ignoredMetadata = new Set(['managedFields', 'resourceVersion', 'uid', 'generation', 'creationTimestamp', 'selfLink', 'ownerReferences', 'finalizers', 'deletionTimestamp', 'deletionGracePeriodSeconds']);
const ignoredAnnotations = new Set(['kubectl.kubernetes.io/last-applied-configuration', ANNOTATIONS.inventory, LEGACY_ANNOTATIONS.inventory]);

/**
 * Lists the fields where the live object differs from the desired one — only fields the desired
 * object sets (server defaults are not drift) — each with live and desired values and the manager
 * that last set the live value. Lists of objects are matched by the keys the server uses for them
 * (read from managedFields), else by `name`, else compared whole. `status` is ignored. Pure.
 */
export function detectDrift(desired: KubeObject, live: KubeObject): FieldDrift[] {
  const drifts: FieldDrift[] = [];
  const report = (path: string, want: unknown, have: unknown): void => {
    const owner = have === undefined ? undefined : attributeField(live, path);
    drifts.push({ path, desired: want, live: have, ...(owner ? { manager: owner.manager, operation: owner.operation, ...(owner.time ? { time: owner.time } : {}) } : {}) });
  };
  const walk = (want: unknown, have: unknown, path: string): void => {
    if (isObject(want)) {
      if (!isObject(have)) return report(path, want, have);
      for (const [k, v] of Object.entries(want)) {
        if (v === undefined || v === null) continue;
        if (path === '' && (k === 'status' || k === 'apiVersion' || k === 'kind')) continue;
        if (path === 'metadata' && (ignoredMetadata.has(k) || k === 'name' || k === 'namespace')) continue;
        if (path === 'metadata.annotations' && ignoredAnnotations.has(k)) continue;
        walk(v, have[k], path + fieldSegment(k, path === ''));
      }
      return;
    }
    if (Array.isArray(want)) {
      if (!Array.isArray(have)) return report(path, want, have);
      if (!want.every(isObject)) {
        if (!jsonEqual(want, have)) report(path, want, have);
        return;
      }
      const keys = listKeys(live, path) ?? (want.every((w) => typeof w.name === 'string') ? ['name'] : undefined);
      if (!keys) {
        if (!jsonEqual(want, have)) report(path, want, have);
        return;
      }
      for (const item of want) {
        const match = (have as unknown[]).find((l) => isObject(l) && keys.some((k) => item[k] !== undefined) && keys.every((k) => item[k] === undefined || jsonEqual(item[k], l[k]))) as Record<string, unknown> | undefined;
        const source = match ?? item;
        const seg = keySegment(Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]])));
        if (!match) report(path + seg, item, undefined);
        else walk(item, match, path + seg);
      }
      return;
    }
    if (!jsonEqual(want, have)) report(path, want, have);
  };
  walk(desired, live, '');
  return drifts;
}
