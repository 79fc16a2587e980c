import { FleetValidationError, type FleetIssue } from './errors.ts';
import { loadFleetFrom, sortIssues, type Fleet } from './load.ts';
import { objectKey } from './objects.ts';
import { renderFleet, type RenderedInstance } from './render.ts';
import { openSource } from './source.ts';

export interface ValidationResult {
  fleet: Fleet;
  rendered: RenderedInstance[];
}

/**
 * Checks a fleet completely: schema and references (load), every instance renders with valid
 * Kubernetes objects, and no two instances write the same object into the same cluster.
 * Throws FleetValidationError with every issue found.
 */
export async function validateFleet(repo: string, rev?: string): Promise<ValidationResult> {
  const fleet = await loadFleetFrom(await openSource(repo, rev));
  const rendered = await renderFleet(fleet);
  const issues: FleetIssue[] = [];
  const owners = new Map<string, string>();
  for (const inst of rendered) {
    for (const o of inst.objects) {
      const key = `${inst.cluster}|${objectKey(o)}`;
      const first = owners.get(key);
      if (first !== undefined && first !== inst.instance) {
        issues.push({
          code: 'duplicate-object',
          message: `${o.kind} "${o.namespace ? o.namespace + '/' : ''}${o.name}" on cluster "${inst.cluster}" is rendered by instances "${first}" and "${inst.instance}"`,
          hint: 'give each instance its own namespace or object names (e.g. with ${instance.name})',
          location: fleet.instances.get(inst.instance)!.origin.location,
        });
      } else owners.set(key, inst.instance);
    }
  }
  if (issues.length) throw new FleetValidationError(sortIssues(issues));
  return { fleet, rendered };
}
