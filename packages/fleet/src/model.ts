import { z } from 'zod';
import { cronProblem, timeZoneProblem } from './window-check.ts';

/**
 * The fleet format: one schema per kind of fleet file. Types, validation and the JSON Schema files
 * in schemas/ all derive from these definitions (see scripts/gen-schemas.ts).
 */

export const API_VERSION = 'ringmaster.dev/v1alpha1';

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A name used in object names and folder names: a DNS-1123 label (lower case, digits, '-'). */
export const NameSchema = z
  .string()
  .max(63)
  .regex(dns1123Label, 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit');

/** A duration such as "30s", "10m", "1h30m". */
export const DurationSchema = z
  .string()
  .regex(/^(\d+h)?(\d+m)?(\d+s)?$/, 'must be a duration such as "90s", "10m" or "1h30m"')
  .refine((s) => s.length > 0, 'must not be empty');

/** The values key that holds Ringmaster's own context (instance, app, cluster, ring, region); no layer may set it. */
export const CONTEXT_KEY = 'ringmaster';

const ValuesSchema = z
  .record(z.string(), z.unknown())
  .superRefine((values, ctx) => {
    if (Object.hasOwn(values, CONTEXT_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: [CONTEXT_KEY],
        message: `"${CONTEXT_KEY}" is reserved for Ringmaster's own context (\${${CONTEXT_KEY}.instance.name}, .Values.${CONTEXT_KEY}.cluster.name …); rename this key`,
      });
    }
  })
  .describe(`Configuration values (maps merge, lists replace, null deletes a key); the key "${CONTEXT_KEY}" is reserved`);

/** The Kubernetes version and API versions Helm charts see (`.Capabilities`), as `helm template --kube-version --api-versions`. */
export const KubernetesSchema = z
  .strictObject({
    version: z
      .string()
      .regex(/^v?\d+\.\d+(\.\d+)?$/, 'must be a Kubernetes version such as "1.31" or "v1.31.4"')
      .optional()
      .describe('Kubernetes version of the cluster (.Capabilities.KubeVersion); default: the version helm was built for'),
    apiVersions: z
      .array(z.string().min(1))
      .optional()
      .describe('extra API versions the cluster serves (.Capabilities.APIVersions), e.g. monitoring.coreos.com/v1 or monitoring.coreos.com/v1/ServiceMonitor'),
  })
  .describe('what Helm charts see of the cluster; a cluster\'s fields replace the fleet\'s');

/** A Kustomize-style patch: strategic merge (`patch`) or JSON 6902 (`ops`), optionally targeted. */
export const PatchSchema = z
  .strictObject({
    target: z
      .strictObject({
        group: z.string().optional(),
        version: z.string().optional(),
        kind: z.string().optional(),
        name: z.string().optional().describe('object name, or a regular expression'),
        namespace: z.string().optional(),
        labelSelector: z.string().optional().describe('equality-based selector such as "a=b,c!=d"'),
      })
      .optional(),
    patch: z.union([z.record(z.string(), z.unknown()), z.string()]).optional().describe('strategic merge patch (map or YAML text)'),
    ops: z.array(z.record(z.string(), z.unknown())).optional().describe('RFC 6902 JSON patch operations'),
  })
  .refine((p) => (p.patch === undefined) !== (p.ops === undefined), {
    message: 'a patch needs exactly one of "patch" (strategic merge) or "ops" (JSON 6902)',
  });

/** An RFC 6901 JSON pointer into a Kubernetes object, e.g. `/spec/replicas`. */
export const JsonPointerSchema = z
  .string()
  .max(1000)
  .regex(/^(\/([^~/]|~[01])*)+$/, 'must be a JSON pointer such as "/spec/replicas": "/" before every key, "~1" for a "/" and "~0" for a "~" inside a key, a list index or "*" for any list item');

/** Fields drift detection leaves alone on matching objects (as Argo CD's ignoreDifferences). */
export const DriftIgnoreSchema = z
  .strictObject({
    group: z.string().optional().describe('API group of the objects ("" for the core group); default: any'),
    kind: z.string().optional().describe('kind of the objects; default: any'),
    name: z.string().optional().describe('object name; default: any'),
    namespace: z.string().optional().describe('object namespace; default: any'),
    jsonPointers: z.array(JsonPointerSchema).optional().describe('fields (and everything under them) that are not drift'),
    managers: z.array(z.string().min(1).max(200)).optional().describe('field managers whose changes are not drift (e.g. an operator that owns a field)'),
  })
  .refine((r) => r.jsonPointers !== undefined || r.managers !== undefined, { message: 'an ignore rule needs "jsonPointers", "managers" or both' });

