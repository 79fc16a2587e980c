import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  formatPlanText, instanceInputs, isUnsafeKey, loadFleet, planRevisions, Renderer,
  type Fleet, type Instance, type NamedObject as FleetObject, type PatchSpecInput, type Plan, type Value, type Values,
} from '@ringmaster/fleet';
import { diffPaths, groupOf, identityKey, jsonEqual } from '@ringmaster/kube';
import { ConflictError, InputError } from '../errors.ts';
import { parseFieldPath, pointerOf, valueAt, type PathSegment } from './paths.ts';
import type { DriftRecord } from './store.ts';

const run = promisify(execFile);

/** How one drifted field is written back. */
export interface AdoptChange {
  object: string;
  path: string;
  desired: unknown;
  live: unknown;
  layer: 'value' | 'patch';
  /** layer value: the instance value set (dotted path) and its new value. */
  value?: { path: string; from: unknown; to: unknown };
  /** layer patch: the instance patch added. */
  patch?: PatchSpecInput;
}

/** What an adopt wrote (or, in a dry run, would write). */
export interface AdoptResult {
  instance: string;
  cluster: string;
  base: string;
  commit: string;
  /** The branch the commit is on (none in a dry run). */
  branch: string | null;
  file: string;
  changes: AdoptChange[];
  /** Fields that cannot be adopted (a missing object, a field Argo CD reports without detail), with why. */
  skipped: Array<{ object: string; path: string; reason: string }>;
  plan: Plan;
  planText: string;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (r: DriftRecord) => `${r.object.kind} ${r.object.namespace ? r.object.namespace + '/' : ''}${r.object.name}`;

/** Every scalar leaf of a values tree with its dotted path (the `ringmaster` context left out). Pure. */
function leaves(values: Values, prefix = ''): Array<{ path: string; value: string | number | boolean }> {
  const out: Array<{ path: string; value: string | number | boolean }> = [];
  for (const [k, v] of Object.entries(values)) {
    if (prefix === '' && k === 'ringmaster') continue;
    const p = prefix ? `${prefix}.${k}` : k;
    if (isMap(v)) out.push(...leaves(v as Values, p));
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push({ path: p, value: v });
  }
  return out;
}

/** The value a leaf must take so the field renders as `live`, when the field is the leaf (or holds it once, e.g. `repo:${tag}`). Pure. */
export function valueFor(leaf: string | number | boolean, desired: unknown, live: unknown): Value | undefined {
  if (typeof desired !== 'string' && typeof desired !== 'number' && typeof desired !== 'boolean') return undefined;
  if (typeof live !== 'string' && typeof live !== 'number' && typeof live !== 'boolean') return undefined;
  if (String(desired) === String(leaf)) return live;
  const d = String(desired);
  const l = String(live);
  const s = String(leaf);
  const at = d.indexOf(s);
  if (s === '' || at < 0 || d.indexOf(s, at + 1) >= 0) return undefined;
  const prefix = d.slice(0, at);
  const suffix = d.slice(at + s.length);
  if (!l.startsWith(prefix) || !l.endsWith(suffix) || l.length < prefix.length + suffix.length) return undefined;
  const mid = l.slice(prefix.length, l.length - suffix.length);
  if (typeof leaf === 'number' && /^-?\d+(\.\d+)?$/.test(mid)) return Number(mid);
  return mid;
}

function setValue(values: Values, path: string, v: Value): Values {
  const out = structuredClone(values);
  const segs = path.split('.');
  let node: Values = out;
  for (const s of segs.slice(0, -1)) {
    if (isUnsafeKey(s)) throw new InputError(`value path ${path} uses a reserved key`, 'path');
    if (!isMap(node[s])) node[s] = {};
    node = node[s] as Values;
  }
  node[segs[segs.length - 1]!] = v;
  return out;
}

function withInstanceValues(fleet: Fleet, name: string, values: Values): Fleet {
  const instances = new Map(fleet.instances);
  instances.set(name, { ...fleet.instances.get(name)!, values } as Instance);
  return { ...fleet, instances };
}

/** A strategic merge patch setting one field (keyed list items by their keys), or undefined when the path needs indexes. Pure. */
export function strategicPatchFor(desired: unknown, segs: PathSegment[], live: unknown): Record<string, unknown> | undefined {
  const build = (node: unknown, i: number): unknown => {
    if (i === segs.length) return live;
    const seg = segs[i]!;
    if ('field' in seg) return { [seg.field]: build(isMap(node) ? node[seg.field] : undefined, i + 1) };
    if ('key' in seg && Array.isArray(node)) {
      const item = node.find((x) => isMap(x) && Object.entries(seg.key).every(([k, v]) => String(x[k]) === v)) as Record<string, unknown> | undefined;
      if (!item) return undefined;
      const keyFields = Object.fromEntries(Object.keys(seg.key).map((k) => [k, item[k]]));
      const rest = build(item, i + 1);
      return rest === undefined || !isMap(rest) ? undefined : [{ ...keyFields, ...rest }];
    }
    return undefined;
  };
  const p = build(desired, 0);
  return isMap(p) && !containsUndefined(p) ? p : undefined;
}

function containsUndefined(v: unknown): boolean {
  if (v === undefined) return true;
  if (Array.isArray(v)) return v.some(containsUndefined);
  if (isMap(v)) return Object.values(v).some(containsUndefined);
  return false;
}

function objectsByKey(objs: Array<{ object: FleetObject }>): Map<string, FleetObject> {
  return new Map(objs.map((o) => [identityKey({ apiVersion: o.object.apiVersion, kind: o.object.kind, name: o.object.metadata.name, ...(o.object.metadata.namespace ? { namespace: o.object.metadata.namespace } : {}) }), o.object]));
}

/** Everything that differs between two renders of one instance: `identityKey path` strings. */
function renderDiff(a: Map<string, FleetObject>, b: Map<string, FleetObject>): string[] {
  const out: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) for (const p of diffPaths(a.get(k), b.get(k))) out.push(`${k} ${p}`);
  return out;
}

