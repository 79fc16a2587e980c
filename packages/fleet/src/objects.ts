import type { FleetIssue, SourceLocation } from './errors.ts';
import { DOMAIN, type NamedObject } from '@ringmaster/kube-common';

/** Built-in kinds that have no namespace. Custom resources are assumed namespaced unless listed. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'APIService',
  'CertificateSigningRequest',
  'ClusterIssuer',
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kinds whose names must be DNS-1123 labels (they become DNS names or path segments). */
const LABEL_NAMED = new Set(['Namespace', 'Service']);

/** Checks the basics every Kubernetes object needs; returns issues located at `origin`. */
export function checkObject(o: unknown, origin: SourceLocation, allowSecretLiterals: boolean): FleetIssue[] {
  const issues: FleetIssue[] = [];
  const at = (message: string, hint: string, code = 'invalid-object'): void => {
    issues.push({ code, message, hint, location: origin });
  };
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    at('a manifest document must be a map (a Kubernetes object)', 'remove the document or write apiVersion, kind and metadata');
    return issues;
  }
  const obj = o as Partial<NamedObject>;
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') at('object has no apiVersion', 'add e.g. "apiVersion: apps/v1"');
  if (typeof obj.kind !== 'string' || obj.kind === '') at('object has no kind', 'add e.g. "kind: Deployment"');
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') {
    at(`${obj.kind ?? 'object'} has no metadata.name`, 'add metadata.name (it may use ${instance.name})');
  } else {
    const label = LABEL_NAMED.has(String(obj.kind));
    const re = label ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
    if (!re.test(name) || name.length > (label ? 63 : 253)) {
      at(
        `${obj.kind} name "${name}" is not a valid DNS-1123 ${label ? 'label' : 'subdomain'}`,
        `use lower-case letters, digits and "-"${label ? '' : ' (and ".")'}, starting and ending with a letter or digit, at most ${label ? 63 : 253} characters`,
      );
    }
  }
  const ns = obj.metadata?.namespace;
  if (ns !== undefined && (typeof ns !== 'string' || !DNS1123_LABEL.test(ns))) {
    at(`namespace "${String(ns)}" of ${obj.kind} "${String(name)}" is not a valid DNS-1123 label`, 'use lower-case letters, digits and "-"');
  }
  if (obj.kind === 'Secret' && !allowSecretLiterals) {
    const data = (obj as Record<string, unknown>).data;
    const stringData = (obj as Record<string, unknown>).stringData;
    const has = (v: unknown) => v !== null && typeof v === 'object' && Object.keys(v).length > 0;
    if (has(data) || has(stringData)) {
      at(
        `Secret "${String(name)}" holds literal data, which would be written in clear text to the manifest repo`,
        'reference the secret from a secret store (e.g. an ExternalSecret or SealedSecret), or set secrets.allowLiteral: true in the app if this data is not secret',
        'secret-literal',
      );
    }
  }
  return issues;
}

/**
 * Container images referenced by an object's pod templates (containers, initContainers,
 * ephemeralContainers), and by Ringmaster's AppCluster (its roles' and per-node images).
 */
export function imagesOf(o: unknown, into: Set<string> = new Set()): Set<string> {
  // A CRD holds schemas, often megabytes of them, and never an image: not worth the walk.
  if ((o as { kind?: unknown } | null)?.kind === 'CustomResourceDefinition') return into;
  const top = o as { apiVersion?: unknown; kind?: unknown; spec?: { roles?: unknown; nodes?: unknown } } | null;
  if (top?.kind === 'AppCluster' && typeof top.apiVersion === 'string' && top.apiVersion.startsWith(`${DOMAIN}/`)) {
    for (const list of [top.spec?.roles, top.spec?.nodes]) {
      if (!Array.isArray(list)) continue;
      for (const x of list) if (x && typeof x === 'object' && typeof (x as { image?: unknown }).image === 'string') into.add((x as { image: string }).image);
    }
    return into;
  }
  if (Array.isArray(o)) {
    for (const x of o) imagesOf(x, into);
  } else if (o !== null && typeof o === 'object') {
    for (const [k, v] of Object.entries(o)) {
      if ((k === 'containers' || k === 'initContainers' || k === 'ephemeralContainers') && Array.isArray(v)) {
        for (const c of v) if (c && typeof c === 'object' && typeof (c as { image?: unknown }).image === 'string') into.add((c as { image: string }).image);
      } else if (v !== null && typeof v === 'object') imagesOf(v, into);
    }
  }
  return into;
}

/**
 * Objects a source produced are shared by every instance (templates, helm output): rendering only
 * replaces their top level and metadata, so those two are copies and the rest is shared, frozen.
 */
export function ownTopLevel(o: unknown): unknown {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return o;
  const object = { ...(o as Record<string, unknown>) };
  const meta = object.metadata;
  if (meta !== null && typeof meta === 'object' && !Array.isArray(meta)) object.metadata = { ...meta };
  return object;
}
