import type { ReleaseListItem } from '@ringmaster/api';

/** What concurrency holds a release for, in words: the releases a queued one waits for, or the one that superseded it ('' for none). */
export function concurrencyWords(rel: Pick<ReleaseListItem, 'state'> & Partial<Pick<ReleaseListItem, 'waitsFor' | 'supersededBy'>>): string {
  if (rel.state === 'queued') return rel.waitsFor?.length ? ` — waits for ${rel.waitsFor.join(', ')}` : ' — leaving the queue';
  if (rel.supersededBy) return rel.state === 'aborted' ? ` — superseded by ${rel.supersededBy}` : ` — stopping: superseded by ${rel.supersededBy}`;
  return '';
}
