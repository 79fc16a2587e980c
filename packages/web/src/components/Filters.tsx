import { useQuery } from '@tanstack/react-query';
import { api, type Facets } from '../api.ts';
import { keys } from '../keys.ts';
import { RANGES } from '../format.ts';

/** Filter choices change rarely: fetched once per page load (a failed fetch is tried again on the next view). */
export function useFacets(): Facets | null {
  const { data } = useQuery({ queryKey: keys.facets(), queryFn: () => api<Facets>('/dashboard/facets'), staleTime: Infinity, gcTime: Infinity });
  return data ?? null;
}

export type FilterName = 'app' | 'team' | 'ring' | 'region' | 'cluster' | 'author' | 'branch' | 'status' | 'health' | 'since' | 'from' | 'to';

const LABELS: Record<FilterName, string> = {
  app: 'App', team: 'Team', ring: 'Ring', region: 'Region', cluster: 'Cluster', author: 'Author', branch: 'Branch',
  status: 'Status', health: 'Health', since: 'Time range', from: 'From day', to: 'To day',
};
// Days picked on a calendar; they take precedence over the relative time range.
const DAYS: FilterName[] = ['from', 'to'];
const FIXED: Partial<Record<FilterName, string[]>> = {
  status: ['in_progress', 'succeeded', 'failed', 'not_adopted'],
  health: ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'],
  since: Object.keys(RANGES),
};
// Lists that may be long are typed with suggestions instead of a select.
const TYPED: FilterName[] = ['cluster', 'author', 'branch'];

/** The filter bar: every value is read from and written to the URL by the caller. */
export function Filters({ names, params, set, defaults = {} }: {
  names: FilterName[]; params: URLSearchParams; set: (patch: Record<string, string | null>) => void;
  /** What an empty choice means on this view, when not "any". */
  defaults?: Partial<Record<FilterName, string>>;
}) {
  const facets = useFacets();
  const options = (n: FilterName): string[] => {
    if (FIXED[n]) return FIXED[n];
    if (!facets) return [];
    const map: Partial<Record<FilterName, string[]>> = {
      app: facets.apps, team: facets.teams, ring: facets.rings, region: facets.regions, cluster: facets.clusters,
      author: facets.authors, branch: facets.branches,
    };
    return map[n] ?? [];
  };
  const active = names.filter((n) => params.get(n));
  return (
    <form className="filters" role="search" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      {names.map((n) => {
        const value = params.get(n) ?? '';
        const id = `filter-${n}`;
        return (
          <label key={n} htmlFor={id}>
            <span>{LABELS[n]}</span>
            {DAYS.includes(n) ? (
              <input id={id} name={n} type="date" value={value} onChange={(e) => set({ [n]: e.target.value || null, ...(e.target.value ? { since: null } : {}) })} />
            ) : TYPED.includes(n) ? (
              <>
                <input id={id} name={n} list={`${id}-list`} defaultValue={value} key={value} placeholder="any"
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') set({ [n]: (e.target as HTMLInputElement).value.trim() || null });
                  }}
                  onBlur={(e) => {
                    if (e.target.value.trim() !== value) set({ [n]: e.target.value.trim() || null });
                  }} />
                <datalist id={`${id}-list`}>{options(n).slice(0, 300).map((o) => <option key={o} value={o} />)}</datalist>
              </>
            ) : (
              <select id={id} name={n} value={value} onChange={(e) => set({ [n]: e.target.value || null })}>
                <option value="">{defaults[n] ? `${defaults[n]} (default)` : n === 'since' ? 'all time' : 'any'}</option>
                {value && !options(n).includes(value) && <option value={value}>{value}</option>}
                {options(n).map((o) => <option key={o} value={o}>{o.replace(/_/g, ' ')}</option>)}
              </select>
            )}
          </label>
        );
      })}
      {active.length > 0 && (
        <button type="button" className="link" onClick={() => set(Object.fromEntries(active.map((n) => [n, null])))}>Clear filters</button>
      )}
    </form>
  );
}
