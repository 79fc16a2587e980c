import { posix } from 'node:path';
import type { z } from 'zod';
import { FleetValidationError, type FleetIssue } from './errors.ts';
import {
  AppSchema,
  ClusterSchema,
  FleetFileSchema,
  InstanceSchema,
  type AppSpec,
  type ClusterSpec,
  type FleetFile,
  type InstanceSpec,
  type Kubernetes,
  type Region,
  type Ring,
} from './model.ts';
import { openSource, type FleetSource } from './source.ts';
import { checkSchema, locate, parseYamlFile, type ParsedDocument } from './yaml-source.ts';

export const FLEET_FILE = 'ringmaster.yaml';

export interface Cluster extends ClusterSpec {
  origin: ParsedDocument;
}
export interface App extends AppSpec {
  origin: ParsedDocument;
  /** Folder of the app file, relative to the repo root. */
  dir: string;
  /** The source folder (manifests, kustomize) or chart folder, relative to the repo root. */
  sourceDir: string;
}
export interface Instance extends InstanceSpec {
  origin: ParsedDocument;
}

/** A fleet repo read at one revision (or from disk), checked against the schema and for references. */
export interface Fleet {
  source: FleetSource;
  name: string;
  rings: Ring[];
  regions: Map<string, Region>;
  clusters: Map<string, Cluster>;
  apps: Map<string, App>;
  instances: Map<string, Instance>;
  /** What Helm charts see of every cluster unless the cluster says otherwise. */
  kubernetes?: Kubernetes;
  /** How Helm charts are rendered (ringmaster.yaml `helm`). */
  helm?: FleetFile['helm'];
  /** Incoming webhooks told about releases (ringmaster.yaml `notifications`). */
  notifications?: FleetFile['notifications'];
  origin: ParsedDocument;
}

/** Parsed fleet files by path and content id; parsed documents are never modified, so sharing is safe. */
const parseCache = new Map<string, ReturnType<typeof parseYamlFile>>();
const PARSE_CACHE_LIMIT = 50_000;

function cacheKey(source: FleetSource, file: string): string {
  const id = source.contentId(file);
  return id ? `${file}\0${id}` : '';
}

function field(pd: ParsedDocument, name: string): unknown {
  const d = pd.data;
  return d !== null && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>)[name] : undefined;
}

function remember(key: string, parsed: ReturnType<typeof parseYamlFile>): void {
  if (parseCache.size >= PARSE_CACHE_LIMIT) parseCache.delete(parseCache.keys().next().value!);
  parseCache.set(key, parsed);
}

const isYaml = (p: string) => p.endsWith('.yaml') || p.endsWith('.yml');

/** Loads and checks a fleet repo; throws FleetValidationError listing every problem found. */
export async function loadFleet(repo: string, rev?: string): Promise<Fleet> {
  return loadFleetFrom(await openSource(repo, rev));
}

