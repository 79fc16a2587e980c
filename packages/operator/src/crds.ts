import type { KubeObject } from '@ringmaster/kube';
import { API_VERSION, GROUP, NODE_OPERATIONS, OPERATION_TYPES, RISKY_OPERATIONS, VERSION } from './constants.ts';

// The CustomResourceDefinitions, written once: the API server validates every AppCluster and
// NodeOperation against these schemas and CEL rules, so a bad spec is refused with the message below.

type Schema = Record<string, unknown>;

const DNS_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const image = (description: string): Schema => str({ description, minLength: 1, maxLength: 512, pattern: '^[^\\s]+$' });
const args = (description: string): Schema => ({ type: 'array', description, maxItems: 64, items: str({ maxLength: 1024 }) });
const quantityMap: Schema = { type: 'object', maxProperties: 8, additionalProperties: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }], pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$' } };

const conditions: Schema = {
  type: 'array',
  maxItems: 16,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: {
    type: 'object',
    required: ['type', 'status'],
    properties: {
      type: str({ maxLength: 64 }),
      status: str({ enum: ['True', 'False', 'Unknown'] }),
      reason: str({ maxLength: 128 }),
      message: str({ maxLength: 4096 }),
      lastTransitionTime: str({ format: 'date-time' }),
      observedGeneration: { type: 'integer', format: 'int64' },
    },
  },
};

const roleSchema: Schema = {
  type: 'object',
  required: ['name', 'replicas', 'image'],
  properties: {
    name: str({ description: 'Role name (DNS label); its nodes are <name>-0 … <name>-<replicas-1>.', minLength: 1, maxLength: 20, pattern: DNS_LABEL }),
    replicas: { type: 'integer', description: 'Number of nodes of this role.', minimum: 0, maximum: 50 },
    image: image('Container image of the role\'s nodes (a node may override it).'),
    args: args('Container arguments (a node may override them).'),
    env: {
      type: 'array',
      maxItems: 64,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: { type: 'object', required: ['name'], properties: { name: str({ minLength: 1, maxLength: 128, pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$' }), value: str({ maxLength: 4096 }) } },
    },
    resources: { type: 'object', properties: { requests: quantityMap, limits: quantityMap } },
    ports: {
      type: 'array',
      description: 'Ports the nodes serve; a role with ports gets a Service that selects its serving nodes only.',
      maxItems: 8,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: { type: 'object', required: ['name', 'port'], properties: { name: str({ minLength: 1, maxLength: 15, pattern: DNS_LABEL }), port: { type: 'integer', minimum: 1, maximum: 65535 } } },
    },
    readiness: {
      type: 'object',
      description: 'Readiness check: HTTP GET of path on port, or a TCP connect when no path is given.',
      required: ['port'],
      properties: { port: { type: 'integer', minimum: 1, maximum: 65535 }, path: str({ maxLength: 256, pattern: '^/' }), periodSeconds: { type: 'integer', minimum: 1, maximum: 300 } },
    },
  },
};

const nodeOverride: Schema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: str({ description: 'The node: <role>-<ordinal>.', minLength: 3, maxLength: 24, pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?-(0|[1-9][0-9]{0,2})$' }),
    image: image('Image of this node only.'),
    args: args('Arguments of this node only.'),
    state: str({ enum: ['up', 'down'], description: 'down: the node has no Pod.' }),
    traffic: str({ enum: ['serving', 'dark'], description: 'dark: the node stays up but its role\'s Service does not select it.' }),
  },
};

// a node key is <role>-<ordinal> with an ordinal below the role's replicas
// (the name's pattern already says it ends in -<digits>)
const nodeMatchesRole = "self.roles.exists(r, n.name.startsWith(r.name + '-') && n.name.substring(size(r.name) + 1).matches('^[0-9]+$') && int(n.name.substring(size(r.name) + 1)) < r.replicas)";

const appClusterSpec: Schema = {
  type: 'object',
  required: ['roles'],
  properties: {
    roles: {
      type: 'array',
      description: 'Ordered roles: a role starts once the one before it is Ready.',
      minItems: 1,
      maxItems: 8,
      items: roleSchema,
      'x-kubernetes-validations': [{ rule: 'self.all(r, self.exists_one(x, x.name == r.name))', message: 'role names must be unique' }],
    },
    cache: {
      type: 'object',
      description: 'Cache lifecycle: the builder role builds the cache; the other roles start once it is Ready and carry its version.',
      required: ['builder'],
      properties: {
        builder: str({ minLength: 1, maxLength: 20 }),
        stopBuilderWhenReady: { type: 'boolean', description: 'Stop the builder\'s nodes once the cache is Ready.' },
      },
    },
    nodes: {
      type: 'array',
      description: 'Per-node overrides, one entry per node name (<role>-<ordinal>).',
      maxItems: 256,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: nodeOverride,
    },
    updatePolicy: str({
      enum: ['immediate', 'onRelease', 'manual'],
      default: 'onRelease',
      description: 'When a Pod change that comes from a new operator version (not from this spec) is rolled out: immediate; onRelease (when a newer ringmaster.dev/release annotation arrives); manual (only through a NodeOperation).',
    }),
  },
  'x-kubernetes-validations': [
    {
      rule: `!has(self.nodes) || self.nodes.all(n, ${nodeMatchesRole})`,
      // a messageExpression naming the bad entries exceeds the API server's cost budget for messages
      message: "spec.nodes: every name must be <role>-<ordinal> of a role in spec.roles, with an ordinal below that role's replicas",
      reason: 'FieldValueInvalid',
      fieldPath: '.nodes',
    },
    { rule: '!has(self.cache) || self.roles.exists(r, r.name == self.cache.builder)', message: 'spec.cache.builder must name one of spec.roles', fieldPath: '.cache.builder' },
    { rule: '!has(self.cache) || self.roles[0].name == self.cache.builder', message: 'the cache builder must be the first role: roles start in order and the others read its cache', fieldPath: '.cache.builder' },
  ],
};

const nodeStatus: Schema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: str(), role: str(), phase: str(), state: str(), traffic: str(), image: str(), pod: str(), cacheVersion: str(), updatePending: { type: 'boolean' }, message: str({ maxLength: 4096 }),
  },
};

const appClusterStatus: Schema = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    conditions,
    roles: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: { type: 'object', required: ['name'], properties: { name: str(), desired: { type: 'integer' }, ready: { type: 'integer' }, phase: str() } },
    },
    nodes: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: nodeStatus },
    cache: { type: 'object', properties: { phase: str(), build: { type: 'integer' }, version: str(), copiedFrom: str() } },
    acceptedRelease: str(),
    operatorRevision: str(),
    activeOperation: str(),
  },
};

