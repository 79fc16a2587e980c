import { loadAll, type LoadOptions } from 'js-yaml';
import { Document, isMap, isPair, isScalar, LineCounter, parseAllDocuments, type Node } from 'yaml';
import type { z } from 'zod';
import type { FleetIssue, SourceLocation } from './errors.ts';
import { isUnsafeKey } from './keys.ts';
import { KUBE_JS_YAML_SCHEMA, kubeYamlTags } from './yaml-schema.ts';

const MiB = 1024 * 1024;

/**
 * The limits on every YAML text Ringmaster reads (fleet files, manifests, values, Helm and Kustomize
 * output). A document can be no bigger than the Kubernetes API server accepts in one request, and
 * aliases cannot make it bigger than that (an "alias bomb" is refused before anything expands it).
 */
export const YAML_LIMITS = {
  /** Characters in one file or one renderer output. */
  maxFileChars: 64 * MiB,
  /** Characters in one document (`---` to `---`): the API server's request limit (3 MiB). */
  maxDocumentChars: 3 * MiB,
  /** Size of one document with every alias expanded (one per node plus the characters of keys and strings). */
  maxExpandedSize: 3 * MiB,
  /** Nesting of maps and lists, aliases included. */
  maxDepth: 200,
  /** Keys copied by `<<` merge keys in one file. */
  maxMergeKeys: 10_000,
} as const;

/** One YAML document of a file, kept with what is needed to point at any of its nodes. */
export interface ParsedDocument {
  file: string;
  /** The document as plain data. */
  readonly data: unknown;
  /** The YAML tree with positions (parsed only when a problem must be located, or a manifest compiled). */
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
  /** Where the document starts. */
  readonly location: SourceLocation;
}

interface FullParse {
  docs: { doc: Document.Parsed; location: SourceLocation }[];
  lineCounter: LineCounter;
  issues: FleetIssue[];
}

/** Parses with positions; documents that are empty or null are dropped (they hold nothing to load). */
function parseFull(file: string, text: string): FullParse {
  const lineCounter = new LineCounter();
  const docs: FullParse['docs'] = [];
  const issues: FleetIssue[] = [];
  const options = { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true, customTags: kubeYamlTags };
  for (const doc of parseAllDocuments(text, options)) {
    if (!(doc instanceof Document)) continue;
    for (const err of doc.errors) {
      const pos = lineCounter.linePos(err.pos[0]);
      issues.push({
        code: 'yaml-syntax',
        message: `invalid YAML: ${err.message.split('\n')[0]}`,
        hint: 'fix the YAML syntax (indentation, quotes, a missing ":")',
        location: { file, line: pos.line, column: pos.col },
      });
    }
    if (doc.errors.length > 0) continue;
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    const pos = lineCounter.linePos(doc.contents.range?.[0] ?? 0);
    docs.push({ doc, location: { file, line: pos.line, column: pos.col } });
  }
  return { docs, lineCounter, issues };
}

const limitIssue = (file: string, line: number, column: number, message: string, hint: string): FleetIssue => ({
  code: 'yaml-limit',
  message,
  hint: `${hint}; see "Limits" in docs/fleet-format.md`,
  location: { file, line, column },
});

/** Refuses a text (or one of its documents) that is too big, before any parsing. */
function checkSize(file: string, text: string): FleetIssue | undefined {
  if (text.length > YAML_LIMITS.maxFileChars) {
    return limitIssue(file, 1, 1, `file is ${mib(text.length)}, more than the ${mib(YAML_LIMITS.maxFileChars)} Ringmaster reads`, 'split it or remove what it does not need');
  }
  // A line starting with "---" or "..." always ends a document, so the text between two such lines bounds one.
  const marker = /^(?:---|\.\.\.)(?=[\s]|$)/gm;
  let start = 0;
  for (let m = marker.exec(text); ; m = marker.exec(text)) {
    const end = m ? m.index : text.length;
    if (end - start > YAML_LIMITS.maxDocumentChars) {
      const line = text.slice(0, start).split('\n').length;
      return limitIssue(file, line, 1, `document is ${mib(end - start)}, more than the ${mib(YAML_LIMITS.maxDocumentChars)} a Kubernetes API server accepts`, 'split it into smaller documents or files');
    }
    if (!m) return undefined;
    start = m.index;
  }
}

function mib(chars: number): string {
  return `${(chars / MiB).toFixed(chars < MiB ? 2 : 1)} MiB`;
}

interface DataProblem {
  path: (string | number)[];
  key?: string;
  message: string;
  hint: string;
  code: string;
}

