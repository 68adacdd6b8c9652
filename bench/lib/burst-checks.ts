import type { Knex } from 'knex';
import type { BurstResult, Tracked } from './burst';
import { breachesOf, checkInvariants, InvariantReport, waitForOutcomes } from './invariants';

export interface BurstChecks {
  invariants: InvariantReport;
  /** Acknowledged requests whose final answer the client never saw (polling gave up). */
  unresolved: number;
  /** Requests whose stored outcome differs from what the client was told. */
  disagreeing: string[];
  /** Seats in successful booking answers vs booking rows for the show. */
  seatsAnswered: number;
  bookingRows: number;
  /** Booking rows made by requests the client does not know as successful. */
  strayBookings: number;
  /** Stored outcomes of requests the client never got an answer with an id for. */
  unknownOutcomes: number;
  demandSeats: number;
  soldOut: { expected: boolean; observed: boolean; neverAllocated: number };
  lapsedHolds: { total: number; released: number };
  breaches: string[];
}

const acknowledged = (tracked: Tracked[]) => tracked.filter((t) => t.id !== undefined);

async function storedOutcomes(db: Knex, showId: number) {
  const rows: { id: string; status: string; code: string | null }[] = await db('requests')
    .where('show_id', showId).select('id', 'status', db.raw("error->>'code' AS code"));
  return new Map(rows.map((r) => [r.id, r]));
}

async function bookingCounts(db: Knex, showId: number): Promise<Map<string, number>> {
  const rows: { request_id: string; n: number }[] = await db('bookings').where('show_id', showId).groupBy('request_id').select('request_id', db.raw('count(*)::int AS n'));
  return new Map(rows.map((r) => [r.request_id, r.n]));
}

/** Seats no booking row has ever named (a show that sold out has none). */
async function neverAllocated(db: Knex, showId: number): Promise<number> {
  const res = await db.raw(`
    SELECT count(*)::int AS n FROM shows, generate_series(1, shows.total_seats) s
     WHERE shows.id = ? AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.show_id = shows.id AND b.seat_number = s)`, [showId]);
  return res.rows[0].n;
}

/**
 * Everything the run must satisfy, checked in Postgres after the burst: DESIGN.md's invariants
 * (shared with the test suite), the client's answers against the stored outcomes, bookings against
 * successful answers, sold out when demand exceeded supply, and lapsed holds released.
 * Demand is the distinct seats named by explicit requests plus the seats asked for by best-available ones.
 */
export async function checkBurst(db: Knex, showId: number, totalSeats: number, burst: BurstResult, soldOutObserved: boolean): Promise<BurstChecks> {
  const acked = acknowledged(burst.tracked);
  const ids = acked.map((t) => t.id!);
  await waitForOutcomes(db, ids, 120_000);
  const invariants = await checkInvariants(db, showId, ids);
  const [stored, counts, never] = await Promise.all([storedOutcomes(db, showId), bookingCounts(db, showId), neverAllocated(db, showId)]);

  const disagreeing: string[] = [];
  const successful = new Set<string>();
  let seatsAnswered = 0;
  for (const t of acked) {
    if (t.final?.status === 'completed' && t.kind !== 'confirm') {
      successful.add(t.id!);
      seatsAnswered += t.final.bookingIds.length;
      if ((counts.get(t.id!) ?? 0) !== t.final.bookingIds.length) disagreeing.push(t.id!);
    }
    const row = stored.get(t.id!);
    if (t.final && row && (row.status !== t.final.status || (row.code ?? undefined) !== t.final.code)) disagreeing.push(t.id!);
  }
  const known = new Set(ids);
  let strayBookings = 0;
  for (const [requestId, n] of counts) if (!successful.has(requestId)) strayBookings += n;
  const bookingRows = [...counts.values()].reduce((a, b) => a + b, 0);

  const lapsedIds = burst.lapsedHolds.flatMap((h) => h.bookingIds);
  const released = lapsedIds.length ? Number((await db('bookings').whereIn('id', lapsedIds).where('status', 'expired').count('* as n'))[0].n) : 0;

  const named = new Set(burst.tracked.flatMap((t) => t.seats ?? []));
  const demandSeats = named.size + burst.tracked.filter((t) => !t.seats && t.kind !== 'confirm').reduce((n, t) => n + t.asked, 0);
  const soldOut = { expected: demandSeats > totalSeats, observed: soldOutObserved, neverAllocated: never };
  const unresolved = acked.filter((t) => !t.final).length;

  const breaches = breachesOf(invariants);
  if (unresolved) breaches.push(`${unresolved} acknowledged requests never reached a final answer`);
  if (disagreeing.length) breaches.push(`${disagreeing.length} answers disagree with the stored outcome (e.g. ${disagreeing.slice(0, 3).join(', ')})`);
  if (seatsAnswered !== bookingRows) breaches.push(`successful answers name ${seatsAnswered} seats but the show has ${bookingRows} booking rows`);
  if (strayBookings) breaches.push(`${strayBookings} booking rows belong to requests not answered as successful`);
  const unknownOutcomes = [...stored.keys()].filter((id) => !known.has(id)).length;
  const transport = burst.tracked.filter((t) => t.transportError).length;
  if (unknownOutcomes && !transport) breaches.push(`${unknownOutcomes} stored outcomes belong to requests that were never acknowledged`);
  if (soldOut.expected && !soldOut.observed) breaches.push(`demand (${demandSeats} seats) exceeded supply (${totalSeats}) but the show never sold out`);
  if (soldOut.expected && never) breaches.push(`${never} seats were never sold although demand exceeded supply`);
  if (released !== lapsedIds.length) breaches.push(`${lapsedIds.length - released} seats of lapsed holds were not released`);
  return {
    invariants, unresolved, disagreeing, seatsAnswered, bookingRows, strayBookings, unknownOutcomes, demandSeats, soldOut,
    lapsedHolds: { total: lapsedIds.length, released }, breaches,
  };
}
