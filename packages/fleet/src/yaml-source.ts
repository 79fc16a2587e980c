import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { Document, isMap, isPair, isScalar, LineCounter, parseAllDocuments, type Node } from 'yaml';
import type { z } from 'zod';
import type { FleetIssue, SourceLocation } from './errors.ts';

/** One YAML document of a file, kept with what is needed to point at any of its nodes. */
export interface ParsedDocument {
  file: string;
  /** The document as plain data. */
  readonly data: unknown;
  /** The YAML tree with positions (fleet files parse it only when a problem must be located). */
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
  for (const doc of parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true })) {
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

/** Parses a (multi-document) YAML file with positions; syntax errors become issues with their position. */
export function parseYamlFile(file: string, text: string): { docs: ParsedDocument[]; issues: FleetIssue[] } {
  const full = parseFull(file, text);
  const docs = full.docs.map(({ doc, location }): ParsedDocument => {
    let data: unknown;
    let converted = false;
    return {
      file,
      doc,
      lineCounter: full.lineCounter,
      location,
      get data() {
        if (!converted) {
          data = doc.toJS({ maxAliasCount: 100 });
          converted = true;
        }
        return data;
      },
    };
  });
  return { docs, issues: full.issues };
}

/**
 * Parses a fleet file for loading: plain data first with a fast parser (loading a fleet parses
 * thousands of documents), the tree with positions only when an issue has to be located. YAML
 * 1.2 core schema on both paths; a syntax error takes the slow path, which locates it.
 */
export function parseFleetFile(file: string, text: string): { docs: ParsedDocument[]; issues: FleetIssue[] } {
  let values: unknown[];
  try {
    values = loadAll(text, undefined, { schema: CORE_SCHEMA, filename: file }).filter((v) => v !== null && v !== undefined);
  } catch {
    return parseYamlFile(file, text);
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
  return { docs, issues: [] };
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
