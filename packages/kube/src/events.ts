import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeClient } from './client.ts';
import type { KubeObject } from '@ringmaster/kube-common';

/** A Kubernetes Event to record about an object. */
export interface EventInput {
  /** The object the event is about (its uid is attached when present). */
  regarding: KubeObject;
  /** Short CamelCase machine reason, e.g. "Applied", "WaveHalted". */
  reason: string;
  /** What happened, for people (at most 1 kB is kept). */
  note: string;
  type?: 'Normal' | 'Warning';
  /** What was done, CamelCase, e.g. "Apply", "Promote". */
  action?: string;
  reportingController?: string;
  reportingInstance?: string;
}

/** Records an Event (events.k8s.io/v1) in the object's namespace (default for cluster-scoped objects); returns it. */
export async function recordEvent(client: KubeClient, input: EventInput): Promise<KubeObject> {
  const r = input.regarding;
  const namespace = r.metadata.namespace ?? 'default';
  const now = new Date();
  // MicroTime wants microseconds; JavaScript only has milliseconds
  const eventTime = now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const event: KubeObject = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: `${String(r.metadata.name).slice(0, 200)}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`, namespace },
    eventTime,
    type: input.type ?? 'Normal',
    reason: input.reason,
    action: input.action ?? input.reason,
    note: input.note.slice(0, 1024),
    reportingController: input.reportingController ?? 'ringmaster.dev/ringmaster',
    reportingInstance: input.reportingInstance ?? `ringmaster-${hostname()}`.slice(0, 128),
    regarding: {
      apiVersion: r.apiVersion,
      kind: r.kind,
      name: r.metadata.name,
      ...(r.metadata.namespace ? { namespace: r.metadata.namespace } : {}),
      ...(r.metadata.uid ? { uid: r.metadata.uid } : {}),
      ...(r.metadata.resourceVersion ? { resourceVersion: r.metadata.resourceVersion } : {}),
    },
  };
  return client.create(event, { fieldManager: 'ringmaster' });
}

/** Lists the Events recorded about one object (events.k8s.io/v1), oldest first. */
export async function listEventsFor(client: KubeClient, regarding: KubeObject): Promise<KubeObject[]> {
  const ns = regarding.metadata.namespace ?? 'default';
  const list = await client.list('events.k8s.io/v1', 'Event', {
    namespace: ns,
    fieldSelector: `regarding.name=${regarding.metadata.name},regarding.kind=${regarding.kind}`,
  });
  return list.items.sort((a, b) => String(a.eventTime ?? '').localeCompare(String(b.eventTime ?? '')));
}
