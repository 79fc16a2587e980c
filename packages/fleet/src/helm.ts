import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetValidationError, RenderToolError, type FleetIssue, type SourceLocation } from './errors.ts';
import type { App, Fleet } from './load.ts';
import { CONTEXT_KEY, type AppSpec } from './model.ts';
import type { InstanceInputs } from './render.ts';
import { sortKeys } from './serialize.ts';
import { substituteValue } from './substitute.ts';
import { helmRenderer } from './helm-renderer.ts';
import type { FleetSource } from './source.ts';
import { runTool } from './tools.ts';
import { parseYamlFile } from './yaml-source.ts';

type HelmSource = Extract<AppSpec['source'], { type: 'helm' }>;

/** One object of a chart's output, with the template helm named for it (`# Source:`). */
export interface ChartObject {
  object: unknown;
  origin: SourceLocation;
}

/** Everything one `helm template` run depends on; runs with equal keys give equal output. */
export interface HelmRun {
  key: string;
  instance: string;
  release: string;
  namespace: string;
  includeCRDs: boolean;
  kubeVersion?: string;
  apiVersions: string[];
  /** The `helm template` flags of the above. */
  flags: string[];
  /** The values file (JSON). */
  input: string;
}

/** How Helm charts are rendered: `engine` (default) is tools/helm-renderer, `template` runs `helm template` per value set. */
export type HelmRendererKind = 'engine' | 'template';

/** The time limit of one render unless the fleet sets helm.timeoutSeconds. */
export const HELM_TIMEOUT_SECONDS = 30;

export interface HelmOptions {
  renderer?: HelmRendererKind;
  timeoutSeconds?: number;
}

/**
 * The `helm template` call of an instance: the user's values (Ringmaster's context only under
 * `.Values.ringmaster`, never over a chart's own keys), the chart's CRDs unless the app leaves them
 * out, and the Kubernetes version and API versions the cluster (or the fleet) declares.
 */
export function helmRun(fleet: Fleet, inputs: InstanceInputs): HelmRun {
  const { app, instance, values, context, scope, namespace, kubernetes } = inputs;
  const source = app.source as HelmSource;
  const release = source.releaseName ? String(substituteValue(source.releaseName, scope, 'source.releaseName')) : instance.name;
  const chartValues = source.contextValues === false ? values : { ...values, [CONTEXT_KEY]: context };
  const flags = ['--namespace', namespace];
  if (source.includeCRDs !== false) flags.push('--include-crds');
  if (kubernetes.version) flags.push('--kube-version', kubernetes.version);
  for (const v of kubernetes.apiVersions ?? []) flags.push('--api-versions', v);
  const key = createHash('sha256')
    .update(JSON.stringify([fleet.source.folderHash(app.sourceDir), sortKeys(chartValues), release, flags]))
    .digest('hex');
  return {
    key,
    instance: instance.name,
    release,
    namespace,
    includeCRDs: source.includeCRDs !== false,
    kubeVersion: kubernetes.version,
    apiVersions: kubernetes.apiVersions ?? [],
    flags,
    input: JSON.stringify(chartValues),
  };
}

/**
 * Renders an instance's chart and returns its objects, each located at the template that produced
 * it: through the long-lived renderer on Helm's Go engine, or (`renderer: template`) with one
 * `helm template` process. Both give the same output, byte for byte.
 */
export async function renderChart(fleet: Fleet, app: App, run: HelmRun, options: HelmOptions = {}): Promise<ChartObject[]> {
  const chart = await chartFolder(fleet, app, run);
  const timeoutMs = Math.round((options.timeoutSeconds ?? fleet.helm?.timeoutSeconds ?? HELM_TIMEOUT_SECONDS) * 1000);
  const renderer = options.renderer ?? fleet.helm?.renderer ?? 'engine';
  let output: string;
  if (renderer === 'template') {
    const res = await runTool('helm', ['template', run.release, chart, ...run.flags, '--values', '-'], {
      envVar: 'RINGMASTER_HELM',
      what: 'helm (for Helm chart sources)',
      input: run.input,
      timeoutMs,
    });
    if (res.timedOut) throw new FleetValidationError([helmFailure(`Error: rendering did not finish within ${timeoutMs / 1000}s`, app, run, chart)]);
    if (res.code !== 0) throw new FleetValidationError([helmFailure(res.stderr, app, run, chart)]);
    output = res.stdout;
  } else {
    const res = await helmRenderer().render({
      chart,
      chartKey: chartKey(fleet.source, app.sourceDir),
      release: run.release,
      namespace: run.namespace,
      values: run.input,
      includeCRDs: run.includeCRDs,
      kubeVersion: run.kubeVersion,
      apiVersions: run.apiVersions,
      timeoutMs,
    });
    if (res.error !== undefined) throw new FleetValidationError([helmFailure(res.error, app, run, chart)]);
    output = res.output;
  }
  return parseChartOutput(output, app.sourceDir);
}

/** The chart as a real folder; a link out of the repository is refused, naming the instance. */
async function chartFolder(fleet: Fleet, app: App, run: HelmRun): Promise<string> {
  try {
    return await fleet.source.materialize(app.sourceDir);
  } catch (e) {
    if (!(e instanceof FleetValidationError)) throw e;
    throw new FleetValidationError(e.issues.map((i) => ({ ...i, message: `${i.message} (in the chart of app "${app.name}", rendering instance "${run.instance}")` })));
  }
}

const workTreeIds = new WeakMap<FleetSource, string>();
let workTreeLoads = 0;

/**
 * What tells the renderer that a chart folder is the one it has read: a Git revision is extracted
 * into a folder named by its root tree, so the chart's tree id says everything; a work tree can
 * change under the same path (and links in it are not hashed), so it is read again once per load.
 */
