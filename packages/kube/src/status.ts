import { FIELD_MANAGER } from './apply.ts';
import type { KubeClient } from './client.ts';
import type { KubeObject, ObjectRef } from '@ringmaster/kube-common';

/** Options of patchStatus. */
export interface StatusPatchOptions {
  /** "merge" (JSON merge patch, default) or "apply" (server-side apply of the status fields you own). */
  method?: 'merge' | 'apply';
  fieldManager?: string;
  /** With "apply": take over status fields another manager set (default true). */
  force?: boolean;
}

/**
 * Writes `status` through the object's status subresource. Uses JSON merge patch or server-side
 * apply — never strategic merge, which custom resources reject with 415.
 */
export async function patchStatus(client: KubeClient, ref: ObjectRef, status: Record<string, unknown>, opts: StatusPatchOptions = {}): Promise<KubeObject> {
  const fieldManager = opts.fieldManager ?? FIELD_MANAGER;
  if (opts.method === 'apply') {
    const body: KubeObject = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
      status,
    };
    return client.apply(body, { fieldManager, force: opts.force ?? true, subresource: 'status' });
  }
  return client.mergePatch(ref, { status }, { fieldManager, subresource: 'status' });
}
