import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { listEventsFor, type KubeClient, type KubeObject } from '@ringmaster/kube';
import { API_VERSION } from '../src/index.ts';
import type { AppCluster, NodeOperation } from '../src/index.ts';

const CLI = fileURLToPath(new URL('../../cli/bin/ringmaster.js', import.meta.url));

export const appRef = (namespace: string, name: string) => ({ apiVersion: API_VERSION, kind: 'AppCluster', namespace, name });
export const opRef = (namespace: string, name: string) => ({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace, name });

export async function getApp(client: KubeClient, namespace: string, name: string): Promise<AppCluster> {
  const a = await client.get(appRef(namespace, name));
  if (!a) throw new Error(`AppCluster ${namespace}/${name} is gone`);
  return a as AppCluster;
}

export async function getOp(client: KubeClient, namespace: string, name: string): Promise<NodeOperation> {
  const o = await client.get(opRef(namespace, name));
  if (!o) throw new Error(`NodeOperation ${namespace}/${name} is gone`);
  return o as NodeOperation;
}

export const conditionOf = (app: AppCluster, type: string): string | undefined => app.status?.conditions?.find((c) => c.type === type)?.status;

export async function pods(client: KubeClient, namespace: string, app: string): Promise<KubeObject[]> {
  return (await client.list('v1', 'Pod', { namespace, labelSelector: `ringmaster.dev/app-cluster=${app}` })).items;
}

export async function podOf(client: KubeClient, namespace: string, name: string): Promise<KubeObject | undefined> {
  return client.get({ apiVersion: 'v1', kind: 'Pod', namespace, name });
}

/** Names of the Pods among the ready endpoints of a Service's EndpointSlices. */
export async function endpointPods(client: KubeClient, namespace: string, service: string): Promise<string[]> {
  const slices = await client.list('discovery.k8s.io/v1', 'EndpointSlice', { namespace, labelSelector: `kubernetes.io/service-name=${service}` });
  return slices.items
    .flatMap((s) => (s.endpoints ?? []) as { targetRef?: { name?: string }; conditions?: { ready?: boolean } }[])
    .filter((e) => e.conditions?.ready !== false)
    .map((e) => e.targetRef?.name ?? '')
    .sort();
}

/** The reasons of the Events about an object, oldest first. */
export async function eventReasons(client: KubeClient, obj: KubeObject): Promise<string[]> {
  return (await listEventsFor(client, obj)).map((e) => String(e.reason));
}

export async function events(client: KubeClient, obj: KubeObject): Promise<KubeObject[]> {
  return listEventsFor(client, obj);
}

/** A `ringmaster operator` process, its identity and metrics port (read from its JSON log). */
export interface OperatorProcess {
  child: ChildProcess;
  identity: string;
  port: number;
  logs: Record<string, unknown>[];
}

export async function spawnOperator(args: string[]): Promise<OperatorProcess> {
  const child = spawn(process.execPath, [CLI, 'operator', '--metrics-port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry.msg === 'operator started') resolve(entry);
    });
    child.once('exit', (code) => reject(new Error(`ringmaster operator exited with ${code} before it started: ${JSON.stringify(logs.slice(-5))}`)));
  });
  const entry = await started;
  return { child, identity: String(entry.identity), port: Number(entry.metricsPort), logs };
}

export async function stopProcess(p: OperatorProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill(signal);
  await exited;
}

export async function metricsOf(p: OperatorProcess): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${p.port}/metrics`);
  return res.text();
}

/** The sum of a counter's samples in Prometheus text. */
export function counterTotal(metrics: string, name: string): number {
  return metrics.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' ')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

/** Runs `ringmaster <args>`; resolves with its exit code and output (never rejects on a non-zero exit). */
export function ringmaster(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
