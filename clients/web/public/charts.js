// Bar charts drawn as SVG by our own code: grouped bars (open and overdue) per place.
import { s } from './dom.js';

/**
 * @param {{ label: string, values: number[] }[]} rows
 * @param {{ series: string[], classes: string[], title?: string }} opts
 */
export function barChart(rows, opts) {
  const width = 320;
  const rowH = 18 * opts.series.length + 14;
  const labelW = 112;
  const height = Math.max(1, rows.length) * rowH + 24;
  const max = Math.max(1, ...rows.flatMap((r) => r.values));
  const scale = (width - labelW - 36) / max;
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'chart',
    role: 'img',
    'aria-label': opts.title || '',
  });
  rows.forEach((row, i) => {
    const y0 = i * rowH + 6;
    svg.append(s('text', { x: 0, y: y0 + 14, class: 'chart-label' }, row.label.length > 18 ? `${row.label.slice(0, 17)}…` : row.label));
    row.values.forEach((v, j) => {
      const y = y0 + j * 18;
      const w = Math.max(v > 0 ? 2 : 0, v * scale);
      svg.append(
        s('rect', { x: labelW, y, width: w, height: 14, rx: 3, class: `cbar ${opts.classes[j]}` }),
        s('text', { x: labelW + w + 4, y: y + 11, class: 'chart-value' }, String(v)),
      );
    });
  });
  const ly = height - 8;
  opts.series.forEach((name, j) => {
    const x = labelW + j * 90;
    svg.append(
      s('rect', { x, y: ly - 9, width: 10, height: 10, rx: 2, class: `cbar ${opts.classes[j]}` }),
      s('text', { x: x + 14, y: ly, class: 'chart-legend' }, name),
    );
  });
  return svg;
}
