import { expect } from 'chai';
import fc from 'fast-check';
import { bestAvailable, idealRow } from '../../shared/seating/best-available';
import { rowStarts, seatLabel, seatPosition } from '../../shared/seating/layout';
import { SeatSet } from '../../shared/seating/seat-set';
import { checkInvariants } from '../support/invariants';
import { createShow, createUser, createUsers } from '../support/fixtures';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { stopWorkers } from './feature-helpers';

const hall = (rows: number, width: number) => Array.from({ length: rows }, () => width);
/** Seat numbers from labels, e.g. seats(rows, 'F5', 'F6'). */
const seats = (rows: number[], ...labels: string[]) => labels.map((l) => rowStarts(rows)[l.charCodeAt(0) - 65] + Number(l.slice(1)) - 1);
/** Every seat of the given rows, as a taken set. */
const fullRows = (rows: number[], ...letters: string[]) =>
  new Set(letters.flatMap((r) => Array.from({ length: rows[r.charCodeAt(0) - 65] }, (_, i) => seats(rows, `${r}${i + 1}`)[0])));
const labels = (rows: number[], picked: number[] | undefined) => picked?.map((s) => seatLabel(rows, s));

/** Random halls (rows up to `width` seats, up to `rows` rows), random taken seats and a request. */
const randomMap = (max: { width: number; rows: number; quantity: number }) =>
  fc.array(fc.integer({ min: 1, max: max.width }), { minLength: 1, maxLength: max.rows }).chain((rows) => {
    const total = rows.reduce((a, b) => a + b, 0);
    return fc.record({
      rows: fc.constant(rows),
      taken: fc.uniqueArray(fc.integer({ min: 1, max: total }), { maxLength: total }),
      quantity: fc.integer({ min: 1, max: max.quantity }),
      allowSplit: fc.boolean(),
    });
  });

/** Free runs of every row, as [row, first column, length]. */
function runs(rows: number[], taken: Set<number>): [number, number, number][] {
  const out: [number, number, number][] = [];
  rows.forEach((len, r) => {
    let start = 0;
    for (let col = 1; col <= len + 1; col++) {
      const free = col <= len && !taken.has(rowStarts(rows)[r] + col - 1);
      if (free && !start) start = col;
      if (!free && start) {
        out.push([r, start, col - start]);
        start = 0;
      }
    }
  });
  return out;
}

