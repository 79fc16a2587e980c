import type { ReleaseView, StepView } from '@ringmaster/api';
import { TERMINAL_STATES } from '@ringmaster/api';
import { table } from './output.ts';
import { formatMetricGates } from './metric-gates-view.ts';
import { concurrencyWords } from './concurrency-view.ts';

/** Release states after which nothing moves any more. */
export const FINISHED: ReadonlySet<string> = new Set(TERMINAL_STATES);

/** A halted release with autoRollback keeps going (its rollback starts); only then is nothing left to move. */
export const isFinished = (rel: Pick<ReleaseView, 'state' | 'finishedAt'>): boolean => FINISHED.has(rel.state) && rel.finishedAt !== null;

type Ring = ReleaseView['rings'][number];
type Wave = Ring['waves'][number];

/**
 * What a cluster step of the rollout really is, in words: a finished release has no "pending"
 * clusters (they were not reached), and "aborted" says whether anything had been written.
 */
export function clusterWord(step: Pick<StepView, 'state' | 'manifestCommit'>, finished: boolean): string {
  switch (step.state) {
    case 'in_progress': return 'in flight';
    case 'pending': return finished ? 'not reached' : 'pending';
    case 'rolled_back': return 'rolled back';
    case 'aborted': return step.manifestCommit ? 'stopped' : 'not reached';
    default: return step.state;
  }
}

/** The order counts are printed in; every cluster step falls in exactly one. */
const COUNT_ORDER = ['succeeded', 'failed', 'in flight', 'pending', 'halted', 'stopped', 'rolled back', 'not reached'];

/** Counts of the release's target clusters by what they really are; they add up to the targets. */
export function clusterCounts(rel: ReleaseView): { targets: number; counts: Array<[string, number]> } {
  const finished = isFinished(rel);
  const steps = rel.rings.flatMap((r) => r.waves.flatMap((w) => w.clusters));
  const by = new Map<string, number>();
  for (const s of steps) {
    const word = clusterWord(s, finished);
    by.set(word, (by.get(word) ?? 0) + 1);
  }
  const order = [...COUNT_ORDER, ...[...by.keys()].filter((k) => !COUNT_ORDER.includes(k)).sort()];
  return { targets: steps.length, counts: order.filter((k) => by.has(k)).map((k) => [k, by.get(k)!]) };
}

export function progressLine(rel: ReleaseView): string {
  const { targets, counts } = clusterCounts(rel);
  if (targets === 0) return 'progress: nothing to deliver';
  return `progress ${targets} cluster${targets === 1 ? '' : 's'}: ${counts.map(([k, n]) => `${n} ${k}`).join(', ')}`;
}

/** The state of the release in a few words, with its rollback and pause when there is one. */
export function releaseWords(rel: ReleaseView): string {
  const n = rel.rollback?.clusters.length ?? 0;
  const clusters = `${n} cluster${n === 1 ? '' : 's'}`;
  let words = rel.state + (rel.paused ? ' (paused)' : '') + concurrencyWords(rel);
  if (rel.phase === 'rollback') {
    if (rel.state === 'rolled_back') words += ` — ${clusters} rolled back to what they held before`;
    else if (rel.state === 'failed') words += ` — the rollback of ${clusters} failed`;
    else if (!isFinished(rel)) words += ` — rolling back ${clusters}`;
  }
  return words;
}

function ringWord(r: Ring, finished: boolean): string {
  return r.state === 'pending' && finished ? 'not reached' : r.state;
}

function waveWord(w: Wave, finished: boolean): string {
  return w.state === 'pending' && finished ? 'not reached' : w.state;
}

/** What a ring waits for, only while it can still wait: a finished release asks nobody for anything. */
function gateWord(r: Ring, finished: boolean): string {
  if (r.approval.approvedBy) return `approved by ${r.approval.approvedBy}`;
  if (finished) return '';
  if (r.gate?.kind === 'metrics') return 'metric gates measuring';
  if (r.gate?.kind === 'window') return r.gate.opensAt ? `window opens ${r.gate.opensAt}` : 'window (never opens again)';
  if (r.gate?.kind === 'freeze') return `freeze: ${r.gate.reason ?? ''}`;
  if (r.gate) return r.gate.kind === 'soak' ? `soak until ${r.gate.until!.slice(11, 19)}` : r.gate.kind;
  return r.approval.required && r.state === 'pending' ? 'needs approval' : '';
}

const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 12) : '-');
const ago = (iso: string | null) => (iso ? `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))}s ago` : '-');

