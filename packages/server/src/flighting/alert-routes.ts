import type { FastifyInstance } from 'fastify';
import { alertmanagerPayload, type AlertmanagerAlert } from '@ringmaster/api';
import { NotFoundError } from '../errors.ts';
import { requireScopes, type Scope } from '../auth/roles.ts';
import { parseInput } from '../http/errors.ts';
import type { Flighting } from './routes.ts';
import { AlertStore, type AlertRecord } from './alert-store.ts';
import { FlightStore } from './store.ts';
import type { Step } from './steps.ts';

/** The largest Alertmanager delivery accepted (413 above it). */
export const ALERTMANAGER_BODY_LIMIT = 1024 * 1024;

/** The labels that name where an alert fires: the cluster, or a Ringmaster instance. */
export const CLUSTER_LABEL = 'cluster';
export const INSTANCE_LABELS = ['ringmaster_instance', 'instance'] as const;

const time = (s: string): number | null => {
  const t = Date.parse(s);
  // Alertmanager writes the zero time (year 1) for "no end yet"
  return Number.isNaN(t) || t <= 0 ? null : t;
};

/** The step of a release an alert names: by its `cluster` label, else by an instance label naming one of the step's instances. */
export function stepOfAlert(alert: Pick<AlertmanagerAlert, 'labels'>, steps: Step[]): { step: Step; instance: string | null } | undefined {
  const labels = new Map(Object.entries(alert.labels));
  const cluster = labels.get(CLUSTER_LABEL);
  for (const key of INSTANCE_LABELS) {
    const instance = labels.get(key);
    if (!instance) continue;
    const step = steps.find((s) => (cluster === undefined || s.cluster === cluster) && s.instances.some((i) => i.instance === instance));
    if (step) return { step, instance };
  }
  const step = cluster === undefined ? undefined : steps.find((s) => s.cluster === cluster);
  return step ? { step, instance: null } : undefined;
}

/**
 * POST /api/v1/webhooks/alertmanager (inside the token-authenticated scope): Alertmanager's webhook.
 * Each alert whose labels name a cluster (or instance) of an active release is recorded against that
 * release; the engine, woken at once, decides what it does (alerts.ts).
 */
export async function registerAlertRoutes(api: FastifyInstance, flighting: Flighting | undefined): Promise<void> {
  api.post('/webhooks/alertmanager', { config: { role: 'deployer' }, bodyLimit: ALERTMANAGER_BODY_LIMIT }, async (req) => {
    req.audit = { target: 'webhook/alertmanager' };
    const body = parseInput(alertmanagerPayload, req.body);
    if (!flighting) throw new NotFoundError('flighting is not configured on this server: start it with a fleet repo and a manifest repo (see docs/flighting.md)');
    const store = new FlightStore(flighting.ctx.storage);
    const records: AlertRecord[] = [];
    // what the alerts would act on: every app and ring of the steps they name (a token scoped to one app may not fail another's clusters)
    const touched: Scope[] = [];
    for (const id of await store.activeIds()) {
      const steps = await store.steps(id, 'deliver');
      for (const a of body.alerts) {
        const hit = stepOfAlert(a, steps);
        if (!hit) continue;
        if (a.status === 'firing') touched.push(...hit.step.instances.map((i) => ({ app: i.app, ring: hit.step.ring })));
        const summary = a.annotations.summary ?? a.annotations.description ?? null;
        records.push({
          releaseId: id, fingerprint: a.fingerprint, startsAt: time(a.startsAt) ?? 0, alert: a.labels.alertname!, summary: summary?.slice(0, 1000) ?? null,
          cluster: hit.step.cluster, instance: hit.instance, ring: hit.step.ring, status: a.status, labels: a.labels, endsAt: a.status === 'resolved' ? time(a.endsAt) : null,
        });
      }
    }
    requireScopes(req.principal!, 'deployer', touched);
    const alerts = new AlertStore(flighting.ctx.storage);
    // a resolution reaches every release the alert was recorded against, active or not
    const resolved = body.alerts.filter((a) => a.status === 'resolved');
    for (const f of await alerts.firings(resolved.map((a) => a.fingerprint))) {
      const a = resolved.find((x) => x.fingerprint === f.fingerprint && (time(x.startsAt) ?? 0) === Number(f.starts_at));
      if (!a || records.some((r) => r.releaseId === f.release_id && r.fingerprint === f.fingerprint)) continue;
      records.push({
        releaseId: f.release_id, fingerprint: f.fingerprint, startsAt: Number(f.starts_at), alert: a.labels.alertname!, summary: null, cluster: f.cluster, instance: f.instance,
        ring: f.ring, status: 'resolved', labels: a.labels, endsAt: time(a.endsAt),
      });
    }
    await alerts.record(records, flighting.ctx.now());
    const matched = records.map((r) => ({ release: r.releaseId, cluster: r.cluster, alert: r.alert, status: r.status }));
    req.audit = { target: 'webhook/alertmanager', details: { alerts: body.alerts.length, matched } };
    if (records.length) flighting.engine.wake();
    return { received: body.alerts.length, matched };
  });
}