/** Drift policy of an app or instance: self-heal and ignore rules. */
export const DriftSchema = z.strictObject({
  selfHeal: z.boolean().optional().describe('re-apply the desired state (direct) or ask Argo CD to sync when drift is found; default false'),
  ignore: z.array(DriftIgnoreSchema).optional().describe('fields and managers that are not drift'),
});

/** How a ring splits its clusters into waves. */
export const WavesSchema = z.union([
  z.strictObject({ size: z.number().int().positive().describe('clusters per wave') }),
  z.strictObject({ byLabel: z.string().min(1).describe('cluster label whose values define the waves, in sorted order') }),
]);

/** A deployment window: when a ring may start (and start new waves): from each start of a cron schedule, for a duration, in a time zone. */
export const DeploymentWindowSchema = z.strictObject({
  schedule: z.string().superRefine((s, ctx) => {
    const problem = cronProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).describe('cron expression of the openings (minute hour day-of-month month day-of-week), e.g. "0 9 * * 1-4"'),
  duration: DurationSchema.refine((d) => /[1-9]/.test(d), 'must be longer than zero').describe('how long the window stays open from each start, e.g. "7h"'),
  timeZone: z.string().superRefine((tz, ctx) => {
    const problem = timeZoneProblem(tz);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).optional().describe('IANA time zone of the schedule, e.g. "Europe/Berlin" (default UTC)'),
});

/** Per-ring rollout policy (used by flighting). */
/** Placeholders a metric gate's query may use; each is filled in per measured cluster (and instance). */
export const METRIC_QUERY_VARIABLES = ['cluster', 'instance', 'ring', 'app'] as const;

export const MetricGateSchema = z
  .strictObject({
    name: NameSchema.describe('name of the gate, shown with every measurement and failure'),
    query: z
      .string()
      .min(1)
      .max(4000)
      .refine((q) => [...q.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].every((m) => (METRIC_QUERY_VARIABLES as readonly string[]).includes(m[1]!)), {
        message: `may use only the placeholders ${METRIC_QUERY_VARIABLES.map((v) => `{{${v}}}`).join(', ')}`,
      })
      .describe('PromQL instant query whose result is one number; {{cluster}}, {{instance}}, {{ring}} and {{app}} are filled in (escaped for a PromQL label string)'),
    threshold: z
      .strictObject({
        min: z.number().optional().describe('the value must be at least this'),
        max: z.number().optional().describe('the value must be at most this'),
      })
      .refine((t) => t.min !== undefined || t.max !== undefined, { message: 'needs min, max or both' })
      .refine((t) => t.min === undefined || t.max === undefined || t.min <= t.max, { message: 'min must not be greater than max' })
      .describe('the range a measurement must be in to hold'),
    interval: DurationSchema.optional().describe('time between two measurements (default 30s)'),
    count: z.number().int().positive().max(1000).optional().describe('measurements per cluster before the gate holds (default 3)'),
    failureLimit: z.number().int().nonnegative().optional().describe('failed measurements allowed per cluster; one more fails the cluster (default 0)'),
  })
  .describe('a Prometheus query that must hold on each cluster of a wave after it is healthy');

export const RingPolicySchema = z.strictObject({
  waves: WavesSchema.optional(),
  maxInFlight: z.number().int().positive().optional().describe('clusters promoted at once inside a wave'),
  maxFailures: z.number().int().nonnegative().optional().describe('failed clusters allowed before the rollout halts'),
  soak: DurationSchema.optional().describe('time a wave must stay healthy before the next starts'),
  approval: z.enum(['auto', 'manual']).optional().describe('manual: an approver must approve before the ring starts'),
  autoRollback: z.boolean().optional().describe('roll back every touched cluster when the ring halts'),
  progressDeadline: DurationSchema.optional().describe('time a wave has to become healthy'),
  metrics: z
    .array(MetricGateSchema)
    .refine((gates) => new Set(gates.map((g) => g.name)).size === gates.length, { message: 'metric gate names must be unique in a ring' })
    .optional()
    .describe('metric gates: Prometheus queries measured on each cluster of a wave once it is healthy'),
  windows: z.array(DeploymentWindowSchema).min(1).optional().describe('deployment windows: the ring (and each new wave) starts only while one is open; none: always open'),
  alerts: z.strictObject({
    action: z.enum(['fail', 'pause']).describe("fail: the cluster's step fails (counts against maxFailures); pause: the release pauses"),
  }).optional().describe('what a firing Alertmanager alert naming a cluster in flight does (default fail)'),
});

export const RingSchema = z.strictObject({
  name: NameSchema,
  description: z.string().optional(),
  values: ValuesSchema.optional(),
  policy: RingPolicySchema.optional(),
  drift: z.strictObject({ selfHeal: z.boolean().optional().describe('self-heal drift on every instance of the ring unless its app or instance says otherwise') }).optional(),
});

export const RegionSchema = z.strictObject({
  name: NameSchema,
  values: ValuesSchema.optional(),
});

/** How Helm charts are rendered (the output is the same either way). */
export const HelmSettingsSchema = z
  .strictObject({
    renderer: z
      .enum(['engine', 'template'])
      .optional()
      .describe("engine (default): Ringmaster's long-lived renderer on Helm's Go engine, many value sets per process; template: one `helm template` process per value set (the reference)"),
    timeoutSeconds: z.number().positive().max(3600).optional().describe('time limit of one chart render (default 30): a template that loops for ever fails its instance'),
  })
  .describe('how Helm charts are rendered');

/** Where a notification's webhook URL comes from: never the fleet repo itself (the URL is a credential). */
export const SecretRefSchema = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').describe('environment variable of the server holding the URL') }),
  z.strictObject({ file: z.string().regex(/^\//, 'must be an absolute path').describe('file on the server holding the URL') }),
], { error: (iss) => (typeof iss.input === 'string'
  ? 'a webhook URL may not be written in the fleet repo (it is a credential): write { env: NAME } (an environment variable of the server) or { file: /path } (a secret file the server reads)'
  : 'must be { env: NAME } (an environment variable name) or { file: /absolute/path } (a secret file)') })
.describe('the webhook URL: { env: NAME } or { file: /absolute/path }, read by the server; never the URL itself');

/** One notification: which release events go to which incoming webhook, in which format. */
export const NotificationSchema = z.strictObject({
  name: NameSchema.describe('names the notification in the delivery log'),
  // not `on`: YAML 1.1 reads an unquoted `on` key as the boolean true
  events: z.array(z.enum(['waiting_for_approval', 'halted', 'rolled_back', 'succeeded'])).min(1).describe('the release events that are sent'),
  format: z.enum(['slack', 'teams', 'generic']).describe('slack: {text, blocks}; teams: a MessageCard; generic: JSON {event, release, ring, state, reason, link}'),
  url: SecretRefSchema,
  rings: z.array(NameSchema).optional().describe('only events of these rings (a release event counts for every ring it touched); default all'),
  apps: z.array(NameSchema).optional().describe('only releases that change one of these apps; default all'),
});
export type NotificationSpec = z.infer<typeof NotificationSchema>;

/** ringmaster.yaml at the root of the fleet repo: rings in promotion order, regions. */
export const FleetFileSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Fleet'),
  name: NameSchema.describe('name of the fleet'),
  rings: z.array(RingSchema).min(1).describe('rings in promotion order'),
  regions: z.array(RegionSchema).optional(),
  kubernetes: KubernetesSchema.optional().describe('default for every cluster'),
  helm: HelmSettingsSchema.optional(),
  notifications: z.array(NotificationSchema).max(50).optional().describe('incoming webhooks (Slack, Teams, generic) told when a release waits for approval, halts, rolls back or succeeds'),
});

export const DeliverySchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('argocd'),
    argocd: z
      .strictObject({
        namespace: z.string().optional().describe('namespace of the Argo CD Applications (default argocd)'),
        project: z.string().optional().describe('Argo CD project (default "default")'),
        destination: z.string().optional().describe('destination cluster name or server URL as registered in Argo CD'),
      })
      .optional(),
  }),
  z.strictObject({
    mode: z.literal('direct'),
    direct: z
      .strictObject({
        context: z.string().optional().describe('kubeconfig context used to reach the cluster'),
        server: z.string().optional().describe('API server URL (informational when a context is given)'),
      })
      .optional(),
  }),
]);

