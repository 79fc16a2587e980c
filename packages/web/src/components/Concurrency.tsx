import type { ReleaseListItem } from '@ringmaster/api';
import { linkProps } from '../navigation.ts';

type Facts = Pick<ReleaseListItem, 'state' | 'waitsFor' | 'supersededBy'>;

const ReleaseLink = ({ id }: { id: string }) => <a {...linkProps(`/releases/${encodeURIComponent(id)}`)}>{id}</a>;

function links(ids: string[]) {
  return ids.map((id, i) => <span key={id}>{i > 0 && ', '}<ReleaseLink id={id} /></span>);
}

/** What concurrency holds a release for: the releases a queued one waits for, or the newer release that superseded it; nothing otherwise. */
export function ConcurrencyNote({ rel }: { rel: Facts }) {
  if (rel.state === 'queued') {
    return <small className="concurrency" data-testid="waits-for">{rel.waitsFor.length ? <>queued behind {links(rel.waitsFor)}</> : 'leaving the queue'}</small>;
  }
  if (rel.supersededBy) {
    return <small className="concurrency" data-testid="superseded-by">{rel.state === 'aborted' ? 'superseded by ' : 'stopping, superseded by '}<ReleaseLink id={rel.supersededBy} /></small>;
  }
  return null;
}
