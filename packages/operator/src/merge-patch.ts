const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`: changed keys carry their new value,
 * removed keys are null (a plain `{status: to}` merge would leave removed keys in place).
 */
export function mergePatchFor(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const k of Object.keys(from)) if (!(k in to) || to[k] === undefined) patch[k] = null;
  for (const [k, v] of Object.entries(to)) if (v !== undefined) patch[k] = mergePatchFor(from[k], v);
  return patch;
}