/** clusters/*.yaml: one or more Cluster documents. */
export const ClusterSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Cluster'),
  name: NameSchema,
  ring: NameSchema,
  region: NameSchema,
  labels: z.record(z.string(), z.string()).optional(),
  delivery: DeliverySchema,
  kubernetes: KubernetesSchema.optional(),
  values: ValuesSchema.optional(),
});

export const SourceSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('manifests'), path: z.string().min(1).describe('folder of plain manifests, relative to the app file') }),
  z.strictObject({
    type: z.literal('kustomize'),
    path: z.string().min(1).describe('Kustomize folder, relative to the app file'),
    allowRemoteBases: z.boolean().optional().describe('let kustomize fetch remote bases and resources (URLs in resources:); default false: only files of the fleet repository'),
  }),
  z.strictObject({
    type: z.literal('helm'),
    chart: z.string().min(1).describe('chart folder, relative to the app file'),
    releaseName: z.string().optional().describe('helm release name; default: the instance name'),
    includeCRDs: z.boolean().optional().describe("render the chart's crds/ folder (default true, as helm install and Argo CD do); false leaves them out"),
    contextValues: z.boolean().optional().describe(`pass Ringmaster's context to the chart as .Values.${CONTEXT_KEY} (default true); false for charts whose values schema refuses unknown keys`),
  }),
]);

