import { FleetValidationError, type FleetIssue } from '@ringmaster/fleet';
import type { TempRepo } from './helpers.ts';

/** Adds an app with one instance on dev-eu-1 to a copy of the example fleet; `files` are relative to the app folder. */
export function addApp(
  repo: TempRepo,
  name: string,
  source: 'manifests' | 'kustomize' | 'helm',
  files: Record<string, string>,
  extra: { app?: string; instance?: string } = {},
): void {
  const src = source === 'helm' ? 'chart: chart' : `path: ${source === 'manifests' ? 'manifests' : 'kustomize'}`;
  repo.write(
    `apps/${name}/app.yaml`,
    `apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: ${name}\nsource:\n  type: ${source}\n  ${src}\nnamespace: ${name}\n${extra.app ?? ''}`,
  );
  for (const [path, text] of Object.entries(files)) repo.write(`apps/${name}/${path}`, text);
  repo.write(`instances/${name}.yaml`, `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: ${name}-dev\napp: ${name}\ncluster: dev-eu-1\n${extra.instance ?? ''}`);
}

export const CHART_YAML = 'apiVersion: v2\nname: probe\nversion: 0.1.0\n';

/** The issues a fleet operation is refused with; fails the test when it is not refused. */
export async function issuesOf(run: () => Promise<unknown>): Promise<FleetIssue[]> {
  try {
    await run();
  } catch (e) {
    if (e instanceof FleetValidationError) return e.issues;
    throw e;
  }
  throw new Error('expected a refusal');
}
