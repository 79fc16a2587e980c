import { describe, expect, it } from 'vitest';
import type { Fleet } from '@ringmaster/fleet';
import { openStorage, recordEvents } from '../src/index.ts';
import { clusterRegions, recordFleetClusters } from '../src/journey/clusters.ts';
import { BACKENDS, useBackends } from './helpers/harness.ts';

const backends = useBackends();
const fleet = (clusters: Array<{ name: string; ring: string; region: string; labels?: Record<string, string> }>) =>
  ({ clusters: new Map(clusters.map((c) => [c.name, c])) }) as unknown as Pick<Fleet, 'clusters'>;

describe.each(BACKENDS)('clusters\' regions on %s', (backend) => {
  it('come from the fleet model\'s cluster definitions; events name them only for clusters the fleet does not declare', async () => {
    const storage = await openStorage(await backends.options(backend));
    try {
      const health = (cluster: string, region: string) => ({ kind: 'health' as const, cluster, instance: 'web', status: 'Healthy' as const, source: 'api' as const, data: { region } });
      await recordEvents(storage, [health('c1', 'from-event'), health('c2', 'eu-west')], { settings: { rings: [] } });
      expect(await clusterRegions(storage.db)).toEqual(new Map([['c1', 'from-event'], ['c2', 'eu-west']]));
      await recordFleetClusters(storage.db, fleet([{ name: 'c1', ring: 'dev', region: 'us-east', labels: { tier: 'a' } }, { name: 'c3', ring: 'prod', region: 'ap-south' }]), Date.now());
      // an event does not override what the fleet declares; it moves what only events named
      await recordEvents(storage, [health('c1', 'stale'), health('c2', 'eu-north')], { settings: { rings: [] } });
      expect(await clusterRegions(storage.db)).toEqual(new Map([['c1', 'us-east'], ['c2', 'eu-north'], ['c3', 'ap-south']]));
    } finally {
      await storage.close();
    }
  });
});
