export interface CurveSeries {
  label: string;
  color: string;
  values: (number | null)[];
}

export interface CurvePanel {
  title: string;
  unit: string;
  series: CurveSeries[];
}

export interface CurveChart {
  title: string;
  subtitle: string;
  /** Label of the x axis and its points (evenly spaced, in order). */
  xLabel: string;
  x: (number | string)[];
  panels: CurvePanel[];
}

const W = 720;
const PANEL_H = 190;
const GAP = 70;
const LEFT = 70;
const RIGHT = 30;
const TOP = 70;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v * 10) / 10));

function niceTop(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

function panel(chart: CurveChart, p: CurvePanel, y0: number): string {
  const plotW = W - LEFT - RIGHT;
  const n = chart.x.length;
  const x = (i: number) => LEFT + (n === 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const values = p.series.flatMap((s) => s.values.filter((v): v is number => typeof v === 'number'));
  const { top, step } = niceTop(Math.max(0, ...values));
  const y = (v: number) => y0 + PANEL_H - (v / top) * PANEL_H;
  const out = [`<text x="${LEFT}" y="${y0 - 10}" class="pt">${esc(p.title)} <tspan class="u">(${esc(p.unit)})</tspan></text>`];
  for (let v = 0; v <= top + 1e-9; v += step) {
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" class="ax" text-anchor="end">${fmt(v)}</text>`);
  }
  chart.x.forEach((label, i) => out.push(`<text x="${x(i).toFixed(1)}" y="${y0 + PANEL_H + 16}" class="ax" text-anchor="middle">${esc(String(label))}</text>`));
  out.push(`<text x="${LEFT + plotW / 2}" y="${y0 + PANEL_H + 32}" class="ax" text-anchor="middle">${esc(chart.xLabel)}</text>`);
  let lx = LEFT + 8;
  for (const s of p.series) {
    const pts = s.values.map((v, i) => (typeof v === 'number' ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null)).filter((v): v is string => !!v);
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    s.values.forEach((v, i) => {
      if (typeof v !== 'number') return;
      out.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
      out.push(`<text x="${x(i).toFixed(1)}" y="${(y(v) - 8).toFixed(1)}" class="val" text-anchor="middle" fill="${s.color}">${fmt(v)}</text>`);
    });
    out.push(`<rect x="${lx}" y="${y0 + 4}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${y0 + 13}" class="lg">${esc(s.label)}</text>`);
    lx += 28 + s.label.length * 6.4;
  }
  return out.join('\n');
}

/** A self-contained SVG: one line panel per metric over the same categorical x axis. */
export function renderCurves(chart: CurveChart): string {
  const H = TOP + chart.panels.length * (PANEL_H + GAP);
  const body = chart.panels.map((p, i) => panel(chart, p, TOP + 10 + i * (PANEL_H + GAP))).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">
<style>.t{font-size:16px;font-weight:bold}.st{font-size:11px;fill:#555}.pt{font-size:12px;font-weight:bold;fill:#222}.u{font-weight:normal;fill:#666}
.ax{font-size:10px;fill:#666}.lg{font-size:11px;fill:#333}.val{font-size:10px}.grid{stroke:#e4e4e4;stroke-width:1}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${LEFT}" y="24" class="t">${esc(chart.title)}</text>
<text x="${LEFT}" y="42" class="st">${esc(chart.subtitle)}</text>
${body}
</svg>
`;
}
