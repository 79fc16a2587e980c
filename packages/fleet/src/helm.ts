import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetValidationError, RenderToolError, type FleetIssue, type SourceLocation } from './errors.ts';
import type { App, Fleet } from './load.ts';
import { CONTEXT_KEY, type AppSpec } from './model.ts';
import type { InstanceInputs } from './render.ts';
import { sortKeys } from './serialize.ts';
import { substituteValue } from './substitute.ts';
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
  flags: string[];
  input: string;
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
  return { key, instance: instance.name, release, flags, input: JSON.stringify(chartValues) };
}

/** Runs `helm template` and returns its objects, each located at the template that produced it. */
export async function renderChart(fleet: Fleet, app: App, run: HelmRun): Promise<ChartObject[]> {
  const chart = await fleet.source.materialize(app.sourceDir);
  const res = await runTool('helm', ['template', run.release, chart, ...run.flags, '--values', '-'], {
    envVar: 'RINGMASTER_HELM',
    what: 'helm (for Helm chart sources)',
    input: run.input,
  });
  if (res.code !== 0) throw new FleetValidationError([helmFailure(res.stderr, app, run, chart)]);
  return parseChartOutput(res.stdout, app.sourceDir);
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
