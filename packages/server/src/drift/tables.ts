/** One drifted field (or a missing object, path "") of a delivered instance. Times are epoch ms unless named `_at` text. */
export interface DriftFieldsTable {
  cluster: string;
  instance: string;
  app: string;
  ring: string | null;
  /** identityKey of the object: group/Kind/namespace/name. */
  object_key: string;
  api_version: string;
  kind: string;
  namespace: string;
  name: string;
  /** Field path in the kube package's notation; "" for a missing object. */
  path: string;
  /** drifted | missing */
  state: string;
  /** JSON of the desired value. */
  desired: string | null;
  /** JSON of the live value; null when absent. */
  live: string | null;
  manager: string | null;
  operation: string | null;
  /** When the manager last changed its fields (managedFields time, RFC 3339). */
  changed_at: string | null;
  /** Who made the change, from the cluster's audit log. */
  audit_user: string | null;
  audit_verb: string | null;
  audit_at: string | null;
  /** The release whose render is the desired state. */
  release_id: string;
  first_seen: number;
  last_seen: number;
}

export interface DriftTables {
  drift_fields: DriftFieldsTable;
}
