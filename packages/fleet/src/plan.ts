import { createTwoFilesPatch } from 'diff';
import { loadFleetFrom, type Fleet } from './load.ts';
import { instanceHash, mapLimit, Renderer, type RenderedInstance, type RenderedObject } from './render.ts';
import { openSource } from './source.ts';

export type Action = 'create' | 'update' | 'delete';

export interface PlanObject {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  action: Action;
  /** Unified diff of the object's YAML (a/ is `from`, b/ is `to`). */
  diff: string;
  /**
   * An update's changed fields, one line each: `spec.roles[frontend].replicas: 3 → 5`. Lists whose
   * items all have a `name` (containers, ports, an AppCluster's roles and nodes) are compared by
   * name, so a change names the item; other lists are compared as a whole.
   */
  fields?: string[];
}

export interface PlanInstance {
  instance: string;
  app: string;
  cluster: string;
  ring: string;
  region: string;
  action: Action;
  /** Images referenced at `to` that were not referenced at `from` (for the journey of a change). */
  imagesAdded: string[];
  objects: PlanObject[];
}

/** The blast radius of going from one fleet revision to another. */
export interface Plan {
  from: string;
  to: string;
  summary: {
    instances: number;
    clusters: number;
    rings: Record<string, number>;
    objects: { create: number; update: number; delete: number };
  };
  /** Ring order of the fleet at `to`, so readers can list rings in promotion order. */
  ringOrder: string[];
  instances: PlanInstance[];
}

export interface PlanOptions {
  repo: string;
  from: string;
  to: string;
  /** Restrict the plan to these instances. */
  instances?: string[];
}

/** Renders both revisions (only the instances whose inputs differ) and compares them object by object. */
export async function planRevisions(opts: PlanOptions): Promise<Plan> {
  const [fromSource, toSource] = await Promise.all([openSource(opts.repo, opts.from), openSource(opts.repo, opts.to)]);
  const [fromFleet, toFleet] = await Promise.all([loadFleetFrom(fromSource), loadFleetFrom(toSource)]);
  return planFleets(fromFleet, toFleet, opts.instances);
}

/** Compares two loaded fleets; exported for callers that already hold them (flighting, tests). */
export async function planFleets(fromFleet: Fleet, toFleet: Fleet, only?: string[]): Promise<Plan> {
  const fromR = new Renderer(fromFleet);
  const toR = new Renderer(toFleet);
  const names = [...new Set([...fromFleet.instances.keys(), ...toFleet.instances.keys()])].sort();
  const wanted = only ? names.filter((n) => only.includes(n)) : names;

  type Job = { name: string; before: boolean; after: boolean };
  const jobs: Job[] = [];
  for (const name of wanted) {
    const a = fromFleet.instances.get(name);
    const b = toFleet.instances.get(name);
    if (a && b && a.cluster === b.cluster) {
      // Same inputs render the same output: skip without rendering (the fast path of a one-instance change).
      if (instanceHash(fromFleet, name) === instanceHash(toFleet, name)) continue;
    }
    jobs.push({ name, before: !!a, after: !!b });
  }

  const results = await mapLimit(jobs, 4, async (job) => {
    const [before, after] = await Promise.all([job.before ? fromR.render(job.name) : undefined, job.after ? toR.render(job.name) : undefined]);
    return compareInstance(before, after);
  });

  const instances = results.flat().sort((x, y) => (x.instance < y.instance ? -1 : x.instance > y.instance ? 1 : x.cluster < y.cluster ? -1 : 1));
  const ringOrder = toFleet.rings.map((r) => r.name);
  const rings: Record<string, number> = {};
  for (const r of ringOrder) rings[r] = 0;
  const objects = { create: 0, update: 0, delete: 0 };
  for (const i of instances) {
    rings[i.ring] = (rings[i.ring] ?? 0) + 1;
    for (const o of i.objects) objects[o.action]++;
  }
  for (const r of Object.keys(rings)) if (rings[r] === 0) delete rings[r];
  return {
    from: fromFleet.source.revision ?? 'worktree',
    to: toFleet.source.revision ?? 'worktree',
    summary: { instances: new Set(instances.map((i) => i.instance)).size, clusters: new Set(instances.map((i) => i.cluster)).size, rings, objects },
    ringOrder,
    instances,
  };
}

