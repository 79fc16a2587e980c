import { useSession } from '../App.tsx';
import { when } from '../format.ts';

/**
 * Says that what a view shows may be out of date, and since when: the server stopped answering
 * (a reload failed) or the live stream is lost. The data itself stays on screen.
 */
export function Stale({ loadedAt, failedAt, error }: { loadedAt: string | null; failedAt: string | null; error?: Error }) {
  const { offlineSince } = useSession();
  const since = failedAt ?? offlineSince;
  if (!since) return null;
  const why = failedAt ? `the server has not answered since ${when(failedAt)}${error ? ` (${error.message})` : ''}` : `the live connection was lost at ${when(offlineSince)}`;
  return (
    <p className="stale" role="status" data-testid="stale">
      <strong>Stale:</strong> {why}; showing what it said{loadedAt ? <> at <time dateTime={loadedAt}>{when(loadedAt)}</time></> : ''}. Retrying…
    </p>
  );
}
