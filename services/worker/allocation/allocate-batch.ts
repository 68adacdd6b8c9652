import type { Knex } from 'knex';
import type { BookJob, JobError, Outcome } from '../../../shared/queue/jobs';
import { bestAvailable } from '../../../shared/seating/best-available';
import { bestAvailableFailure, bookBestAvailable, bookSeats } from './allocate';
import { loadSeatMap, SeatMap, takeSeats } from './seat-map';

const first = (res: { rows: Record<string, unknown>[] }) => Object.values(res.rows[0])[0];

interface BatchRow {
  request_id: string;
  user_id: number;
  show_id: number;
  seats: number[];
  hold_seconds: number;
  created_at: string;
  /** Seats (or the failure) chosen here by best available. */
  best: boolean;
  /** Whether this request is expected to book, given the seat map and the rows before it. */
  expect: boolean;
  fail?: JobError;
}

/**
 * One row of bx_book_batch. With a seat map, explicit seats are predicted from it and
 * best-available seats are chosen from it, as if every earlier row booked as predicted; the map
 * is updated accordingly.
 */
function planRow(job: BookJob, holdSeconds: number, map: SeatMap | undefined | 'not needed'): BatchRow {
  const row: BatchRow = {
    request_id: job.request_id, user_id: job.user_id, show_id: job.show_id, seats: job.seats ?? [], hold_seconds: job.hold ? holdSeconds : 0,
    created_at: job.created_at, best: !job.seats, expect: map === 'not needed',
  };
  if (map === 'not needed' || !map || map.started || map.activeSeats >= map.totalSeats) return row;
  if (job.seats) {
    row.expect = job.seats.every((s) => s <= map.totalSeats && !map.taken.has(s)) && new Set(job.seats).size === job.seats.length;
  } else {
    const seats = bestAvailable({ rowLengths: map.rowLengths, taken: map.taken, quantity: job.quantity ?? 1, allowSplit: job.allow_split ?? false });
    if (seats) row.seats = seats;
    else row.fail = bestAvailableFailure(map, job);
    row.expect = !!seats;
  }
  if (row.expect) takeSeats(map, row.seats);
  return row;
}

/** The show row's version: every change of its bookings' counts rewrites it (the counter trigger). */
async function showVersion(trx: Knex.Transaction, showId: number): Promise<string | undefined> {
  return (await trx.raw('SELECT xmin::text AS v FROM shows WHERE id = ?', [showId])).rows[0]?.v;
}

const bookedAsPredicted = (rows: BatchRow[], outcomes: Outcome[]) =>
  outcomes.every((o, i) => (o.status === 'completed' && !o.replayed) === rows[i].expect);

/**
 * Allocates several book jobs of one show, in order, in one transaction under the show's lock,
 * usually in one round trip (bx_book_batch). With best-available jobs, the seats are chosen here
 * from a seat map, which is kept between batches while nothing else has changed the show. Each job
 * gets exactly the outcome it would get alone.
 */
export class BatchAllocator {
  private readonly maps = new Map<number, { version: string; map: SeatMap }>();

  constructor(private readonly db: Knex, private readonly holdSeconds: number) {}

  async allocate(jobs: BookJob[]): Promise<Outcome[]> {
    const showId = jobs[0].show_id;
    const cached = this.maps.get(showId);
    // Owned by this batch until it commits: a rolled-back batch must not leave its guesses behind.
    this.maps.delete(showId);
    if (jobs.length === 1 && !cached) {
      const job = jobs[0];
      return [job.seats ? await bookSeats(this.db, job, job.seats, this.holdSeconds) : await bookBestAvailable(this.db, job, this.holdSeconds)];
    }
    const needsMap = !!cached || jobs.some((j) => !j.seats);
    return this.db.transaction(async (trx) => {
      await trx.raw('SELECT bx_lock_show(?)', [showId]);
      let map: SeatMap | undefined | 'not needed' = 'not needed';
      if (needsMap) map = cached && cached.version === (await showVersion(trx, showId)) ? cached.map : await loadSeatMap(trx, showId);
      const outcomes: Outcome[] = [];
      let exact = true;
      for (;;) {
        const rows = jobs.slice(outcomes.length).map((job) => planRow(job, this.holdSeconds, map));
        const decided = first(await trx.raw('SELECT bx_book_batch(?::jsonb)', [JSON.stringify(rows)])) as Outcome[];
        outcomes.push(...decided);
        exact = bookedAsPredicted(rows, decided);
        if (outcomes.length >= jobs.length) break;
        // Stopped: a request did not go as predicted (a replay, a per-buyer limit). Read the map again.
        map = await loadSeatMap(trx, showId);
      }
      if (map !== 'not needed' && map && exact) {
        const version = await showVersion(trx, showId);
        if (version) this.maps.set(showId, { version, map });
      }
      return outcomes;
    });
  }
}
