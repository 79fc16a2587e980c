import { setTimeout as sleep } from 'node:timers/promises';
import { isStatus, type KubeClient, type KubeObject } from '@ringmaster/kube';
import { errorMessage, silentLogger, type Logger } from './log.ts';

/** Options of leader election on a coordination.k8s.io Lease. */
export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** Seconds a holder's claim lasts without renewal (default 15). */
  leaseDurationSeconds?: number;
  /** Milliseconds between renewals / attempts (default 2 s). */
  retryPeriodMs?: number;
  /** Milliseconds after the last successful renewal at which the holder stops acting (default 10 s, below the lease duration). */
  renewDeadlineMs?: number;
  logger?: Logger;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

// MicroTime: RFC 3339 with microseconds
const microNow = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * One attempt to acquire or renew the Lease (a compare-and-swap on its resourceVersion, so two
 * candidates can never both win the same term). True when `identity` holds it afterwards.
 */
export async function tryAcquireLease(client: KubeClient, o: LeaderElectionOptions, now = Date.now()): Promise<boolean> {
  const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: o.namespace, name: o.name };
  const duration = o.leaseDurationSeconds ?? 15;
  const lease = await client.get(ref);
  if (!lease) {
    try {
      await client.create({ ...ref, metadata: { name: o.name, namespace: o.namespace }, spec: { holderIdentity: o.identity, leaseDurationSeconds: duration, acquireTime: microNow(), renewTime: microNow(), leaseTransitions: 0 } } as KubeObject, { fieldManager: 'ringmaster-operator' });
      return true;
    } catch (err) {
      if (isStatus(err, 409)) return false;
      throw err;
    }
  }
  const spec = (lease.spec ?? {}) as LeaseSpec;
  const renewed = Date.parse(spec.renewTime ?? '') || 0;
  const expired = renewed + (spec.leaseDurationSeconds ?? duration) * 1000 < now;
  const mine = spec.holderIdentity === o.identity;
  if (!mine && !expired && spec.holderIdentity) return false;
  const next: LeaseSpec = mine
    ? { ...spec, renewTime: microNow(), leaseDurationSeconds: duration }
    : { holderIdentity: o.identity, leaseDurationSeconds: duration, acquireTime: microNow(), renewTime: microNow(), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
  try {
    await client.update({ ...lease, spec: next }, { fieldManager: 'ringmaster-operator' });
    return true;
  } catch (err) {
    if (isStatus(err, 409)) return false;
    throw err;
  }
}

/** Gives the Lease up (on a clean shutdown) so a standby takes over at once instead of after the lease duration. */
export async function releaseLease(client: KubeClient, o: LeaderElectionOptions): Promise<void> {
  const lease = await client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: o.namespace, name: o.name });
  const spec = (lease?.spec ?? {}) as LeaseSpec;
  if (!lease || spec.holderIdentity !== o.identity) return;
  try {
    await client.update({ ...lease, spec: { ...spec, holderIdentity: undefined, renewTime: undefined, acquireTime: undefined } }, { fieldManager: 'ringmaster-operator' });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
}

/**
 * Runs `lead` while this process holds the Lease: waits to acquire it, calls `lead(signal)`, renews
 * every retry period, and aborts `signal` once a renewal has not succeeded within the renew deadline
 * (before the lease duration lets another candidate in). Loops until `stop` is aborted.
 */
export async function runWithLeaderElection(client: KubeClient, o: LeaderElectionOptions, lead: (signal: AbortSignal) => Promise<void>, stop: AbortSignal): Promise<void> {
  const log = o.logger ?? silentLogger;
  const retry = o.retryPeriodMs ?? 2_000;
  const deadline = o.renewDeadlineMs ?? 10_000;
  while (!stop.aborted) {
    let held = false;
    try {
      held = await tryAcquireLease(client, o);
    } catch (err) {
      log.warn('lease attempt failed', { lease: `${o.namespace}/${o.name}`, error: errorMessage(err) });
    }
    if (!held) {
      await sleep(retry, undefined, { signal: stop }).catch(() => undefined);
      continue;
    }
    log.info('acquired the lease; leading', { lease: `${o.namespace}/${o.name}`, identity: o.identity });
    const term = new AbortController();
    const onStop = () => term.abort();
    stop.addEventListener('abort', onStop, { once: true });
    const leading = lead(term.signal).catch((err: unknown) => {
      log.error('the leader stopped with an error', { error: errorMessage(err) });
      term.abort();
    });
    let lastRenew = Date.now();
    while (!term.signal.aborted) {
      await sleep(retry, undefined, { signal: term.signal }).catch(() => undefined);
      if (term.signal.aborted) break;
      try {
        if (await tryAcquireLease(client, o)) lastRenew = Date.now();
        else {
          log.warn('lost the lease to another candidate', { lease: `${o.namespace}/${o.name}` });
          term.abort();
        }
      } catch (err) {
        log.warn('lease renewal failed', { error: errorMessage(err) });
      }
      if (Date.now() - lastRenew > deadline) {
        log.warn('no renewal within the deadline; stepping down', { deadlineMs: deadline });
        term.abort();
      }
    }
    stop.removeEventListener('abort', onStop);
    await leading;
    if (stop.aborted) await releaseLease(client, o).catch(() => undefined);
  }
}
