import { applyJson6902, PatchError } from './patch-json6902.ts';
import { applyStrategicMerge } from './patch-strategic.ts';
import type { NamedObject } from '@ringmaster/kube-common';
import { parseYamlFile } from './yaml-source.ts';

/** Which objects a patch applies to; string fields are anchored regular expressions, as in Kustomize. */
export interface PatchTarget {
  kind?: string;
  name?: string;
  namespace?: string;
  group?: string;
  version?: string;
  /** Equality- and set-based, as kubectl accepts: `app=web,tier!=db,env in (a,b),!legacy`. */
  labelSelector?: string;
}

/**
 * A Kustomize-style patch: a strategic merge patch (`patch`, a map or a YAML string; a YAML list
 * string is read as JSON 6902 ops, as Kustomize does) or RFC 6902 `ops`.
 */
export interface PatchSpec {
  target?: PatchTarget;
  patch?: Record<string, unknown> | string;
  ops?: unknown[];
}

type Requirement = { key: string; op: 'eq' | 'ne' | 'in' | 'notin' | 'exists' | 'absent'; values: string[] };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

/** Parses a Kubernetes label selector; throws PatchError naming the bad clause. */
export function parseLabelSelector(selector: string): Requirement[] {
  return splitTopLevel(selector).map((clause) => {
    let m = /^([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/.exec(clause);
    if (m) return { key: m[1] as string, op: m[2] === '!=' ? 'ne' : 'eq', values: [m[3] as string] };
    m = /^([A-Za-z0-9._/-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(clause);
    if (m) return { key: m[1] as string, op: m[2] as 'in' | 'notin', values: (m[3] as string).split(',').map((v) => v.trim()) };
    m = /^(!?)\s*([A-Za-z0-9._/-]+)$/.exec(clause);
    if (m) return { key: m[2] as string, op: m[1] ? 'absent' : 'exists', values: [] };
    throw new PatchError(`label selector "${selector}": cannot read "${clause}" (write key=value, key!=value, key in (a,b), key notin (a,b), key or !key)`, { path: ['target', 'labelSelector'] });
  });
}

function matchesLabels(labels: Record<string, string> | undefined, reqs: Requirement[]): boolean {
  return reqs.every(({ key, op, values }) => {
    const has = labels !== undefined && Object.hasOwn(labels, key);
    const v = has ? labels[key] : undefined;
    switch (op) {
      case 'eq':
        return has && v === values[0];
      case 'ne':
        return !has || v !== values[0];
      case 'in':
        return has && values.includes(v as string);
      case 'notin':
        return !has || !values.includes(v as string);
      case 'exists':
        return has;
      default:
        return !has;
    }
  });
}

function anchored(field: string, pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    throw new PatchError(`patch target ${field} "${pattern}" is not a valid regular expression: ${(e as Error).message}`, { path: ['target', field] });
  }
}

function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function compileTarget(t: PatchTarget): (o: NamedObject) => boolean {
  const tests: ((o: NamedObject) => boolean)[] = [];
  if (t.kind !== undefined) {
    const re = anchored('kind', t.kind);
    tests.push((o) => re.test(o.kind));
  }
  if (t.name !== undefined) {
    const re = anchored('name', t.name);
    tests.push((o) => re.test(o.metadata.name));
  }
  if (t.namespace !== undefined) {
    const re = anchored('namespace', t.namespace);
    tests.push((o) => re.test(o.metadata.namespace ?? ''));
  }
  if (t.group !== undefined) {
    const re = anchored('group', t.group);
    tests.push((o) => re.test(groupVersion(o.apiVersion).group));
  }
  if (t.version !== undefined) {
    const re = anchored('version', t.version);
    tests.push((o) => re.test(groupVersion(o.apiVersion).version));
  }
  if (t.labelSelector !== undefined) {
    const reqs = parseLabelSelector(t.labelSelector);
    tests.push((o) => matchesLabels(o.metadata.labels, reqs));
  }
  return (o) => tests.every((test) => test(o));
}

function describeTarget(t: PatchTarget): string {
  const parts = (['group', 'version', 'kind', 'namespace', 'name', 'labelSelector'] as const).filter((k) => t[k] !== undefined).map((k) => `${k}=${t[k]}`);
  return parts.length > 0 ? parts.join(' ') : '(everything)';
}

function describeObject(o: NamedObject): string {
  return `${o.kind}/${o.metadata.namespace ? o.metadata.namespace + '/' : ''}${o.metadata.name}`;
}

/** The target a strategic merge patch names in its own body, as Kustomize reads a patch without target. */
function targetFromBody(body: Record<string, unknown>, index: number): PatchTarget {
  const meta = isObj(body.metadata) ? body.metadata : {};
  if (typeof body.apiVersion !== 'string' || typeof body.kind !== 'string' || typeof meta.name !== 'string') {
    throw new PatchError(`patch #${index}: a strategic merge patch without a target must name its object with apiVersion, kind and metadata.name (or give a target)`, { path: ['patch'] });
  }
  const { group, version } = groupVersion(body.apiVersion);
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const t: PatchTarget = { group: esc(group), version: esc(version), kind: esc(body.kind), name: esc(meta.name) };
  if (typeof meta.namespace === 'string') t.namespace = esc(meta.namespace);
  return t;
}

/** The object's identity in a patch body selects, it does not rename: Kustomize drops it before merging. */
function withoutIdentity(body: Record<string, unknown>): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, ...rest } = body;
  if (isObj(rest.metadata)) {
    const { name: _n, namespace: _ns, ...meta } = rest.metadata;
    rest.metadata = meta;
  }
  return rest;
}

/** Even `$patch: replace` at the top keeps the object's identity: the body's identity only selected it. */
function keepIdentity(before: NamedObject, after: NamedObject): NamedObject {
  const metadata: Record<string, unknown> = { name: before.metadata.name, ...(isObj(after.metadata) ? after.metadata : {}) };
  metadata.name = before.metadata.name;
  if (before.metadata.namespace !== undefined) metadata.namespace = before.metadata.namespace;
  else delete metadata.namespace;
  // Spreading `after` last keeps its key order; the identity fields lead when the patch replaced them away.
  const lead: Record<string, unknown> = { apiVersion: before.apiVersion, kind: before.kind, metadata: before.metadata };
  const out = { ...lead, ...after } as NamedObject;
  out.apiVersion = before.apiVersion;
  out.kind = before.kind;
  out.metadata = metadata as NamedObject['metadata'];
  return out;
}

function checkIdentity(o: NamedObject): NamedObject {
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || !isObj(o.metadata) || typeof o.metadata.name !== 'string' || o.metadata.name === '') {
    throw new PatchError('the result has no apiVersion, kind or metadata.name; an object must keep them');
  }
  return o;
}

