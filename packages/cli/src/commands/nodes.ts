import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { isStatus, type KubeClient } from '@ringmaster/kube';
import { API_VERSION, OPERATION_TYPES, RISKY_OPERATIONS, isTerminal, previewOperation, type AppCluster, type NodeOperation, type OperationType } from '@ringmaster/operator';
import type { OperationPreview, OperationView } from '@ringmaster/api';
import { api, connection, type Connection } from '../client.ts';
import { UsageError } from '../errors.ts';
import { parseOutput, table, writeMachine, type OutputFormat } from '../output.ts';
import { kubeClientFrom } from './operator.ts';

// `node` and `op`: NodeOperations created and followed through the server's API when a server is
// configured (flag, RINGMASTER_SERVER or the context; the target is then an instance), else directly
// with a kubeconfig (the target is an AppCluster). --kubeconfig or --kube-context forces the latter.

interface KubeFlags {
  kubeconfig?: string;
  kubeContext?: string;
  namespace: string;
  output: string;
  server?: string;
  token?: string;
  cluster?: string;
  appCluster?: string;
  instance?: string;
}

interface CreateFlags extends KubeFlags {
  dryRun?: boolean;
  approve?: boolean;
  wait?: boolean;
  watch?: boolean;
  timeout: string;
  name?: string;
}

const FIELD_MANAGER = 'ringmaster-cli';

function kubeOptions(cmd: Command, formats: OutputFormat[] = ['table', 'json', 'yaml']): Command {
  return cmd
    .option('--server <url>', 'control plane URL (or RINGMASTER_SERVER, or the context\'s): go through its API')
    .option('--token <token>', 'bearer token (or RINGMASTER_TOKEN, or the context\'s)')
    .option('--cluster <name>', 'through a server: the instance\'s cluster, when the instance name is on several')
    .option('--app-cluster <name>', 'through a server: the AppCluster, when the instance\'s namespace holds several')
    .option('--kubeconfig <file>', 'go directly to the cluster with this kubeconfig (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--kube-context <name>', 'kubeconfig context (default: its current context)')
    .option('-n, --namespace <name>', 'namespace of the AppCluster', 'default')
    .option('-o, --output <format>', formats.join(' | '), 'table');
}

function createOptions(cmd: Command): Command {
  return kubeOptions(cmd)
    .option('--dry-run', 'say which nodes and objects would change; create nothing (the API server still validates the NodeOperation)')
    .option('--approve', 'set spec.approved: true (risky operations otherwise wait for `ringmaster op approve`)')
    .option('--wait', 'follow the operation until it succeeds (exit 0) or fails (exit 1)')
    .option('--watch', 'the same as --wait')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '600')
    .option('--name <name>', 'name of the NodeOperation (default: generated)');
}

async function readApp(client: KubeClient, namespace: string, name: string): Promise<AppCluster> {
  const app = await client.get({ apiVersion: API_VERSION, kind: 'AppCluster', namespace, name });
  if (!app) throw new UsageError(`AppCluster ${namespace}/${name} does not exist (list them with: kubectl get appclusters -n ${namespace})`);
  return app as AppCluster;
}

async function readOp(client: KubeClient, namespace: string, name: string): Promise<NodeOperation> {
  const op = await client.get({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace, name });
  if (!op) throw new UsageError(`NodeOperation ${namespace}/${name} does not exist`);
  return op as NodeOperation;
}

function operationName(spec: NodeOperation['spec']): string {
  return `${spec.appCluster}-${spec.type.toLowerCase()}${spec.node ? `-${spec.node}` : ''}-${randomBytes(3).toString('hex')}`.slice(0, 63).replace(/-+$/, '');
}

function opSummary(op: NodeOperation) {
  return {
    name: op.metadata.name, namespace: op.metadata.namespace, appCluster: op.spec.appCluster, type: op.spec.type, node: op.spec.node,
    approved: op.spec.approved, phase: op.status?.phase ?? 'Pending', progress: op.status?.progress, reason: op.status?.reason, message: op.status?.message,
    steps: op.status?.steps ?? [],
  };
}

