import { FleetValidationError, type FleetIssue } from './errors.ts';
import { loadFleetFrom, sortIssues, type Fleet } from './load.ts';
import { identityKey } from '@ringmaster/kube-common';
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
  // One issue per pair of instances that collide, listing the objects they both write.
  const clashes = new Map<string, { cluster: string; first: string; second: string; objects: string[] }>();
  for (const inst of rendered) {
    for (const o of inst.objects) {
      const key = `${inst.cluster}|${identityKey(o)}`;
      const first = owners.get(key);
      if (first !== undefined && first !== inst.instance) {
        const id = `${inst.cluster}|${first}|${inst.instance}`;
        const clash = clashes.get(id) ?? { cluster: inst.cluster, first, second: inst.instance, objects: [] };
        clash.objects.push(`${o.kind} ${o.namespace ? o.namespace + '/' : ''}${o.name}`);
        clashes.set(id, clash);
      } else owners.set(key, inst.instance);
    }
  }
  for (const c of clashes.values()) {
    issues.push({
      code: 'duplicate-object',
      message: `instances "${c.first}" and "${c.second}" both write ${c.objects.length} object(s) on cluster "${c.cluster}": ${c.objects.sort().join(', ')}`,
      hint: 'give each instance its own namespace or object names (e.g. with ${instance.name})',
      location: fleet.instances.get(c.second)!.origin.location,
    });
  }
  if (issues.length) throw new FleetValidationError(sortIssues(issues));
  return { fleet, rendered };
}
