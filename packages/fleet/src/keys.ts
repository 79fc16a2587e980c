// Keys that user data (values, patches, image paths, event data, names) may never use as object keys:
// assigning them walks or replaces an object's prototype instead of adding a key.
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** True for a key that would reach an object's prototype when used as a plain property name. */
export function isUnsafeKey(key: string): boolean {
  return UNSAFE_KEYS.has(key);
}
