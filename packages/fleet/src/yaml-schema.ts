// How Kubernetes reads a plain (unquoted) YAML scalar. kubectl, the API server and Helm parse YAML
// with sigs.k8s.io/yaml, which is go-yaml v2: YAML 1.1 booleans (y/n/yes/no/on/off), integers as Go's
// strconv.ParseInt with base 0 reads them (0755 octal, 0o/0x/0b prefixes, `_` ignored), no
// sexagesimal numbers and timestamps kept as strings. This file is the one definition of those rules:
// both parsers of yaml-source.ts and the emitter of serialize.ts take them from here.
import { FAILSAFE_SCHEMA, Type, type Schema } from 'js-yaml';
import type { ScalarTag, Tags } from 'yaml';

export type PlainValue = null | boolean | number | string;

const BOOLS: Record<string, boolean> = {};
for (const s of ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']) BOOLS[s] = true;
for (const s of ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']) BOOLS[s] = false;
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const SPECIAL_FLOATS: Record<string, number> = {};
for (const s of ['.nan', '.NaN', '.NAN']) SPECIAL_FLOATS[s] = NaN;
for (const s of ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']) SPECIAL_FLOATS[s] = Infinity;
for (const s of ['-.inf', '-.Inf', '-.INF']) SPECIAL_FLOATS[s] = -Infinity;

// Go's ParseInt(s, 0, 64) syntax once `_` are removed: sign, then a base prefix or a leading 0 for octal.
const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
// The float syntax go-yaml v2 requires before it calls ParseFloat (resolve.go, yamlStyleFloat).
const YAML_STYLE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
// Go's ParseFloat for scalars that start with "." (no sign, no base prefix, no `_`).
const DOT_FLOAT = /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/;
const TIMESTAMP_START = /^[0-9]{4}-/;

function goInt(plain: string): number {
  const neg = plain.startsWith('-');
  const body = plain.replace(/^[-+]/, '');
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (body.length > 1 && body.startsWith('0')) n = parseInt(body.slice(1), 8);
  else n = Number(body);
  return neg ? -n : n;
}

/** Go's int64/uint64 range: beyond it go-yaml falls through to the float syntax (or a string). */
const INT_LIMIT = 2 ** 64;

let lastIn: string | undefined;
let lastOut: PlainValue = null;

/** The value Kubernetes reads for a plain scalar: null, a boolean, a number or the string itself. */
export function resolvePlain(s: string): PlainValue {
  if (s === lastIn) return lastOut;
  lastIn = s;
  lastOut = resolveUncached(s);
  return lastOut;
}

function resolveUncached(s: string): PlainValue {
  const c = s.charCodeAt(0);
  const digit = c >= 48 && c <= 57;
  const sign = c === 43 || c === 45;
  if (s === '' || 'yYnNtTfFoO~'.includes(s[0]!)) {
    if (NULLS.has(s)) return null;
    const b = BOOLS[s];
    return b === undefined ? s : b;
  }
  if (c === 46 /* . */ || sign) {
    const f = SPECIAL_FLOATS[s];
    if (f !== undefined) return f;
  }
  if (c === 46) return DOT_FLOAT.test(s) && Number.isFinite(Number(s)) ? Number(s) : s;
  if (!digit && !sign) return s;
  // go-yaml reads "2024-01-01" as a timestamp, which a schemaless decode (kubectl, the API server) keeps as the string.
  if (TIMESTAMP_START.test(s)) return s;
  const plain = s.replace(/_/g, '');
  if (GO_INT.test(plain)) {
    const n = goInt(plain);
    if (Math.abs(n) < INT_LIMIT) return n;
  }
  if (YAML_STYLE_FLOAT.test(plain)) {
    const f = Number(plain);
    // ParseFloat fails on overflow (1e400), and go-yaml then keeps the string.
    if (Number.isFinite(f)) return f;
  }
  return s;
}

/** True when a plain scalar with this text would be read by Kubernetes as something other than the string. */
export function plainIsNotString(s: string): boolean {
  return typeof resolvePlain(s) !== 'string';
}

const kindOf = (s: string): string => {
  const v = resolvePlain(s);
  return v === null ? 'null' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v;
};

function jsYamlType(tag: string, accepts: (kind: string) => boolean): Type {
  return new Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    resolve: (data: unknown) => (data === null ? tag === 'null' : typeof data === 'string' && accepts(kindOf(data))),
    construct: (data: unknown) => (data === null ? null : resolvePlain(data as string)),
  });
}

/** The js-yaml schema reading scalars as Kubernetes does; `<<` merge keys work as in go-yaml v2. */
export const KUBE_JS_YAML_SCHEMA: Schema = FAILSAFE_SCHEMA.extend({
  implicit: [
    jsYamlType('null', (k) => k === 'null'),
    jsYamlType('bool', (k) => k === 'boolean'),
    jsYamlType('int', (k) => k === 'int'),
    // An explicit !!float accepts an integer, as go-yaml does.
    jsYamlType('float', (k) => k === 'float' || k === 'int'),
    new Type('tag:yaml.org,2002:merge', { kind: 'scalar', resolve: (d: unknown) => d === '<<' || d === null }),
  ],
  // Timestamps stay strings (go-yaml decodes them into interface{} as the original text).
  explicit: [new Type('tag:yaml.org,2002:timestamp', { kind: 'scalar', resolve: (d: unknown) => typeof d === 'string', construct: (d: unknown) => d })],
});

function yamlTag(tag: string, kind: string, identify: (v: unknown) => boolean): ScalarTag {
  return {
    tag: `tag:yaml.org,2002:${tag}`,
    default: true,
    identify,
    // The yaml package only calls `test.test(text)` on plain scalars; the rule is a function, not a pattern.
    test: { test: (s: string) => kindOf(s) === kind } as unknown as RegExp,
    resolve: (s: string) => resolvePlain(s),
  };
}

/** The same rules as tags for the `yaml` package (the parser that keeps positions). */
export function kubeYamlTags(defaults: Tags): Tags {
  const structural = defaults.filter((t) => typeof t === 'object' && ['tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq', 'tag:yaml.org,2002:str'].includes(t.tag));
  return [
    ...structural,
    yamlTag('null', 'null', (v) => v === null),
    yamlTag('bool', 'boolean', (v) => typeof v === 'boolean'),
    yamlTag('int', 'int', (v) => typeof v === 'number' && Number.isInteger(v)),
    yamlTag('float', 'float', (v) => typeof v === 'number'),
  ];
}
