/**
 * A small hand-written SVG bar chart for bench results: one row per scenario, the gateway's
 * share of the floor (median ratio measured in the same run) as a bar, the target as a tick.
 */

export interface ChartRow {
  label: string;
  /** Gateway / floor, 0..n. */
  ratio: number;
  /** The aim, 0..1 (a tick on the row); null for a reference row (drawn grey). */
  target: number | null;
  /** Small print under the label (absolute figures). */
  detail: string;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChart(title: string, subtitle: string, rows: ChartRow[]): string {
  const left = 250;
  const width = 760;
  const barWidth = width - left - 60;
  const rowHeight = 46;
  const top = 64;
  const height = top + rows.length * rowHeight + 40;
  const x = (ratio: number) => left + Math.min(ratio, 1.2) * (barWidth / 1.2);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold">${escape(title)}</text>`,
    `<text x="16" y="44" fill="#555">${escape(subtitle)}</text>`,
  ];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${x(tick)}" y1="${top - 6}" x2="${x(tick)}" y2="${top + rows.length * rowHeight}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${x(tick)}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle" fill="#777">${Math.round(tick * 100)}%</text>`);
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const fill = row.target === null ? '#9a9a9a' : row.ratio >= row.target ? '#3a7d44' : '#c8553d';
    parts.push(`<text x="16" y="${y + 16}" font-weight="bold">${escape(row.label)}</text>`);
    parts.push(`<text x="16" y="${y + 32}" fill="#666" font-size="10">${escape(row.detail)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 6}" width="${Math.max(1, x(row.ratio) - left)}" height="22" fill="${fill}"/>`);
    parts.push(`<text x="${x(row.ratio) + 6}" y="${y + 22}">${Math.round(row.ratio * 100)}%</text>`);
    if (row.target !== null) {
      parts.push(`<line x1="${x(row.target)}" y1="${y + 2}" x2="${x(row.target)}" y2="${y + 32}" stroke="#222" stroke-width="2" stroke-dasharray="3,2"/>`);
    }
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
