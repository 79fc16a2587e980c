import type { EventInput } from '../ingest/event-schema.ts';
import type { ReleaseAction } from './decide.ts';
import type { ReleaseSnapshot, Step } from './steps.ts';

/** An Alertmanager alert recorded against a release (release_alerts), as the engine decides on it. */
export interface ReleaseAlert {
  fingerprint: string;
  /** The alert's startsAt, epoch ms: with the fingerprint, it names one firing of the alert. */
  startsAt: number;
  alert: string;
  summary: string | null;
  cluster: string;
  instance: string | null;
  ring: string;
  status: 'firing' | 'resolved';
  /** What the engine did when it saw the alert firing; null until then. */
  action: AlertAction | null;
  /** False while the engine has not looked at the alert's current status. */
  acted: boolean;
  endsAt: number | null;
  receivedAt: number;
}

/** fail: the cluster's step failed; pause: the release paused; none: the cluster was not in flight. */
export type AlertAction = 'fail' | 'pause' | 'none';

/** What the engine did with one status of an alert (action only when it was firing). */
export interface AlertActed {
  fingerprint: string;
  startsAt: number;
  status: 'firing' | 'resolved';
  action?: AlertAction;
}

/**
 * Whether a cluster step is in flight for alerts: delivering, or delivered in a wave that has not
 * finished yet (still in progress or soaking) — an alert then is about what this release just did.
 */
export function inFlight(snap: ReleaseSnapshot, step: Step): boolean {
  if (snap.release.phase !== 'rollout') return false;
  if (step.state === 'in_progress') return true;
  if (step.state !== 'succeeded') return false;
  const wave = snap.waves.find((w) => w.ring === step.ring && w.wave === step.wave);
  return wave !== undefined && (wave.state === 'in_progress' || wave.state === 'soaking');
}

/** The reason a step fails (or a release pauses) for an alert: its name and summary. */
export const alertReason = (a: Pick<ReleaseAlert, 'alert' | 'summary'>): string => `alert ${a.alert} firing${a.summary ? `: ${a.summary}` : ''}`;

/**
 * The actions for the alerts of a release the engine has not looked at yet (none when there are
 * none): a firing alert that names a cluster in flight fails its step or pauses the release, by the
 * ring's `alerts.action` (default fail); every new status is a journey event and is marked as seen,
 * so each firing acts once. Pure: the alerts come in the snapshot.
 */
export function decideAlerts(snap: ReleaseSnapshot): ReleaseAction[] {
  const fresh = (snap.alerts ?? []).filter((a) => !a.acted);
  if (fresh.length === 0) return [];
  const rel = snap.release;
  const actions: ReleaseAction[] = [];
  const events: EventInput[] = [];
  const acted: AlertActed[] = [];
  let pausing = rel.paused;
  const failing = new Set<string>();
  for (const a of fresh) {
    const ack: AlertActed = { fingerprint: a.fingerprint, startsAt: a.startsAt, status: a.status };
    if (a.status === 'firing') {
      const step = snap.deliver.find((s) => s.cluster === a.cluster);
      const ring = snap.rings.find((r) => r.ring === a.ring);
      const policy = ring?.policy.alerts?.action ?? 'fail';
      let action: AlertAction = 'none';
      if (step && inFlight(snap, step)) {
        action = policy;
        if (policy === 'fail' && !failing.has(step.cluster)) {
          failing.add(step.cluster);
          actions.push({ kind: 'fail-step', step: 'deliver', cluster: step.cluster, reason: alertReason(a) });
        } else if (policy === 'pause' && !pausing) {
          pausing = true;
          actions.push({ kind: 'pause', reason: `paused by ${alertReason(a)} on ${a.cluster}` });
        }
      }
      ack.action = action;
    }
    acted.push(ack);
    events.push({
      kind: 'release', release: rel.id, commit: rel.revision, ring: a.ring, cluster: a.cluster, ...(a.instance ? { instance: a.instance } : {}), status: 'alert',
      idempotencyKey: `release:${rel.id}:alert:${a.fingerprint}:${a.startsAt}:${a.status}`,
      data: { alert: a.alert, state: a.status, fingerprint: a.fingerprint, ...(a.summary ? { summary: a.summary } : {}), ...(ack.action ? { action: ack.action } : {}) },
    });
  }
  // the journey first, then what the alert does, then the mark: a crash in between repeats idempotent work
  return [{ kind: 'emit', events }, ...actions, { kind: 'ack-alerts', alerts: acted }];
}
