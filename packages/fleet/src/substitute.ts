import { isPair, isSeq, Scalar, visit } from 'yaml';
import type { Document, LineCounter, Node, Pair } from 'yaml';
import { FleetValidationError } from './errors.ts';
import type { FleetIssue } from './errors.ts';
import type { Value, Values } from './types.ts';
import { isUnsafeKey, UNSAFE_KEYS } from './keys.ts';
import { cloneValue, getPath } from './merge.ts';
import { parseYamlFile } from './yaml-source.ts';

/*
 * Grammar, in a scalar value:
 *   ${path}            the value at a dotted path (`image.tag`, `ports.0.port`)
 *   ${path:=default}   the same, or `default` (a YAML scalar literal: 3, true, latest) when the path is unset
 *   $${                a literal `${`
 * A value that is null counts as unset: null is how a layer deletes a key.
 * Inserted values are never substituted again, so a value holding `${` cannot loop.
 *
 * Manifests also carry shell scripts (a CronJob's `pg_dump … ${PGDUMP_DIR}`). What is clearly
 * shell is left as it is, with a warning: a `${NAME…}` whose name is one upper-case word (the
 * environment-variable convention) that the values do not define, and the shell-only forms
 * `${#NAME}`, `${!NAME}`, `${NAME:-x}`, `${NAME%/}`… of such a name. Everything else that is not
 * a valid substitution stays an error, whose hint names `$${` for text meant for a shell.
 */

