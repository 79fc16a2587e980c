import type { NamedObject as FleetObject } from '@ringmaster/fleet';
import type { KubeClient } from '@ringmaster/kube';

// Does a cluster have room for an instance? What the instance asks for (the requests — or, where
// a container sets only limits, the limits — of every workload's pods times their replicas, an
// AppCluster's roles included) against what the cluster's nodes can still give (allocatable minus
// the requests of the pods already running). Pure arithmetic apart from the two list calls.

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity ("500m", "8Gi", "1.5") as a number; undefined when it is not one. Pure. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:[eE]([-+]?[0-9]+))?([a-zA-Z]*)$/.exec(q.trim());
  if (!m || !(m[3]! in SUFFIX)) return undefined;
  return Number(m[1]) * 10 ** Number(m[2] ?? 0) * SUFFIX[m[3]!]!;
}

export interface Resources {
  cpu: number;
  memory: number;
}

type Container = { resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } };

function containerAsk(c: Container): Resources {
  const pick = (k: string) => parseQuantity(c.resources?.requests?.[k]) ?? parseQuantity(c.resources?.limits?.[k]) ?? 0;
  return { cpu: pick('cpu'), memory: pick('memory') };
}

const add = (a: Resources, b: Resources, times = 1): Resources => ({ cpu: a.cpu + b.cpu * times, memory: a.memory + b.memory * times });

/** What the rendered objects of an instance ask of the cluster. Pure. */
export function instanceAsk(objects: FleetObject[]): Resources {
  let total: Resources = { cpu: 0, memory: 0 };
  for (const o of objects) {
    const spec = (o as { spec?: Record<string, unknown> }).spec ?? {};
    if (o.kind === 'AppCluster') {
      for (const r of (spec.roles as Array<Container & { replicas?: unknown }> | undefined) ?? []) {
        total = add(total, containerAsk(r), typeof r.replicas === 'number' ? r.replicas : 1);
      }
      continue;
    }
    const template = (spec.template as { spec?: { containers?: Container[] } } | undefined)?.spec;
    if (!template || !['Deployment', 'StatefulSet', 'ReplicaSet', 'Job'].includes(o.kind)) continue;
    const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
    for (const c of template.containers ?? []) total = add(total, containerAsk(c), replicas);
  }
  return total;
}

/** What the cluster's schedulable nodes can still give: allocatable minus the requests of the pods that are not finished. */
export async function clusterFree(client: KubeClient): Promise<Resources & { nodes: number }> {
  const nodes = (await client.list('v1', 'Node')).items.filter((n) => !(n as { spec?: { unschedulable?: boolean } }).spec?.unschedulable);
  let free: Resources = { cpu: 0, memory: 0 };
  for (const n of nodes) {
    const a = (n as { status?: { allocatable?: Record<string, unknown> } }).status?.allocatable ?? {};
    free = add(free, { cpu: parseQuantity(a.cpu) ?? 0, memory: parseQuantity(a.memory) ?? 0 });
  }
  const pods = (await client.list('v1', 'Pod', { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' })).items;
  for (const p of pods) {
    for (const c of ((p as { spec?: { containers?: Container[] } }).spec?.containers ?? [])) free = add(free, containerAsk(c), -1);
  }
  return { ...free, nodes: nodes.length };
}

/** "3.5 CPU, 12 GiB". Pure. */
export function formatResources(r: Resources): string {
  const cpu = Math.round(r.cpu * 100) / 100;
  const gib = Math.round((r.memory / 2 ** 30) * 10) / 10;
  return `${cpu} CPU, ${gib} GiB`;
}

/** Whether the instance's ask fits what the cluster can still give, with the figures either way. */
export async function clusterAsk(objects: FleetObject[], client: KubeClient): Promise<{ fits: boolean; reason: string }> {
  const ask = instanceAsk(objects);
  const free = await clusterFree(client);
  if (!free.nodes) return { fits: false, reason: 'the cluster has no schedulable node' };
  const short = [...(ask.cpu > free.cpu ? ['CPU'] : []), ...(ask.memory > free.memory ? ['memory'] : [])];
  const figures = `the instance asks ${formatResources(ask)}; its ${free.nodes} nodes have ${formatResources(free)} free`;
  return short.length ? { fits: false, reason: `not enough ${short.join(' and ')}: ${figures}` } : { fits: true, reason: figures };
}