const printer = (name: string, jsonPath: string, type = 'string'): Schema => ({ name, type, jsonPath });

/** The AppCluster CRD: one application cluster as ordered roles of individually addressable nodes. */
export const appClusterCrd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `appclusters.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'appclusters', singular: 'appcluster', kind: 'AppCluster', listKind: 'AppClusterList', shortNames: ['apc'], categories: ['ringmaster'] },
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          printer('Ready', '.status.conditions[?(@.type=="Ready")].status'),
          printer('Cache', '.status.cache.version'),
          printer('Operation', '.status.activeOperation'),
          printer('Age', '.metadata.creationTimestamp', 'date'),
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            required: ['spec'],
            properties: { apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec: appClusterSpec, status: appClusterStatus },
            'x-kubernetes-validations': [
              { rule: 'size(self.metadata.name) <= 30', message: 'an AppCluster name has at most 30 characters (it prefixes the names of its Pods and Services)' },
            ],
          },
        },
      },
    ],
  },
};

const list = (xs: readonly string[]): string => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
const immutable = (what: string): Schema[] => [{ rule: 'self == oldSelf', message: `${what} is immutable: create a new NodeOperation instead` }];

const nodeOperationSpec: Schema = {
  type: 'object',
  required: ['appCluster', 'type'],
  properties: {
    appCluster: str({ description: 'The AppCluster (same namespace) the operation acts on.', minLength: 1, maxLength: 30, pattern: DNS_LABEL, 'x-kubernetes-validations': immutable('spec.appCluster') }),
    type: str({ enum: [...OPERATION_TYPES], 'x-kubernetes-validations': immutable('spec.type') }),
    node: str({ description: 'The node (<role>-<ordinal>) a node operation acts on.', minLength: 3, maxLength: 24, pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?-(0|[1-9][0-9]{0,2})$', 'x-kubernetes-validations': immutable('spec.node') }),
    image: image('upgradeNode: the new image of the node.'),
    traffic: str({ enum: ['serving', 'dark'], description: 'setTraffic: the traffic state to set.' }),
    source: { type: 'object', required: ['appCluster'], description: 'copyCache: the AppCluster (same namespace) whose cache is copied.', properties: { appCluster: str({ minLength: 1, maxLength: 30, pattern: DNS_LABEL }) } },
    approved: { type: 'boolean', description: 'Risky operations wait until this is true.' },
    stepTimeoutSeconds: { type: 'integer', minimum: 5, maximum: 86400, description: 'Seconds a step may take before the operation fails (default 600).' },
  },
  'x-kubernetes-validations': [
    { rule: `!(self.type in ${list(NODE_OPERATIONS)}) || has(self.node)`, messageExpression: "'spec.node is required for ' + self.type", fieldPath: '.node' },
    { rule: `self.type in ${list(NODE_OPERATIONS)} || !has(self.node)`, messageExpression: "'spec.node is not used by ' + self.type + ': it acts on the whole AppCluster'", fieldPath: '.node' },
    { rule: "self.type != 'upgradeNode' || has(self.image)", message: 'upgradeNode needs spec.image (the new image of the node)', fieldPath: '.image' },
    { rule: "self.type != 'setTraffic' || has(self.traffic)", message: 'setTraffic needs spec.traffic (serving or dark)', fieldPath: '.traffic' },
    { rule: "self.type != 'copyCache' || has(self.source)", message: 'copyCache needs spec.source.appCluster (whose cache to copy)', fieldPath: '.source' },
    { rule: "self.type != 'copyCache' || self.source.appCluster != self.appCluster", message: 'copyCache cannot copy an AppCluster\'s cache onto itself', fieldPath: '.source.appCluster' },
    { rule: `!(self.type in ${list(RISKY_OPERATIONS)}) || has(self.approved)`, messageExpression: "'spec.approved must be set for ' + self.type + ' (a risky operation): false to wait for an approval, true to run'", fieldPath: '.approved' },
    { rule: '!has(oldSelf.image) || (has(self.image) && self.image == oldSelf.image)', message: 'spec.image is immutable: create a new NodeOperation instead', fieldPath: '.image' },
    { rule: '!has(oldSelf.traffic) || (has(self.traffic) && self.traffic == oldSelf.traffic)', message: 'spec.traffic is immutable: create a new NodeOperation instead', fieldPath: '.traffic' },
    { rule: '!has(oldSelf.approved) || !oldSelf.approved || (has(self.approved) && self.approved)', message: 'an approval cannot be withdrawn: delete the NodeOperation instead', fieldPath: '.approved' },
  ],
};

const nodeOperationStatus: Schema = {
  type: 'object',
  properties: {
    phase: str({ enum: ['Pending', 'Running', 'Succeeded', 'Failed'] }),
    observedGeneration: { type: 'integer', format: 'int64' },
    reason: str({ maxLength: 128 }),
    message: str({ maxLength: 4096 }),
    progress: str(),
    startedAt: str({ format: 'date-time' }),
    completedAt: str({ format: 'date-time' }),
    conditions,
    steps: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: {
        type: 'object',
        required: ['name', 'phase'],
        properties: {
          name: str(), phase: str({ enum: ['Pending', 'Running', 'Succeeded', 'Failed'] }), message: str({ maxLength: 4096 }),
          startedAt: str({ format: 'date-time' }), finishedAt: str({ format: 'date-time' }),
          data: { type: 'object', additionalProperties: str({ maxLength: 512 }) },
        },
      },
    },
  },
};

/** The NodeOperation CRD: one declared, approved, one-shot operation on an AppCluster or one of its nodes. */
export const nodeOperationCrd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `nodeoperations.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'nodeoperations', singular: 'nodeoperation', kind: 'NodeOperation', listKind: 'NodeOperationList', shortNames: ['nop'], categories: ['ringmaster'] },
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          printer('AppCluster', '.spec.appCluster'),
          printer('Type', '.spec.type'),
          printer('Node', '.spec.node'),
          printer('Phase', '.status.phase'),
          printer('Progress', '.status.progress'),
          printer('Age', '.metadata.creationTimestamp', 'date'),
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            required: ['spec'],
            properties: { apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec: nodeOperationSpec, status: nodeOperationStatus },
          },
        },
      },
    ],
  },
};

/** Both CRDs, in apply order. */
export const operatorCrds: KubeObject[] = [appClusterCrd, nodeOperationCrd];
export { API_VERSION };
