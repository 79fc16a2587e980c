import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineCounter, parseDocument } from 'yaml';
import { FleetValidationError } from './errors.ts';
import type { FleetIssue } from './errors.ts';
import { substituteDocument, substituteValue } from './substitute.ts';
import type { Values } from './types.ts';

const values: Values = {
  name: 'web',
  replicas: 3,
  debug: false,
  image: { repo: 'ghcr.io/acme/web', tag: 'v1.2' },
  resources: { limits: { cpu: '500m' } },
  args: ['--a', '--b'],
  port: 8080,
  nothing: null,
};

function sub(text: string, v: Values = values): { out: unknown; issues: FleetIssue[]; doc: ReturnType<typeof parseDocument> } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const issues = substituteDocument(doc, v, 'apps/web/deploy.yaml', lineCounter);
  return { out: doc.toJS(), issues, doc };
}

describe('substituteDocument', () => {
  it('keeps the value type when a plain scalar is only one substitution', () => {
    const { out, issues } = sub('replicas: ${replicas}\ndebug: ${debug}\nres: ${resources}\nargs: ${args}\nname: ${name}\n');
    expect(issues).toEqual([]);
    expect(out).toEqual({ replicas: 3, debug: false, res: { limits: { cpu: '500m' } }, args: ['--a', '--b'], name: 'web' });
  });

  it('stringifies values inside a longer string, maps and lists as compact JSON', () => {
    const { out } = sub('image: ${image.repo}:${image.tag}\nmsg: n=${replicas} r=${resources} a=${args}\n');
    expect(out).toEqual({ image: 'ghcr.io/acme/web:v1.2', msg: 'n=3 r={"limits":{"cpu":"500m"}} a=["--a","--b"]' });
  });

  it('makes a quoted or !!str scalar a string, so env values can be "8080"', () => {
    const { out } = sub('a: "${port}"\nb: \'${debug}\'\nc: !!str ${replicas}\n');
    expect(out).toEqual({ a: '8080', b: 'false', c: '3' });
  });

  it('applies defaults parsed as YAML scalars when the value is unset or null', () => {
    const { out, issues } = sub('a: ${missing:=3}\nb: ${missing:=true}\nc: ${missing:=latest}\nd: x-${missing:=7}\ne: ${nothing:=gone}\nf: ${missing:=}\ng: ${missing:={}}\nh: ${replicas:=9}\n');
    expect(issues).toEqual([]);
    expect(out).toEqual({ a: 3, b: true, c: 'latest', d: 'x-7', e: 'gone', f: '', g: {}, h: 3 });
  });

  it('indexes lists with numeric segments', () => {
    expect(sub('first: ${args.0}\n').out).toEqual({ first: '--a' });
  });

  it('treats $${ as a literal ${ and leaves a lone $ alone', () => {
    const { out, issues } = sub('cmd: echo $${HOME} costs $5 ${name}\n');
    expect(issues).toEqual([]);
    expect(out).toEqual({ cmd: 'echo ${HOME} costs $5 web' });
  });

  it('reports an unknown value with file:line:column and a hint', () => {
    const { issues } = sub('kind: Deployment\nspec:\n  image: repo:${image.digest}\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'unknown-value', location: { file: 'apps/web/deploy.yaml', line: 3, column: 15 } });
    expect(issues[0]?.hint).toContain('${image.digest:=');
  });

  it('reports malformed substitutions', () => {
    const { issues } = sub('a: ${unclosed\nb: ${bad path}\nc: ${x:-3}\nd: ${}\n');
    expect(issues.map((i) => i.code)).toEqual(['bad-substitution', 'bad-substitution', 'bad-substitution', 'bad-substitution']);
    expect(issues[0]?.location).toMatchObject({ line: 1, column: 4 });
    expect(issues[2]?.hint).toContain('${x:=3}');
  });

  it('leaves shell variables of a CronJob script as they are, with a warning that names $${', () => {
    const script = [
      'kind: CronJob',
      'spec:',
      '  command:',
      '    - /bin/sh',
      '    - -c',
      '    - |',
      '      mkdir -p "${PGDUMP_DIR}"',
      '      export PGPASSWORD="${PGPASSWORD:-changeme}"',
      '      pg_dump -h ${PGHOST:=db} -f "${PGDUMP_DIR%/}/${name}-$(date +%F).sql" && echo ${#PGDUMP_DIR}',
      '',
    ].join('\n');
    const { out, issues } = sub(script);
    expect(issues.every((i) => i.severity === 'warning' && i.code === 'shell-left-as-is')).toBe(true);
    expect(issues).toHaveLength(5);
    const text = (out as { spec: { command: string[] } }).spec.command[2]!;
    expect(text).toContain('mkdir -p "${PGDUMP_DIR}"');
    expect(text).toContain('"${PGPASSWORD:-changeme}"');
    expect(text).toContain('-h ${PGHOST:=db} -f "${PGDUMP_DIR%/}/web-$(date +%F).sql" && echo ${#PGDUMP_DIR}');
    for (const i of issues) {
      expect(i.hint).toMatch(/write `\$\$\{/);
      expect(i.hint).not.toMatch(/define|default is written/);
    }
  });

  it('substitutes an upper-case name the values define, and says `$${` in the hints of other errors', () => {
    expect(sub('a: ${LOG_LEVEL}\n', { LOG_LEVEL: 'debug' }).out).toEqual({ a: 'debug' });
    const { issues } = sub('a: ${backup_dir}\nb: ${dir:-/tmp}\n');
    expect(issues.map((i) => i.code)).toEqual(['unknown-value', 'bad-substitution']);
    expect(issues[0]?.hint).toContain('`$${backup_dir}`');
    expect(issues[1]?.hint).toContain('`${dir:=/tmp}`');
    expect(issues[1]?.hint).toContain('`$${dir:-/tmp}`');
  });

  it('refuses prototype keys in a value path with a precise error', () => {
    const { issues } = sub('a: ${__proto__.polluted}\nb: ${image.constructor.name}\nc: ${prototype}\n');
    expect(issues.map((i) => [i.code, i.location?.line])).toEqual([
      ['bad-substitution', 1],
      ['bad-substitution', 2],
      ['bad-substitution', 3],
    ]);
    expect(issues[1]?.message).toContain('"constructor" may not be used in a value path');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('substitutes inside sequences, flow collections and multi-document positions, never in keys', () => {
    const { out } = sub('${name}: ${name}\nlist:\n  - ${replicas}\n  - ${resources}\nflow: ["${name}", {k: "${port}"}]\n');
    expect(out).toEqual({ '${name}': 'web', list: [3, { limits: { cpu: '500m' } }], flow: ['web', { k: '8080' }] });
  });

  it('replaces the root of a document made of one substitution', () => {
    expect(sub('${resources}\n').out).toEqual({ limits: { cpu: '500m' } });
  });

  it('never substitutes again inside an inserted value', () => {
    const { out, issues } = sub('a: ${tpl}\nb: ${tpl.x}\n', { tpl: { x: '${name}' } });
    expect(issues).toEqual([]);
    expect(out).toEqual({ a: { x: '${name}' }, b: '${name}' });
  });

  it('serializes back to YAML with the new types', () => {
    const { doc } = sub('replicas: ${replicas}\ntag: ${image.tag}\nres: ${resources}\n');
    expect(doc.toString()).toBe('replicas: 3\ntag: v1.2\nres:\n  limits:\n    cpu: 500m\n');
  });

  it('property: a document without ${ is unchanged', () => {
    const safe = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('${'));
    fc.assert(
      fc.property(safe, (v) => {
        const text = JSON.stringify(v);
        const { out, issues, doc } = sub(text);
        expect(issues).toEqual([]);
        expect(out).toEqual(parseDocument(text).toJS());
        expect(doc.toString()).toBe(parseDocument(text).toString());
      }),
    );
  });

  it('property: whole-scalar substitution preserves type', () => {
    const leaf = fc.oneof(fc.integer(), fc.boolean(), fc.string().filter((s) => !s.includes('${')), fc.double({ noNaN: true, noDefaultInfinity: true }));
    const val = fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }).filter((k) => k !== '__proto__'), leaf, { maxKeys: 3 }));
    fc.assert(
      fc.property(val, (v) => {
        const { out, issues } = sub('x: ${v}\n', { v });
        expect(issues).toEqual([]);
        expect(out).toEqual({ x: v });
        expect(substituteValue({ x: '${v}' }, { v }, 'values')).toEqual({ x: v });
      }),
    );
  });
});

describe('substituteValue', () => {
  it('returns a new tree with typed and stringified substitutions', () => {
    const input = { replicaCount: '${replicas}', image: { tag: '${image.tag}', ref: '${image.repo}:${image.tag}' }, list: ['${port}'] };
    const before = structuredClone(input);
    expect(substituteValue(input, values, 'helm values')).toEqual({ replicaCount: 3, image: { tag: 'v1.2', ref: 'ghcr.io/acme/web:v1.2' }, list: [8080] });
    expect(input).toEqual(before);
  });

  it('reads a default as Kubernetes reads a plain scalar: ${mode:=0755} is 493, ${on:=yes} is true', () => {
    expect(substituteValue({ mode: '${nothing:=0755}', flag: '${nothing:=yes}', text: '${nothing:="0755"}', list: '${nothing:=[0644, off]}' }, values, 'x')).toEqual({ mode: 493, flag: true, text: '0755', list: [420, false] });
  });

  it('inserts a copy, not the values object itself', () => {
    const out = substituteValue({ r: '${resources}' }, values, 'x') as { r: unknown };
    expect(out.r).toEqual(values.resources);
    expect(out.r).not.toBe(values.resources);
  });

  it('throws FleetValidationError listing every problem with where it is', () => {
    let err: unknown;
    try {
      substituteValue({ a: '${nope}', b: ['${bad path}'] }, values, 'apps/web helm values');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FleetValidationError);
    const issues = (err as FleetValidationError).issues;
    expect(issues.map((i) => i.code)).toEqual(['unknown-value', 'bad-substitution']);
    expect(issues[0]?.message).toContain('apps/web helm values.a');
    expect(issues[1]?.message).toContain('apps/web helm values.b[0]');
  });
});
