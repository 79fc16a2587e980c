import { afterAll, beforeAll } from 'vitest';
import { startLocalFleet, type LocalFleet, type LocalFleetOptions } from '../src/index.ts';

/** Starts one local fleet for the calling test file and stops it afterwards, even on failure. */
export function useLocalFleet(opts: LocalFleetOptions): () => LocalFleet {
  let fleet: LocalFleet | undefined;
  beforeAll(async () => {
    fleet = await startLocalFleet(opts);
  }, 600_000);
  afterAll(async () => {
    await fleet?.stop();
  }, 60_000);
  return () => {
    if (!fleet) throw new Error('the local fleet did not start');
    return fleet;
  };
}
