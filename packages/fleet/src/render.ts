import { createHash } from 'node:crypto';
import { Scalar, visit, type Document } from 'yaml';
import { FleetValidationError, RenderToolError, type FleetIssue, type SourceLocation } from './errors.ts';
import { helmRun, renderChart, type ChartObject, type HelmOptions } from './helm.ts';
import { patchInstance } from './instance-patches.ts';
import type { App, Fleet, Instance } from './load.ts';
import { CONTEXT_KEY, type Kubernetes } from './model.ts';
import { sortIssues } from './load.ts';
import { mergeValues } from './merge.ts';
import { applyOrder, identityKey, LABELS, objectFileName, type NamedObject } from '@ringmaster/kube-common';
import { checkObject, imagesOf, isClusterScoped, ownTopLevel } from './objects.ts';
import type { PatchSpec } from './patch.ts';
import { sortKeys, toYaml } from './serialize.ts';
import { checkKustomization, runKustomize } from './kustomize.ts';
import { unwrapLists } from './lists.ts';
import { literalSecretIssues, type RenderedSource } from './secrets.ts';
import { isForcedString, substituteDocument, substituteValue } from './substitute.ts';
import type { Values } from './types.ts';
import { parseYamlFile, type ParsedDocument } from './yaml-source.ts';

/** Bump when rendering output changes for the same inputs, so cached hashes stop matching. */
const RENDER_VERSION = '2';

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  role?: string;
  /** File name inside the instance folder. */
  file: string;
  /** Where the object comes from in the fleet repo: its manifest document, the chart template helm named (`# Source:`), or the kustomization. */
  origin?: SourceLocation;
  object: NamedObject;
  /** Deterministic YAML of the object. */
  yaml: string;
}

export interface RenderedInstance {
  instance: string;
  app: string;
  cluster: string;
  ring: string;
  region: string;
  namespace: string;
  /** Hash of everything the output depends on: equal hashes render equal output. */
  inputHash: string;
  /** Objects in apply order (CRDs, Namespaces, … then by role order, kind, name). */
  objects: RenderedObject[];
  /** Problems that did not stop rendering (e.g. shell `${…}` left as it is), located. */
  warnings: FleetIssue[];
  /** Container images referenced by the instance's objects, sorted. */
  images: string[];
}

/** What an instance's output depends on, computed without rendering. */
export interface InstanceInputs {
  instance: Instance;
  app: App;
  /** The user's layered values (what a Helm chart receives, plus `ringmaster` unless the app says no). */
  values: Values;
  /** Ringmaster's own context: app, cluster, ring, region, instance (with its namespace). */
  context: Values;
  /** What `${…}` substitution resolves against. */
  scope: Values;
  namespace: string;
  /** Kubernetes version and API versions charts see (the cluster's, else the fleet's). */
  kubernetes: Kubernetes;
  patches: PatchSpec[];
  hash: string;
}

/**
 * The input hash of an instance without computing its values, when every document it depends on is
 * one already seen (parsed documents are shared between loads of revisions with the same content).
 */
const hashMemo = new WeakMap<object, Map<string, string>>();

export function instanceHash(fleet: Fleet, name: string): string {
  const slot = hashSlot(fleet, name);
  if (!slot) return instanceInputs(fleet, name).hash;
  let hash = slot.byKey.get(slot.key);
  if (hash === undefined) {
    hash = instanceInputs(fleet, name).hash;
    slot.byKey.set(slot.key, hash);
  }
  return hash;
}

/** Where instanceHash keeps an instance's hash: by the instance, then by what else it depends on. */
function hashSlot(fleet: Fleet, name: string): { byKey: Map<string, string>; key: string } | undefined {
  const instance = fleet.instances.get(name);
  if (!instance) return undefined;
  const cluster = fleet.clusters.get(instance.cluster);
  const app = fleet.apps.get(instance.app);
  if (!cluster || !app) return undefined;
  const key = [
    fleet.source.contentId(cluster.origin.file) ?? '',
    cluster.origin.location.line,
    fleet.source.contentId(fleet.origin.file) ?? '',
    fleet.source.folderHash(app.dir),
    app.sourceDir.startsWith(app.dir + '/') ? '' : fleet.source.folderHash(app.sourceDir),
  ].join('|');
  // by the instance object itself, not its parsed document: a fleet changed in memory (drift adopt
  // tries candidate values and patches on copies of an instance) shares the document, not the object
  let byKey = hashMemo.get(instance);
  if (!byKey) hashMemo.set(instance, (byKey = new Map()));
  return { byKey, key };
}

