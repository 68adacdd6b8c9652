import type { Knex } from 'knex';
import type { BookJob, BookingActionJob, JobError, Outcome } from '../../../shared/queue/jobs';
import { bestAvailable } from '../../../shared/seating/best-available';
import { loadSeatMap, SeatMap } from './seat-map';

const first = (res: { rows: Record<string, unknown>[] }) => Object.values(res.rows[0])[0];

/** Books or holds explicit seats: one statement, one transaction, one round trip. */
export async function bookSeats(db: Knex | Knex.Transaction, job: BookJob, seats: number[], holdSeconds: number): Promise<Outcome> {
  const res = await db.raw('SELECT bx_book(?, ?, ?, ?::integer[], ?, ?)', [
    job.request_id, job.user_id, job.show_id, seats, job.hold ? holdSeconds : 0, job.created_at,
  ]);
  return first(res) as Outcome;
}

/** Best available: under the show's lock, read the free seats, choose, then book in the same transaction. */
export async function bookBestAvailable(db: Knex, job: BookJob, holdSeconds: number): Promise<Outcome> {
  return db.transaction(async (trx) => {
    await trx.raw('SELECT bx_lock_show(?)', [job.show_id]);
    return bookBestIn(trx, job, holdSeconds, () => loadSeatMap(trx, job.show_id));
  });
}

/** Best available inside a transaction that holds the show's lock; the seat map is read only if the request is new. */
export async function bookBestIn(trx: Knex.Transaction, job: BookJob, holdSeconds: number, seatMap: () => Promise<SeatMap | undefined>): Promise<Outcome> {
  const prior = first(await trx.raw('SELECT bx_outcome(?)', [job.request_id]));
  if (prior) return { ...(prior as Outcome), replayed: true };
  const show = await seatMap();
  // bx_book answers NOT_FOUND, SHOW_STARTED or SOLD_OUT for these.
  if (!show || show.started || show.activeSeats >= show.totalSeats) return bookSeats(trx, job, [], holdSeconds);
  const seats = bestAvailable({ rowLengths: show.rowLengths, taken: show.taken, quantity: job.quantity ?? 1, allowSplit: job.allow_split ?? false });
  if (seats) return bookSeats(trx, job, seats, holdSeconds);
  const failure = bestAvailableFailure(show, job);
  return first(await trx.raw('SELECT bx_record(?, ?, ?, ?, NULL, bx_error(?, ?, ?::jsonb), ?)', [
    job.request_id, job.user_id, job.show_id, 'book', failure.code, failure.message, JSON.stringify(failure.details), job.created_at,
  ])) as Outcome;
}

/** Why best available found nothing: too few seats left, or none adjacent enough. */
export function bestAvailableFailure(show: SeatMap, job: BookJob): JobError & { details: { free: number } } {
  const free = show.totalSeats - show.activeSeats;
  return free < (job.quantity ?? 1)
    ? { code: 'SOLD_OUT', message: `Only ${free} seats left`, details: { free } }
    : { code: 'NO_ADJACENT_SEATS', message: `No ${job.quantity} adjacent seats in one row; allow_split lets them spread over rows`, details: { free } };
}

export async function bookingAction(db: Knex, job: BookingActionJob): Promise<Outcome> {
  const fn = job.type === 'cancel' ? 'bx_cancel' : 'bx_confirm';
  return first(await db.raw(`SELECT ${fn}(?, ?, ?, ?)`, [job.request_id, job.user_id, job.booking_id, job.created_at])) as Outcome;
}

export interface ExpiryResult {
  released: number[];
  retry_in_ms: number | null;
  available_seats: number;
}

export async function expireHold(db: Knex, showId: number, holdRequestId: string): Promise<ExpiryResult> {
  return first(await db.raw('SELECT bx_expire_hold(?, ?)', [showId, holdRequestId])) as ExpiryResult;
}

/** Several holds of one show released in one statement (one transaction, one round trip), in order. */
export async function expireHolds(db: Knex, showId: number, holdRequestIds: string[]): Promise<ExpiryResult[]> {
  if (holdRequestIds.length === 1) return [await expireHold(db, showId, holdRequestIds[0])];
  const res = await db.raw('SELECT bx_expire_hold(?, h) AS r FROM unnest(?::text[]) WITH ORDINALITY AS t(h, i) ORDER BY i', [showId, holdRequestIds]);
  return (res.rows as { r: ExpiryResult }[]).map((row) => row.r);
}

/** Stores a final failure for a request that could not be processed at all (retries exhausted). Keeps any outcome it already has. */
export async function recordFailure(db: Knex, job: BookJob | BookingActionJob, message: string): Promise<Outcome> {
  return db.transaction(async (trx) => {
    await trx.raw('SELECT bx_lock_show(?)', [job.show_id]);
    const prior = first(await trx.raw('SELECT bx_outcome(?)', [job.request_id]));
    if (prior) return prior as Outcome;
    return first(await trx.raw("SELECT bx_record(?, ?, ?, ?, NULL, bx_error('INTERNAL', ?), ?)", [
      job.request_id, job.user_id, job.show_id, job.type, message, job.created_at,
    ])) as Outcome;
  });
}
