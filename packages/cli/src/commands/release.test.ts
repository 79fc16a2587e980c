import { describe, expect, it } from 'vitest';
import { onlyWaiting } from './release.ts';

const waiting = (id: string, createdBy: string) => ({
  id, revision: 'a1b2c3d4e5f6a7b8', image: { app: 'appserver', image: `appserver:${id}` }, state: 'waiting_for_approval', paused: false,
  createdBy, createdAt: '2026-12-01T10:00:00.000Z', summary: { clusters: 3, apps: ['appserver'] },
});

describe('release approve without an id', () => {
  it('takes the only release waiting for approval', () => {
    expect(onlyWaiting([waiting('r1', 'ci')])).toBe('r1');
  });

  it('refuses to guess between several, listing each with what tells them apart', () => {
    expect(() => onlyWaiting([waiting('r1', 'ci'), waiting('r2', 'alice')])).toThrow([
      '2 releases are waiting for approval; name one (ringmaster release approve ID):',
      '  r1  a1b2c3d4e5f6  appserver=appserver:r1  created by ci at 2026-12-01T10:00:00.000Z',
      '  r2  a1b2c3d4e5f6  appserver=appserver:r2  created by alice at 2026-12-01T10:00:00.000Z',
    ].join('\n'));
  });
});
