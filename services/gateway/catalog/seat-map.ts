import { Booking, Show } from '../../../shared/db/models';
import { rowLabel, rowStarts } from '../../../shared/seating/layout';

export type SeatStatus = 'free' | 'booked' | 'held';

export interface SeatMap {
  show_id: number;
  total_seats: number;
  available_seats: number;
  free: number[];
  taken: number[];
  rows: { row: string; seats: { number: number; label: string; status: SeatStatus }[] }[];
}

/** The seat map of a show, by row, from the active bookings. */
export async function seatMap(show: Show): Promise<SeatMap> {
  const active = await Booking.query().where('show_id', show.id).whereIn('status', ['booked', 'held']).select('seat_number', 'status');
  const status = new Map<number, SeatStatus>(active.map((b) => [b.seat_number, b.status as SeatStatus]));
  const starts = rowStarts(show.row_lengths);
  const rows = show.row_lengths.map((len, r) => ({
    row: rowLabel(r),
    seats: Array.from({ length: len }, (_, i) => {
      const number = starts[r] + i;
      return { number, label: `${rowLabel(r)}${i + 1}`, status: status.get(number) ?? ('free' as SeatStatus) };
    }),
  }));
  const all = rows.flatMap((r) => r.seats);
  return {
    show_id: show.id, total_seats: show.total_seats, available_seats: all.filter((s) => s.status === 'free').length,
    free: all.filter((s) => s.status === 'free').map((s) => s.number),
    taken: all.filter((s) => s.status !== 'free').map((s) => s.number),
    rows,
  };
}

const TEXT_MARK: Record<SeatStatus, string> = { free: '.', booked: 'X', held: 'h' };

/** One line per row: `A  ..XX.h..` with a legend; the screen is at the top. */
export function renderText(map: SeatMap): string {
  const width = Math.max(...map.rows.map((r) => r.seats.length));
  const lines = [`${' '.repeat(4)}${'SCREEN'.padStart(Math.floor(width / 2) + 3).padEnd(width)}`];
  for (const r of map.rows) {
    const seats = r.seats.map((s) => TEXT_MARK[s.status]).join('');
    const pad = ' '.repeat(Math.floor((width - r.seats.length) / 2));
    lines.push(`${r.row.padEnd(3)} ${pad}${seats}`);
  }
  lines.push('', `. free  X booked  h held   ${map.available_seats}/${map.total_seats} free`);
  return lines.join('\n') + '\n';
}

const SVG_FILL: Record<SeatStatus, string> = { free: '#4caf50', booked: '#9e9e9e', held: '#ff9800' };

const SVG_CELL = 14;
const SVG_MIN_WIDTH = 260;
const r1 = (v: number) => Math.round(v * 10) / 10;

/** An SVG picture of the seat map: one square per seat (with a tooltip), rows centred under the screen. */
export function renderSvg(map: SeatMap): string {
  const cell = SVG_CELL;
  const width = Math.max(...map.rows.map((r) => r.seats.length));
  const w = Math.max(SVG_MIN_WIDTH, (width + 3) * cell);
  const h = 34 + map.rows.length * cell + 28;
  const left = (w - width * cell) / 2;
  const centre = left + (width * cell - 2) / 2;
  const screen = Math.max(cell, (width * cell - 2) * 0.8);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="10">`,
    `<rect x="${r1(centre - screen / 2)}" y="6" width="${r1(screen)}" height="8" fill="#607d8b"/>`,
    `<text x="${r1(centre)}" y="26" text-anchor="middle">SCREEN</text>`,
  ];
  map.rows.forEach((r, ri) => {
    const y = 34 + ri * cell;
    const offset = left + ((width - r.seats.length) / 2) * cell;
    out.push(`<text x="${r1(left - cell)}" y="${y + 10}">${r.row}</text>`);
    r.seats.forEach((s, i) => {
      out.push(`<rect x="${r1(offset + i * cell)}" y="${y}" width="${cell - 2}" height="${cell - 2}" rx="2" fill="${SVG_FILL[s.status]}"><title>${s.label} ${s.status}</title></rect>`);
    });
  });
  out.push(`<text x="${w / 2}" y="${h - 8}" text-anchor="middle">green free, grey booked, orange held: ${map.available_seats}/${map.total_seats} free</text>`, '</svg>');
  return out.join('\n');
}
