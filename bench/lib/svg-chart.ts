export interface ChartSeries {
  key: string;
  label: string;
  color: string;
}

export interface ChartPanel {
  title: string;
  unit: string;
  series: ChartSeries[];
}

export interface ChartSpec {
  title: string;
  subtitle: string;
  /** One row per time bucket; `t` is seconds from the start. */
  rows: Record<string, number | null>[];
  panels: ChartPanel[];
  /** Vertical markers (e.g. "sold out") at t seconds. */
  markers: { t: number; label: string }[];
}

const W = 960;
const PANEL_H = 170;
const GAP = 46;
const LEFT = 70;
const RIGHT = 20;
const TOP = 64;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round axis maximum and its tick step for values up to `max`. */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

const fmt = (v: number) => (v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v * 100) / 100));

function panel(spec: ChartSpec, p: ChartPanel, y0: number, tMax: number): string {
  const plotW = W - LEFT - RIGHT;
  const values = p.series.flatMap((s) => spec.rows.map((r) => r[s.key]).filter((v): v is number => typeof v === 'number'));
  const { top, step } = niceScale(Math.max(0, ...values));
  const x = (t: number) => LEFT + (t / tMax) * plotW;
  const y = (v: number) => y0 + PANEL_H - (v / top) * PANEL_H;
  const out: string[] = [`<text x="${LEFT}" y="${y0 - 8}" class="pt">${esc(p.title)} <tspan class="u">(${esc(p.unit)})</tspan></text>`];
  for (let v = 0; v <= top + 1e-9; v += step) {
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" class="ax" text-anchor="end">${fmt(v)}</text>`);
  }
  for (const m of spec.markers) {
    out.push(`<line x1="${x(m.t).toFixed(1)}" x2="${x(m.t).toFixed(1)}" y1="${y0}" y2="${y0 + PANEL_H}" class="mk"/>`);
  }
  let lx = LEFT + 8;
  for (const s of p.series) {
    const pts: string[] = [];
    const paths: string[] = [];
    for (const r of spec.rows) {
      const v = r[s.key];
      if (typeof v === 'number') pts.push(`${x(r.t as number).toFixed(1)},${y(v).toFixed(1)}`);
      else if (pts.length) paths.push(pts.splice(0).join(' '));
    }
    if (pts.length) paths.push(pts.join(' '));
    for (const d of paths) out.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
    out.push(`<rect x="${lx}" y="${y0 + 6}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${y0 + 15}" class="lg">${esc(s.label)}</text>`);
    lx += 24 + s.label.length * 6.6;
  }
  return out.join('\n');
}

/** A self-contained SVG with one panel per metric over a shared time axis. */
export function renderChart(spec: ChartSpec): string {
  const tMax = Math.max(1, ...spec.rows.map((r) => (r.t as number) ?? 0));
  const H = TOP + spec.panels.length * (PANEL_H + GAP) + 10;
  const body: string[] = [];
  spec.panels.forEach((p, i) => body.push(panel(spec, p, TOP + 14 + i * (PANEL_H + GAP), tMax)));
  const axisY = TOP + 14 + (spec.panels.length - 1) * (PANEL_H + GAP) + PANEL_H;
  const { step } = niceScale(tMax);
  for (let t = 0; t <= tMax + 1e-9; t += step) {
    const x = LEFT + (t / tMax) * (W - LEFT - RIGHT);
    body.push(`<text x="${x.toFixed(1)}" y="${axisY + 16}" class="ax" text-anchor="middle">${fmt(t)}s</text>`);
  }
  for (const m of spec.markers) {
    const x = LEFT + (m.t / tMax) * (W - LEFT - RIGHT);
    body.push(`<text x="${(x + 4).toFixed(1)}" y="${TOP + 4}" class="mkt">${esc(m.label)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">
<style>.t{font-size:16px;font-weight:bold}.st{font-size:11px;fill:#555}.pt{font-size:12px;font-weight:bold;fill:#222}.u{font-weight:normal;fill:#666}
.ax{font-size:10px;fill:#666}.lg{font-size:11px;fill:#333}.grid{stroke:#e4e4e4;stroke-width:1}.mk{stroke:#c0392b;stroke-dasharray:4 3}.mkt{font-size:10px;fill:#c0392b}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${LEFT}" y="22" class="t">${esc(spec.title)}</text>
<text x="${LEFT}" y="40" class="st">${esc(spec.subtitle)}</text>
${body.join('\n')}
</svg>
`;
}
