import { Knex } from 'knex';

export interface InvariantReport {
  /** Seats with more than one active booking (must be 0; the unique index forbids it). */
  duplicates: number;
  /** Acknowledged requests with no stored outcome. */
  lost: string[];
  /** Acknowledged requests with a stored outcome. */
  outcomes: number;
  /** Requests whose bookings disagree with their outcome. */
  mismatched: string[];
  /** Active bookings on the show. */
  activeSeats: number;
  /** shows.active_seats, kept by the trigger. */
  counter: number;
}

/**
 * The checks every race, fault and benchmark run ends with: no seat held twice, every
 * acknowledged request has exactly one outcome, a completed booking's seats are really booked
 * by that request, and the show's counter matches its bookings.
 */
export async function checkInvariants(db: Knex, showId: number, acknowledged: Iterable<string>): Promise<InvariantReport> {
  const ids = [...new Set(acknowledged)];
  const dup = await db.raw(`SELECT count(*)::int AS n FROM (SELECT seat_number FROM bookings WHERE show_id = ? AND status IN ('booked','held')
                             GROUP BY seat_number HAVING count(*) > 1) d`, [showId]);
  const stored = new Set<string>();
  for (let i = 0; i < ids.length; i += 5000) {
    const rows = await db('requests').whereIn('id', ids.slice(i, i + 5000)).pluck('id');
    rows.forEach((r: string) => stored.add(r));
  }
  const mismatched = await db.raw(`
    SELECT r.id FROM requests r
     WHERE r.show_id = ? AND r.type = 'book' AND r.status = 'completed'
       AND jsonb_array_length(r.result->'bookings') <> (SELECT count(*) FROM bookings b WHERE b.request_id = r.id)
    UNION ALL
    SELECT r.id FROM requests r
     WHERE r.show_id = ? AND r.type = 'book' AND r.status = 'failed' AND EXISTS (SELECT 1 FROM bookings b WHERE b.request_id = r.id)`, [showId, showId]);
  const active = await db('bookings').where('show_id', showId).whereIn('status', ['booked', 'held']).count('* as n').first();
  const show = await db('shows').where('id', showId).first('active_seats');
  return {
    duplicates: dup.rows[0].n,
    lost: ids.filter((id) => !stored.has(id)),
    outcomes: stored.size,
    mismatched: mismatched.rows.map((r: { id: string }) => r.id),
    activeSeats: Number(active?.n ?? 0),
    counter: show?.active_seats ?? 0,
  };
}

/** Polls until every given request has an outcome in Postgres, or the timeout passes. */
export async function waitForOutcomes(db: Knex, ids: string[], timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const [{ n }] = await db('requests').whereIn('id', ids).count('* as n');
    if (Number(n) >= ids.length || Date.now() - started > timeoutMs) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The report's breaches as sentences (empty when every invariant holds). */
export function breachesOf(r: InvariantReport): string[] {
  const out: string[] = [];
  if (r.duplicates > 0) out.push(`${r.duplicates} seats have more than one active booking`);
  if (r.lost.length > 0) out.push(`${r.lost.length} acknowledged requests have no outcome (e.g. ${r.lost.slice(0, 3).join(', ')})`);
  if (r.mismatched.length > 0) out.push(`${r.mismatched.length} requests disagree with their bookings (e.g. ${r.mismatched.slice(0, 3).join(', ')})`);
  if (r.activeSeats !== r.counter) out.push(`shows.active_seats is ${r.counter} but ${r.activeSeats} seats are active`);
  return out;
}
