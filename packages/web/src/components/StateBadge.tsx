/** A state word as people read it: `waiting_for_approval` → "waiting for approval". */
export const label = (s: string) => s.replace(/_/g, ' ');

/** A state as a coloured badge; `classes` maps each state to its colour class (st-ok, st-failed…), others are grey. */
export function StateBadge({ state, classes }: { state: string; classes: Record<string, string> }) {
  return <span className={`state ${classes[state] ?? 'st-none'}`}>{label(state)}</span>;
}
