import { randomUUID } from 'node:crypto';
import { Booking, BookingStatus, Show } from '../../shared/db/models';

/** Writes bookings straight into the database (the worker's job), one per seat. */
export async function book(show: Show, userId: number, seats: number[], status: BookingStatus = 'booked') {
  for (const seat of seats) {
    await Booking.query().insert({ user_id: userId, show_id: show.id, seat_number: seat, status, request_id: `${show.id}-${randomUUID()}` } as Partial<Booking>);
  }
}