/** Loads a fleet from an opened source (lets callers share one source between load and render). */
export async function loadFleetFrom(source: FleetSource): Promise<Fleet> {
  const files = source.files();
  const issues: FleetIssue[] = [];
  if (!files.includes(FLEET_FILE)) {
    throw new FleetValidationError([
      {
        code: 'missing-file',
        message: `${FLEET_FILE} not found at the root of ${source.root}${source.revision ? ` (revision ${source.revision.slice(0, 12)})` : ''}`,
        hint: 'a fleet repo declares its rings in ringmaster.yaml; see examples/fleet and docs/fleet-format.md',
        location: { file: FLEET_FILE, line: 1, column: 1 },
      },
    ]);
  }
  const clusterFiles = files.filter((f) => f.startsWith('clusters/') && isYaml(f));
  const appFiles = files.filter((f) => /^apps\/[^/]+\/app\.ya?ml$/.test(f));
  const instanceFiles = files.filter((f) => f.startsWith('instances/') && isYaml(f));
  const allFiles = [FLEET_FILE, ...clusterFiles, ...appFiles, ...instanceFiles];
  // Files whose content was parsed before (e.g. the unchanged files of the other revision of a plan) are not read again.
  const toRead = allFiles.filter((f) => !parseCache.has(cacheKey(source, f)));
  const texts = await source.read(toRead);

  const docsOf = (file: string): ParsedDocument[] => {
    const key = cacheKey(source, file);
    let parsed = parseCache.get(key);
    if (!parsed) {
      parsed = parseYamlFile(file, texts.get(file)!);
      if (key) remember(key, parsed);
    }
    issues.push(...parsed.issues);
    return parsed.docs;
  };
  const expectKind = (pd: ParsedDocument, kind: string): boolean => {
    const actual = field(pd, 'kind');
    if (actual === kind) return true;
    issues.push({
      code: 'wrong-kind',
      message: actual === undefined ? `document has no "kind" (expected kind: ${kind})` : `kind "${String(actual)}" does not belong in ${pd.file} (expected kind: ${kind})`,
      hint: `files under ${pd.file.split('/')[0]}/ hold ${kind} documents; see docs/fleet-format.md`,
      location: actual === undefined ? pd.location : locate(pd, ['kind']),
    });
    return false;
  };

  // ringmaster.yaml
  let fleetFile: FleetFile | undefined;
  const fleetDocs = docsOf(FLEET_FILE);
  const fleetDoc = fleetDocs[0];
  if (fleetDocs.length > 1) issues.push({ code: 'extra-document', message: `${FLEET_FILE} must hold one document`, location: fleetDocs[1]!.location });
  if (fleetDoc && expectKind(fleetDoc, 'Fleet')) {
    const r = checkSchema(fleetDoc, FleetFileSchema, 'Fleet');
    issues.push(...r.issues);
    fleetFile = r.value;
  }
  const rings = fleetFile?.rings ?? [];
  const regions = new Map<string, Region>();
  if (fleetFile && fleetDoc) {
    checkUnique(fleetFile.rings.map((r, i) => ({ name: r.name, at: locate(fleetDoc, ['rings', i, 'name']) })), 'ring', issues);
    checkUnique((fleetFile.regions ?? []).map((r, i) => ({ name: r.name, at: locate(fleetDoc, ['regions', i, 'name']) })), 'region', issues);
    for (const r of fleetFile.regions ?? []) regions.set(r.name, r);
  }

  // Names of documents that failed the schema: references to them are not reported again.
  const invalidNames = new Set<string>();
  /** The documents of one kind that pass its schema; every other problem becomes an issue. */
  function* valid<T extends z.ZodType>(kindFiles: string[], kind: string, schema: T): Generator<{ file: string; pd: ParsedDocument; value: z.infer<T> }> {
    for (const file of kindFiles) {
      for (const pd of docsOf(file)) {
        if (!expectKind(pd, kind)) continue;
        const r = checkSchema(pd, schema, kind);
        issues.push(...r.issues);
        if (r.value) {
          yield { file, pd, value: r.value };
        } else {
          const n = field(pd, 'name');
          if (typeof n === 'string') invalidNames.add(`${kind}/${n}`);
        }
      }
    }
  }

  const clusters = new Map<string, Cluster>();
  for (const { pd, value } of valid(clusterFiles, 'Cluster', ClusterSchema)) addUnique(clusters, { ...value, origin: pd }, 'cluster', issues);

  const apps = new Map<string, App>();
  for (const { file, pd, value } of valid(appFiles, 'App', AppSchema)) {
    const dir = posix.dirname(file);
    const rel = value.source.type === 'helm' ? value.source.chart : value.source.path;
    const key = value.source.type === 'helm' ? 'chart' : 'path';
    const sourceDir = posix.normalize(posix.join(dir, rel)).replace(/\/$/, '');
    if (posix.isAbsolute(rel) || sourceDir === '..' || sourceDir.startsWith('../')) {
      issues.push({
        code: 'path-escapes',
        message: `source.${key} "${rel}" points outside the fleet repository`,
        hint: `keep the app's sources inside the repo, e.g. under ${dir}/`,
        location: locate(pd, ['source', key]),
      });
      continue;
    }
    if (!files.some((f) => f.startsWith(sourceDir + '/'))) {
      issues.push({
        code: 'missing-file',
        message: `source.${key} "${rel}" (${sourceDir}) does not exist or is empty`,
        hint: `create ${sourceDir}/ or fix the path (relative to ${file})`,
        location: locate(pd, ['source', key]),
      });
    }
    if (posix.basename(dir) !== value.name) {
      issues.push({
        code: 'name-mismatch',
        message: `app "${value.name}" is declared in ${dir}/`,
        hint: `rename the folder to apps/${value.name}/ or the app to "${posix.basename(dir)}"`,
        location: locate(pd, ['name']),
      });
    }
    addUnique(apps, { ...value, origin: pd, dir, sourceDir }, 'app', issues);
  }

  const instances = new Map<string, Instance>();
  for (const { pd, value } of valid(instanceFiles, 'Instance', InstanceSchema)) addUnique(instances, { ...value, origin: pd }, 'instance', issues);

  // References.
  const ringNames = new Set(rings.map((r) => r.name));
  for (const c of clusters.values()) {
    if (fleetFile && !ringNames.has(c.ring)) {
      issues.push(missingRef(c.origin, ['ring'], `cluster "${c.name}"`, 'ring', c.ring, [...ringNames], FLEET_FILE));
    }
    if (fleetFile?.regions && !regions.has(c.region)) {
      issues.push(missingRef(c.origin, ['region'], `cluster "${c.name}"`, 'region', c.region, [...regions.keys()], FLEET_FILE));
    }
  }
  for (const i of instances.values()) {
    if (!apps.has(i.app) && !invalidNames.has(`App/${i.app}`)) issues.push(missingRef(i.origin, ['app'], `instance "${i.name}"`, 'app', i.app, [...apps.keys()], 'apps/<name>/app.yaml'));
    if (!clusters.has(i.cluster) && !invalidNames.has(`Cluster/${i.cluster}`)) issues.push(missingRef(i.origin, ['cluster'], `instance "${i.name}"`, 'cluster', i.cluster, [...clusters.keys()], 'clusters/'));
  }

  (fleetFile?.notifications ?? []).forEach((n, i) => {
    for (const [key, known, what] of [['rings', ringNames, 'ring'], ['apps', new Set(apps.keys()), 'app']] as const) {
      (n[key] ?? []).forEach((v, j) => {
        if (!known.has(v)) issues.push(missingRef(fleetDoc!, ['notifications', i, key, j], `notification "${n.name}"`, what, v, [...known], what === 'ring' ? FLEET_FILE : 'apps/<name>/app.yaml'));
      });
    }
  });

  if (issues.length > 0) throw new FleetValidationError(sortIssues(issues));
  return { source, name: fleetFile!.name, rings, regions, clusters, apps, instances, kubernetes: fleetFile!.kubernetes, helm: fleetFile!.helm, notifications: fleetFile!.notifications, origin: fleetDoc! };
}

