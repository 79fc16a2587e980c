import type { FleetIssue, SourceLocation } from './errors.ts';
import { identityKey, type NamedObject } from '@ringmaster/kube-common';

const keyOf = (o: NamedObject) => identityKey({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });

/** True when a Secret carries values in `data` or `stringData` (rather than referencing a secret store). */
function hasLiteralData(o: NamedObject): boolean {
  if (o.kind !== 'Secret') return false;
  const has = (v: unknown) => v !== null && typeof v === 'object' && Object.keys(v).length > 0;
  const obj = o as unknown as Record<string, unknown>;
  return has(obj.data) || has(obj.stringData);
}

/** An object as its source rendered it (before patches), where it comes from and, for generated output, by what. */
export interface RenderedSource {
  object: NamedObject;
  origin: SourceLocation;
  /** e.g. `rendered by helm for instance "x"`: output that differs per instance names the instance. */
  via?: string;
}

/**
 * The one check for Secrets written in clear text: it runs on the final objects of an instance —
 * after Lists are unwrapped and every patch applied — so neither a patch adding `stringData` nor a
 * List wrapping a Secret gets past it. A literal in the source is located where the object comes
 * from (its manifest, the chart template helm named, the kustomization); one a patch added is
 * located at the patch's owner.
 */
export function literalSecretIssues(opts: {
  /** The objects as rendered, before patches, by object key. */
  sources: ReadonlyMap<string, RenderedSource>;
  /** The objects after every patch (a patch may rename or delete one). */
  final: readonly NamedObject[];
  instance: string;
  /** Where the patches of the instance (or its app) are declared. */
  patchesAt: SourceLocation;
  allowLiteral: boolean;
}): FleetIssue[] {
  if (opts.allowLiteral) return [];
  const issues: FleetIssue[] = [];
  for (const o of opts.final) {
    if (!hasLiteralData(o)) continue;
    const before = opts.sources.get(keyOf(o));
    const fromPatch = !before || !hasLiteralData(before.object);
    // A literal in a shared source is one issue for every instance (renderFleet folds equal issues); one a patch or helm run produced names its instance.
    const what = fromPatch ? `of instance "${opts.instance}" holds literal data added by a patch` : `holds literal data${before.via ? ` (${before.via})` : ''}`;
    issues.push({
      code: 'secret-literal',
      message: `Secret "${o.metadata.name}" ${what}, which would be written in clear text to the manifest repo`,
      hint: 'reference the secret from a secret store (e.g. an ExternalSecret or SealedSecret), or set secrets.allowLiteral: true in the app if this data is not secret',
      location: fromPatch ? opts.patchesAt : before.origin,
    });
  }
  return issues;
}
