/** What GET /api/v1/stream announces: the kinds of events recorded and the changes, clusters and releases they moved. */
export interface LiveUpdate {
  kinds: string[];
  changes: string[];
  clusters: string[];
  releases: string[];
  at: string;
}