describe('best available: choosing seats on tricky maps', () => {
  it('when the hall is empty, then the block is centred in the row about 60% back', () => {
    const rows = hall(10, 10);
    expect(idealRow(10)).to.be.closeTo(5.4, 1e-9);
    expect(labels(rows, bestAvailable({ rowLengths: rows, taken: new Set(), quantity: 2, allowSplit: false }))).to.deep.equal(['F5', 'F6']);
    expect(labels(rows, bestAvailable({ rowLengths: rows, taken: new Set(), quantity: 4, allowSplit: false }))).to.deep.equal(['F4', 'F5', 'F6', 'F7']);
    const twenty = hall(20, 20);
    expect(labels(twenty, bestAvailable({ rowLengths: twenty, taken: new Set(), quantity: 1, allowSplit: false }))).to.deep.equal(['L10']);
  });

  it('when the best row is full, then the nearest row to the 60% line is used, behind before in front', () => {
    const rows = hall(10, 10);
    expect(labels(rows, bestAvailable({ rowLengths: rows, taken: fullRows(rows, 'F'), quantity: 2, allowSplit: false }))).to.deep.equal(['G5', 'G6']);
    expect(labels(rows, bestAvailable({ rowLengths: rows, taken: fullRows(rows, 'E', 'F', 'G'), quantity: 2, allowSplit: false }))).to.deep.equal(['H5', 'H6']);
    const six = hall(6, 10);
    expect(idealRow(6)).to.equal(3);
    expect(labels(six, bestAvailable({ rowLengths: six, taken: fullRows(six, 'D'), quantity: 2, allowSplit: false }))).to.deep.equal(['E5', 'E6']);
  });

  it('when the centre of the best row is taken, then the block goes as near the centre of that row as it can', () => {
    const rows = hall(10, 10);
    const taken = new Set(seats(rows, 'F5', 'F6'));
    expect(labels(rows, bestAvailable({ rowLengths: rows, taken, quantity: 2, allowSplit: false }))).to.deep.equal(['F3', 'F4']);
  });

  it('when the most central block would strand single seats, then a block that strands none is chosen', () => {
    const rows = [10];
    const taken = new Set(seats(rows, 'A1', 'A2', 'A9', 'A10'));
    // A4-A7 is the most central but leaves A3 and A8 alone.
    expect(labels(rows, bestAvailable({ rowLengths: rows, taken, quantity: 4, allowSplit: false }))).to.deep.equal(['A3', 'A4', 'A5', 'A6']);
  });

  it('when every block in the best row would strand a seat, then a worse row without an orphan wins', () => {
    const rows = hall(10, 10);
    const taken = new Set([...fullRows(rows, 'F')].filter((s) => !seats(rows, 'F4', 'F5', 'F6').includes(s)));
    expect(labels(rows, bestAvailable({ rowLengths: rows, taken, quantity: 2, allowSplit: false }))).to.deep.equal(['G5', 'G6']);
  });

  it('when only blocks that strand a seat exist, then one is still accepted', () => {
    const rows = [5];
    const picked = bestAvailable({ rowLengths: rows, taken: new Set(), quantity: 4, allowSplit: false });
    expect(labels(rows, picked)).to.deep.equal(['A1', 'A2', 'A3', 'A4']);
    const tight = hall(3, 4);
    const taken = new Set(seats(tight, 'A1', 'B4', 'C1'));
    expect(labels(tight, bestAvailable({ rowLengths: tight, taken, quantity: 2, allowSplit: false }))).to.deep.equal(['B2', 'B3']);
  });

  it('when no row has room, then it answers nothing without allow_split and few blocks in good rows with it', () => {
    const rows = hall(3, 4);
    const taken = new Set(seats(rows, 'A1', 'B1', 'C4'));
    expect(bestAvailable({ rowLengths: rows, taken, quantity: 4, allowSplit: false })).to.equal(undefined);
    const split = bestAvailable({ rowLengths: rows, taken, quantity: 5, allowSplit: true })!;
    expect(labels(rows, split)).to.have.length(5);
    expect(split.some((s) => taken.has(s))).to.equal(false);
    expect(new Set(split.map((s) => seatPosition(rows, s)!.row)).size).to.equal(2);
    expect(labels(rows, split)).to.include.members(['B2', 'B3', 'B4']);
  });

  it('when fewer seats are free than asked, then nothing fits even with allow_split', () => {
    const rows = hall(2, 3);
    const taken = new Set(seats(rows, 'A1', 'A2', 'B3'));
    expect(bestAvailable({ rowLengths: rows, taken, quantity: 4, allowSplit: true })).to.equal(undefined);
    expect(bestAvailable({ rowLengths: rows, taken: fullRows(rows, 'A', 'B'), quantity: 1, allowSplit: true })).to.equal(undefined);
    expect(labels(rows, bestAvailable({ rowLengths: rows, taken, quantity: 3, allowSplit: true }))).to.deep.equal(['A3', 'B1', 'B2']);
  });

  it('when rows are very wide or uneven, then the block is centred in its own row', () => {
    const wide = hall(3, 500);
    expect(labels(wide, bestAvailable({ rowLengths: wide, taken: new Set(), quantity: 10, allowSplit: false }))).to.deep.equal(
      Array.from({ length: 10 }, (_, i) => `B${246 + i}`));
    const uneven = [6, 8, 10, 12, 10];
    expect(labels(uneven, bestAvailable({ rowLengths: uneven, taken: new Set(), quantity: 3, allowSplit: false }))).to.deep.equal(['C4', 'C5', 'C6']);
  });

  it('when maps are random, then the seats are free, distinct, adjacent unless split, and orphan-free whenever that was possible', () => {
    const map = randomMap({ width: 12, rows: 8, quantity: 6 });
    fc.assert(fc.property(map, ({ rows, taken, quantity, allowSplit }) => {
      const takenSet = new Set(taken);
      const picked = bestAvailable({ rowLengths: rows, taken: takenSet, quantity, allowSplit });
      const free = rows.reduce((a, b) => a + b, 0) - takenSet.size;
      const fits = runs(rows, takenSet).filter(([, , n]) => n >= quantity);
      if (!picked) {
        expect(allowSplit ? free < quantity : fits.length === 0).to.equal(true);
        return;
      }
      expect(picked).to.have.length(quantity);
      expect(new Set(picked).size).to.equal(quantity);
      expect(picked.every((s) => !takenSet.has(s) && seatPosition(rows, s))).to.equal(true);
      if (fits.length === 0) return;
      const row = seatPosition(rows, picked[0])!.row;
      expect(picked.every((s, i) => s === picked[0] + i && seatPosition(rows, s)!.row === row)).to.equal(true);
      const run = fits.find(([r, c, n]) => r === row && c <= seatPosition(rows, picked[0])!.col && seatPosition(rows, picked[quantity - 1])!.col < c + n)!;
      const orphans = (col: number, [, c, n]: [number, number, number]) => Number(col - c === 1) + Number(c + n - (col + quantity) === 1);
      const chosen = orphans(seatPosition(rows, picked[0])!.col, run);
      const fewest = Math.min(...fits.flatMap((f) => Array.from({ length: f[2] - quantity + 1 }, (_, i) => orphans(f[1] + i, f))));
      expect(chosen).to.equal(fewest);
    }), { numRuns: 500 });
  });

  it('when rows are wide and maps random, then the block is the one found by scoring every block of every row', () => {
    // The rules written out the slow way: every block of every free run scored; fewest orphans,
    // then nearest row to the ideal, then most central, then the row further back; the first
    // found wins a tie (rows nearest the ideal first, behind before in front; columns left to right).
    const slowest = (rows: number[], taken: Set<number>, size: number) => {
      const ideal = idealRow(rows.length);
      const order = rows.map((_, r) => r).sort((x, y) => Math.abs(x - ideal) - Math.abs(y - ideal) || y - x);
      const less = (a: number[], b: number[]) => {
        const i = a.findIndex((k, j) => k !== b[j]);
        return i >= 0 && a[i] < b[i];
      };
      let best: { key: number[]; seats: number[] } | undefined;
      for (const [r, c, n] of order.flatMap((r) => runs(rows, taken).filter(([row]) => row === r))) {
        for (let col = c; col + size <= c + n; col++) {
          const key = [Number(col - c === 1) + Number(c + n - (col + size) === 1), Math.abs(r - ideal), Math.abs(col + (size - 1) / 2 - (rows[r] + 1) / 2), -r];
          if (!best || less(key, best.key)) best = { key, seats: Array.from({ length: size }, (_, i) => rowStarts(rows)[r] + col - 1 + i) };
        }
      }
      return best?.seats;
    };
    const map = randomMap({ width: 60, rows: 6, quantity: 8 });
    fc.assert(fc.property(map, ({ rows, taken, quantity }) => {
      const takenSet = new Set(taken);
      const expected = slowest(rows, takenSet, quantity);
      expect(bestAvailable({ rowLengths: rows, taken: takenSet, quantity, allowSplit: false })).to.deep.equal(expected);
      // The worker's seat map keeps its taken seats as a bitmap: the same choice, split or not.
      const bitmap = new SeatSet(taken, rows.reduce((a, b) => a + b, 0));
      expect(bestAvailable({ rowLengths: rows, taken: bitmap, quantity, allowSplit: false })).to.deep.equal(expected);
      expect(bestAvailable({ rowLengths: rows, taken: bitmap, quantity, allowSplit: true })).to.deep.equal(bestAvailable({ rowLengths: rows, taken: takenSet, quantity, allowSplit: true }));
    }), { numRuns: 2000 });
  });
});