/**
 * Layers values (app → ring → region → cluster → instance) and builds Ringmaster's own context
 * beside them, never on top: a chart's or manifest's `cluster.name` stays the user's value.
 */
export function instanceInputs(fleet: Fleet, name: string): InstanceInputs {
  const instance = fleet.instances.get(name);
  if (!instance) throw new FleetValidationError([{ code: 'missing-reference', message: `instance "${name}" does not exist`, hint: `known instances: ${[...fleet.instances.keys()].slice(0, 10).join(', ')}` }]);
  const app = fleet.apps.get(instance.app)!;
  const cluster = fleet.clusters.get(instance.cluster)!;
  const ring = fleet.rings.find((r) => r.name === cluster.ring);
  const region = fleet.regions.get(cluster.region);
  let values: Values = {};
  for (const layer of [app.values, ring?.values, region?.values, cluster.values, instance.values]) {
    if (layer) values = mergeValues(values, layer as Values);
  }
  const context = {
    app: { name: app.name, team: app.team ?? null },
    cluster: { name: cluster.name, ring: cluster.ring, region: cluster.region, labels: cluster.labels ?? {} },
    ring: { name: cluster.ring },
    region: { name: cluster.region },
    instance: { name: instance.name } as Values,
  };
  const nsTemplate = instance.namespace ?? app.namespace ?? `\${${CONTEXT_KEY}.instance.name}`;
  const namespace = String(substituteValue(nsTemplate, substitutionScope(values, context), `namespace of instance "${instance.name}"`));
  context.instance = { name: instance.name, namespace };
  const scope = substitutionScope(values, context);
  const kubernetes: Kubernetes = { ...fleet.kubernetes, ...cluster.kubernetes };
  const patches = [...(app.patches ?? []), ...(instance.patches ?? [])] as PatchSpec[];
  const hash = createHash('sha256')
    .update(
      JSON.stringify([
        RENDER_VERSION,
        stripOrigin(app),
        fleet.source.folderHash(app.dir),
        app.sourceDir.startsWith(app.dir + '/') ? '' : fleet.source.folderHash(app.sourceDir),
        sortKeys(values),
        sortKeys(context),
        kubernetes,
        patches,
        namespace,
      ]),
    )
    .digest('hex');
  return { instance, app, values, context, scope, namespace, kubernetes, patches, hash };
}

/**
 * What `${…}` sees: the user's values, Ringmaster's context under `ringmaster`, and — for fleets
 * written before the context moved there — the context's names at the top level wherever the
 * user's values do not set them (the user's value always wins).
 */
function substitutionScope(values: Values, context: Values): Values {
  return { ...mergeValues(context, values), [CONTEXT_KEY]: context };
}

const appKeys = new WeakMap<App, string>();
/** The app's definition as hashed (without its parse position), computed once per app. */
function stripOrigin(app: App): string {
  let k = appKeys.get(app);
  if (k === undefined) {
    const { origin: _o, ...rest } = app;
    k = JSON.stringify(sortKeys(rest));
    appKeys.set(app, k);
  }
  return k;
}

/** A value that must become a string: it was quoted (or tagged !!str) in the manifest. */
class ForcedString {
  constructor(readonly text: string) {}
}

interface Template {
  pd: ParsedDocument;
  tree: unknown;
}

/** Compiled manifest templates by folder and content hash: shared by every revision with the same sources. */
const manifestTemplates = new Map<string, Promise<Template[]>>();

export interface RendererOptions {
  /** Overrides ringmaster.yaml's `helm` settings (benchmarks and tests compare both renderers). */
  helm?: HelmOptions;
}

/** Renders instances of one fleet; caches what instances of the same app share. */
export class Renderer {
  private readonly kustomizeOutputs = new Map<string, Promise<{ objects: unknown[]; file: string }>>();
  private readonly helmOutputs = new Map<string, Promise<ChartObject[]>>();

  constructor(
    readonly fleet: Fleet,
    readonly options: RendererOptions = {},
  ) {}