function compareInstance(before?: RenderedInstance, after?: RenderedInstance): PlanInstance[] {
  if (before && after && before.cluster !== after.cluster) {
    // Moving an instance to another cluster deletes it there and creates it here.
    return [...compareInstance(before, undefined), ...compareInstance(undefined, after)];
  }
  const base = (after ?? before)!;
  const prefix = `${base.cluster}/${base.instance}/`;
  const old = new Map((before?.objects ?? []).map((o) => [o.file, o]));
  const neu = new Map((after?.objects ?? []).map((o) => [o.file, o]));
  const objects: PlanObject[] = [];
  const files = [...new Set([...old.keys(), ...neu.keys()])].sort();
  for (const f of files) {
    const a = old.get(f);
    const b = neu.get(f);
    if (a && b && a.yaml === b.yaml) continue;
    const o = (b ?? a) as RenderedObject;
    objects.push({
      apiVersion: o.apiVersion,
      kind: o.kind,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      name: o.name,
      action: !a ? 'create' : !b ? 'delete' : 'update',
      diff: unifiedDiff(prefix + f, a?.yaml, b?.yaml),
      ...(a && b ? { fields: fieldChanges(a.object, b.object) } : {}),
    });
  }
  if (objects.length === 0) return [];
  const beforeImages = new Set(before?.images ?? []);
  return [
    {
      instance: base.instance,
      app: base.app,
      cluster: base.cluster,
      ring: base.ring,
      region: base.region,
      action: !before ? 'create' : !after ? 'delete' : 'update',
      imagesAdded: (after?.images ?? []).filter((i) => !beforeImages.has(i)),
      objects,
    },
  ];
}

const MAX_FIELDS = 50;
const show = (v: unknown): string => (v === undefined ? '(none)' : JSON.stringify(v));
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const named = (v: unknown): v is { name: string }[] => Array.isArray(v) && v.length > 0 && v.every((x) => isObj(x) && typeof x.name === 'string');

/** The fields that differ between two versions of an object (see PlanObject.fields), at most 50. */
export function fieldChanges(before: unknown, after: unknown): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (out.length >= MAX_FIELDS) return;
    if (isObj(a) && isObj(b)) {
      for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) walk(a[k], b[k], path ? `${path}.${k}` : k);
      return;
    }
    if ((named(a) || (Array.isArray(a) && a.length === 0)) && (named(b) || (Array.isArray(b) && b.length === 0)) && (named(a) || named(b))) {
      const am = new Map((a as { name: string }[]).map((x) => [x.name, x]));
      const bm = new Map((b as { name: string }[]).map((x) => [x.name, x]));
      for (const n of [...new Set([...am.keys(), ...bm.keys()])]) {
        const x = am.get(n);
        const y = bm.get(n);
        if (!x || !y) out.push(`${path}[${n}]: ${!x ? 'added' : 'removed'}`);
        else walk(x, y, `${path}[${n}]`);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: ${show(a)} → ${show(b)}`);
  };
  walk(before, after, '');
  return out;
}

/** A git-style unified diff of one object's YAML. */
export function unifiedDiff(path: string, before: string | undefined, after: string | undefined): string {
  const patch = createTwoFilesPatch(before === undefined ? '/dev/null' : `a/${path}`, after === undefined ? '/dev/null' : `b/${path}`, before ?? '', after ?? '', undefined, undefined, { context: 3 });
  // Drop the "====" separator line the library puts first; keep ---/+++ and hunks.
  return patch.split('\n').filter((l, i) => !(i === 0 && l.startsWith('==='))).join('\n');
}

/** True when the plan changes anything (the CLI's exit code 2). */
export function planHasChanges(plan: Plan): boolean {
  return plan.instances.length > 0;
}
