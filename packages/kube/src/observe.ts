import { detectDrift, type FieldDrift } from './attribution.ts';
import type { KubeClient } from './client.ts';
import { KubeObjectError } from './errors.ts';
import { assessHealth, worstHealth, type Health } from './health.ts';
import type { KubeObject, ObjectRef } from '@ringmaster/kube-common';
import { refOf } from './object.ts';

/** The live side of one desired object: whether it exists, its health and its drift. */
export interface ObservedObject {
  ref: ObjectRef;
  live: KubeObject | undefined;
  health: Health;
  /** Fields where live differs from desired (empty when in sync, absent when the object is Missing). */
  drift: FieldDrift[];
}

/** The observation of a whole desired set (an instance): each object plus the worst health. */
export interface Observation {
  health: Health;
  inSync: boolean;
  objects: ObservedObject[];
}

/**
 * Reads the live counterpart of each desired object and reports health and drift per object and
 * overall — what direct-mode delivery and drift detection poll. A kind the server does not serve
 * counts as Missing.
 */
export async function observeObjects(client: KubeClient, desired: KubeObject[]): Promise<Observation> {
  const objects: ObservedObject[] = [];
  for (const obj of desired) {
    const ref = refOf(obj);
    let live: KubeObject | undefined;
    try {
      live = await client.get(ref);
    } catch (err) {
      if (!(err instanceof KubeObjectError)) throw err;
    }
    objects.push({ ref, live, health: assessHealth(live), drift: live ? detectDrift(obj, live) : [] });
  }
  const worst = worstHealth(objects.map((o) => o.health));
  const bad = objects.find((o) => o.health.status === worst.status && worst.status !== 'Healthy');
  return {
    health: bad ? { status: worst.status, reason: `${bad.ref.kind} ${bad.ref.name}: ${worst.reason}` } : worst,
    inSync: objects.every((o) => o.live && o.drift.length === 0),
    objects,
  };
}
