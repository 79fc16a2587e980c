import { toYaml, type RenderedInstance } from '@ringmaster/fleet';
import { ANNOTATIONS, DOMAIN, groupOf } from '@ringmaster/kube-common';

/** Kinds that take the annotation: Ringmaster's own AppCluster. */
const STAMPED = new Set([`${DOMAIN}/AppCluster`]);

/**
 * The instance as a release delivers it: every AppCluster carries `ringmaster.dev/release: <id>`
 * (ANNOTATIONS.release; docs/operator.md, updatePolicy onRelease),
 * the release whose render this is (a rollback delivers the earlier release's render with that
 * release's id). It is added at delivery, not by the render, so `ringmaster render` and `plan`
 * stay free of it (a plan between two commits shows no annotation change) and the same release
 * always writes the same bytes (a retried step writes an identical manifest commit). The rendered
 * instance (the renderer's cache) is not changed: a copy is returned.
 */
export function withReleaseAnnotation(inst: RenderedInstance, releaseId: string): RenderedInstance {
  if (!inst.objects.some((o) => STAMPED.has(`${groupOf(o.apiVersion)}/${o.kind}`))) return inst;
  return {
    ...inst,
    objects: inst.objects.map((o) => {
      if (!STAMPED.has(`${groupOf(o.apiVersion)}/${o.kind}`)) return o;
      const object = structuredClone(o.object);
      object.metadata.annotations = { ...object.metadata.annotations, [ANNOTATIONS.release]: releaseId };
      return { ...o, object, yaml: toYaml(object, { sort: true }) };
    }),
  };
}