type Prepared = { kind: 'strategic'; body: Record<string, unknown>; target: PatchTarget } | { kind: 'json6902'; ops: unknown[]; target: PatchTarget };

function prepare(spec: PatchSpec, index: number): Prepared {
  if (!isObj(spec)) throw new PatchError(`patch #${index}: must be a map with target and patch or ops`);
  let ops = spec.ops;
  let body: Record<string, unknown> | undefined;
  if (spec.patch !== undefined && ops !== undefined) throw new PatchError(`patch #${index}: give either "patch" (strategic merge) or "ops" (JSON 6902), not both`);
  if (typeof spec.patch === 'string') {
    // The one YAML reader (Kubernetes' scalars, limits, prototype keys refused), as for every fleet file.
    const { docs, issues } = parseYamlFile(`patch #${index}`, spec.patch);
    const issue = issues[0];
    if (issue) throw new PatchError(`patch #${index}: ${issue.code === 'yaml-syntax' ? 'the patch is not valid YAML' : 'the patch is refused'}: ${issue.message.replace(/^invalid YAML: /, '')}`, { path: ['patch'] });
    if (docs.length > 1) throw new PatchError(`patch #${index}: the patch must be one YAML document`, { path: ['patch'] });
    const parsed = docs[0]?.data;
    if (Array.isArray(parsed)) ops = parsed;
    else if (isObj(parsed)) body = parsed;
    else throw new PatchError(`patch #${index}: the patch must hold a map (strategic merge) or a list (JSON 6902 ops)`, { path: ['patch'] });
  } else if (spec.patch !== undefined) {
    if (!isObj(spec.patch)) throw new PatchError(`patch #${index}: "patch" must be a map or a YAML string`, { path: ['patch'] });
    body = spec.patch;
  }
  if (spec.target !== undefined && !isObj(spec.target)) throw new PatchError(`patch #${index}: "target" must be a map`, { path: ['target'] });
  if (ops !== undefined) {
    if (!Array.isArray(ops)) throw new PatchError(`patch #${index}: "ops" must be a list of JSON 6902 operations`, { path: ['ops'] });
    if (spec.target === undefined) throw new PatchError(`patch #${index}: a JSON 6902 patch needs a target (kind and name) to know which object to change`);
    return { kind: 'json6902', ops, target: spec.target };
  }
  if (body === undefined) throw new PatchError(`patch #${index}: has neither "patch" nor "ops"`);
  return { kind: 'strategic', body, target: spec.target ?? targetFromBody(body, index) };
}

