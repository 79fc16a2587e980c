/** A tree of configuration values, as written in fleet files (YAML maps, lists and scalars). */
export type Values = { [key: string]: Value };
export type Value = string | number | boolean | null | Value[] | Values;

/** A Kubernetes object as plain data. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}
