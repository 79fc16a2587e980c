import { createHash } from 'node:crypto';
import type { KubeObject } from '@ringmaster/kube';
import { ANNOTATIONS, API_VERSION, LABELS, MANAGED_BY } from './constants.ts';
import type { AppCluster, NodeOverride, RoleSpec } from './types.ts';

/** What the operator itself adds to every node's Pod; a new operator version may change it. */
export interface OperatorTemplate {
  /** Revision of the operator's own Pod template parts (changes only with the operator's version). */
  revision: string;
  /** Image of the init container that waits for the cache version before the node starts. */
  cacheInitImage: string;
}

export const DEFAULT_TEMPLATE: OperatorTemplate = { revision: '1', cacheInitImage: 'ringmaster.dev/cache-init:1' };

/** One node as the spec wants it (role defaults with the node's overrides). */
export interface DesiredNode {
  name: string;
  role: string;
  roleIndex: number;
  ordinal: number;
  image: string;
  args: string[];
  state: 'up' | 'down';
  traffic: 'serving' | 'dark';
  isBuilder: boolean;
}

/** Every node of an AppCluster in role order, with its overrides applied. */
export function desiredNodes(app: AppCluster): DesiredNode[] {
  const out: DesiredNode[] = [];
  for (const [roleIndex, role] of app.spec.roles.entries()) {
    for (let ordinal = 0; ordinal < role.replicas; ordinal++) {
      const name = `${role.name}-${ordinal}`;
      const o: Partial<NodeOverride> = (app.spec.nodes ?? []).find((n) => n.name === name) ?? {};
      out.push({
        name,
        role: role.name,
        roleIndex,
        ordinal,
        image: o.image ?? role.image,
        args: o.args ?? role.args ?? [],
        state: o.state ?? 'up',
        traffic: o.traffic ?? 'serving',
        isBuilder: app.spec.cache?.builder === role.name,
      });
    }
  }
  return out;
}

export const podName = (app: string, node: string): string => `${app}-${node}`;
export const serviceName = (app: string, role: string): string => `${app}-${role}`;
export const cacheConfigMapName = (app: string): string => `${app}-cache`;

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

function container(role: RoleSpec, node: DesiredNode): Record<string, unknown> {
  const r = role.readiness;
  return {
    name: role.name,
    image: node.image,
    ...(node.args.length ? { args: node.args } : {}),
    env: [{ name: 'RINGMASTER_NODE', value: node.name }, { name: 'RINGMASTER_ROLE', value: role.name }, ...(role.env ?? []).map((e) => ({ name: e.name, value: e.value ?? '' }))],
    ...(role.ports?.length ? { ports: role.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })) } : {}),
    ...(role.resources ? { resources: role.resources } : {}),
    ...(r ? { readinessProbe: { ...(r.path ? { httpGet: { path: r.path, port: r.port } } : { tcpSocket: { port: r.port } }), periodSeconds: r.periodSeconds ?? 5 } } : {}),
  };
}

/** The hash of what a node's Pod gets from the AppCluster's spec (a change means: replace the Pod now). */
export function specHashOf(app: AppCluster, node: DesiredNode, cacheBuild: number | undefined): string {
  const role = app.spec.roles[node.roleIndex]!;
  return hash({ c: container(role, node), cache: app.spec.cache ? { builder: node.isBuilder, build: node.isBuilder ? cacheBuild : undefined } : undefined });
}

/** The hash of what a node's Pod gets from the operator's own template. */
export function operatorHashOf(t: OperatorTemplate): string {
  return hash(t);
}

/**
 * The Pod of one node. Labels carry the traffic state (the role's Service selects serving nodes
 * only); the cache version is an annotation the operator keeps current and a ConfigMap the init
 * container waits for.
 */
export function nodePod(app: AppCluster, node: DesiredNode, t: OperatorTemplate, cache: { build?: number; version?: string }): KubeObject {
  const appName = app.metadata.name!;
  const role = app.spec.roles[node.roleIndex]!;
  const usesCache = app.spec.cache !== undefined && !node.isBuilder;
  const cm = cacheConfigMapName(appName);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(appName, node.name),
      namespace: app.metadata.namespace,
      labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.appCluster]: appName, [LABELS.role]: node.role, [LABELS.node]: node.name, [LABELS.traffic]: node.traffic },
      annotations: {
        [ANNOTATIONS.specHash]: specHashOf(app, node, cache.build),
        [ANNOTATIONS.operatorHash]: operatorHashOf(t),
        ...(usesCache && cache.version ? { [ANNOTATIONS.cacheVersion]: cache.version } : {}),
        ...(node.isBuilder && cache.build !== undefined ? { [ANNOTATIONS.cacheBuild]: String(cache.build) } : {}),
      },
      ownerReferences: [ownerRef(app)],
    },
    spec: {
      hostname: node.name,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 10,
      ...(usesCache
        ? {
            initContainers: [{ name: 'wait-cache', image: t.cacheInitImage, command: ['sh', '-c', 'until [ -s /cache/version ]; do sleep 1; done; cat /cache/version'], volumeMounts: [{ name: 'cache', mountPath: '/cache', readOnly: true }] }],
            volumes: [{ name: 'cache', configMap: { name: cm, optional: true } }],
          }
        : {}),
      containers: [{ ...container(role, node), ...(usesCache ? { volumeMounts: [{ name: 'cache', mountPath: '/cache', readOnly: true }] } : {}) }],
    },
  };
}

/** The controller reference every child carries, so deleting the AppCluster deletes its children. */
export function ownerRef(app: AppCluster): Record<string, unknown> {
  return { apiVersion: API_VERSION, kind: 'AppCluster', name: app.metadata.name, uid: app.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** The Service of a role with ports: it selects the role's serving nodes only, so dark nodes leave its EndpointSlices. */
export function roleService(app: AppCluster, role: RoleSpec): KubeObject | undefined {
  if (!role.ports?.length) return undefined;
  const appName = app.metadata.name!;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: serviceName(appName, role.name),
      namespace: app.metadata.namespace,
      labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.appCluster]: appName, [LABELS.role]: role.name },
      ownerReferences: [ownerRef(app)],
    },
    spec: {
      selector: { [LABELS.appCluster]: appName, [LABELS.role]: role.name, [LABELS.traffic]: 'serving' },
      ports: role.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: 'TCP' })),
    },
  };
}

/** The ConfigMap that carries the cache version to the nodes (their init container waits for it). */
export function cacheConfigMap(app: AppCluster, version: string): KubeObject {
  const appName = app.metadata.name!;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: cacheConfigMapName(appName),
      namespace: app.metadata.namespace,
      labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.appCluster]: appName },
      ownerReferences: [ownerRef(app)],
    },
    data: { version },
  };
}

/** True when every field of `want` is present with the same value in `have` (arrays element-wise, same length). */
export function contains(have: unknown, want: unknown): boolean {
  if (want === undefined) return true;
  if (want === null || typeof want !== 'object') return have === want;
  if (Array.isArray(want)) return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
  return Object.entries(want as Record<string, unknown>).every(([k, v]) => contains((have as Record<string, unknown>)[k], v));
}
