import type { SourceLocation } from './errors.ts';
import { ownTopLevel } from './objects.ts';

/** A `List` (or `SecretList`, `ConfigMapList`…) wrapping objects in `items`, as kubectl accepts it. */
function isList(o: unknown): o is { kind: string; items: unknown[] } {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return false;
  const { kind, items } = o as { kind?: unknown; items?: unknown };
  return typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items);
}

/**
 * Replaces every List by its items (recursively), as `kubectl apply` does: each item is applied,
 * patched, checked and written as an object of its own, so nothing can hide inside a List.
 */
export function unwrapLists<T extends { object: unknown; origin: SourceLocation }>(objects: T[]): T[] {
  const out: T[] = [];
  const add = (entry: T): void => {
    if (isList(entry.object)) for (const item of entry.object.items) add({ ...entry, object: ownTopLevel(item) });
    else out.push(entry);
  };
  for (const entry of objects) add(entry);
  return out;
}
