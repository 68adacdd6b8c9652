import { rowStarts } from './layout';
import type { TakenSeats } from './seat-set';

export interface BestAvailableInput {
  /** Seats per row, row A (nearest the screen) first. */
  rowLengths: number[];
  /** Seat numbers already booked or held. */
  taken: TakenSeats;
  quantity: number;
  allowSplit: boolean;
}

/** The row people prefer, as a fractional row index: 60% of the way back from the screen. */
export const idealRow = (rowCount: number) => (3 * (rowCount - 1)) / 5;

/** One way to seat a block and how good it is: fewest orphans, then nearest row, most central, furthest back. */
interface Placement {
  /** Single free seats the block would leave stranded beside it (0, 1 or 2). */
  orphans: number;
  /** Rows away from the ideal row. */
  rowDistance: number;
  /** Seats between the block's middle and the row's middle. */
  centreOffset: number;
  /** Row index: between rows equally good, the one further back. */
  row: number;
  seats: number[];
}

type Score = Omit<Placement, 'seats'>;

const better = (a: Score, b: Score) =>
  a.orphans !== b.orphans ? a.orphans < b.orphans
    : a.rowDistance !== b.rowDistance ? a.rowDistance < b.rowDistance
      : a.centreOffset !== b.centreOffset ? a.centreOffset < b.centreOffset
        : a.row > b.row;

/** Calls `visit` with each free run of one row: its first column (1-based) and its length. */
function forEachFreeRun(len: number, start: number, taken: TakenSeats, visit: (runStart: number, runLength: number) => void): void {
  for (let col = 1; col <= len;) {
    if (taken.has(start + col - 1)) {
      col++;
      continue;
    }
    const runStart = col;
    while (col <= len && !taken.has(start + col - 1)) col++;
    visit(runStart, col - runStart);
  }
}

/** The best block of `size` adjacent seats in one row, or undefined when no row has room. */
function bestBlock(rowLengths: number[], taken: TakenSeats, size: number): Placement | undefined {
  const starts = rowStarts(rowLengths);
  const ideal = idealRow(rowLengths.length);
  // Rows nearest the ideal come first: once a block strands nobody, a farther row cannot win.
  // One scratch score, copied only when it wins (this runs on every allocation of a big hall).
  const order = rowLengths.map((_, r) => r).sort((x, y) => Math.abs(x - ideal) - Math.abs(y - ideal) || y - x);
  const candidate: Score = { orphans: 0, rowDistance: 0, centreOffset: 0, row: 0 };
  const best: Score = { orphans: 0, rowDistance: 0, centreOffset: 0, row: -1 };
  let bestStart = 0;
  for (const r of order) {
    const len = rowLengths[r];
    const start = starts[r];
    candidate.row = r;
    candidate.rowDistance = Math.abs(r - ideal);
    if (best.row >= 0 && best.orphans === 0 && candidate.rowDistance > best.rowDistance) break;
    // Within a free run, a block strands a seat only one column in from either end, so the best
    // column is among the three at each end and those within two of the centred one: the others
    // are passed over (a hall's rows can be thousands of seats wide).
    const centred = (len + 1) / 2 - (size - 1) / 2;
    const windowStart = Math.floor(centred) - 2;
    const windowEnd = Math.ceil(centred) + 2;
    forEachFreeRun(len, start, taken, (runStart, runLength) => {
      // The last column a block fits at.
      const last = runStart + runLength - size;
      for (let c = runStart; c <= last; c++) {
        if (c > runStart + 2 && c < last - 2 && (c < windowStart || c > windowEnd)) c = c < windowStart ? Math.min(windowStart, last - 2) : last - 2;
        candidate.orphans = Number(c - runStart === 1) + Number(last - c === 1);
        candidate.centreOffset = Math.abs(c + (size - 1) / 2 - (len + 1) / 2);
        if (best.row < 0 || better(candidate, best)) {
          Object.assign(best, candidate);
          bestStart = start + c - 1;
        }
      }
    });
  }
  if (best.row < 0) return undefined;
  return { ...best, seats: Array.from({ length: size }, (_, i) => bestStart + i) };
}

const longestRun = (rowLengths: number[], taken: TakenSeats) => {
  const starts = rowStarts(rowLengths);
  let longest = 0;
  rowLengths.forEach((len, r) => forEachFreeRun(len, starts[r], taken, (_, runLength) => { longest = Math.max(longest, runLength); }));
  return longest;
};

/** Splits over rows in as few blocks as it can: the longest block that fits, placed best, then the rest. */
function splitAcrossRows(rowLengths: number[], taken: TakenSeats, quantity: number): number[] | undefined {
  const seats: number[] = [];
  const mine = new Set<number>();
  const chosen: TakenSeats = { has: (seat) => taken.has(seat) || mine.has(seat) };
  while (seats.length < quantity) {
    const size = Math.min(quantity - seats.length, longestRun(rowLengths, chosen));
    if (size === 0) return undefined;
    for (const seat of bestBlock(rowLengths, chosen, size)!.seats) {
      mine.add(seat);
      seats.push(seat);
    }
  }
  return seats.sort((a, b) => a - b);
}

/**
 * Best available seats: `quantity` adjacent seats in one row. Among the blocks that fit, it
 * prefers one that leaves no single stranded seat beside it, then the row nearest 60% back,
 * then the block nearest the row's centre, then the row further back. With `allowSplit`, when no row has room, the seats
 * are spread over rows in as few blocks as possible. Returns ascending seat numbers, or
 * undefined when nothing fits.
 */
export function bestAvailable({ rowLengths, taken, quantity, allowSplit }: BestAvailableInput): number[] | undefined {
  if (quantity < 1) return undefined;
  const block = bestBlock(rowLengths, taken, quantity);
  if (block) return block.seats;
  return allowSplit ? splitAcrossRows(rowLengths, taken, quantity) : undefined;
}
