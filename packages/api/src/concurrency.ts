import { z } from 'zod';

/** What a release shows of concurrent releases: the releases a queued one waits for, and the one that superseded it. */
export const releaseConcurrency = {
  waitsFor: z.array(z.string()).describe('queued: the earlier active releases changing an app this one changes, oldest first; it starts when none is left'),
  supersededBy: z.string().nullable().describe('the newer release that stopped (or is stopping) this one at a clean boundary (overlap policy supersede)'),
};
