import type { KubeObject } from '@ringmaster/kube';
import type { OperationType } from './constants.ts';

/** A readiness check of a role's container (HTTP GET when `path` is given, else a TCP connect). */
export interface Readiness {
  port: number;
  path?: string;
  periodSeconds?: number;
}

/** One ordered role of an AppCluster: its nodes are `<role>-0` … `<role>-<replicas-1>`. */
export interface RoleSpec {
  name: string;
  replicas: number;
  image: string;
  args?: string[];
  env?: { name: string; value: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  ports?: { name: string; port: number }[];
  readiness?: Readiness;
}

/** Per-node overrides of one node (by name). */
export interface NodeOverride {
  name: string;
  image?: string;
  args?: string[];
  state?: 'up' | 'down';
  traffic?: 'serving' | 'dark';
}

export type UpdatePolicy = 'immediate' | 'onRelease' | 'manual';

export interface AppClusterSpec {
  roles: RoleSpec[];
  cache?: { builder: string; stopBuilderWhenReady?: boolean };
  nodes?: NodeOverride[];
  updatePolicy?: UpdatePolicy;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export type NodePhase = 'Waiting' | 'Starting' | 'Ready' | 'Stopped' | 'Failed' | 'Terminating';

export interface NodeStatus {
  name: string;
  role: string;
  phase: NodePhase;
  state: 'up' | 'down';
  traffic: 'serving' | 'dark';
  image: string;
  pod?: string;
  cacheVersion?: string;
  /** The node runs an older operator template and waits for its update policy. */
  updatePending?: boolean;
  message?: string;
}

export interface CacheStatus {
  phase: 'Building' | 'Ready';
  /** The build the operator asked for (1, 2, …); a rebuildCache operation raises it. */
  build: number;
  /** The version the nodes carry (set when a build or a copy finished). */
  version?: string;
  /** A copied cache: where it came from. */
  copiedFrom?: string;
}

export interface AppClusterStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  roles?: { name: string; desired: number; ready: number; phase: 'Waiting' | 'Starting' | 'Ready' }[];
  nodes?: NodeStatus[];
  cache?: CacheStatus;
  /** The release annotation under which the running operator template was accepted (updatePolicy onRelease). */
  acceptedRelease?: string;
  /** The operator template revision accepted for this AppCluster. */
  operatorRevision?: string;
  activeOperation?: string;
}

export interface AppCluster extends KubeObject {
  spec: AppClusterSpec;
  status?: AppClusterStatus;
}

export type StepPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface OperationStep {
  name: string;
  phase: StepPhase;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  /** What the step recorded before acting (e.g. the uid of the pod it restarts), so a resumed step does not act twice. */
  data?: Record<string, string>;
}

export interface NodeOperationSpec {
  appCluster: string;
  type: OperationType;
  node?: string;
  image?: string;
  traffic?: 'serving' | 'dark';
  source?: { appCluster: string };
  approved?: boolean;
  /** Seconds a step may take before the operation fails (default 600). */
  stepTimeoutSeconds?: number;
}

export type OperationPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface NodeOperationStatus {
  phase?: OperationPhase;
  observedGeneration?: number;
  reason?: string;
  message?: string;
  progress?: string;
  steps?: OperationStep[];
  startedAt?: string;
  completedAt?: string;
  conditions?: Condition[];
}

export interface NodeOperation extends KubeObject {
  spec: NodeOperationSpec;
  status?: NodeOperationStatus;
}