/**
 * Decides how each drifted field of an instance is written back, at the right layer: an instance
 * value when the field is rendered from a value (checked by rendering: setting the value makes that
 * field, and nothing else, take the live value), an instance patch otherwise.
 */
export async function adoptPlan(fleet: Fleet, instance: string, drift: DriftRecord[]): Promise<{ fleet: Fleet; changes: AdoptChange[]; skipped: AdoptResult['skipped']; patches: PatchSpecInput[]; values: Array<{ path: string; value: Value }> }> {
  const base = objectsByKey((await new Renderer(fleet).render(instance)).objects);
  let current = fleet;
  let currentObjects = base;
  const changes: AdoptChange[] = [];
  const skipped: AdoptResult['skipped'] = [];
  const patches: PatchSpecInput[] = [];
  const values: Array<{ path: string; value: Value }> = [];
  for (const d of drift) {
    const key = identityKey(d.object);
    const obj = currentObjects.get(key);
    const segs = d.path ? parseFieldPath(d.path) : undefined;
    if (d.state === 'missing') {
      skipped.push({ object: describe(d), path: d.path, reason: 'the object was deleted on the cluster; to keep it deleted, remove it from the fleet' });
      continue;
    }
    if (!segs || !obj) {
      skipped.push({ object: describe(d), path: d.path, reason: obj ? 'no field is known for this drift (Argo CD reports the object OutOfSync only)' : 'the object is not rendered at the fleet revision any more' });
      continue;
    }
    const desiredNow = valueAt(obj, segs);
    if (jsonEqual(desiredNow, d.live)) continue;
    // layer 1: an instance value the field is rendered from
    let done = false;
    const inputs = instanceInputs(current, instance);
    const own = (current.instances.get(instance)!.values ?? {}) as Values;
    for (const leaf of leaves(inputs.values)) {
      const to = valueFor(leaf.value, desiredNow, d.live);
      if (to === undefined) continue;
      const candidate = withInstanceValues(current, instance, setValue(own, leaf.path, to));
      let rendered: Map<string, FleetObject>;
      try {
        rendered = objectsByKey((await new Renderer(candidate).render(instance)).objects);
      } catch {
        continue;
      }
      const after = rendered.get(key);
      const diff = renderDiff(currentObjects, rendered);
      if (!after || !jsonEqual(valueAt(after, segs), d.live) || diff.length !== 1) continue;
      changes.push({ object: describe(d), path: d.path, desired: desiredNow, live: d.live, layer: 'value', value: { path: leaf.path, from: leaf.value, to } });
      values.push({ path: leaf.path, value: to });
      current = candidate;
      currentObjects = rendered;
      done = true;
      break;
    }
    if (done) continue;
    // layer 2: an instance patch of exactly that field
    const target = { ...(groupOf(d.object.apiVersion) ? { group: groupOf(d.object.apiVersion) } : {}), kind: d.object.kind, name: d.object.name, ...(d.object.namespace ? { namespace: d.object.namespace } : {}) };
    const smp = strategicPatchFor(obj, segs, d.live);
    let patch: PatchSpecInput;
    if (smp) patch = { target, patch: smp };
    else {
      const ptr = pointerOf(obj, segs);
      if (!ptr) {
        skipped.push({ object: describe(d), path: d.path, reason: 'the field cannot be addressed by a patch' });
        continue;
      }
      const pointer = '/' + ptr.map((t) => t.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
      patch = { target, ops: [d.live === undefined ? { op: 'remove', path: pointer } : { op: desiredNow === undefined ? 'add' : 'replace', path: pointer, value: d.live }] };
    }
    const inst = current.instances.get(instance)!;
    const candidate: Fleet = { ...current, instances: new Map(current.instances).set(instance, { ...inst, patches: [...(inst.patches ?? []), patch] } as Instance) };
    const rendered = objectsByKey((await new Renderer(candidate).render(instance)).objects);
    const after = rendered.get(key);
    if (!after || !jsonEqual(valueAt(after, segs), d.live)) {
      skipped.push({ object: describe(d), path: d.path, reason: 'a patch of this field does not render the live value' });
      continue;
    }
    changes.push({ object: describe(d), path: d.path, desired: desiredNow, live: d.live, layer: 'patch', patch });
    patches.push(patch);
    current = candidate;
    currentObjects = rendered;
  }
  return { fleet: current, changes, skipped, patches, values };
}

async function git(repo: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const p = run('git', args, { cwd: repo, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 });
  if (opts.input !== undefined) {
    p.child.stdin?.end(opts.input);
  }
  return (await p).stdout.trim();
}

/** The text of an instance file with one instance's values and patches changed (comments and other documents kept). */
function editedFile(fleet: Fleet, instance: string, values: Array<{ path: string; value: Value }>, patches: PatchSpecInput[]): { file: string; text: string } {
  const inst = fleet.instances.get(instance)!;
  const file = inst.origin.file;
  const docs = [...fleet.instances.values()].filter((i) => i.origin.file === file).sort((a, b) => a.origin.location.line - b.origin.location.line);
  const parts = docs.map((d, i) => {
    const doc = d.origin.doc.clone();
    if (d.name === instance) {
      for (const v of values) doc.setIn(['values', ...v.path.split('.')], doc.createNode(v.value));
      if (patches.length && !doc.hasIn(['patches'])) doc.setIn(['patches'], doc.createNode(patches));
      else for (const p of patches) doc.addIn(['patches'], doc.createNode(p));
    }
    const text = doc.toString();
    return i > 0 && !text.startsWith('---') ? `---\n${text}` : text;
  });
  return { file, text: parts.join('') };
}

/** Options of adoptDrift. */
export interface AdoptOptions {
  fleetRepo: string;
  /** Fleet revision the commit builds on (default: HEAD of the fleet repo). */
  base?: string;
  actor: string;
  reason?: string;
  /** Compute the commit and its plan but create no branch. */
  dryRun?: boolean;
}

/**
 * Writes the live change of an instance back to the fleet repo as one commit on a new branch
 * `ringmaster/adopt/<instance>-<commit>` (the work tree is not touched), and plans it against its base.
 */
export async function adoptDrift(instance: string, cluster: string, drift: DriftRecord[], opts: AdoptOptions): Promise<AdoptResult> {
  const repo = opts.fleetRepo;
  const base = await git(repo, ['rev-parse', '--verify', `${opts.base ?? 'HEAD'}^{commit}`]).catch(() => {
    throw new InputError(`the fleet revision ${opts.base ?? 'HEAD'} does not exist`, 'base');
  });
  const fleet = await loadFleet(repo, base);
  const inst = fleet.instances.get(instance);
  if (!inst) throw new ConflictError(`instance ${instance} does not exist at fleet revision ${base.slice(0, 12)}: nothing to adopt into`);
  if (inst.cluster !== cluster) throw new ConflictError(`instance ${instance} is on cluster ${inst.cluster} at fleet revision ${base.slice(0, 12)}, not ${cluster}`);
  const planned = await adoptPlan(fleet, instance, drift);
  if (!planned.changes.length) {
    throw new ConflictError(`nothing to adopt for instance ${instance}${planned.skipped.length ? `: ${planned.skipped.map((s) => `${s.object} ${s.path}: ${s.reason}`).join('; ')}` : ' (no drift with a field to write back)'}`);
  }
  const { file, text } = editedFile(fleet, instance, planned.values, planned.patches);
  const tmp = mkdtempSync(join(tmpdir(), 'ringmaster-adopt-'));
  const env = { GIT_INDEX_FILE: join(tmp, 'index') };
  let commit: string;
  try {
    await git(repo, ['read-tree', base], { env });
    const blob = await git(repo, ['hash-object', '-w', '--stdin'], { input: text });
    await git(repo, ['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], { env });
    const tree = await git(repo, ['write-tree'], { env });
    const lines = planned.changes.map((c) => `- ${c.object} ${c.path}: ${JSON.stringify(c.desired)} → ${JSON.stringify(c.live)} (${c.layer === 'value' ? `instance value ${c.value!.path}` : 'instance patch'})`);
    const message = [
      `Adopt live change of ${instance} on ${cluster}`, '',
      ...(opts.reason ? [opts.reason, ''] : []),
      ...lines, '',
      `Ringmaster-Drift-Instance: ${instance}`, `Ringmaster-Drift-Cluster: ${cluster}`, `Ringmaster-Adopted-By: ${opts.actor}`,
    ].join('\n');
    const ident = { GIT_AUTHOR_NAME: 'Ringmaster', GIT_AUTHOR_EMAIL: 'ringmaster@localhost', GIT_COMMITTER_NAME: 'Ringmaster', GIT_COMMITTER_EMAIL: 'ringmaster@localhost' };
    commit = await git(repo, ['commit-tree', tree, '-p', base, '-F', '-'], { input: message, env: ident });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  let branch: string | null = null;
  if (!opts.dryRun) {
    branch = `ringmaster/adopt/${instance}-${commit.slice(0, 8)}`;
    // the empty old value makes update-ref refuse to move an existing branch
    await git(repo, ['update-ref', `refs/heads/${branch}`, commit, '']);
  }
  const plan = await planRevisions({ repo, from: base, to: commit, instances: [instance] });
  return { instance, cluster, base, commit, branch, file, changes: planned.changes, skipped: planned.skipped, plan, planText: formatPlanText(plan, { diffs: true }) };
}
