import { useQuery } from '@tanstack/react-query';
import type { FreezeStatus } from '@ringmaster/api';
import { api } from '../api.ts';

/** The organisation-wide freeze, on every page while it is in force: every release holds at its next boundary. */
export function FreezeBanner() {
  const { data } = useQuery({ queryKey: ['freeze'], queryFn: ({ signal }) => api<FreezeStatus>('/freeze', { signal }), refetchInterval: 15_000 });
  if (!data?.active || !data.freeze) return null;
  const f = data.freeze;
  return (
    <p className="freeze-banner" role="status" data-testid="freeze-banner">
      <strong>Releases are frozen</strong> since {new Date(f.startedAt).toLocaleString()} by {f.startedBy}: {f.reason}.
      {' '}No ring, wave or cluster starts until the freeze ends (<code>ringmaster freeze end</code>); steps in flight finish.
    </p>
  );
}
