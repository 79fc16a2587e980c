import { isUnsafeKey } from '@ringmaster/fleet';

/** How deep an event's `data` may nest (the object itself is level 1); docs/api.md states it. */
export const MAX_DATA_DEPTH = 32;

export interface DataProblem {
  /** Path inside `data` of the offending key or container. */
  path: Array<string | number>;
  message: string;
}

/**
 * Checks free-form event data without recursion (a hostile body may nest thousands of levels):
 * no key that reaches a prototype (`__proto__`, `constructor`, `prototype`) and no deeper than
 * MAX_DATA_DEPTH. Storing, serialising and reading the data back then cannot overflow or pollute.
 */
export function checkEventData(data: unknown): DataProblem | undefined {
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value: data, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= MAX_DATA_DEPTH) return { path: [], message: `nests deeper than ${MAX_DATA_DEPTH} levels` };
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: [...path, i] }));
      continue;
    }
    for (const key of Object.keys(value)) {
      if (isUnsafeKey(key)) return { path: [...path, key], message: `"${key}" may not be used as a key` };
      stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return undefined;
}