function printOp(op: NodeOperation, format: OutputFormat): void {
  const s = opSummary(op);
  if (writeMachine(format, s)) return;
  process.stdout.write(`NodeOperation ${s.namespace}/${s.name}: ${s.type}${s.node ? ` ${s.node}` : ''} on ${s.appCluster} — ${s.phase}${s.progress ? ` (${s.progress})` : ''}${s.message ? `: ${s.message}` : ''}\n`);
  if (s.steps.length) process.stdout.write(table(['STEP', 'PHASE', 'MESSAGE'], s.steps.map((x) => [x.name, x.phase, x.message ?? ''])) + '\n');
}

/** The server to go through: none when a kubeconfig or kube context is named, or no server is configured. */
function serverOf(cmd: Command, flags: KubeFlags): Connection | undefined {
  if (flags.kubeconfig !== undefined || flags.kubeContext !== undefined) return undefined;
  const conn = connection(cmd);
  return conn.configured ? conn : undefined;
}

function instanceQuery(flags: KubeFlags): { cluster?: string; appCluster?: string } {
  return { ...(flags.cluster ? { cluster: flags.cluster } : {}), ...(flags.appCluster ? { appCluster: flags.appCluster } : {}) };
}

function printView(v: OperationView, format: OutputFormat): void {
  if (writeMachine(format, v)) return;
  process.stdout.write(`NodeOperation ${v.namespace}/${v.name}: ${v.type}${v.node ? ` ${v.node}` : ''} on ${v.appCluster} — ${v.phase}${v.progress ? ` (${v.progress})` : ''}${v.message ? `: ${v.message}` : ''}${v.waitsForApproval ? ' (waits for approval: ringmaster op approve)' : ''}\n`);
  if (v.steps.length) process.stdout.write(table(['STEP', 'PHASE', 'MESSAGE'], v.steps.map((x) => [x.name, x.phase, x.message ?? ''])) + '\n');
}

function printPreview(format: OutputFormat, out: Pick<OperationPreview, 'waitsForApproval' | 'steps' | 'changes'> & { operation: { name?: string; namespace?: string } }, spec: NodeOperation['spec']): void {
  if (writeMachine(format, out)) return;
  process.stdout.write(`would create NodeOperation ${out.operation.namespace}/${out.operation.name}: ${spec.type}${spec.node ? ` ${spec.node}` : ''} on AppCluster ${spec.appCluster}${out.waitsForApproval ? ' (waits for approval)' : ''}\nsteps: ${out.steps.join(' → ')}\n`);
  process.stdout.write(table(['STEP', 'OBJECT', 'FIELD', 'FROM', 'TO', 'EFFECT'], out.changes.map((c) => [c.step, c.object, c.field ?? '', c.from ?? '', c.to ?? '', c.effect])) + '\n');
}

/** Polls an operation through the server until it is finished (bounded by `timeoutSeconds`); progress goes to stderr. */
async function followViaServer(conn: Connection, instance: string, flags: KubeFlags, name: string, timeoutSeconds: number, format: OutputFormat): Promise<OperationView> {
  if (!(timeoutSeconds > 0)) throw new UsageError(`--timeout must be a positive number of seconds (got ${timeoutSeconds})`);
  const until = Date.now() + timeoutSeconds * 1000;
  let last = '';
  let current: OperationView | undefined;
  while (Date.now() < until) {
    current = await api(conn, 'getOperation', { params: { instance, name }, query: instanceQuery(flags) });
    const line = `${current.phase} ${current.progress ?? ''} ${current.message ?? ''}`.trim();
    if (line !== last && format === 'table') process.stderr.write(line + '\n');
    last = line;
    if (current.phase === 'Succeeded' || current.phase === 'Failed') return current;
    await sleep(500);
  }
  process.exitCode = 1;
  process.stderr.write(`gave up waiting after ${timeoutSeconds} s; the operation goes on (ringmaster op status ${name} --instance ${instance})\n`);
  return current!;
}

