import type { Plan, PlanInstance } from './plan.ts';

const SIGN = { create: '+', update: '~', delete: '-' } as const;

function short(sha: string): string {
  return /^[0-9a-f]{40}$/.test(sha) ? sha.slice(0, 12) : sha;
}

function ringsLine(plan: Plan): string {
  const order = [...plan.ringOrder, ...Object.keys(plan.summary.rings).filter((r) => !plan.ringOrder.includes(r))];
  return order.filter((r) => plan.summary.rings[r]).map((r) => `${r}: ${plan.summary.rings[r]}`).join(', ');
}

function counts(i: PlanInstance): string {
  const c = { create: 0, update: 0, delete: 0 };
  for (const o of i.objects) c[o.action]++;
  return [c.create && `${c.create} to create`, c.update && `${c.update} to update`, c.delete && `${c.delete} to delete`].filter(Boolean).join(', ');
}

/** The plan for a terminal: summary, then each instance with its objects and diffs. */
export function formatPlanText(plan: Plan, opts: { color?: boolean; diffs?: boolean } = {}): string {
  const c = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lines: string[] = [];
  lines.push(`Plan ${short(plan.from)} → ${short(plan.to)}`);
  if (plan.instances.length === 0) {
    lines.push('No changes: every instance renders the same objects.');
    return lines.join('\n') + '\n';
  }
  const s = plan.summary;
  lines.push(
    `${s.instances} instance(s) on ${s.clusters} cluster(s) change — rings ${ringsLine(plan)}`,
    `objects: ${c('32', `${s.objects.create} to create`)}, ${c('33', `${s.objects.update} to update`)}, ${c('31', `${s.objects.delete} to delete`)}`,
    '',
  );
  for (const i of plan.instances) {
    lines.push(c('1', `${SIGN[i.action]} ${i.instance}`) + `  app=${i.app} cluster=${i.cluster} ring=${i.ring}  (${counts(i)})`);
    if (i.imagesAdded.length) lines.push(`    new images: ${i.imagesAdded.join(', ')}`);
    for (const o of i.objects) {
      lines.push(`    ${SIGN[o.action]} ${o.kind} ${o.namespace ? o.namespace + '/' : ''}${o.name}`);
      for (const f of o.fields ?? []) lines.push(`      ${f}`);
      if (opts.diffs !== false) {
        for (const d of o.diff.split('\n')) {
          if (!d) continue;
          const colored = d.startsWith('+') && !d.startsWith('+++') ? c('32', d) : d.startsWith('-') && !d.startsWith('---') ? c('31', d) : d.startsWith('@@') ? c('36', d) : d;
          lines.push('        ' + colored);
        }
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** GitHub's limit for a comment body; longer plans are cut with a note. */
const COMMENT_LIMIT = 65_000;

/** The plan as a pull-request comment: summary table by ring, then collapsible diffs per instance. */
export function formatPlanMarkdown(plan: Plan): string {
  const out: string[] = [];
  out.push(`### Ringmaster plan \`${short(plan.from)}\` → \`${short(plan.to)}\``, '');
  if (plan.instances.length === 0) {
    out.push('**No changes.** Every instance renders the same objects.');
    return out.join('\n') + '\n';
  }
  const s = plan.summary;
  out.push(
    `**${s.instances}** instance(s) on **${s.clusters}** cluster(s) change: ` +
      `**${s.objects.create}** object(s) to create, **${s.objects.update}** to update, **${s.objects.delete}** to delete.`,
    '',
    '| ring | instances | clusters |',
    '| --- | ---: | ---: |',
  );
  const order = [...plan.ringOrder, ...Object.keys(s.rings).filter((r) => !plan.ringOrder.includes(r))];
  for (const r of order) {
    if (!s.rings[r]) continue;
    const clusters = new Set(plan.instances.filter((i) => i.ring === r).map((i) => i.cluster)).size;
    out.push(`| ${r} | ${s.rings[r]} | ${clusters} |`);
  }
  out.push('');
  const body: string[] = [];
  for (const i of plan.instances) {
    body.push(`<details><summary><code>${SIGN[i.action]} ${i.instance}</code> — ${i.app} on ${i.cluster} (${i.ring}): ${counts(i)}</summary>`, '');
    if (i.imagesAdded.length) body.push(`New images: ${i.imagesAdded.map((x) => '`' + x + '`').join(', ')}`, '');
    body.push('```diff');
    for (const o of i.objects) body.push(o.diff.trimEnd());
    body.push('```', '', '</details>', '');
  }
  let text = out.join('\n') + '\n' + body.join('\n');
  if (text.length > COMMENT_LIMIT) {
    text = text.slice(0, COMMENT_LIMIT - 200).replace(/\n[^\n]*$/, '') + '\n```\n\n</details>\n\n_The plan is too long for one comment; run `ringmaster plan` locally for the full diff._\n';
  }
  return text;
}
