// Operator benchmark: N AppClusters × 6 nodes on one local cluster (kube-apiserver, controllers,
// kwok): creation → all Ready, the operator's CPU and memory, writes at steady state, and how soon a
// per-node change (a node taken dark) reaches its Pod. The target is 1,000 × 6; on the
// shared 2-core machine the default is smaller (OPERATOR_BENCH_APPS to change it).
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalFleet, watchObjects, type KubeObject } from '@ringmaster/kube';
import { API_VERSION, silentLogger, startOperator, type AppCluster } from '@ringmaster/operator';

const log = (s: string) => process.stderr.write(s + '\n');
const ns = 'bench';

function appCluster(i: number): KubeObject {
  const image = 'registry.local/appserver:1.0';
  return {
    apiVersion: API_VERSION, kind: 'AppCluster', metadata: { name: `tenant-${i}`, namespace: ns },
    spec: {
      roles: [
        { name: 'synchronizer', replicas: 1, image },
        { name: 'backend', replicas: 2, image },
        { name: 'frontend', replicas: 3, image, ports: [{ name: 'http', port: 8080 }] },
      ],
      // the builder keeps running, so each AppCluster has 6 nodes with Pods
      cache: { builder: 'synchronizer', stopBuilderWhenReady: false },
    },
  };
}

const ready = (a: KubeObject) => ((a as AppCluster).status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export async function benchOperator(): Promise<string> {
  const apps = Number(process.env.OPERATOR_BENCH_APPS ?? 100);
  const nodes = Math.max(3, Math.ceil((apps * 6) / 100));
  const fleet = await startLocalFleet({ clusters: ['bench'], management: false, nodes });
  const client = fleet.cluster('bench').client;
  try {
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const op = await startOperator({ client, namespace: ns, leaseNamespace: ns, logger: silentLogger });
    await op.leading;
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    for (let i = 0; i < apps; i += 20) await Promise.all(Array.from({ length: Math.min(20, apps - i) }, (_, j) => client.create(appCluster(i + j))));
    const created = Date.now() - t0;
    for (;;) {
      const list = await client.list(API_VERSION, 'AppCluster', { namespace: ns });
      const n = list.items.filter(ready).length;
      if (n === apps) break;
      if (Date.now() - t0 > 1_800_000) throw new Error(`only ${n}/${apps} AppClusters Ready after 30 min`);
      await sleep(1000);
    }
    const allReady = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const rss = process.memoryUsage().rss / 2 ** 20;
    log(`${apps} AppClusters Ready after ${(allReady / 1000).toFixed(1)} s`);

    await op.controller()!.queue.idle();
    const w0 = await op.metrics.totalWrites();
    const steadyMs = 60_000;
    await sleep(steadyMs);
    const steadyWrites = (await op.metrics.totalWrites()) - w0;

    // per-node change: a node taken dark, until its Pod carries the label (seen by a watch)
    const seen = new Map<string, number>();
    const watch = watchObjects(client, { apiVersion: 'v1', kind: 'Pod', namespace: ns, labelSelector: 'ringmaster.dev/traffic=dark' }, {
      onChange: ({ type, object }) => {
        if (type !== 'DELETED' && !seen.has(object.metadata.name!)) seen.set(object.metadata.name!, Date.now());
      },
    });
    await watch.synced;
    const latencies: number[] = [];
    const samples = Math.min(40, apps);
    for (let i = 0; i < samples; i++) {
      const name = `tenant-${i}`;
      const start = Date.now();
      await client.mergePatch({ apiVersion: API_VERSION, kind: 'AppCluster', namespace: ns, name }, { spec: { nodes: [{ name: 'frontend-0', traffic: 'dark' }] } });
      for (let k = 0; k < 600 && !seen.has(`${name}-frontend-0`); k++) await sleep(5);
      latencies.push((seen.get(`${name}-frontend-0`) ?? Date.now()) - start);
    }
    watch.stop();
    await op.stop();
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return [
      `${apps} AppClusters × 6 nodes (${apps * 6} Pods) on one local cluster with ${nodes} kwok nodes; the operator in the benchmark's process.`,
      '',
      '| measure | value |',
      '| --- | --- |',
      `| create ${apps} AppClusters (API calls) | ${(created / 1000).toFixed(1)} s |`,
      `| creation → all Ready | ${(allReady / 1000).toFixed(1)} s |`,
      `| CPU of the process until all Ready | ${cpuSeconds.toFixed(1)} s (${((cpuSeconds * 1000 / allReady) * 100).toFixed(0)} % of one core) |`,
      `| memory (RSS) when all Ready | ${rss.toFixed(0)} MiB |`,
      `| writes at steady state | ${steadyWrites} in ${steadyMs / 1000} s |`,
      `| per-node change (traffic dark) → Pod relabelled, p50 / p95 of ${samples} | ${pct(latencies, 50)} ms / ${pct(latencies, 95)} ms |`,
    ].join('\n');
  } finally {
    await fleet.stop();
  }
}
