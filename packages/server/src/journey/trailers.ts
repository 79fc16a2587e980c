/** The trailers Ringmaster writes into every manifest-repo commit; their names are part of the contract. */
export const TRAILERS = {
  release: 'Ringmaster-Release',
  sourceRevision: 'Ringmaster-Source-Revision',
  ring: 'Ringmaster-Ring',
  cluster: 'Ringmaster-Cluster',
} as const;

export interface ManifestTrailers {
  release?: string;
  sourceRevision?: string;
  ring?: string;
  cluster?: string;
  /** `deliver` or `rollback` (Ringmaster-Step, written by flighting): a rollback does not bring the change anywhere. */
  step?: string;
}

/** Reads Ringmaster trailers from a commit message (the last paragraph, `Key: value` lines). */
export function parseTrailers(message: string | undefined): ManifestTrailers {
  const out: ManifestTrailers = {};
  if (!message) return out;
  for (const line of message.split(/\r?\n/)) {
    const m = /^([A-Za-z-]+):\s*(\S.*?)\s*$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!;
    if (key === TRAILERS.release.toLowerCase()) out.release = value;
    else if (key === TRAILERS.sourceRevision.toLowerCase()) out.sourceRevision = value.toLowerCase();
    else if (key === TRAILERS.ring.toLowerCase()) out.ring = value;
    else if (key === TRAILERS.cluster.toLowerCase()) out.cluster = value;
    else if (key === 'ringmaster-step') out.step = value;
  }
  return out;
}

/** Formats trailers the way `git interpret-trailers` would, for writers of manifest commits. */
export function formatTrailers(t: Required<Omit<ManifestTrailers, 'step'>>): string {
  return [
    `${TRAILERS.release}: ${t.release}`,
    `${TRAILERS.sourceRevision}: ${t.sourceRevision}`,
    `${TRAILERS.ring}: ${t.ring}`,
    `${TRAILERS.cluster}: ${t.cluster}`,
  ].join('\n');
}
