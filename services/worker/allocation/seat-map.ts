import type { Knex } from 'knex';
import { SeatSet } from '../../../shared/seating/seat-set';

/** What best-available needs to know about a show, read once under the show's lock. */
export interface SeatMap {
  rowLengths: number[];
  totalSeats: number;
  activeSeats: number;
  started: boolean;
  /** Seats booked or held. */
  taken: SeatSet;
}

/** The show's layout and taken seats in one round trip (undefined for an unknown show). Call under the show's lock. */
export async function loadSeatMap(trx: Knex.Transaction, showId: number): Promise<SeatMap | undefined> {
  const res = await trx.raw(`
    SELECT s.row_lengths, s.total_seats, s.active_seats, s.date_time <= now() AS started,
           (SELECT coalesce(array_agg(b.seat_number), '{}') FROM bookings b
             WHERE b.show_id = s.id AND b.status IN ('booked', 'held')) AS taken
      FROM shows s WHERE s.id = ?`, [showId]);
  const row = res.rows[0] as { row_lengths: number[]; total_seats: number; active_seats: number; started: boolean; taken: number[] } | undefined;
  if (!row) return undefined;
  return { rowLengths: row.row_lengths, totalSeats: row.total_seats, activeSeats: row.active_seats, started: row.started, taken: new SeatSet(row.taken, row.total_seats) };
}

/** Marks seats taken (a booking the caller expects to succeed). */
export function takeSeats(map: SeatMap, seats: number[]): void {
  for (const seat of seats) map.taken.add(seat);
  map.activeSeats += seats.length;
}
