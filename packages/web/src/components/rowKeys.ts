import type { KeyboardEvent } from 'react';

/** Moves focus between rows with the arrow keys; Enter opens the row. */
export function rowKeys(open: () => void) {
  return (e: KeyboardEvent<HTMLElement>) => {
    const row = e.currentTarget;
    if (e.target !== row) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      open();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      // skip rows that are not focusable (group headers in the fleet)
      let next = (e.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling) as HTMLElement | null;
      while (next && next.tabIndex < 0) next = (e.key === 'ArrowDown' ? next.nextElementSibling : next.previousElementSibling) as HTMLElement | null;
      next?.focus();
    }
  };
}