/**
 * Walks a parsed document once: its size with aliases expanded, its nesting and its keys. Parsers
 * share an aliased node instead of copying it, so sizes are memoised per node and a nine-level
 * alias chain costs nine steps here, not a billion.
 */
function checkData(root: unknown, mayShare: boolean): DataProblem | undefined {
  const memo = mayShare ? new Map<object, { size: number; height: number }>() : undefined;
  const path: (string | number)[] = [];
  let problem: DataProblem | undefined;
  const tooDeep = (): undefined => {
    problem = { code: 'yaml-limit', path: [...path], message: `nesting is deeper than ${YAML_LIMITS.maxDepth} levels (aliases expanded)`, hint: 'flatten the structure or use fewer aliases' };
    return undefined;
  };
  const tooBig = (): undefined => {
    problem = {
      code: 'yaml-limit',
      path: [...path],
      message: `the document expands to more than ${mib(YAML_LIMITS.maxExpandedSize)} once its aliases are expanded (an alias bomb?)`,
      hint: 'write the data out instead of repeating aliases of aliases',
    };
    return undefined;
  };
  const walk = (v: unknown, depth: number): { size: number; height: number } | undefined => {
    if (v === null || typeof v !== 'object') return { size: 1 + (typeof v === 'string' ? v.length : 0), height: 0 };
    const seen = memo?.get(v);
    if (seen) return depth + seen.height > YAML_LIMITS.maxDepth ? tooDeep() : seen;
    if (depth > YAML_LIMITS.maxDepth) return tooDeep();
    let size = 1;
    let height = 0;
    const add = (child: unknown, seg: string | number, keyChars: number): boolean => {
      path.push(seg);
      const r = walk(child, depth + 1);
      if (r) {
        size += keyChars + r.size;
        height = Math.max(height, r.height + 1);
        if (size > YAML_LIMITS.maxExpandedSize) tooBig();
      }
      if (!problem) path.pop();
      return problem === undefined;
    };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (!add(v[i], i, 0)) return undefined;
    } else {
      for (const k of Object.keys(v)) {
        if (isUnsafeKey(k)) {
          problem = {
            code: 'unsafe-key',
            path: [...path],
            key: k,
            message: `the key "${k}" is not allowed in YAML Ringmaster reads (it names a JavaScript object's prototype)`,
            hint: 'rename the key; __proto__, constructor and prototype are refused anywhere in fleet files, manifests and renderer output',
          };
          return undefined;
        }
        if (!add((v as Record<string, unknown>)[k], k, k.length)) return undefined;
      }
    }
    const r = { size, height };
    memo?.set(v, r);
    return r;
  };
  walk(root, 1);
  return problem;
}

const LOAD_OPTIONS = { schema: KUBE_JS_YAML_SCHEMA, maxDepth: YAML_LIMITS.maxDepth, maxTotalMergeKeys: YAML_LIMITS.maxMergeKeys } as LoadOptions;

/**
 * Parses a (multi-document) YAML file — a fleet file, a manifest, a renderer's output — as
 * Kubernetes reads YAML (see yaml-schema.ts), within YAML_LIMITS. Plain data comes from a fast
 * parser; the tree with positions is parsed only when something has to be located (or a manifest
 * compiled). Every problem is an issue at file:line:column, and a file with one yields no documents.
 */
export function parseYamlFile(file: string, text: string): { docs: ParsedDocument[]; issues: FleetIssue[] } {
  const tooBig = checkSize(file, text);
  if (tooBig) return { docs: [], issues: [tooBig] };
  let values: unknown[];
  try {
    values = loadAll(text, undefined, { ...LOAD_OPTIONS, filename: file }).filter((v) => v !== null && v !== undefined);
  } catch (e) {
    return { docs: [], issues: [loadIssue(file, text, e)] };
  }
  let full: FullParse | undefined;
  const positioned = (i: number) => {
    full ??= parseFull(file, text);
    const d = full.docs[i];
    if (!d) throw new Error(`internal: document ${i} of ${file} not found when locating an issue`);
    return { doc: d.doc, location: d.location, lineCounter: full.lineCounter };
  };
  const docs = values.map(
    (data, i): ParsedDocument => ({
      file,
      data,
      get doc() {
        return positioned(i).doc;
      },
      get lineCounter() {
        return positioned(i).lineCounter;
      },
      get location() {
        return positioned(i).location;
      },
    }),
  );
  const mayShare = text.includes('*');
  const issues: FleetIssue[] = [];
  for (const pd of docs) {
    const p = checkData(pd.data, mayShare);
    if (p) issues.push({ code: p.code, message: p.message, hint: p.hint, location: locate(pd, p.path, p.key) });
  }
  return issues.length ? { docs: [], issues } : { docs, issues: [] };
}

