import { Booking } from '../../../shared/db/models';
import { AppError, badRequest, conflict, forbidden, notFound } from '../../../shared/errors';
import type { BookJob, BookingActionJob } from '../../../shared/queue/jobs';
import { waitingRoomPriority } from '../../../shared/queue/producer';
import { seatLabel } from '../../../shared/seating/layout';
import type { ShowFacts } from '../catalog/show-cache';
import type { Caller, GatewayDeps } from '../deps';
import { parsePrefer } from './prefer';
import { bodyHash, newRequestId } from './request-ids';
import type { LaterReply, Reply } from '../http/respond-later';
import { replayOfKey, submit } from './submit';

export interface BookBody {
  seat_number?: number;
  seat_numbers?: number[];
  quantity?: number;
  allow_split?: boolean;
  hold?: boolean;
}

export interface RequestHeaders {
  prefer?: string;
  idempotencyKey?: string;
}

function knownShow(show: ShowFacts | undefined): ShowFacts {
  if (!show) throw notFound('Show');
  return show;
}

/** Everything the gateway can tell before enqueueing: 404, 409 started or sold out, 425 too early, 400 seats. */
function assertBookable(found: ShowFacts | undefined, seats: number[] | undefined, now: number, prequeueSeconds: number): ShowFacts {
  const show = knownShow(found);
  if (show.date_time.getTime() <= now) throw conflict('SHOW_STARTED', 'The show has already started');
  if (show.sales_open_at && show.sales_open_at.getTime() - prequeueSeconds * 1000 > now) {
    const opensIn = Math.ceil((show.sales_open_at.getTime() - prequeueSeconds * 1000 - now) / 1000);
    throw new AppError(425, 'TOO_EARLY', `The waiting room opens ${prequeueSeconds}s before sales open at ${show.sales_open_at.toISOString()}`,
      { sales_open_at: show.sales_open_at.toISOString(), waiting_room_opens_in_seconds: opensIn }, { 'Retry-After': String(opensIn) });
  }
  const outOfRange = (seats ?? []).filter((s) => s > show.total_seats);
  if (outOfRange.length) throw badRequest(`Seats must be between 1 and ${show.total_seats}`, { seats: outOfRange });
  if (show.available <= 0) throw conflict('SOLD_OUT', 'The show is sold out');
  return show;
}

const seatsOf = (body: BookBody) => body.seat_numbers ?? (body.seat_number !== undefined ? [body.seat_number] : undefined);

/**
 * The refusals a booking gets from what this gateway already knows of the show (sold out, started,
 * not open yet, seats out of range), answered before the user directory or admission is asked:
 * once a show sells out, the rest of the burst costs a token check and a map lookup each. A
 * keyed request goes the whole way (a replay answers its original outcome). Nothing here reveals
 * more than GET /shows/{id} does.
 */
export function refuseEarly(deps: GatewayDeps, showId: number, body: BookBody, headers: RequestHeaders): void {
  if (headers.idempotencyKey) return;
  const show = deps.shows.peek(showId);
  if (show) assertBookable(show, seatsOf(body), Date.now(), deps.cfg.PREQUEUE_SECONDS);
}

/** POST /shows/:id/book: checks and admission, then enqueues on the show's queue and awaits or answers 202. */
export async function requestBooking(deps: GatewayDeps, caller: Caller, showId: number, body: BookBody, headers: RequestHeaders): Promise<Reply | LaterReply> {
  await deps.admission.admitUser(caller.id);
  const seats = seatsOf(body);
  const now = Date.now();
  const requestId = newRequestId(showId, caller.id, headers.idempotencyKey);
  // Only a keyed request can be replayed, so only it needs the fingerprint of what it asks.
  const hash = headers.idempotencyKey ? bodyHash('book', showId, body) : undefined;
  const replay = headers.idempotencyKey ? await replayOfKey(deps, caller.id, headers.idempotencyKey, { request_id: requestId, body_hash: hash }) : undefined;
  if (replay && replay !== 'pending') return replay;
  // A pending replay passed these checks when it was accepted; the worker decides the rest.
  const found = await deps.shows.get(showId);
  const show = replay ? knownShow(found) : assertBookable(found, seats, now, deps.cfg.PREQUEUE_SECONDS);
  const admitted = replay ? undefined : await deps.admission.admitToShow(showId);
  // One literal with every field (no spreads): a field left undefined is not in the job's JSON.
  const job: BookJob = {
    type: 'book', request_id: requestId, user_id: caller.id, show_id: showId,
    seats, quantity: seats ? undefined : body.quantity, allow_split: seats ? undefined : body.allow_split ?? false,
    hold: body.hold ?? false, created_at: new Date(now).toISOString(), body_hash: hash,
  };
  const inWaitingRoom = show.sales_open_at !== null && show.sales_open_at.getTime() > now;
  const prefer = parsePrefer(headers.prefer);
  return submit(deps, job, {
    idempotencyKey: headers.idempotencyKey,
    waitSeconds: inWaitingRoom || prefer.respondAsync ? 0 : prefer.wait ?? deps.cfg.BOOK_WAIT_SECONDS,
    jobOptions: inWaitingRoom
      // timestamp + delay is BullMQ's due time: the same millisecond for every waiting-room job, so all are shuffled together.
      ? { timestamp: now, delay: show.sales_open_at!.getTime() - now, priority: waitingRoomPriority(show.shuffle_seed, requestId) }
      : undefined,
    admitted: admitted && !inWaitingRoom ? { position: admitted.position, rate: admitted.rate, seatsPerJob: admitted.seatsPerJob, available: show.available } : undefined,
  });
}