describe('best available over HTTP with a worker process', () => {
  let t: TestGateway;
  let worker: WorkerProcess;
  before(async () => {
    [t, worker] = await Promise.all([startTestGateway(), spawnWorker()]);
  });
  after(() => Promise.all([stopWorkers([worker]), stopTestGateway(t)]));

  it('when two customers ask for 4 best-available seats at the same time, then they get two blocks of 4 adjacent seats that do not overlap', async () => {
    const show = await createShow({ row_lengths: hall(10, 10) });
    const [a, b] = await createUsers(2);
    const replies = await Promise.all([a, b].map((u) => t.api.post(`/shows/${show.id}/book`, { token: u.token, body: { quantity: 4 } })));
    for (const r of replies) {
      expect(r.status, r.text).to.equal(201);
      const got = r.body.result.bookings.map((x: any) => x.seat_number);
      expect(got).to.deep.equal(Array.from({ length: 4 }, (_, i) => got[0] + i));
      expect(new Set(r.body.result.bookings.map((x: any) => x.seat_label[0])).size).to.equal(1);
    }
    const all = replies.flatMap((r) => r.body.result.bookings.map((x: any) => x.seat_label));
    expect(all).to.have.members(['F4', 'F5', 'F6', 'F7', 'G4', 'G5', 'G6', 'G7']);
  });

  it('when 30 customers ask for 3 best-available seats at once, then no seat is given twice and every block is adjacent', async () => {
    const show = await createShow({ row_lengths: hall(6, 12) });
    const users = await createUsers(30);
    const replies = await Promise.all(users.map((u) => t.api.post(`/shows/${show.id}/book`, { token: u.token, body: { quantity: 3 } })));
    const ok = replies.filter((r) => r.status === 201);
    expect(ok.length).to.be.greaterThan(15);
    for (const r of replies.filter((x) => x.status !== 201)) {
      expect(r.status, r.text).to.equal(409);
      expect(r.body.error.code).to.be.oneOf(['SOLD_OUT', 'NO_ADJACENT_SEATS']);
    }
    const given = ok.flatMap((r) => r.body.result.bookings.map((x: any) => x.seat_number));
    expect(new Set(given).size).to.equal(3 * ok.length);
    for (const r of ok) {
      const block = r.body.result.bookings.map((x: any) => x.seat_number);
      expect(block[2] - block[0]).to.equal(2);
      expect(seatPosition(show.row_lengths, block[0])!.row).to.equal(seatPosition(show.row_lengths, block[2])!.row);
    }
    const report = await checkInvariants(testDb(), show.id, replies.map((r) => r.body.id ?? r.body.error?.details?.job_id));
    expect(report).to.include({ duplicates: 0, activeSeats: 3 * ok.length, counter: 3 * ok.length });
    expect(report.lost).to.deep.equal([]);
    expect(report.mismatched).to.deep.equal([]);
  });

  it('when no row has room for the block, then 409 NO_ADJACENT_SEATS, and with allow_split the seats come in smaller blocks', async () => {
    const show = await createShow({ row_lengths: [4, 4, 4] });
    const holder = await createUser();
    const blockers = await t.api.post(`/shows/${show.id}/book`, { token: holder.token, body: { seat_numbers: [2, 7, 11] } });
    expect(blockers.status, blockers.text).to.equal(201);
    const user = await createUser();
    const refused = await t.api.post(`/shows/${show.id}/book`, { token: user.token, body: { quantity: 3 } });
    expect(refused.status, refused.text).to.equal(409);
    expect(refused.body.error.code).to.equal('NO_ADJACENT_SEATS');
    expect(refused.body.error.details.job_id).to.be.a('string');
    const split = await t.api.post(`/shows/${show.id}/book`, { token: user.token, body: { quantity: 3, allow_split: true } });
    expect(split.status, split.text).to.equal(201);
    // The best pair (B1 B2), then the best single seat that strands nobody (B4).
    expect(split.body.result.bookings.map((x: any) => x.seat_label)).to.deep.equal(['B1', 'B2', 'B4']);
  });

  it('when more seats are asked than are left, then 409 SOLD_OUT names how many are free', async () => {
    const show = await createShow({ row_lengths: [3] });
    const [a, b] = await createUsers(2);
    expect((await t.api.post(`/shows/${show.id}/book`, { token: a.token, body: { quantity: 2 } })).status).to.equal(201);
    const res = await t.api.post(`/shows/${show.id}/book`, { token: b.token, body: { quantity: 2, allow_split: true } });
    expect(res.status, res.text).to.equal(409);
    expect(res.body.error).to.deep.include({ code: 'SOLD_OUT' });
    expect(res.body.error.details.free).to.equal(1);
  });
});