/** A syntax error is located by the positioned parser, whose messages are clearer; a limit by the fast one. */
function loadIssue(file: string, text: string, e: unknown): FleetIssue {
  const err = e as { reason?: string; message?: string; mark?: { line: number; column: number } };
  const reason = err.reason ?? String(err.message);
  const line = (err.mark?.line ?? 0) + 1;
  const column = (err.mark?.column ?? 0) + 1;
  if (/exceeded max/.test(reason)) {
    const what = /merge/.test(reason) ? `more than ${YAML_LIMITS.maxMergeKeys} keys copied by "<<" merge keys` : `nesting deeper than ${YAML_LIMITS.maxDepth} levels`;
    return limitIssue(file, line, column, `YAML with ${what}`, 'simplify the structure');
  }
  const syntax = parseFull(file, text).issues[0];
  return syntax ?? { code: 'yaml-syntax', message: `invalid YAML: ${reason}`, hint: 'fix the YAML syntax (indentation, quotes, a missing ":")', location: { file, line, column } };
}

/** The position of the node at `path` (or of the nearest existing parent) inside a document. */
export function locate(pd: ParsedDocument, path: readonly PropertyKey[], keyOf?: string): SourceLocation {
  let node: unknown = pd.doc.contents;
  let best: Node | null = (pd.doc.contents as Node | null) ?? null;
  for (const seg of path) {
    if (!node || typeof node !== 'object' || !('items' in (node as object))) break;
    const next = (node as { get(k: unknown, keepScalar: boolean): unknown }).get(typeof seg === 'number' ? seg : String(seg), true);
    if (next === undefined) break;
    node = next;
    if (node && typeof node === 'object' && 'range' in (node as object)) best = node as Node;
  }
  if (keyOf && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === keyOf);
    if (pair && isScalar(pair.key) && pair.key.range) return at(pd, pair.key.range[0]);
  }
  // For a map value, point at its key rather than at the value's first child.
  return at(pd, best?.range?.[0] ?? 0);
}

function at(pd: ParsedDocument, offset: number): SourceLocation {
  const p = pd.lineCounter.linePos(offset);
  return { file: pd.file, line: p.line, column: p.col };
}

/** Validates a document against a schema; every schema problem becomes an issue at its node. */
const checked = new WeakMap<ParsedDocument, { value?: unknown; issues: FleetIssue[] }>();

export function checkSchema<T extends z.ZodType>(pd: ParsedDocument, schema: T, what: string): { value?: z.infer<T>; issues: FleetIssue[] } {
  // A document is checked against one schema (its kind's); parsed documents are shared between loads.
  let r = checked.get(pd);
  if (!r) {
    r = checkSchemaUncached(pd, schema, what);
    checked.set(pd, r);
  }
  return r as { value?: z.infer<T>; issues: FleetIssue[] };
}

function checkSchemaUncached<T extends z.ZodType>(pd: ParsedDocument, schema: T, what: string): { value?: z.infer<T>; issues: FleetIssue[] } {
  const data = pd.data;
  const result = schema.safeParse(data);
  if (result.success) return { value: result.data, issues: [] };
  const issues: FleetIssue[] = [];
  for (const iss of result.error.issues) {
    const path = iss.path as PropertyKey[];
    const dotted = path.map(String).join('.') || '(document)';
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) {
        issues.push({
          code: 'unknown-field',
          message: `unknown field "${[...path.map(String), k].join('.')}" in ${what}`,
          hint: `remove it or check its spelling; see docs/fleet-format.md or schemas/${what.toLowerCase()}.schema.json`,
          location: locate(pd, path, k),
        });
      }
      continue;
    }
    const missing = iss.code === 'invalid_type' && getAt(data, path) === undefined;
    issues.push({
      code: missing ? 'missing-field' : 'invalid-field',
      message: missing ? `${what} is missing required field "${dotted}"` : `${what} field "${dotted}": ${iss.message}`,
      hint: hintFor(iss),
      location: missing ? locate(pd, path.slice(0, -1)) : locate(pd, path),
    });
  }
  return { issues };
}

function getAt(data: unknown, path: PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg as string];
  }
  return cur;
}

function hintFor(iss: z.core.$ZodIssue): string | undefined {
  if (iss.code === 'invalid_value' && 'values' in iss) return `use one of: ${(iss.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (iss.code === 'invalid_type' && 'expected' in iss) return `expected a ${String(iss.expected)}`;
  return undefined;
}
