import { desiredNodes, podName, serviceName } from './nodes.ts';
import { planSteps } from './operations.ts';
import type { AppCluster, NodeOperation } from './types.ts';

/** One change an operation would make, for `--dry-run`. */
export interface PreviewChange {
  step: string;
  /** The object that changes, e.g. `AppCluster tenants/shop` or `Pod tenants/shop-frontend-2`. */
  object: string;
  field?: string;
  from?: string;
  to?: string;
  effect: string;
}

/** What an operation would do to an AppCluster right now (pure): its steps and every object and field they change. */
export function previewOperation(op: NodeOperation, app: AppCluster): { steps: string[]; changes: PreviewChange[] } {
  const steps = planSteps(op, app);
  const ns = app.metadata.namespace;
  const name = app.metadata.name!;
  const appObj = `AppCluster ${ns}/${name}`;
  const node = op.spec.node ? desiredNodes(app).find((n) => n.name === op.spec.node) : undefined;
  const pod = node ? `Pod ${ns}/${podName(name, node.name)}` : '';
  const svc = node && app.spec.roles[node.roleIndex]?.ports?.length ? `Service ${ns}/${serviceName(name, node.role)}` : undefined;
  const changes: PreviewChange[] = [];
  let traffic = node?.traffic;
  for (const step of steps) {
    const field = `spec.nodes[${node?.name}]`;
    switch (step) {
      case 'dark':
      case 'serve': {
        const to = step === 'dark' ? 'dark' : 'serving';
        changes.push({ step, object: appObj, field: `${field}.traffic`, from: traffic, to, effect: `${pod} relabelled ringmaster.dev/traffic=${to}${svc ? `; ${svc} ${step === 'dark' ? 'drops it from' : 'adds it to'} its EndpointSlices` : ''} (no restart)` });
        traffic = to;
        break;
      }
      case 'upgrade':
        changes.push({ step, object: appObj, field: `${field}.image`, from: node?.image, to: op.spec.image, effect: `${pod} replaced by one running ${op.spec.image}` });
        break;
      case 'stop':
        changes.push({ step, object: appObj, field: `${field}.state`, from: node?.state, to: 'down', effect: `${pod} deleted` });
        break;
      case 'start':
        changes.push({ step, object: appObj, field: `${field}.state`, from: node?.state, to: 'up', effect: `${pod} created` });
        break;
      case 'restart':
        changes.push({ step, object: pod, effect: `${pod} deleted and created again (same spec)` });
        break;
      case 'build': {
        const b = app.status?.cache?.build ?? 0;
        const builder = desiredNodes(app).filter((n) => n.isBuilder).map((n) => `Pod ${ns}/${podName(name, n.name)}`).join(', ');
        changes.push({ step, object: appObj, field: 'status.cache.build', from: String(b), to: String(b + 1), effect: `${builder} run build ${b + 1}${app.spec.cache?.stopBuilderWhenReady ? ' and stop once it is Ready' : ''}` });
        break;
      }
      case 'distribute':
      case 'publish': {
        const others = desiredNodes(app).filter((n) => !n.isBuilder && n.state === 'up').map((n) => n.name);
        const to = step === 'publish' ? `the cache version of AppCluster ${op.spec.source?.appCluster}` : `${name}.${(app.status?.cache?.build ?? 0) + 1}`;
        changes.push({ step, object: `ConfigMap ${ns}/${name}-cache`, field: 'data.version', from: app.status?.cache?.version, to, effect: `nodes ${others.join(', ')} carry it (annotation ringmaster.dev/cache-version, no restart)` });
        break;
      }
      case 'copy':
        changes.push({ step, object: `Job ${ns}/${name}-copy-<uid>`, effect: `created: copies the cache of AppCluster ${op.spec.source?.appCluster}` });
        break;
    }
  }
  return { steps, changes };
}