function chartKey(source: FleetSource, dir: string): string {
  if (source.revision) return source.folderHash(dir);
  let id = workTreeIds.get(source);
  if (!id) workTreeIds.set(source, (id = `worktree-${process.pid}-${++workTreeLoads}-${Date.now()}`));
  return `${source.folderHash(dir)}:${id}`;
}

/** A helm path (`<chart>/templates/x.yaml`, `<chart>/charts/<sub>/templates/x.yaml`) as a path in the fleet repo. */
function repoPath(helmPath: string, chartDir: string): string {
  const slash = helmPath.indexOf('/');
  return slash < 0 ? `${chartDir}/Chart.yaml` : `${chartDir}/${helmPath.slice(slash + 1)}`;
}

const SOURCE_RE = /^# Source: (.+)$/m;

/**
 * Splits helm's output into its documents (helm writes each as `---` + `# Source: <template>`),
 * parses them and deep-freezes the result: the objects are shared by every instance rendering the
 * same chart with the same values.
 */
export function parseChartOutput(text: string, chartDir: string): ChartObject[] {
  const out: ChartObject[] = [];
  for (const chunk of text.split(/^---[ \t]*$/m)) {
    const source = SOURCE_RE.exec(chunk)?.[1]?.trim();
    const file = source ? repoPath(source, chartDir) : `${chartDir}/Chart.yaml`;
    // The one parser, with Kubernetes' scalars and the limits; its plain data is all that is used here.
    const { docs, issues } = parseYamlFile(file, chunk);
    if (issues.length) throw helmOutputError(file, issues[0]!);
    for (const d of docs) {
      if (d.data === null || d.data === undefined) continue;
      out.push({ object: deepFreeze(d.data), origin: { file, line: 1, column: 1 } });
    }
  }
  return out;
}

/**
 * Helm's output is the template's doing: a limit or a prototype key is the chart's problem, located
 * at its template (positions inside helm's output point at no file a user can edit); output that
 * is not YAML at all is helm's.
 */
function helmOutputError(file: string, issue: FleetIssue): Error {
  if (issue.code === 'yaml-syntax') return new RenderToolError(`helm output of ${file} is not valid YAML: ${issue.message}`);
  return new FleetValidationError([{ ...issue, message: `helm output of this template: ${issue.message}`, location: { file, line: 1, column: 1 } }]);
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** A helm template path with an optional line and column, as helm prints it in errors. */
const TEMPLATE_RE = /([\w.-]+\/(?:charts\/[\w.-]+\/)*(?:templates|crds)\/[^\s:"()]+)(?::(\d+))?(?::(\d+))?/;

/**
 * Turns helm's stderr into an issue a Ringmaster user can act on: located at the template (or
 * Chart.yaml, values.schema.json) it names, without helm's "Use --debug flag" advice, which no
 * Ringmaster command takes.
 */
export function helmFailure(stderr: string, app: App, run: Pick<HelmRun, 'instance'>, chartPath?: string): FleetIssue {
  const text = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Use --debug flag/i.test(l))
    .join(' ')
    .replace(/\s*Use --debug flag[^.]*\.?/gi, '')
    .replace(/^Error: /, '');
  const message = `helm template failed for instance "${run.instance}" (app "${app.name}"): ${text}`;
  if (/rendering did not finish within/.test(text)) {
    return {
      code: 'helm-timeout',
      message,
      hint: 'a template loops for ever or renders far too much (range over a huge until/untilStep, a tpl that includes itself); raise helm.timeoutSeconds in ringmaster.yaml only if the chart really needs longer',
      location: { file: `${app.sourceDir}/Chart.yaml`, line: 1, column: 1 },
    };
  }
  const kube = /chart requires kubeVersion: (\S+) which is incompatible with Kubernetes (v[\d.]+)/.exec(text);
  if (kube) {
    return {
      code: 'helm-failed',
      message,
      hint: `declare the Kubernetes version the cluster runs, e.g. kubernetes: { version: "1.31" } in its cluster file or in ringmaster.yaml (helm assumed ${kube[2]})`,
      location: chartFileLine(app, chartPath, 'Chart.yaml', /^kubeVersion:/m),
    };
  }
  if (/values don't meet the specifications of the schema/.test(text)) {
    return {
      code: 'helm-failed',
      message,
      hint: text.includes(CONTEXT_KEY)
        ? `the chart's values schema refuses the key "${CONTEXT_KEY}": set source.contextValues: false in the app`
        : "fix the app's values (or a layer's) to match the chart's values schema",
      location: { file: `${app.sourceDir}/values.schema.json`, line: 1, column: 1 },
    };
  }
  const m = TEMPLATE_RE.exec(text);
  const location = m
    ? { file: repoPath(m[1]!, app.sourceDir), line: Number(m[2] ?? 1), column: Number(m[3] ?? 1) }
    : { file: `${app.sourceDir}/Chart.yaml`, line: 1, column: 1 };
  return { code: 'helm-failed', message, hint: "fix the chart template or the values it reads (the app's values and its layers)", location };
}

/** The line of a chart file that matches `re`, or its first line. */
function chartFileLine(app: App, chartPath: string | undefined, name: string, re: RegExp): SourceLocation {
  const file = `${app.sourceDir}/${name}`;
  try {
    const text = chartPath ? readFileSync(join(chartPath, name), 'utf8') : '';
    const at = text.search(re);
    if (at >= 0) return { file, line: text.slice(0, at).split('\n').length, column: 1 };
  } catch {
    // The chart folder is gone (a cleaned cache): the file itself is still the right place.
  }
  return { file, line: 1, column: 1 };
}