  /** Renders one instance; throws FleetValidationError with located issues. */
  async render(name: string): Promise<RenderedInstance> {
    const inputs = instanceInputs(this.fleet, name);
    // A plan after a render (a release, then the next push) finds the hash without computing it again.
    // Only for revisions: their folder hashes are look-ups, a work tree's are not.
    if (this.fleet.source.revision) {
      const slot = hashSlot(this.fleet, name);
      slot?.byKey.set(slot.key, inputs.hash);
    }
    const { instance, app, scope, namespace } = inputs;
    const cluster = this.fleet.clusters.get(instance.cluster)!;
    const issues: FleetIssue[] = [];
    const warnings: FleetIssue[] = [];
    let raw: RawObject[];
    if (app.source.type === 'manifests') raw = await this.fromManifests(app, scope, issues, warnings);
    else if (app.source.type === 'kustomize') raw = await this.fromKustomize(app, scope, issues, warnings);
    else raw = await this.fromHelm(inputs);

    const objects: NamedObject[] = [];
    const sources = new Map<string, RenderedSource>();
    for (const { object, origin, via } of unwrapLists(raw)) {
      // Literal Secrets are checked on the final objects, after patches (literalSecretIssues below).
      const found = checkObject(object, origin, true);
      if (found.length) {
        issues.push(...(via ? found.map((i) => ({ ...i, message: `${i.message} (${via})` })) : found));
        continue;
      }
      const o = object as NamedObject;
      if (!isClusterScoped(o.kind) && !o.metadata.namespace) o.metadata = { ...o.metadata, namespace };
      if (isClusterScoped(o.kind) && o.metadata.namespace !== undefined) {
        const { namespace: _drop, ...meta } = o.metadata;
        o.metadata = meta as NamedObject['metadata'];
      }
      objects.push(o);
      if (!sources.has(keyOf(o))) sources.set(keyOf(o), { object: o, origin, via });
    }
    if (issues.length) throw new FleetValidationError(sortIssues(issues));

    const patched = inputs.patches.length ? patchInstance(objects, inputs, warnings) : objects;
    const patchesAt = instance.patches?.length ? instance.origin.location : app.origin.location;
    issues.push(...literalSecretIssues({ sources, final: patched, instance: instance.name, patchesAt, allowLiteral: app.secrets?.allowLiteral === true }));
    if (issues.length) throw new FleetValidationError(sortIssues(issues));

    const roles = app.roles ?? [];
    const rendered: RenderedObject[] = [];
    const seen = new Set<string>();
    const images = new Set<string>();
    for (const o of patched) {
      // stable labels only (app and instance), never anything that changes per commit
      const labels = { ...(o.metadata.labels ?? {}), [LABELS.managedBy]: 'ringmaster', [LABELS.app]: app.name, [LABELS.instance]: instance.name };
      const object = { ...o, metadata: { ...o.metadata, labels } } as NamedObject;
      const ref = { apiVersion: o.apiVersion, kind: o.kind, namespace: object.metadata.namespace, name: o.metadata.name };
      const file = objectFileName(ref);
      // A patch may rename an object: it then points at the app, which holds the patch.
      const origin = sources.get(keyOf(o))?.origin ?? app.origin.location;
      if (seen.has(file)) {
        issues.push({
          code: 'duplicate-object',
          message: `${o.kind} "${ref.namespace ? ref.namespace + '/' : ''}${ref.name}" is rendered twice for instance "${instance.name}"`,
          hint: `give the objects different names (e.g. with \${${CONTEXT_KEY}.instance.name}) or remove one`,
          location: origin,
        });
        continue;
      }
      seen.add(file);
      if (cluster.delivery.mode === 'argocd') warnings.push(...claimTemplateWarnings(object, origin));
      imagesOf(object, images);
      rendered.push({ ...ref, role: o.metadata.labels?.[LABELS.role], file, origin, object, yaml: toYaml(object, { sort: true }) });
    }
    if (issues.length) throw new FleetValidationError(sortIssues(issues));
    rendered.sort(applyOrder(roles));
    return {
      instance: instance.name,
      app: app.name,
      cluster: cluster.name,
      ring: cluster.ring,
      region: cluster.region,
      namespace,
      inputHash: inputs.hash,
      objects: rendered,
      images: [...images].sort(),
      warnings: dedupe(sortIssues(warnings)),
    };
  }

