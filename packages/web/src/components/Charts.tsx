/** A bar chart drawn as SVG: small, accessible (a label and a table for screen readers), no library. */
export function BarChart({ title, values, labels, format, color = '#1f5fbf' }: {
  title: string; values: Array<number | null>; labels: string[]; format: (v: number | null) => string; color?: string;
}) {
  const w = 360;
  const h = 140;
  const pad = { top: 12, bottom: 22, left: 4, right: 4 };
  const max = Math.max(1e-9, ...values.map((v) => v ?? 0));
  const bw = (w - pad.left - pad.right) / Math.max(1, values.length);
  const peak = values.reduce<number | null>((m, v) => (v !== null && (m === null || v > m) ? v : m), null);
  return (
    <figure className="chart">
      <figcaption>{title} <small>(peak {format(peak)})</small></figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${title}: ${values.map((v, i) => `${labels[i]} ${format(v)}`).join('; ')}`}>
        <line x1={pad.left} x2={w - pad.right} y1={h - pad.bottom} y2={h - pad.bottom} stroke="#5b6472" />
        {values.map((v, i) => {
          const bh = v === null ? 0 : ((h - pad.top - pad.bottom) * v) / max;
          return (
            <g key={i}>
              <rect x={pad.left + i * bw + 2} y={h - pad.bottom - bh} width={Math.max(1, bw - 4)} height={bh} fill={v === null ? 'none' : color}>
                <title>{`${labels[i]}: ${format(v)}`}</title>
              </rect>
              {(i === 0 || i === values.length - 1 || values.length <= 6) && (
                <text x={pad.left + i * bw + bw / 2} y={h - 6} fontSize="10" textAnchor="middle" fill="#2b3340">{labels[i]}</text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
