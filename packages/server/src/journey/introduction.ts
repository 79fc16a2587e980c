/** One instance whose rendered objects at `to` contain images they did not contain at `from`. */
export interface ImageIntroduction {
  instance: string;
  app: string;
  cluster: string;
  ring: string;
  imagesAdded: string[];
}

/**
 * Finds which fleet-repo change introduces which image, from the rendered plan between two revisions.
 * The server knows nothing else of the fleet package: this is the whole coupling.
 */
export interface ImageIntroductionFinder {
  find(input: { from: string; to: string }): Promise<ImageIntroduction[]>;
}

/** The shape of the fleet package's `planRevisions`, as far as the server reads it. */
export type PlanRevisions = (input: { repo: string; from: string; to: string }) => Promise<{
  instances: Array<{ instance: string; app: string; cluster: string; ring: string; imagesAdded?: string[] }>;
}>;

/** Adapts the fleet package's `planRevisions` over a local clone of the fleet repo. */
export function planImageIntroductions(planRevisions: PlanRevisions, repo: string): ImageIntroductionFinder {
  return {
    async find({ from, to }) {
      const plan = await planRevisions({ repo, from, to });
      return plan.instances
        .filter((i) => (i.imagesAdded ?? []).length > 0)
        .map((i) => ({ instance: i.instance, app: i.app, cluster: i.cluster, ring: i.ring, imagesAdded: i.imagesAdded ?? [] }));
    },
  };
}

/** Splits `registry/repo:tag@sha256:…` into the keys a change can be found by. */
export function imageKeys(image: string | null | undefined, digest?: string | null): Array<[string, string]> {
  const keys: Array<[string, string]> = [];
  if (image) {
    const at = image.indexOf('@');
    if (at >= 0) {
      const ref = image.slice(0, at);
      keys.push(['digest', image.slice(at + 1).toLowerCase()]);
      if (/:[^/]+$/.test(ref)) keys.push(['image', ref]);
    } else {
      keys.push(['image', image]);
    }
  }
  if (digest) keys.push(['digest', digest.toLowerCase()]);
  return keys;
}
