import { badRequest } from '../errors';

export const MAX_ROWS = 26;
const DEFAULT_ROW_WIDTH = 20;

export interface LayoutInput {
  total_seats?: number;
  rows?: number;
  seats_per_row?: number;
  row_lengths?: number[];
}

/** Turns the accepted layout forms into row lengths (row A first). Throws 400 when they disagree. */
export function layoutFromInput(input: LayoutInput): number[] {
  let rows: number[];
  if (input.row_lengths) {
    if (input.rows !== undefined || input.seats_per_row !== undefined) throw badRequest('Give row_lengths or rows x seats_per_row, not both');
    rows = input.row_lengths;
  } else if (input.rows !== undefined || input.seats_per_row !== undefined) {
    if (input.rows === undefined || input.seats_per_row === undefined) throw badRequest('rows and seats_per_row go together');
    rows = Array.from({ length: input.rows }, () => input.seats_per_row as number);
  } else if (input.total_seats !== undefined) {
    const count = Math.min(MAX_ROWS, Math.ceil(input.total_seats / DEFAULT_ROW_WIDTH));
    const width = Math.ceil(input.total_seats / count);
    rows = [];
    for (let left = input.total_seats; left > 0; left -= width) rows.push(Math.min(width, left));
  } else {
    throw badRequest('A show needs a layout: total_seats, rows and seats_per_row, or row_lengths');
  }
  const total = rows.reduce((a, b) => a + b, 0);
  if (input.total_seats !== undefined && input.total_seats !== total) {
    throw badRequest(`total_seats (${input.total_seats}) does not match the layout (${total} seats)`);
  }
  if (rows.length > MAX_ROWS) throw badRequest(`At most ${MAX_ROWS} rows`);
  return rows;
}

export const rowLabel = (index: number) => String.fromCharCode(65 + index);

/** Row index and 1-based position within the row of a row-major seat number. */
export function seatPosition(rows: number[], seat: number): { row: number; col: number } | undefined {
  let left = seat;
  for (let i = 0; i < rows.length; i++) {
    if (left >= 1 && left <= rows[i]) return { row: i, col: left };
    left -= rows[i];
  }
  return undefined;
}

export function seatLabel(rows: number[], seat: number): string | undefined {
  const p = seatPosition(rows, seat);
  return p ? `${rowLabel(p.row)}${p.col}` : undefined;
}

/** The first seat number of each row. */
export function rowStarts(rows: number[]): number[] {
  const starts: number[] = [];
  let n = 1;
  for (const len of rows) {
    starts.push(n);
    n += len;
  }
  return starts;
}
