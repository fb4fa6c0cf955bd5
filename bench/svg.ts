/**
 * A small SVG chart writer for the plots of bench/results/ (plots.ts): lines and points over a
 * linear or logarithmic axis, a category axis of runs, horizontal target rules, a legend. No
 * dependency; the same data always gives the same bytes, so a plot changes only with its data.
 */

export interface Point {
  x: number;
  y: number;
  /** Drawn as a ring instead of a dot (plots.ts: measured on older code). */
  hollow?: boolean;
  /** A short text above the point. */
  label?: string;
}

export interface Series {
  /** Its legend entry; '' for none. */
  name: string;
  color: string;
  points: Point[];
  /** Joined by a line (default), or points only. */
  line?: boolean;
  dashed?: boolean;
}

export interface Axis {
  label: string;
  log?: boolean;
  min?: number;
  max?: number;
  /** Tick values and their labels; computed when absent. */
  ticks?: Array<{ value: number; label: string }>;
}

export interface Chart {
  title: string;
  /** One line under the title: what is drawn, from which data. */
  note?: string;
  x: Axis;
  y: Axis;
  series: Series[];
  /** Horizontal lines: the targets. */
  rules?: Array<{ y: number; label: string; color?: string }>;
}

const W = 820;
const H = 400;
const M = { left: 64, right: 200, top: 56, bottom: 78 };
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => String(Math.round(n * 100) / 100);

/** Round tick values over [min, max]: 1, 2, 5 x 10^k steps (linear) or the powers of ten and their 2x, 5x (log). */
function autoTicks(axis: Axis, min: number, max: number): Array<{ value: number; label: string }> {
  if (axis.ticks) return axis.ticks;
  const out: number[] = [];
  if (axis.log) {
    for (let p = Math.floor(Math.log10(min)); p <= Math.ceil(Math.log10(max)); p++)
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** p;
        if (v >= min && v <= max) out.push(v);
      }
  } else {
    const raw = (max - min) / 6;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
    for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(v);
  }
  return out.map((value) => ({ value, label: value >= 10_000 ? `${fmt(value / 1000)}k` : fmt(value) }));
}

/** The extent of the values of an axis, widened to its min/max and to a little room. */
function extent(axis: Axis, values: number[]): [number, number] {
  let lo = axis.min ?? Math.min(...values);
  let hi = axis.max ?? Math.max(...values);
  if (axis.log) {
    lo = axis.min ?? lo / 1.3;
    hi = axis.max ?? hi * 1.3;
  } else if (axis.min === undefined || axis.max === undefined) {
    const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
    lo = axis.min ?? Math.max(0, lo - pad);
    hi = axis.max ?? hi + pad;
  }
  return [lo, hi];
}

/** The chart as an SVG document. */
export function renderChart(chart: Chart): string {
  const points = chart.series.flatMap((s) => s.points);
  const [x0, x1] = extent(
    chart.x,
    points.map((p) => p.x),
  );
  const [y0, y1] = extent(chart.y, [...points.map((p) => p.y), ...(chart.rules ?? []).map((r) => r.y)]);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const scale = (axis: Axis, lo: number, hi: number, v: number) =>
    axis.log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo || 1);
  const px = (v: number) => M.left + scale(chart.x, x0, x1, v) * pw;
  const py = (v: number) => M.top + ph - scale(chart.y, y0, y1, v) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(chart.title)}</text>`,
  ];
  if (chart.note) out.push(`<text x="${M.left}" y="40" fill="#555">${esc(chart.note)}</text>`);
  // Grid and y ticks.
  for (const t of autoTicks(chart.y, y0, y1)) {
    const y = py(t.value).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 6}" y="${y}" dy="4" text-anchor="end" fill="#333">${esc(t.label)}</text>`);
  }
  // x ticks: rotated when there are many.
  const xTicks = autoTicks(chart.x, x0, x1);
  const rotate = xTicks.length > 8;
  for (const t of xTicks) {
    const x = px(t.value).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top + ph}" y2="${M.top + ph + 4}" stroke="#333"/>`);
    out.push(
      rotate
        ? `<text transform="translate(${x},${M.top + ph + 10}) rotate(-40)" text-anchor="end" font-size="10" fill="#333">${esc(t.label)}</text>`
        : `<text x="${x}" y="${M.top + ph + 18}" text-anchor="middle" fill="#333">${esc(t.label)}</text>`,
    );
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 8}" text-anchor="middle">${esc(chart.x.label)}</text>`);
  out.push(
    `<text transform="translate(16,${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(chart.y.label)}</text>`,
  );
  for (const r of chart.rules ?? []) {
    const y = py(r.y).toFixed(1);
    const color = r.color ?? '#c0392b';
    out.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="${color}" stroke-dasharray="6 4"/>`,
      `<text x="${M.left + pw - 4}" y="${y}" dy="-4" text-anchor="end" font-size="11" fill="${color}">${esc(r.label)}</text>`,
    );
  }
  for (const s of chart.series) {
    const pts = s.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`);
    if (s.line !== false && pts.length > 1)
      out.push(
        `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    for (const p of s.points) {
      const [x, y] = [px(p.x).toFixed(1), py(p.y).toFixed(1)];
      out.push(
        p.hollow
          ? `<circle cx="${x}" cy="${y}" r="3.5" fill="#fff" stroke="${s.color}" stroke-width="1.5"/>`
          : `<circle cx="${x}" cy="${y}" r="3" fill="${s.color}"/>`,
      );
      if (p.label)
        out.push(
          `<text x="${x}" y="${y}" dy="-7" text-anchor="middle" font-size="9" fill="${s.color}">${esc(p.label)}</text>`,
        );
    }
  }
  // Legend, right of the plot.
  chart.series
    .filter((s) => s.name)
    .forEach((s, i) => {
      const y = M.top + 8 + i * 18;
      const x = M.left + pw + 12;
      out.push(
        `<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}${s.line === false ? ' stroke-opacity="0"' : ''}/>`,
        `<circle cx="${x + 9}" cy="${y}" r="3" fill="${s.color}"/>`,
        `<text x="${x + 24}" y="${y}" dy="4" font-size="11">${esc(s.name)}</text>`,
      );
    });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
