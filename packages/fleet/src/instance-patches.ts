import { FleetValidationError, type FleetIssue, type SourceLocation } from './errors.ts';
import { applyPatches, type PatchSpec } from './patch.ts';
import { PatchError } from './patch-json6902.ts';
import type { InstanceInputs } from './render.ts';
import { substituteValue } from './substitute.ts';
import type { NamedObject } from '@ringmaster/kube-common';
import { locate } from './yaml-source.ts';

/**
 * Applies an instance's patches (the app's, then the instance's) with values substituted; every
 * problem is located at the patch itself — its target, op or field — in the file that holds it.
 */
export function patchInstance(objects: NamedObject[], inputs: InstanceInputs, warnings: FleetIssue[]): NamedObject[] {
  const { app, instance, scope } = inputs;
  const fromApp = app.patches?.length ?? 0;
  const at = (index: number, path: (string | number)[] = []): SourceLocation =>
    index < fromApp ? locate(app.origin, ['patches', index, ...path]) : locate(instance.origin, ['patches', index - fromApp, ...path]);
  const specs: PatchSpec[] = [];
  const issues: FleetIssue[] = [];
  inputs.patches.forEach((patch, index) => {
    const found: FleetIssue[] = [];
    try {
      specs.push(substituteValue(patch, scope, `patch #${index}`, found) as PatchSpec);
      warnings.push(...found.map((w) => ({ ...w, location: at(index) })));
    } catch (e) {
      if (!(e instanceof FleetValidationError)) throw e;
      issues.push(...e.issues.map((i) => ({ ...i, location: at(index) })));
    }
  });
  if (issues.length) throw new FleetValidationError(issues);
  try {
    return applyPatches(objects, specs);
  } catch (e) {
    if (!(e instanceof PatchError)) throw e;
    const location = e.patchIndex !== undefined ? at(e.patchIndex, e.path) : app.origin.location;
    throw new FleetValidationError([{ code: 'patch-failed', message: `${e.message} (instance "${instance.name}")`, hint: 'fix the patch target or operations', location }]);
  }
}