/** The human view of a release: header, then one row per cluster step with its ring, wave and gate. */
export function formatRelease(rel: ReleaseView): string {
  const finished = isFinished(rel);
  const head = [
    `release ${rel.id}  ${releaseWords(rel)}`,
    `revision ${short(rel.revision)}${rel.image ? `  image ${rel.image.app}=${rel.image.image}` : ''}  created by ${rel.createdBy} ${ago(rel.createdAt)}`,
    progressLine(rel),
    ...(rel.reason ? [`reason: ${rel.reason}`] : []),
    ...(rel.overrides ?? []).map((o) => `override: passes the ${o.gate} (${o.actor}: ${o.reason})`),
    '',
  ];
  const rows: string[][] = [];
  for (const r of rel.rings) {
    const gate = gateWord(r, finished);
    if (r.waves.length === 0) rows.push([r.ring, ringWord(r, finished), gate, '-', '(nothing to deliver)', '', '', '', '']);
    for (const w of r.waves) {
      for (const c of w.clusters) {
        rows.push([r.ring, ringWord(r, finished), gate, `${w.wave + 1}${w.label ? ` ${w.label}` : ''} ${waveWord(w, finished)}`, c.cluster, c.mode, clusterWord(c, finished), short(c.manifestCommit), (c.reason ?? '').slice(0, 80)]);
      }
    }
  }
  const body = table(['RING', 'RING STATE', 'GATE', 'WAVE', 'CLUSTER', 'MODE', 'STATE', 'COMMIT', 'REASON'], rows);
  const rollback = rel.rollback
    ? '\n\nrollback (re-delivers what each cluster held before this release):\n'
      + table(['CLUSTER', 'STATE', 'COMMIT', 'REASON'], rel.rollback.clusters.map((c) => [c.cluster, clusterWord(c, finished), short(c.manifestCommit), (c.reason ?? '').slice(0, 80)]))
    : '';
  const alerts = rel.alerts?.length
    ? '\n\nalerts (Alertmanager):\n'
      + table(['ALERT', 'STATUS', 'RING', 'CLUSTER', 'ACTION', 'SINCE', 'SUMMARY'], rel.alerts.map((a) => [a.alert, a.status, a.ring, a.instance ? `${a.cluster}/${a.instance}` : a.cluster, a.action ?? '-', ago(a.startsAt), (a.summary ?? '').slice(0, 80)]))
    : '';
  // a blank line between the header and the table, and before the rollback
  return head.join('\n') + '\n' + body + formatMetricGates(rel) + rollback + alerts;
}

function ringLine(r: Ring, finished: boolean): string {
  const gate = gateWord(r, finished);
  return ringWord(r, finished) + (gate ? ` (${gate})` : '');
}

/**
 * What changed between two readings of a release, one line per change (ring, cluster, rollback
 * step, then the release itself and the counts); `release status --watch` prints these when its
 * output is not a terminal.
 */
export function releaseChanges(prev: ReleaseView, next: ReleaseView): string[] {
  const lines: string[] = [];
  const was = isFinished(prev);
  const now = isFinished(next);
  const a = releaseWords(prev);
  const b = releaseWords(next);
  for (const r of next.rings) {
    const before = prev.rings.find((p) => p.ring === r.ring);
    const x = before ? ringLine(before, was) : 'absent';
    const y = ringLine(r, now);
    if (x !== y) lines.push(`ring ${r.ring}: ${x} → ${y}`);
  }
  const steps = (rel: ReleaseView) => new Map(rel.rings.flatMap((r) => r.waves.flatMap((w) => w.clusters)).map((c) => [c.cluster, c]));
  const olds = steps(prev);
  for (const [name, c] of steps(next)) {
    const o = olds.get(name);
    const x = o ? clusterWord(o, was) : 'absent';
    const y = clusterWord(c, now);
    if (x !== y) lines.push(`cluster ${name} (${c.ring}): ${x} → ${y}${c.reason && c.reason !== o?.reason ? ` (${c.reason})` : ''}`);
  }
  const oldRollback = new Map((prev.rollback?.clusters ?? []).map((c) => [c.cluster, c]));
  for (const c of next.rollback?.clusters ?? []) {
    const o = oldRollback.get(c.cluster);
    const y = clusterWord(c, now);
    if (!o) lines.push(`rollback ${c.cluster}: ${y}`);
    else if (clusterWord(o, was) !== y) lines.push(`rollback ${c.cluster}: ${clusterWord(o, was)} → ${y}${c.reason && c.reason !== o.reason ? ` (${c.reason})` : ''}`);
  }
  // the release's own line comes after what made it change, then the counts
  if (a !== b) lines.push(`release ${next.id}: ${a} → ${b}${next.reason && next.reason !== prev.reason ? ` (${next.reason})` : ''}`);
  // the counts follow every change of a cluster or of the release itself (so the last lines of a log say how it ended)
  if (lines.length && (a !== b || progressLine(prev) !== progressLine(next))) lines.push(progressLine(next));
  return lines;
}