/** How a new release of an app meets an active one that changes the same app. */
export const ReleasePolicySchema = z.strictObject({
  overlap: z.enum(['queue', 'supersede']).optional()
    .describe('queue (default): the new release waits until the active one ends; supersede: the active one stops at a clean boundary and the new one delivers what is left'),
}).describe('how releases of this app meet each other');
export type ReleasePolicy = z.infer<typeof ReleasePolicySchema>;

/** apps/<name>/app.yaml: the app, its source, its default values and roles. */
export const AppSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('App'),
  name: NameSchema,
  team: z.string().optional(),
  owners: z.array(z.string()).optional().describe('who to contact (e-mail or handle)'),
  source: SourceSchema,
  namespace: z.string().optional().describe('namespace of namespaced objects; may use ${...}; default: the instance name'),
  roles: z.array(NameSchema).optional().describe('node roles in start order, e.g. [synchronizer, backend, frontend]'),
  values: ValuesSchema.optional(),
  patches: z.array(PatchSchema).optional(),
  secrets: z.strictObject({ allowLiteral: z.boolean() }).optional().describe('allow Secrets with literal data (off by default)'),
  drift: DriftSchema.optional(),
  placement: z.strictObject({
    clusterLabels: z.record(z.string(), z.string()).optional().describe('labels a cluster must carry to take a new instance of this app'),
    maxInstancesPerCluster: z.number().int().min(1).optional().describe('most instances of this app one cluster takes'),
  }).optional().describe('where the requests API may provision new instances'),
  dns: z.array(z.strictObject({
    service: NameSchema.describe("the Service (in the instance's namespace) whose address the record points at"),
    prefix: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be one DNS label').optional().describe('the record is <prefix>.<instance>.<zone> (default <instance>.<zone>)'),
  })).max(20).optional().describe("DNS records the requests API writes for each instance (an A record to the Service's load-balancer or cluster IP)"),
  release: ReleasePolicySchema.optional(),
});

/** instances/*.yaml: one or more Instance documents (an app on a cluster). */
export const InstanceSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Instance'),
  name: NameSchema,
  app: NameSchema,
  cluster: NameSchema,
  namespace: z.string().optional(),
  values: ValuesSchema.optional(),
  patches: z.array(PatchSchema).optional(),
  drift: DriftSchema.optional().describe("the instance's drift policy: selfHeal replaces the app's, ignore rules add to the app's"),
});

export type FleetFile = z.infer<typeof FleetFileSchema>;
export type Ring = z.infer<typeof RingSchema>;
export type RingPolicy = z.infer<typeof RingPolicySchema>;
export type MetricGate = z.infer<typeof MetricGateSchema>;
export type DeploymentWindow = z.infer<typeof DeploymentWindowSchema>;
export type Region = z.infer<typeof RegionSchema>;
export type ClusterSpec = z.infer<typeof ClusterSchema>;
export type AppSpec = z.infer<typeof AppSchema>;
export type InstanceSpec = z.infer<typeof InstanceSchema>;
export type PatchSpecInput = z.infer<typeof PatchSchema>;
export type Delivery = z.infer<typeof DeliverySchema>;
export type Kubernetes = z.infer<typeof KubernetesSchema>;
export type DriftSpec = z.infer<typeof DriftSchema>;
export type DriftIgnoreRule = z.infer<typeof DriftIgnoreSchema>;

/** Every kind of fleet document, by its `kind` field. */
export const DOCUMENT_SCHEMAS = {
  Fleet: FleetFileSchema,
  Cluster: ClusterSchema,
  App: AppSchema,
  Instance: InstanceSchema,
} as const;

export type DocumentKind = keyof typeof DOCUMENT_SCHEMAS;
