import { rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { FleetRepo, type ClusterDef, type RingDef } from '../flighting/fixture.ts';

// A fleet for the requests tests: the app `shop`, one AppCluster per tenant (run by the operator
// process of the shared fleet's dev-1), a data volume, a DNS record pointing at its frontends, and
// placement on on-premises clusters only.

export const REQUEST_RINGS: RingDef[] = [{ name: 'dev', policy: '{ approval: auto, soak: 1s, maxFailures: 0, autoRollback: false, progressDeadline: 10m }' }];
export const REQUEST_CLUSTERS: ClusterDef[] = [
  { name: 'dev-1', ring: 'dev', mode: 'direct', labels: { provider: 'onprem' } },
  { name: 'canary-2', ring: 'dev', mode: 'direct', labels: { provider: 'aws' } },
];

const APP = `apiVersion: ringmaster.dev/v1alpha1
kind: App
name: shop
team: storefront
source: { type: manifests, path: manifests }
namespace: \${ringmaster.instance.name}
placement:
  clusterLabels: { provider: onprem }
  maxInstancesPerCluster: 4
dns:
  - service: shop-frontend
values:
  image: registry.local/shop:2.1
  backend:
    memory: 1Gi
  frontend:
    replicas: 2
  cacheFrom: none
`;

const APPCLUSTER = `apiVersion: ringmaster.dev/v1alpha1
kind: AppCluster
metadata:
  name: shop
spec:
  cache:
    builder: synchronizer
    stopBuilderWhenReady: true
  roles:
    - name: synchronizer
      replicas: 1
      image: \${image}
      env:
        - { name: CACHE_FROM, value: "\${cacheFrom}" }
    - name: backend
      replicas: 1
      image: \${image}
      resources:
        limits:
          memory: \${backend.memory}
    - name: frontend
      replicas: \${frontend.replicas}
      image: \${image}
      ports:
        - { name: http, port: 8080 }
      readiness: { port: 8080, path: /ready }
`;

const VOLUME = `# The tenant's data: kept when the tenant is decommissioned, unless the request says otherwise.
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: shop-data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
`;

/** The fleet repo of a requests test: one seed instance on dev-1 whose values name `dependsOn`. */
export function requestFleet(prefix: string, dependsOn: string): FleetRepo {
  const repo = new FleetRepo(prefix, REQUEST_RINGS, REQUEST_CLUSTERS);
  repo.write('apps/shop/app.yaml', APP);
  repo.write('apps/shop/manifests/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ringmaster.instance.namespace}\n');
  repo.write('apps/shop/manifests/appcluster.yaml', APPCLUSTER);
  repo.write('apps/shop/manifests/data.yaml', VOLUME);
  repo.write('instances/all.yaml', seedInstance(prefix, dependsOn));
  // the flighting fixture's own app is not part of these tests
  rmSync(join(repo.dir, 'apps', 'appserver'), { recursive: true, force: true });
  return repo;
}

export function seedInstance(prefix: string, cacheFrom: string): string {
  return `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: ${prefix}-seed\napp: shop\ncluster: dev-1\nvalues:\n  frontend: { replicas: 1 }\n  cacheFrom: ${cacheFrom}\n`;
}

/** A ticketing system's endpoint on loopback: records every call, answers 503 to the first `failFirst` of them. */
export interface TicketReceiver {
  url: string;
  calls: Array<{ headers: IncomingHttpHeaders; body: Record<string, unknown>; status: number }>;
  failFirst: number;
  close(): Promise<void>;
}

export async function startTicketReceiver(): Promise<TicketReceiver> {
  const r: TicketReceiver = { url: '', calls: [], failFirst: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = r.calls.length < r.failFirst ? 503 : 200;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        // recorded as an empty body
      }
      r.calls.push({ headers: req.headers, body, status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { ticket: body.ticket ?? 'CHG-NEW', ok: true } : { error: 'busy' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  r.url = `http://127.0.0.1:${addr.port}/tickets`;
  r.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return r;
}