  private async fromManifests(app: App, scope: Values, issues: FleetIssue[], warnings: FleetIssue[]): Promise<RawObject[]> {
    const key = `${app.sourceDir}\0${this.fleet.source.folderHash(app.sourceDir)}`;
    let templates = manifestTemplates.get(key);
    if (!templates) {
      templates = this.loadManifestTemplates(app);
      templates.catch(() => manifestTemplates.delete(key));
      if (manifestTemplates.size > 500) manifestTemplates.delete(manifestTemplates.keys().next().value!);
      manifestTemplates.set(key, templates);
    }
    const out: RawObject[] = [];
    for (const t of await templates) {
      const problems: string[] = [];
      const kept: FleetIssue[] = [];
      const object = ownTopLevel(instantiate(t.tree, scope, problems, kept));
      if (problems.length || kept.length) {
        // Slow path, only on a problem: substitute on the YAML tree to point at file:line:column.
        const located = substituteDocument(t.pd.doc.clone(), scope, t.pd.file, t.pd.lineCounter);
        issues.push(...located.filter((i) => i.severity !== 'warning'));
        warnings.push(...located.filter((i) => i.severity === 'warning'));
        if (problems.length) continue;
      }
      out.push({ object, origin: t.pd.location });
    }
    return out;
  }

  private async loadManifestTemplates(app: App): Promise<Template[]> {
    const prefix = app.sourceDir + '/';
    const files = this.fleet.source.files().filter((f) => f.startsWith(prefix) && /\.(ya?ml|json)$/.test(f));
    const texts = await this.fleet.source.read(files);
    const issues: FleetIssue[] = [];
    const templates: Template[] = [];
    for (const file of files) {
      const { docs, issues: syntax } = parseYamlFile(file, texts.get(file)!);
      issues.push(...syntax);
      for (const pd of docs) templates.push({ pd, tree: compile(pd.doc) });
    }
    if (issues.length) throw new FleetValidationError(issues);
    return templates;
  }

  private async fromKustomize(app: App, scope: Values, issues: FleetIssue[], warnings: FleetIssue[]): Promise<RawObject[]> {
    const key = this.fleet.source.folderHash(app.dir) + ':' + app.sourceDir;
    let built = this.kustomizeOutputs.get(key);
    if (!built) {
      built = this.buildKustomize(app);
      this.kustomizeOutputs.set(key, built);
    }
    const { objects, file } = await built;
    const origin = { file, line: 1, column: 1 };
    const out: RawObject[] = [];
    for (const o of objects) {
      try {
        const found: FleetIssue[] = [];
        out.push({ object: substituteValue(o, scope, `${file} (kustomize output)`, found), origin });
        warnings.push(...found.map((i) => ({ ...i, location: origin })));
      } catch (e) {
        if (e instanceof FleetValidationError) issues.push(...e.issues.map((i) => ({ ...i, location: origin })));
        else throw e;
      }
    }
    return out;
  }

  private async buildKustomize(app: App): Promise<{ objects: unknown[]; file: string }> {
    const dir = await this.fleet.source.materialize(app.sourceDir);
    const kfile = this.fleet.source.files().find((f) => f.startsWith(app.sourceDir + '/') && /\/(kustomization\.ya?ml|Kustomization)$/.test(f)) ?? `${app.sourceDir}/kustomization.yaml`;
    await checkKustomization(await this.fleet.source.materializedRoot(), app.sourceDir, (app.source as { allowRemoteBases?: boolean }).allowRemoteBases === true);
    const res = await runKustomize(dir);
    if (res.code !== 0) {
      throw new FleetValidationError([
        { code: 'kustomize-failed', message: `kubectl kustomize failed for app "${app.name}": ${res.stderr.trim().split('\n').slice(-3).join(' ')}`, hint: `check ${kfile}`, location: { file: kfile, line: 1, column: 1 } },
      ]);
    }
    return { objects: parseStream(res.stdout, kfile), file: kfile };
  }

  private async fromHelm(inputs: InstanceInputs): Promise<RawObject[]> {
    const run = helmRun(this.fleet, inputs);
    let out = this.helmOutputs.get(run.key);
    if (!out) {
      out = renderChart(this.fleet, inputs.app, run, this.options.helm);
      this.helmOutputs.set(run.key, out);
    }
    const via = `rendered by helm for instance "${inputs.instance.name}"`;
    return (await out).map(({ object, origin }) => ({ object: ownTopLevel(object), origin, via }));
  }
}

/** An object as a source produced it, with where it came from (and, for generated output, by what). */
interface RawObject {
  object: unknown;
  origin: SourceLocation;
  via?: string;
}

function keyOf(o: NamedObject): string {
  return identityKey({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });
}

function parseStream(text: string, file: string): unknown[] {
  const { docs, issues } = parseYamlFile(file, text);
  if (issues.length) throw new RenderToolError(`renderer output for ${file} is not valid YAML: ${issues[0]!.message}`);
  return docs.map((d) => d.data).filter((o) => o !== null && o !== undefined);
}