/** The state a cancel or confirm needs: 409 ALREADY_CANCELLED, HOLD_EXPIRED or NOT_HELD otherwise. */
function assertActionable(type: 'cancel' | 'confirm', booking: Booking) {
  if (type === 'cancel' && !['booked', 'held'].includes(booking.status)) {
    throw conflict('ALREADY_CANCELLED', `Booking is already ${booking.status}`, { status: booking.status });
  }
  if (type === 'confirm' && booking.status !== 'held') {
    if (booking.status === 'expired') throw conflict('HOLD_EXPIRED', 'The hold has expired');
    throw conflict('NOT_HELD', `Booking is ${booking.status}, not held`, { status: booking.status });
  }
}

/** POST /bookings/:id/cancel and /confirm: ownership and state checks, then the show's queue. */
export async function requestBookingAction(deps: GatewayDeps, caller: Caller, type: 'cancel' | 'confirm', bookingId: number, headers: RequestHeaders): Promise<Reply | LaterReply> {
  await deps.admission.admitUser(caller.id);
  const booking = await Booking.query().findById(bookingId);
  if (!booking) throw notFound('Booking');
  if (booking.user_id !== caller.id) throw forbidden('This booking belongs to someone else');
  const key = headers.idempotencyKey;
  const ids = { request_id: newRequestId(booking.show_id, caller.id, key), body_hash: bodyHash(type, bookingId, null) };
  const replay = key ? await replayOfKey(deps, caller.id, key, ids) : undefined;
  if (replay && replay !== 'pending') return replay;
  if (!replay) assertActionable(type, booking);
  const job: BookingActionJob = {
    type, ...ids, user_id: caller.id, show_id: booking.show_id, booking_id: bookingId, created_at: new Date().toISOString(),
  };
  const prefer = parsePrefer(headers.prefer);
  return submit(deps, job, { idempotencyKey: key, waitSeconds: prefer.respondAsync ? 0 : prefer.wait ?? deps.cfg.BOOK_WAIT_SECONDS });
}

/** GET /my-bookings: newest first, with show and movie fields. */
export async function listMyBookings(caller: Caller, page: { limit: number; offset: number }) {
  const base = Booking.query().where('bookings.user_id', caller.id);
  const [rows, total] = await Promise.all([
    base.clone().joinRelated('show.movie')
      .select('bookings.*', 'show.screen_name', 'show.date_time as show_date_time', 'show.row_lengths', 'show:movie.id as movie_id', 'show:movie.title as movie_title')
      .orderBy([{ column: 'bookings.created_at', order: 'desc' }, { column: 'bookings.id', order: 'desc' }])
      .limit(page.limit).offset(page.offset),
    base.clone().resultSize(),
  ]);
  const items = rows.map((r: any) => ({
    id: r.id, show_id: r.show_id, seat_number: r.seat_number, seat_label: seatLabel(r.row_lengths, r.seat_number) ?? String(r.seat_number),
    status: r.status, hold_expires_at: r.hold_expires_at, created_at: r.created_at, cancelled_at: r.cancelled_at,
    screen_name: r.screen_name, show_date_time: r.show_date_time, movie_id: r.movie_id, movie_title: r.movie_title,
  }));
  return { items, total, ...page };
}
