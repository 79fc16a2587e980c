import { describe, expect, it } from 'vitest';
import { formatMessage, type NotifyMessage } from './format.ts';
import { covers, triggerOf } from './notifier.ts';

const msg: NotifyMessage = {
  event: 'halted', release: 'r1', ring: 'prod', state: 'halted', reason: '1 cluster(s) failed in ring prod', link: 'https://rm.example.net/releases/r1',
  revision: '0123456789abcdef', at: '2026-12-03T00:00:00.000Z',
};

describe('notifications out', () => {
  it('reads the engine events that stand for a notification', () => {
    expect(triggerOf({ kind: 'release', release: 'r1', status: 'succeeded' })).toEqual({ event: 'succeeded', release: 'r1', ring: null, reason: null });
    expect(triggerOf({ kind: 'release', release: 'r1', status: 'rolled_back' })?.event).toBe('rolled_back');
    expect(triggerOf({ kind: 'promotion.step', release: 'r1', ring: 'prod', status: 'waiting', data: { gate: 'approval' } })?.event).toBe('waiting_for_approval');
    expect(triggerOf({ kind: 'promotion.step', release: 'r1', ring: 'prod', status: 'failed', idempotencyKey: 'release:r1:ring:prod:halted', data: { reason: 'x' } }))
      .toEqual({ event: 'halted', release: 'r1', ring: 'prod', reason: 'x' });
    // a cluster's failure is not a halt
    expect(triggerOf({ kind: 'promotion.step', release: 'r1', ring: 'prod', cluster: 'p1', status: 'failed', idempotencyKey: 'release:r1:deliver:p1:failed' })).toBeUndefined();
    expect(triggerOf({ kind: 'release', release: 'r1', status: 'started' })).toBeUndefined();
  });

  it('covers an event by its events, rings and apps', () => {
    const rel = { summary: { instances: 1, clusters: 1, rings: { dev: 1, prod: 1 }, actions: { create: 0, update: 1, delete: 0 }, apps: ['appserver'], skipped: [] } };
    const n = { name: 'n', events: ['halted' as const], format: 'slack' as const, url: { env: 'X' } };
    expect(covers(n, { event: 'halted', release: 'r1', ring: 'prod', reason: null }, rel)).toBe(true);
    expect(covers(n, { event: 'succeeded', release: 'r1', ring: null, reason: null }, rel)).toBe(false);
    expect(covers({ ...n, rings: ['dev'] }, { event: 'halted', release: 'r1', ring: 'prod', reason: null }, rel)).toBe(false);
    expect(covers({ ...n, apps: ['edge'] }, { event: 'halted', release: 'r1', ring: 'prod', reason: null }, rel)).toBe(false);
  });

  it('writes Slack, Teams and generic messages, each with the release link', () => {
    const slack = formatMessage('slack', msg) as { text: string; blocks: unknown[] };
    expect(slack.text).toBe('Release r1 halted in ring prod: 1 cluster(s) failed in ring prod https://rm.example.net/releases/r1');
    expect(JSON.stringify(slack.blocks)).toContain('<https://rm.example.net/releases/r1|Open release r1>');
    const teams = formatMessage('teams', msg) as Record<string, any>;
    expect(teams['@type']).toBe('MessageCard');
    expect(teams.potentialAction[0].targets[0].uri).toBe(msg.link);
    expect(formatMessage('generic', msg)).toEqual({ event: 'halted', release: 'r1', ring: 'prod', state: 'halted', reason: msg.reason, link: msg.link, revision: msg.revision, at: msg.at });
  });
});