/**
 * Subtrees of a template without any substitution are shared by every instance instead of copied:
 * they are frozen, so a consumer that tried to change a rendered object in place would fail loudly.
 */
const dynamic = new WeakSet<object>();

function markDynamic(t: unknown): boolean {
  if (typeof t === 'string') return t.includes('${');
  if (t instanceof ForcedString) return true;
  if (t === null || typeof t !== 'object') return false;
  let dyn = false;
  for (const v of Array.isArray(t) ? t : Object.values(t)) if (markDynamic(v)) dyn = true;
  if (dyn) dynamic.add(t);
  else Object.freeze(t);
  return dyn;
}

/** Turns a parsed manifest into plain data, marking quoted `${…}` scalars that must stay strings. */
function compile(doc: Document): unknown {
  // Quoted `${…}` scalars become markers before conversion; the clone keeps the parsed tree intact for error reporting.
  const copy = doc.clone();
  visit(copy, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && node.value.includes('${') && isForcedString(node)) {
        (node as Scalar<unknown>).value = new ForcedString(node.value);
      }
    },
  });
  // The parser has already refused documents whose aliases expand too far (yaml-source.ts).
  const tree = copy.toJS({ maxAliasCount: -1 });
  markDynamic(tree);
  return tree;
}

/** Builds one instance's copy of a compiled template; substitution problems go to `problems`. */
/**
 * A StatefulSet's claim templates without apiVersion/kind: the API server fills them in, and Argo CD
 * with ServerSideApply (which Ringmaster's Applications use) then reports the StatefulSet OutOfSync
 * for ever (argo-cd#11143), so its delivery never completes.
 */
function claimTemplateWarnings(o: NamedObject, location: FleetIssue['location']): FleetIssue[] {
  if (o.kind !== 'StatefulSet') return [];
  const templates = (o.spec as { volumeClaimTemplates?: { apiVersion?: string; kind?: string; metadata?: { name?: string } }[] } | undefined)?.volumeClaimTemplates ?? [];
  return templates.filter((t) => !t.apiVersion || !t.kind).map((t) => ({
    code: 'claim-template-without-kind',
    severity: 'warning' as const,
    message: `StatefulSet "${o.metadata.name}": volumeClaimTemplate "${t.metadata?.name ?? '?'}" has no apiVersion/kind, so Argo CD (server-side apply) reports it OutOfSync for ever`,
    hint: 'add "apiVersion: v1" and "kind: PersistentVolumeClaim" to the template',
    location,
  }));
}

function instantiate(t: unknown, values: Values, problems: string[], warnings: FleetIssue[]): unknown {
  if (typeof t === 'string') {
    if (!t.includes('${')) return t;
    try {
      return substituteValue(t, values, '', warnings);
    } catch (e) {
      problems.push((e as Error).message);
      return t;
    }
  }
  if (t instanceof ForcedString) {
    try {
      const v = substituteValue(t.text, values, '', warnings);
      return typeof v === 'string' ? v : v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
    } catch (e) {
      problems.push((e as Error).message);
      return t.text;
    }
  }
  if (t === null || typeof t !== 'object' || !dynamic.has(t)) return t;
  if (Array.isArray(t)) return t.map((x) => instantiate(x, values, problems, warnings));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(t)) out[k] = instantiate((t as Record<string, unknown>)[k], values, problems, warnings);
  return out;
}

/** Renders every instance (or the named ones); collects the issues of all instances before failing. */
export async function renderFleet(fleet: Fleet, names?: string[], renderer = new Renderer(fleet)): Promise<RenderedInstance[]> {
  const wanted = names ?? [...fleet.instances.keys()].sort();
  const issues: FleetIssue[] = [];
  for (const n of wanted) {
    if (!fleet.instances.has(n)) issues.push({ code: 'missing-reference', message: `instance "${n}" does not exist`, hint: `known instances: ${[...fleet.instances.keys()].sort().slice(0, 12).join(', ')}` });
  }
  if (issues.length) throw new FleetValidationError(issues);
  const results = await mapLimit(wanted, 4, async (n) => {
    try {
      return await renderer.render(n);
    } catch (e) {
      if (e instanceof FleetValidationError) {
        issues.push(...e.issues);
        return undefined;
      }
      throw e;
    }
  });
  if (issues.length) throw new FleetValidationError(dedupe(sortIssues(issues)));
  return results as RenderedInstance[];
}

function dedupe(issues: FleetIssue[]): FleetIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = JSON.stringify(i);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Maps with at most `limit` promises in flight (renderers that run helm or kubectl). */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
