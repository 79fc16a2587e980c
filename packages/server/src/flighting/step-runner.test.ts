import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActionTimeout, withTimeout } from './step-runner.ts';
import type { Step } from './steps.ts';

// The step runner's deadline on one cluster action, with a fake clock: the action is cancelled
// through its signal, and the timeout is reported only once the action has stopped.
const step = (phase: Step['phase']): Step => ({
  releaseId: 'r1', step: 'deliver', cluster: 'dev-1', ring: 'dev', wave: 0, position: 0, delivery: { mode: 'direct' }, state: 'in_progress', phase,
  instances: [], manifestCommit: null, reason: null, startedAt: 0, deadlineAt: null, finishedAt: null,
});

/** An action that runs until its signal aborts, then needs `cleanupMs` to stop (a git process being killed). */
function abortable(cleanupMs: number) {
  const seen: { signal?: AbortSignal; stoppedAt?: number } = {};
  const action = (signal: AbortSignal) => {
    seen.signal = signal;
    return new Promise<string>((_resolve, reject) => {
      signal.addEventListener('abort', () => setTimeout(() => {
        seen.stoppedAt = Date.now();
        reject(signal.reason as Error);
      }, cleanupMs));
    });
  };
  return { action, seen };
}

describe('withTimeout', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers what an action in time answers, and never aborts it', async () => {
    let signal: AbortSignal | undefined;
    const run = withTimeout(async (s) => {
      signal = s;
      await new Promise((resolve) => setTimeout(resolve, 900));
      return 'applied';
    }, 1000, step({ kind: 'write' }));
    await vi.advanceTimersByTimeAsync(900);
    await expect(run).resolves.toBe('applied');
    await vi.advanceTimersByTimeAsync(5000);
    expect(signal?.aborted).toBe(false);
  });

  it('aborts the action at its deadline and reports the timeout only once the action has stopped', async () => {
    const { action, seen } = abortable(300);
    const run = withTimeout(action, 1000, step({ kind: 'write' }));
    const outcome = run.then(() => 'resolved', (err: unknown) => ({ err, at: Date.now() }));
    await vi.advanceTimersByTimeAsync(999);
    expect(seen.signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen.signal?.aborted).toBe(true);
    expect(seen.signal?.reason).toBeInstanceOf(ActionTimeout);
    await vi.advanceTimersByTimeAsync(300);
    const result = await outcome;
    expect(result).not.toBe('resolved');
    const { err, at } = result as { err: Error; at: number };
    expect(err).toBeInstanceOf(ActionTimeout);
    expect(err.message).toBe('the manifest write for cluster dev-1 did not finish within 1s (phase write); it was cancelled');
    // reported after the action stopped, not at the deadline
    expect(at).toBe(1300);
    expect(seen.stoppedAt).toBe(1300);
  });

  it('names the cluster and phase when the cluster does not answer, and gives up waiting on an action that ignores its signal', async () => {
    const ignoring = () => new Promise<string>(() => undefined);
    const run = withTimeout(ignoring, 2000, step({ kind: 'stage', stage: 1, action: 'wait' }));
    const outcome = run.then(() => 'resolved', (err: unknown) => ({ err, at: Date.now() }));
    await vi.advanceTimersByTimeAsync(2000 + 5000);
    const { err, at } = (await outcome) as { err: Error; at: number };
    expect(err.message).toBe('cluster dev-1 did not answer within 2s (phase stage:1:wait); it was cancelled');
    // the grace period after the abort bounds how long the runner waits for the action to stop
    expect(at).toBe(7000);
  });
});
