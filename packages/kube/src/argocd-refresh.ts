import type { KubeClient } from './client.ts';
import { KubeApiError } from './errors.ts';

/** The annotation that makes Argo CD's controller reconcile an Application now instead of at its next poll. */
export const ARGOCD_REFRESH_ANNOTATION = 'argocd.argoproj.io/refresh';

/**
 * Asks Argo CD to refresh an Application now (`normal`: compare with the repo's latest commit;
 * `hard`: also drop the repo-server's manifest cache). Argo CD removes the annotation when done.
 * Returns false when the Application does not exist.
 */
export async function requestRefresh(client: KubeClient, app: { namespace: string; name: string }, mode: 'normal' | 'hard' = 'normal'): Promise<boolean> {
  const ref = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: app.namespace, name: app.name };
  try {
    await client.mergePatch(ref, { metadata: { annotations: { [ARGOCD_REFRESH_ANNOTATION]: mode } } });
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return false;
    throw err;
  }
}