/** Creates (or previews) one NodeOperation through the server's API. */
async function createViaServer(conn: Connection, instance: string, flags: CreateFlags, spec: Omit<NodeOperation['spec'], 'appCluster'>): Promise<void> {
  const format = parseOutput(flags.output, ['table', 'json', 'yaml']);
  const body = {
    ...spec, ...(flags.approve ? { approved: true } : {}), ...(flags.name ? { name: flags.name } : {}),
    ...(flags.cluster ? { cluster: flags.cluster } : {}), ...(flags.appCluster ? { appCluster: flags.appCluster } : {}), ...(flags.dryRun ? { dryRun: true } : {}),
  };
  const res = await api(conn, 'createOperation', { params: { instance }, body });
  if ('operation' in res) {
    printPreview(format, res, res.operation.spec);
    return;
  }
  if (!flags.wait) {
    printView(res, format);
    return;
  }
  const final = await followViaServer(conn, instance, flags, res.name, Number(flags.timeout), format);
  printView(final, format);
  if (final.phase !== 'Succeeded') process.exitCode = 1;
}

/** Creates (or, with --dry-run, previews) one NodeOperation and optionally follows it. */
async function createOperation(cmd: Command, flags: CreateFlags, spec: NodeOperation['spec']): Promise<void> {
  if (flags.watch) flags.wait = true;
  const conn = serverOf(cmd, flags);
  if (conn) {
    const { appCluster, ...rest } = spec;
    return createViaServer(conn, appCluster, flags, rest);
  }
  const format = parseOutput(flags.output, ['table', 'json', 'yaml']);
  const client = kubeClientFrom(flags.kubeconfig, flags.kubeContext);
  try {
    const app = await readApp(client, flags.namespace, spec.appCluster);
    const risky = (RISKY_OPERATIONS as readonly string[]).includes(spec.type);
    const full: NodeOperation['spec'] = { ...spec, ...(risky || flags.approve ? { approved: flags.approve === true } : {}) };
    const op: NodeOperation = { apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name: flags.name ?? operationName(full), namespace: flags.namespace }, spec: full };
    if (flags.dryRun) {
      // the API server checks the object against the CRD's schema and rules, writing nothing
      await client.create(op, { fieldManager: FIELD_MANAGER, dryRun: true });
      const preview = previewOperation(op, app);
      const out = { dryRun: true, operation: { name: op.metadata.name, namespace: op.metadata.namespace, spec: full }, waitsForApproval: risky && !flags.approve, ...preview };
      if (writeMachine(format, out)) return;
      process.stdout.write(`would create NodeOperation ${flags.namespace}/${op.metadata.name}: ${spec.type}${spec.node ? ` ${spec.node}` : ''} on AppCluster ${spec.appCluster}${out.waitsForApproval ? ' (waits for approval)' : ''}\nsteps: ${preview.steps.join(' → ')}\n`);
      process.stdout.write(table(['STEP', 'OBJECT', 'FIELD', 'FROM', 'TO', 'EFFECT'], preview.changes.map((c) => [c.step, c.object, c.field ?? '', c.from ?? '', c.to ?? '', c.effect])) + '\n');
      return;
    }
    const created = (await client.create(op, { fieldManager: FIELD_MANAGER })) as NodeOperation;
    if (!flags.wait) {
      printOp(created, format);
      return;
    }
    const final = await follow(client, created, Number(flags.timeout), format);
    printOp(final, format);
    if (final.status?.phase !== 'Succeeded') process.exitCode = 1;
  } finally {
    client.close();
  }
}

/** Polls an operation until it is finished (bounded by `timeoutSeconds`); progress goes to stderr. */
async function follow(client: KubeClient, op: NodeOperation, timeoutSeconds: number, format: OutputFormat): Promise<NodeOperation> {
  if (!(timeoutSeconds > 0)) throw new UsageError(`--timeout must be a positive number of seconds (got ${timeoutSeconds})`);
  const until = Date.now() + timeoutSeconds * 1000;
  let last = '';
  let current = op;
  while (Date.now() < until) {
    current = await readOp(client, op.metadata.namespace!, op.metadata.name!);
    const line = `${current.status?.phase ?? 'Pending'} ${current.status?.progress ?? ''} ${current.status?.message ?? ''}`.trim();
    if (line !== last && format === 'table') process.stderr.write(line + '\n');
    last = line;
    if (isTerminal(current)) return current;
    await sleep(500);
  }
  process.exitCode = 1;
  process.stderr.write(`gave up waiting after ${timeoutSeconds} s; the operation goes on (ringmaster op status ${op.metadata.name} -n ${op.metadata.namespace})\n`);
  return current;
}