const PATH_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
/** An environment-variable name: one upper-case word. */
const SHELL_NAME_RE = /^[A-Z_][A-Z0-9_]*$/;
/** A shell parameter expansion of such a name (length, indirection, defaults, trimming, slicing, arrays) or a special parameter. */
const SHELL_FORM_RE = /^(?:[#!]?[A-Z_][A-Z0-9_]*(?:[:\-+=?#%/^,[@*].*)?|[@*?$!#-])$/s;

type Part = { lit: string } | { path: string; def?: Value; text: string; index: number; shell: boolean };

interface Problem {
  code: 'unknown-value' | 'bad-substitution' | 'shell-left-as-is';
  message: string;
  hint: string;
  index: number;
}

/** Text left for the shell: a warning, not an error. */
export const SHELL_WARNING = 'shell-left-as-is';

function shellProblem(text: string, index: number, why: string): Problem {
  return {
    code: SHELL_WARNING,
    message: `\`${text}\` is left as it is for the shell: ${why}`,
    hint: `write \`$$${text.slice(1)}\` to keep it for the shell without this warning (Ringmaster writes \`${text}\`)`,
    index,
  };
}

const defaultCache = new Map<string, Value>();

/** Defaults are YAML scalars so `${replicas:=3}` yields the number 3, like the same text in a manifest would. */
function parseDefault(raw: string): Value {
  const cached = defaultCache.get(raw);
  if (cached !== undefined) return cached;
  let v: Value = raw;
  if (raw.trim() !== '') {
    // Read as every fleet file is (Kubernetes' scalars: 0755 is 493, yes is true); text that is not one YAML value stays text.
    const { docs, issues } = parseYamlFile('a ${…:=default}', raw);
    const parsed: unknown = issues.length || docs.length > 1 ? raw : (docs[0]?.data ?? null);
    const flow = /^\s*[[{]/.test(raw);
    if (parsed === null || typeof parsed !== 'object' || flow) v = parsed as Value;
  }
  if (defaultCache.size < 10_000) defaultCache.set(raw, v);
  return v;
}

function tokenize(s: string, problems: Problem[]): Part[] {
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < s.length) {
    const at = s.indexOf('$', i);
    if (at < 0) {
      lit += s.slice(i);
      break;
    }
    lit += s.slice(i, at);
    if (s.startsWith('$${', at)) {
      lit += '${';
      i = at + 3;
      continue;
    }
    if (!s.startsWith('${', at)) {
      lit += '$';
      i = at + 1;
      continue;
    }
    // Balanced braces let a default hold a flow map: ${resources:={}}.
    let depth = 1;
    let end = at + 2;
    for (; end < s.length && depth > 0; end++) {
      if (s[end] === '{') depth++;
      else if (s[end] === '}') depth--;
    }
    if (depth > 0) {
      problems.push({
        code: 'bad-substitution',
        message: `unclosed substitution \`${s.slice(at, at + 40)}\``,
        hint: 'close it with `}`, or write `$${` for a literal `${`',
        index: at,
      });
      lit += s.slice(at);
      break;
    }
    const text = s.slice(at, end);
    const body = s.slice(at + 2, end - 1);
    const sep = body.indexOf(':=');
    const path = (sep < 0 ? body : body.slice(0, sep)).trim();
    if (!PATH_RE.test(path)) {
      if (SHELL_FORM_RE.test(body)) problems.push(shellProblem(text, at, 'it is a shell parameter expansion, not a Ringmaster substitution'));
      else problems.push(malformed(text, body, sep, at));
      lit += text;
      i = end;
      continue;
    }
    const unsafe = path.split('.').find(isUnsafeKey);
    if (unsafe !== undefined) {
      problems.push({ code: 'bad-substitution', message: `\`${text}\`: "${unsafe}" may not be used in a value path`, hint: `rename the value; "${[...UNSAFE_KEYS].join('", "')}" reach JavaScript object internals`, index: at });
      lit += text;
      i = end;
      continue;
    }
    if (lit !== '') parts.push({ lit });
    lit = '';
    const shell = SHELL_NAME_RE.test(path);
    parts.push(sep < 0 ? { path, text, index: at, shell } : { path, def: parseDefault(body.slice(sep + 2)), text, index: at, shell });
    i = end;
  }
  if (lit !== '') parts.push({ lit });
  return parts;
}

function malformed(text: string, body: string, sep: number, index: number): Problem {
  const colon = body.indexOf(':');
  const name = body.slice(0, colon).trim();
  return {
    code: 'bad-substitution',
    message: `malformed substitution \`${text}\``,
    hint:
      sep < 0 && colon >= 0 && PATH_RE.test(name)
        ? `a Ringmaster default is written \`\${${name}:=${body.slice(colon + 1).replace(/^[-=?+]/, '')}}\`; text meant for a shell is written \`$$${text.slice(1)}\``
        : `write \`\${path.to.value}\` (letters, digits, \`_\`, \`-\`, dots) or \`\${path:=default}\`; text meant for a shell is written \`$$${text.slice(1)}\``,
    index,
  };
}

// Templates repeat the same strings for every instance of an app: parse each once.
const tokenCache = new Map<string, { parts: Part[]; problems: Problem[] }>();

function tokenizeCached(s: string, problems: Problem[]): Part[] {
  let hit = tokenCache.get(s);
  if (hit === undefined) {
    const found: Problem[] = [];
    hit = { parts: tokenize(s, found), problems: found };
    if (tokenCache.size >= 50_000) tokenCache.clear();
    tokenCache.set(s, hit);
  }
  problems.push(...hit.problems);
  return hit.parts;
}

function stringify(v: Value): string {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

interface Resolved {
  /** Present when the whole string was one substitution: the value with its own type. */
  whole?: Value;
  text: string;
  changed: boolean;
}

function resolve(s: string, values: Values, problems: Problem[]): Resolved {
  if (!s.includes('${')) return { text: s, changed: false };
  const parts = tokenizeCached(s, problems);
  let kept = false;
  const lookup = (p: Exclude<Part, { lit: string }>): Value => {
    const v = getPath(values, p.path);
    if (v !== undefined && v !== null) return v;
    if (p.shell) {
      // An undefined upper-case name is an environment variable, even in the `:=` form the shell shares.
      problems.push(shellProblem(p.text, p.index, `no value \`${p.path}\` is defined and upper-case names are read as environment variables`));
      kept = true;
      return p.text;
    }
    if (p.def !== undefined) return p.def;
    problems.push({
      code: 'unknown-value',
      message: `\`${p.text}\`: no value at \`${p.path}\``,
      hint: `define \`${p.path}\` in the app's values (or a ring, region, cluster or instance layer) or give a default: \${${p.path}:=…}; text meant for a shell is written \`$$${p.text.slice(1)}\``,
      index: p.index,
    });
    return '';
  };
  const first = parts[0];
  if (parts.length === 1 && first !== undefined && 'path' in first) {
    const v = lookup(first);
    return kept ? { text: first.text, changed: true } : { whole: v, text: stringify(v), changed: true };
  }
  let text = '';
  for (const p of parts) text += 'lit' in p ? p.lit : stringify(lookup(p));
  return { text, changed: true };
}

/** A quoted (or `!!str`) scalar: a substitution in it always gives a string, whatever the value's type. */
export function isForcedString(node: Scalar): boolean {
  return node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE || node.tag === 'tag:yaml.org,2002:str';
}

/**
 * Substitutes `${path}` / `${path:=default}` in every scalar value of a parsed manifest, in place.
 * A plain scalar that is only one substitution takes the value's type (a map or list inserts the
 * structure); a quoted one (or `!!str`) always becomes a string, which is how a manifest asks for "8080".
 * Returns every problem found, located as file:line:column; text left for the shell comes back as
 * issues with `severity: 'warning'`.
 */
export function substituteDocument(doc: Document, values: Values, file: string, lineCounter: LineCounter): FleetIssue[] {
  const issues: FleetIssue[] = [];
  // Structure replacements wait until the walk ends: visit() would otherwise walk into inserted values.
  const replacements: { parent: Document | Node | Pair | undefined; key: number | 'value' | null; node: Node }[] = [];
  visit(doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const problems: Problem[] = [];
      const source = node.value;
      const r = resolve(source, values, problems);
      for (const p of problems) {
        issues.push({ code: p.code, message: p.message, hint: p.hint, location: locate(node, source, p.index, file, lineCounter), ...(p.code === SHELL_WARNING ? { severity: 'warning' as const } : {}) });
      }
      if (!r.changed) return;
      if (r.whole === undefined || isForcedString(node)) {
        node.value = r.text;
        return;
      }
      const v = r.whole;
      if (v !== null && typeof v === 'object') {
        replacements.push({ parent: path[path.length - 1], key, node: doc.createNode(v) as Node });
        return;
      }
      node.value = v;
      // A plain scalar with a block style or a tag from the template must not leak into the new type.
      if (typeof v !== 'string') {
        node.type = Scalar.PLAIN;
        delete node.tag;
      }
    },
  });
  for (const { parent, key, node } of replacements) {
    if (key === null) doc.contents = node;
    else if (key === 'value' && isPair(parent)) parent.value = node;
    else if (typeof key === 'number' && isSeq(parent)) parent.items[key] = node;
  }
  return issues;
}

/** Best column for a problem: exact for single-line scalars whose source is their value, else the scalar's start. */
function locate(node: Scalar, source: string, index: number, file: string, lc: LineCounter): FleetIssue['location'] {
  const start = node.range?.[0];
  if (start === undefined) return { file, line: 0, column: 0 };
  let offset = start;
  if (!source.includes('\n')) {
    if (node.type === Scalar.PLAIN) offset = start + index;
    else if (node.type === Scalar.QUOTE_SINGLE && !source.includes("'")) offset = start + 1 + index;
    else if (node.type === Scalar.QUOTE_DOUBLE && !/["\\]/.test(source)) offset = start + 1 + index;
  }
  const { line, col } = lc.linePos(offset);
  return { file, line, column: col };
}

/**
 * Substitutes `${…}` in every string of a plain data tree (Helm values, Kustomize inputs) and
 * returns a new tree. A string that is only one substitution takes the value's type.
 * Throws FleetValidationError listing every problem, each named by `where` and the key path; text
 * left for the shell is pushed to `warnings` (when given).
 */
export function substituteValue(value: unknown, values: Values, where: string, warnings?: FleetIssue[]): unknown {
  const issues: FleetIssue[] = [];
  const walk = (v: unknown, at: string): unknown => {
    if (typeof v === 'string') {
      const problems: Problem[] = [];
      const r = resolve(v, values, problems);
      for (const p of problems) {
        const issue: FleetIssue = { code: p.code, message: at ? `${at}: ${p.message}` : p.message, hint: p.hint };
        if (p.code === SHELL_WARNING) warnings?.push({ ...issue, severity: 'warning' });
        else issues.push(issue);
      }
      if (!r.changed) return v;
      return r.whole !== undefined ? cloneValue(r.whole) : r.text;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${at}[${i}]`));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const w = walk(x, at ? `${at}.${k}` : k);
        if (k === '__proto__') Object.defineProperty(out, k, { value: w, enumerable: true, writable: true, configurable: true });
        else out[k] = w;
      }
      return out;
    }
    return v;
  };
  const result = walk(value, where);
  if (issues.length > 0) throw new FleetValidationError(issues);
  return result;
}