function missingRef(pd: ParsedDocument, path: Array<string | number>, who: string, what: string, name: string, known: string[], where: string): FleetIssue {
  const close = known.filter((k) => k.startsWith(name.slice(0, 3)) || name.startsWith(k.slice(0, 3)));
  return {
    code: 'missing-reference',
    message: `${who} refers to ${what} "${name}", which does not exist`,
    hint: `declare it in ${where} or use one of: ${(close.length ? close : known).slice(0, 8).join(', ') || '(none declared)'}`,
    location: locate(pd, path),
  };
}

function addUnique<T extends { name: string; origin: ParsedDocument }>(map: Map<string, T>, item: T, what: string, issues: FleetIssue[]): void {
  const first = map.get(item.name);
  if (first) {
    issues.push({
      code: 'duplicate-name',
      message: `${what} "${item.name}" is declared twice`,
      hint: `first declared at ${where(locate(first.origin, ['name']))}; rename or remove one`,
      location: locate(item.origin, ['name']),
    });
    return;
  }
  map.set(item.name, item);
}

function where(l: { file: string; line: number; column: number }): string {
  return `${l.file}:${l.line}:${l.column}`;
}

function checkUnique(items: { name: string; at: FleetIssue['location'] }[], what: string, issues: FleetIssue[]): void {
  const seen = new Map<string, FleetIssue['location']>();
  for (const it of items) {
    const first = seen.get(it.name);
    if (first) {
      issues.push({
        code: 'duplicate-name',
        message: `${what} "${it.name}" is declared twice`,
        hint: `first declared at ${first.file}:${first.line}:${first.column}`,
        location: it.at,
      });
    } else seen.set(it.name, it.at);
  }
}

/** Orders issues by file and position so output is stable and reads top to bottom. */
export function sortIssues(issues: FleetIssue[]): FleetIssue[] {
  return [...issues].sort((a, b) => {
    const fa = a.location?.file ?? '';
    const fb = b.location?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    return (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0);
  });
}
