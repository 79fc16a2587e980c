import { closeSync, existsSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The audit policy of the local clusters: write verbs on workloads and their configuration at
 * Metadata level (who, what, when — never a request or response body, so no Secret data), nothing
 * for reads and nothing for the chatter of leases, events and token reviews.
 */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    verbs: [get, list, watch]
  - level: None
    resources:
      - group: coordination.k8s.io
      - group: events.k8s.io
      - group: ""
        resources: [events]
      - group: authentication.k8s.io
      - group: authorization.k8s.io
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
    resources:
      - group: ""
        resources: [configmaps, secrets, services, serviceaccounts, namespaces, persistentvolumeclaims, pods, replicationcontrollers]
      - group: apps
      - group: batch
      - group: autoscaling
      - group: policy
      - group: networking.k8s.io
      - group: rbac.authorization.k8s.io
      - group: apiextensions.k8s.io
      - group: argoproj.io
  - level: None
`;

/** Where a cluster's audit log lives inside its state folder. */
export function auditLogPath(clusterDir: string): string {
  return join(clusterDir, 'audit.log');
}

/** kube-apiserver flags that write the audit log (JSON lines, written before the response completes) into `clusterDir`. */
export function auditFlags(clusterDir: string): string[] {
  const policy = join(clusterDir, 'audit-policy.yaml');
  writeFileSync(policy, AUDIT_POLICY);
  return [
    `--audit-policy-file=${policy}`,
    `--audit-log-path=${auditLogPath(clusterDir)}`,
    '--audit-log-format=json',
    '--audit-log-maxsize=100',
    '--audit-log-maxbackup=1',
  ];
}

/** One write recorded in the audit log: who did what to which object, and when. */
export interface AuditWrite {
  user: string;
  groups?: string[];
  verb: string;
  /** API group ("" for the core group). */
  group: string;
  /** Plural resource, e.g. "deployments". */
  resource: string;
  subresource?: string;
  namespace?: string;
  name: string;
  /** RFC 3339 time the request completed. */
  time: string;
  userAgent?: string;
  /** HTTP status of the answer. */
  code?: number;
}

interface AuditEventLine {
  kind?: string;
  stage?: string;
  verb?: string;
  user?: { username?: string; groups?: string[] };
  impersonatedUser?: { username?: string; groups?: string[] };
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; subresource?: string };
  responseStatus?: { code?: number };
  stageTimestamp?: string;
  requestReceivedTimestamp?: string;
  requestURI?: string;
  userAgent?: string;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);

/** Reads one audit log line into a write, or undefined (a read, a failed write, a torn line). Pure. */
export function parseAuditLine(line: string): AuditWrite | undefined {
  let ev: AuditEventLine;
  try {
    ev = JSON.parse(line) as AuditEventLine;
  } catch {
    return undefined;
  }
  if (ev.kind !== 'Event' || ev.stage !== 'ResponseComplete' || !ev.verb || !WRITE_VERBS.has(ev.verb)) return undefined;
  const ref = ev.objectRef;
  if (!ref?.resource || !ref.name) return undefined;
  const code = ev.responseStatus?.code;
  if (code !== undefined && code >= 400) return undefined;
  // a dry run changes nothing; the API server marks it only in the request URI, which Metadata level keeps
  if (/[?&]dryRun=/.test(ev.requestURI ?? '')) return undefined;
  const who = ev.impersonatedUser?.username ? ev.impersonatedUser : ev.user;
  return {
    user: who?.username ?? '(unknown)',
    ...(who?.groups ? { groups: who.groups } : {}),
    verb: ev.verb,
    group: ref.apiGroup ?? '',
    resource: ref.resource,
    ...(ref.subresource ? { subresource: ref.subresource } : {}),
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    name: ref.name,
    time: ev.stageTimestamp ?? ev.requestReceivedTimestamp ?? '',
    ...(ev.userAgent ? { userAgent: ev.userAgent } : {}),
    ...(code !== undefined ? { code } : {}),
  };
}

/** The object an audit write is about, as a lookup key. */
export interface AuditObject {
  group: string;
  resource: string;
  namespace?: string;
  name: string;
}

const keyOf = (o: AuditObject): string => `${o.group}/${o.resource}/${o.namespace ?? ''}/${o.name}`;

/**
 * Follows a kube-apiserver audit log (JSON lines) and answers "who last wrote this object": reads
 * only what was appended since the last look, starts over when the file was rotated, and keeps the
 * last few writes per object (bounded).
 */
export class AuditLogReader {
  private offset = 0;
  private inode = 0;
  private rest = '';
  private readonly latest = new Map<string, AuditWrite[]>();
  private static readonly PER_OBJECT = 8;
  private static readonly OBJECTS = 200_000;

  constructor(readonly path: string) {}

  /** Reads what was appended since the last call. */
  refresh(): void {
    if (!existsSync(this.path)) return;
    const st = statSync(this.path);
    if (st.ino !== this.inode || st.size < this.offset) {
      this.inode = st.ino;
      this.offset = 0;
      this.rest = '';
    }
    if (st.size === this.offset) return;
    const fd = openSync(this.path, 'r');
    try {
      const chunk = Buffer.alloc(Math.min(st.size - this.offset, 64 * 1024 * 1024));
      const n = readSync(fd, chunk, 0, chunk.length, this.offset);
      this.offset += n;
      const text = this.rest + chunk.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      this.rest = lines.pop() ?? '';
      for (const line of lines) {
        const w = parseAuditLine(line);
        if (w) this.remember(w);
      }
    } finally {
      closeSync(fd);
    }
  }

  private remember(w: AuditWrite): void {
    const key = keyOf(w);
    let list = this.latest.get(key);
    if (!list) {
      if (this.latest.size >= AuditLogReader.OBJECTS) this.latest.delete(this.latest.keys().next().value!);
      list = [];
      this.latest.set(key, list);
    }
    list.push(w);
    if (list.length > AuditLogReader.PER_OBJECT) list.shift();
  }

  /**
   * The latest successful write of an object (a `scale` write counts, a `status` write does not), read
   * fresh from the log, skipping writes by `exceptUsers` (Ringmaster's own identity).
   */
  latestWrite(obj: AuditObject, opts: { exceptUsers?: string[] } = {}): AuditWrite | undefined {
    this.refresh();
    const list = this.latest.get(keyOf(obj)) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const w = list[i]!;
      if (opts.exceptUsers?.includes(w.user)) continue;
      // a status write (a controller reporting) never changes what was desired
      if (w.subresource === 'status') continue;
      return w;
    }
    return undefined;
  }
}
