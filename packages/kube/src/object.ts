import type { ObjectRef } from '@ringmaster/kube-common';
import { KubeObjectError } from './errors.ts';

/** The reference of an object, validating that it names what the API needs. */
export function refOf(obj: { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } }): ObjectRef {
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') throw new KubeObjectError(`object has no apiVersion (kind ${String(obj.kind)}, name ${String(obj.metadata?.name)}): every manifest needs "apiVersion: GROUP/VERSION"`);
  if (typeof obj.kind !== 'string' || obj.kind === '') throw new KubeObjectError(`object ${obj.apiVersion}/${String(obj.metadata?.name)} has no kind`);
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') throw new KubeObjectError(`${obj.kind} (${obj.apiVersion}) has no metadata.name`);
  const ns = obj.metadata?.namespace;
  return { apiVersion: obj.apiVersion, kind: obj.kind, name, ...(typeof ns === 'string' && ns !== '' ? { namespace: ns } : {}) };
}

/** Human form of a reference, e.g. `apps/v1 Deployment shop/web`. */
export function formatRef(ref: ObjectRef): string {
  return `${ref.apiVersion} ${ref.kind} ${ref.namespace ? ref.namespace + '/' : ''}${ref.name}`;
}

/** Deep structural equality for JSON values (key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}

/** Dotted paths (`spec.replicas`, `spec.ports[0].port`) where two JSON values differ. */
export function diffPaths(before: unknown, after: unknown, prefix = ''): string[] {
  if (jsonEqual(before, after)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffPaths(before[k], after[k], prefix ? `${prefix}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((v, i) => diffPaths(v, after[i], `${prefix}[${i}]`));
  }
  return [prefix || '.'];
}
