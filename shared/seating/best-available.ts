import { rowStarts } from './layout';

export interface BestAvailableInput {
  rowLengths: number[];
  taken: Set<number>;
  quantity: number;
  allowSplit: boolean;
}

/** The row people prefer: about 60% of the way back from the screen. */
export const idealRow = (rowCount: number) => Math.floor((rowCount - 1) * 0.6);

const ORPHAN_PENALTY = 1000;

/**
 * Best available seats: `quantity` adjacent seats in one row, nearest the centre of the best
 * rows, avoiding a single orphan seat beside the block when another choice exists. With
 * `allowSplit`, falls back to the best individual seats across rows. Returns undefined when
 * nothing fits.
 */
export function bestAvailable({ rowLengths, taken, quantity, allowSplit }: BestAvailableInput): number[] | undefined {
  const starts = rowStarts(rowLengths);
  const ideal = idealRow(rowLengths.length);
  let best: { score: number; seats: number[] } | undefined;
  rowLengths.forEach((len, r) => {
    const rowPenalty = Math.abs(r - ideal) * len;
    let run = 0;
    for (let col = 1; col <= len + 1; col++) {
      const free = col <= len && !taken.has(starts[r] + col - 1);
      if (free) {
        run++;
        continue;
      }
      const runStart = col - run;
      for (let s = runStart; s + quantity - 1 <= col - 1; s++) {
        const left = s - runStart;
        const right = col - 1 - (s + quantity - 1);
        const centre = Math.abs(s + (quantity - 1) / 2 - (len + 1) / 2);
        const score = rowPenalty + centre + ORPHAN_PENALTY * (Number(left === 1) + Number(right === 1));
        if (!best || score < best.score) best = { score, seats: Array.from({ length: quantity }, (_, i) => starts[r] + s - 1 + i) };
      }
      run = 0;
    }
  });
  if (best) return best.seats;
  if (!allowSplit) return undefined;
  const free: { seat: number; score: number }[] = [];
  rowLengths.forEach((len, r) => {
    for (let col = 1; col <= len; col++) {
      const seat = starts[r] + col - 1;
      if (!taken.has(seat)) free.push({ seat, score: Math.abs(r - ideal) * len + Math.abs(col - (len + 1) / 2) });
    }
  });
  if (free.length < quantity) return undefined;
  return free.sort((a, b) => a.score - b.score).slice(0, quantity).map((f) => f.seat).sort((a, b) => a - b);
}