/**
 * Applies Kustomize-style patches in order and returns the new list of objects (untouched
 * objects are returned as they are; patched ones are new). A strategic merge patch with
 * `$patch: delete` at the top level removes the objects it selects. A patch that selects no
 * object is an error (PatchError, naming the target), since it is almost always a typo.
 */
export function applyPatches(objects: NamedObject[], patches: PatchSpec[]): NamedObject[] {
  let current = [...objects];
  patches.forEach((spec, index) => {
    try {
      current = applyOne(current, spec, index);
    } catch (e) {
      if (e instanceof PatchError && e.patchIndex === undefined) e.patchIndex = index;
      throw e;
    }
  });
  return current;
}

/** The path inside a patch spec of a problem found at `inner` of its body or ops (a YAML-string patch is one node). */
function within(spec: PatchSpec, p: Prepared, inner: (string | number)[] | undefined): (string | number)[] {
  if (typeof spec.patch === 'string') return ['patch'];
  return p.kind === 'strategic' ? ['patch', ...(inner ?? [])] : ['ops', ...(inner ?? [])];
}

function applyOne(objects: NamedObject[], spec: PatchSpec, index: number): NamedObject[] {
  const p = prepare(spec, index);
  const selects = compileTarget(p.target);
  const kind = p.kind === 'strategic' ? 'strategic merge' : 'JSON 6902';
  const matched = objects.filter(selects);
  if (matched.length === 0) {
    const known = objects.slice(0, 10).map(describeObject).join(', ');
    throw new PatchError(
      `patch #${index} (${kind}, target ${describeTarget(p.target)}) matches no object; ` +
        (objects.length === 0 ? 'there are no objects' : `the objects are: ${known}${objects.length > 10 ? `, … (${objects.length} in all)` : ''}`),
      { path: spec.target !== undefined ? ['target'] : ['patch'] },
    );
  }
  if (p.kind === 'strategic' && p.body.$patch === 'delete') return objects.filter((o) => !selects(o));
  const body = p.kind === 'strategic' ? withoutIdentity(p.body) : undefined;
  return objects.map((o) => {
    if (!selects(o)) return o;
    try {
      return body !== undefined ? keepIdentity(o, applyStrategicMerge(o, body)) : checkIdentity(applyJson6902(o, (p as { ops: unknown[] }).ops));
    } catch (e) {
      if (e instanceof PatchError) throw new PatchError(`patch #${index} (${kind}) on ${describeObject(o)}: ${e.message}`, { cause: e, path: within(spec, p, e.path) });
      throw e;
    }
  });
}