const NODE_ACTIONS: { name: string; type: OperationType; description: string; traffic?: 'dark' | 'serving' }[] = [
  { name: 'dark', type: 'setTraffic', traffic: 'dark', description: 'take a node out of its Service\'s traffic (it keeps running)' },
  { name: 'serve', type: 'setTraffic', traffic: 'serving', description: 'give a node its Service\'s traffic again' },
  { name: 'stop', type: 'stopNode', description: 'stop a node (dark first); risky: needs --approve or `op approve`' },
  { name: 'start', type: 'startNode', description: 'start a stopped node and serve it once Ready' },
  { name: 'restart', type: 'restartNode', description: 'replace a node\'s Pod (dark while it restarts)' },
];

/** `node list|dark|serve|stop|start|restart|upgrade` and `op create|status|approve`. */
export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('look at and operate the nodes of an AppCluster (NodeOperations through the server\'s API when one is configured, else the kubeconfig)');
  const TARGET = 'the instance (through a server) or the AppCluster (with a kubeconfig)';
  kubeOptions(node.command('list').argument('<target>', TARGET).description('the nodes of an AppCluster: role, phase, state, traffic, image, cache version, update pending'))
    .action(async (target: string, flags: KubeFlags, cmd: Command) => {
      const format = parseOutput(flags.output, ['table', 'json', 'yaml']);
      const conn = serverOf(cmd, flags);
      let out: { appCluster: string; namespace: string; activeOperation?: string | null; cache?: unknown; nodes: NonNullable<NonNullable<AppCluster['status']>['nodes']> };
      if (conn) {
        out = await api(conn, 'instanceNodes', { params: { instance: target }, query: instanceQuery(flags) });
      } else {
        const client = kubeClientFrom(flags.kubeconfig, flags.kubeContext);
        try {
          const app = await readApp(client, flags.namespace, target);
          out = { appCluster: target, namespace: flags.namespace, activeOperation: app.status?.activeOperation, cache: app.status?.cache, nodes: app.status?.nodes ?? [] };
        } finally {
          client.close();
        }
      }
      if (writeMachine(format, out)) return;
      process.stdout.write(table(['NODE', 'ROLE', 'PHASE', 'STATE', 'TRAFFIC', 'IMAGE', 'CACHE', 'UPDATE', 'MESSAGE'], out.nodes.map((n) => [n.name, n.role, n.phase, n.state, n.traffic, n.image, n.cacheVersion ?? '', n.updatePending ? 'pending' : '', n.message ?? ''])) + '\n');
      if (out.activeOperation) process.stdout.write(`active operation: ${out.activeOperation}\n`);
    });
  for (const a of NODE_ACTIONS) {
    createOptions(node.command(a.name).argument('<target>', TARGET).argument('<node>', 'node name, <role>-<ordinal>').description(a.description))
      .action((target: string, nodeName: string, flags: CreateFlags, cmd: Command) => createOperation(cmd, flags, { appCluster: target, type: a.type, node: nodeName, ...(a.traffic ? { traffic: a.traffic } : {}) }));
  }
  createOptions(node.command('upgrade').argument('<target>', TARGET).argument('<node>').description('give one node a new image: dark, new image, serving again once Ready; risky').requiredOption('--image <image>', 'the new image'))
    .action((target: string, nodeName: string, flags: CreateFlags & { image: string }, cmd: Command) => createOperation(cmd, flags, { appCluster: target, type: 'upgradeNode', node: nodeName, image: flags.image }));

  const op = program.command('op').description('NodeOperations: create, follow, approve');
  createOptions(op.command('create').argument('<target>', TARGET).description('create a NodeOperation of any type'))
    .requiredOption('--type <type>', OPERATION_TYPES.join(' | '))
    .option('--node <node>', 'the node (node operations)')
    .option('--image <image>', 'upgradeNode: the new image')
    .option('--traffic <state>', 'setTraffic: serving | dark')
    .option('--source <appcluster>', 'copyCache: the AppCluster whose cache is copied')
    .action((target: string, flags: CreateFlags & { type: string; node?: string; image?: string; traffic?: string; source?: string }, cmd: Command) => {
      if (!(OPERATION_TYPES as readonly string[]).includes(flags.type)) throw new UsageError(`--type must be one of ${OPERATION_TYPES.join(', ')} (got "${flags.type}")`);
      if (flags.traffic !== undefined && flags.traffic !== 'serving' && flags.traffic !== 'dark') throw new UsageError(`--traffic must be serving or dark (got "${flags.traffic}")`);
      return createOperation(cmd, flags, {
        appCluster: target, type: flags.type as OperationType,
        ...(flags.node ? { node: flags.node } : {}), ...(flags.image ? { image: flags.image } : {}),
        ...(flags.traffic ? { traffic: flags.traffic as 'serving' | 'dark' } : {}), ...(flags.source ? { source: { appCluster: flags.source } } : {}),
      });
    });
  const instanceOf = (flags: KubeFlags, name: string): string => {
    if (!flags.instance) throw new UsageError(`--instance is required through a server (the instance whose AppCluster runs ${name})`);
    return flags.instance;
  };
  kubeOptions(op.command('status').argument('<name>').description('phase, progress and steps of a NodeOperation'))
    .option('--instance <name>', 'through a server: the instance the operation belongs to')
    .option('--wait', 'follow it until it is finished (exit 0 when it succeeded, 1 when it failed or the timeout passed)')
    .option('--watch', 'the same as --wait')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '600')
    .action(async (name: string, flags: KubeFlags & { wait?: boolean; watch?: boolean; timeout: string }, cmd: Command) => {
      const format = parseOutput(flags.output, ['table', 'json', 'yaml']);
      const wait = flags.wait === true || flags.watch === true;
      const conn = serverOf(cmd, flags);
      if (conn) {
        const instance = instanceOf(flags, name);
        const v = wait ? await followViaServer(conn, instance, flags, name, Number(flags.timeout), format) : (await api(conn, 'getOperation', { params: { instance, name }, query: instanceQuery(flags) }));
        printView(v, format);
        if (wait && v.phase !== 'Succeeded') process.exitCode = 1;
        return;
      }
      const client = kubeClientFrom(flags.kubeconfig, flags.kubeContext);
      try {
        let o = await readOp(client, flags.namespace, name);
        if (wait) o = await follow(client, o, Number(flags.timeout), format);
        printOp(o, format);
        if (wait && o.status?.phase !== 'Succeeded') process.exitCode = 1;
      } finally {
        client.close();
      }
    });
  kubeOptions(op.command('approve').argument('<name>').description('approve a risky NodeOperation (spec.approved: true)'))
    .option('--instance <name>', 'through a server: the instance the operation belongs to')
    .option('--dry-run', 'say what would change; write nothing')
    .action(async (name: string, flags: KubeFlags & { dryRun?: boolean }, cmd: Command) => {
      const format = parseOutput(flags.output, ['table', 'json', 'yaml']);
      const conn = serverOf(cmd, flags);
      if (conn) {
        const instance = instanceOf(flags, name);
        const res = await api(conn, 'approveOperation', { params: { instance, name }, body: { ...(flags.cluster ? { cluster: flags.cluster } : {}), ...(flags.dryRun ? { dryRun: true } : {}) } });
        if (writeMachine(format, res)) return;
        process.stdout.write(`${flags.dryRun ? 'would approve' : res.changed ? 'approved' : 'already approved:'} NodeOperation ${res.namespace}/${name} of instance ${instance} on cluster ${res.cluster}\n`);
        return;
      }
      const client = kubeClientFrom(flags.kubeconfig, flags.kubeContext);
      try {
        const o = await readOp(client, flags.namespace, name);
        if (isTerminal(o)) throw new UsageError(`NodeOperation ${flags.namespace}/${name} is already ${o.status?.phase}; approving it changes nothing`);
        try {
          await client.mergePatch({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace: flags.namespace, name }, { spec: { approved: true } }, { fieldManager: FIELD_MANAGER, dryRun: flags.dryRun });
        } catch (err) {
          if (isStatus(err, 404)) throw new UsageError(`NodeOperation ${flags.namespace}/${name} does not exist`);
          throw err;
        }
        const out = { dryRun: flags.dryRun === true, name, namespace: flags.namespace, approved: { from: o.spec.approved ?? false, to: true } };
        if (writeMachine(format, out)) return;
        process.stdout.write(`${flags.dryRun ? 'would approve' : 'approved'} NodeOperation ${flags.namespace}/${name} (spec.approved: ${String(o.spec.approved ?? false)} → true)\n`);
      } finally {
        client.close();
      }
    });
}
