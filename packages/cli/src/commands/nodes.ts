import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { isStatus, type KubeClient } from '@ringmaster/kube';
import { API_VERSION, OPERATION_TYPES, RISKY_OPERATIONS, isTerminal, previewOperation, type AppCluster, type NodeOperation, type OperationType } from '@ringmaster/operator';
import { UsageError } from '../errors.ts';
import { parseOutput, table, writeMachine, type OutputFormat } from '../output.ts';
import { kubeClientFrom } from './operator.ts';

// `node` and `op`: NodeOperations created and followed directly with a kubeconfig.

interface KubeFlags {
  kubeconfig?: string;
  kubeContext?: string;
  namespace: string;
  output: string;
}

interface CreateFlags extends KubeFlags {
  dryRun?: boolean;
  approve?: boolean;
  wait?: boolean;
  timeout: string;
  name?: string;
}

const FIELD_MANAGER = 'ringmaster-cli';

function kubeOptions(cmd: Command, formats: OutputFormat[] = ['table', 'json', 'yaml']): Command {
  return cmd
    .option('--kubeconfig <file>', 'kubeconfig of the cluster (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--kube-context <name>', 'kubeconfig context (default: its current context)')
    .option('-n, --namespace <name>', 'namespace of the AppCluster', 'default')
    .option('-o, --output <format>', formats.join(' | '), 'table');
}

function createOptions(cmd: Command): Command {
  return kubeOptions(cmd)
    .option('--dry-run', 'say which nodes and objects would change; create nothing (the API server still validates the NodeOperation)')
    .option('--approve', 'set spec.approved: true (risky operations otherwise wait for `ringmaster op approve`)')
    .option('--wait', 'follow the operation until it succeeds (exit 0) or fails (exit 1)')
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

/** Creates (or, with --dry-run, previews) one NodeOperation and optionally follows it. */
async function createOperation(flags: CreateFlags, spec: NodeOperation['spec']): Promise<void> {
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
  const node = program.command('node').description('look at and operate the nodes of an AppCluster (creates NodeOperations through the kubeconfig)');
  kubeOptions(node.command('list').argument('<appcluster>').description('the nodes of an AppCluster: role, phase, state, traffic, image, cache version'))
    .action(async (appName: string, flags: KubeFlags) => {
      const format = parseOutput(flags.output, ['table', 'json', 'yaml']);
      const client = kubeClientFrom(flags.kubeconfig, flags.kubeContext);
      try {
        const app = await readApp(client, flags.namespace, appName);
        const nodes = app.status?.nodes ?? [];
        if (writeMachine(format, { appCluster: appName, namespace: flags.namespace, activeOperation: app.status?.activeOperation, cache: app.status?.cache, nodes })) return;
        process.stdout.write(table(['NODE', 'ROLE', 'PHASE', 'STATE', 'TRAFFIC', 'IMAGE', 'CACHE', 'MESSAGE'], nodes.map((n) => [n.name, n.role, n.phase, n.state, n.traffic, n.image, n.cacheVersion ?? '', n.message ?? ''])) + '\n');
      } finally {
        client.close();
      }
    });
  for (const a of NODE_ACTIONS) {
    createOptions(node.command(a.name).argument('<appcluster>').argument('<node>', 'node name, <role>-<ordinal>').description(a.description))
      .action((appName: string, nodeName: string, flags: CreateFlags) => createOperation(flags, { appCluster: appName, type: a.type, node: nodeName, ...(a.traffic ? { traffic: a.traffic } : {}) }));
  }
  createOptions(node.command('upgrade').argument('<appcluster>').argument('<node>').description('give one node a new image: dark, new image, serving again once Ready; risky').requiredOption('--image <image>', 'the new image'))
    .action((appName: string, nodeName: string, flags: CreateFlags & { image: string }) => createOperation(flags, { appCluster: appName, type: 'upgradeNode', node: nodeName, image: flags.image }));

  const op = program.command('op').description('NodeOperations: create, follow, approve');
  createOptions(op.command('create').argument('<appcluster>').description('create a NodeOperation of any type'))
    .requiredOption('--type <type>', OPERATION_TYPES.join(' | '))
    .option('--node <node>', 'the node (node operations)')
    .option('--image <image>', 'upgradeNode: the new image')
    .option('--traffic <state>', 'setTraffic: serving | dark')
    .option('--source <appcluster>', 'copyCache: the AppCluster whose cache is copied')
    .action((appName: string, flags: CreateFlags & { type: string; node?: string; image?: string; traffic?: string; source?: string }) => {
      if (!(OPERATION_TYPES as readonly string[]).includes(flags.type)) throw new UsageError(`--type must be one of ${OPERATION_TYPES.join(', ')} (got "${flags.type}")`);
      if (flags.traffic !== undefined && flags.traffic !== 'serving' && flags.traffic !== 'dark') throw new UsageError(`--traffic must be serving or dark (got "${flags.traffic}")`);
      return createOperation(flags, {
        appCluster: appName, type: flags.type as OperationType,
        ...(flags.node ? { node: flags.node } : {}), ...(flags.image ? { image: flags.image } : {}),
        ...(flags.traffic ? { traffic: flags.traffic as 'serving' | 'dark' } : {}), ...(flags.source ? { source: { appCluster: flags.source } } : {}),
      });
    });
  kubeOptions(op.command('status').argument('<name>').description('phase, progress and steps of a NodeOperation'))
    .option('--wait', 'follow it until it is finished (exit 1 when it failed)')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '600')
    .action(async (name: string, flags: KubeFlags & { wait?: boolean; timeout: string }) => {
      const format = parseOutput(flags.output, ['table', 'json', 'yaml']);
      const client = kubeClientFrom(flags.kubeconfig, flags.kubeContext);
      try {
        let o = await readOp(client, flags.namespace, name);
        if (flags.wait) o = await follow(client, o, Number(flags.timeout), format);
        printOp(o, format);
        if (flags.wait && o.status?.phase !== 'Succeeded') process.exitCode = 1;
      } finally {
        client.close();
      }
    });
  kubeOptions(op.command('approve').argument('<name>').description('approve a risky NodeOperation (spec.approved: true)'))
    .option('--dry-run', 'say what would change; write nothing')
    .action(async (name: string, flags: KubeFlags & { dryRun?: boolean }) => {
      const format = parseOutput(flags.output, ['table', 'json', 'yaml']);
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
