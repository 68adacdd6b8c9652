import type { Knex } from 'knex';
import type { Client, HttpResult } from '../support/http';

/** Waits long enough that no booking call in these tests times out into 202. */
export const AWAIT = { Prefer: 'wait=60' };
export const ASYNC = { Prefer: 'respond-async' };

export type BookBody = { seat_number: number } | { seat_numbers: number[] } | { quantity: number };

export function book(api: Client, token: string, showId: number, body: BookBody, headers: Record<string, string> = AWAIT) {
  return api.post(`/shows/${showId}/book`, { token, body, headers });
}

export function cancel(api: Client, token: string, bookingId: number, headers: Record<string, string> = AWAIT) {
  return api.post(`/bookings/${bookingId}/cancel`, { token, headers });
}

/** The request (job) id an answer names: the job body of 200/201/202, or details.job_id of a queued failure. */
export function jobIdOf(res: HttpResult): string | undefined {
  return res.status < 300 ? res.body?.id : res.body?.error?.details?.job_id;
}

/** Polls GET /jobs/:id until the job is completed or failed. */
export async function pollJob(api: Client, token: string, id: string, timeoutMs = 30_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.get(`/jobs/${id}`, { token });
    if (res.status !== 200) throw new Error(`GET /jobs/${id} answered ${res.status}: ${res.text}`);
    if (res.body.status === 'completed' || res.body.status === 'failed') return res.body;
    if (Date.now() > until) throw new Error(`job ${id} still ${res.body.status} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds (or throws after the timeout). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Active (booked or held) bookings of a show, by seat. */
export async function activeSeats(db: Knex, showId: number): Promise<number[]> {
  return db('bookings').where('show_id', showId).whereIn('status', ['booked', 'held']).orderBy('seat_number').pluck('seat_number');
}

/** Backends waiting for a show's allocation lock (pg_advisory_xact_lock(7001, show)), with their application_name. */
export async function lockWaiters(db: Knex, showId: number): Promise<{ pid: number; application_name: string }[]> {
  const res = await db.raw(`
    SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.classid = 7001 AND l.objid = ? AND l.objsubid = 2 AND NOT l.granted`, [showId]);
  return res.rows;
}

/**
 * Holds a show's allocation lock from a separate session, so jobs of that show block inside
 * their transaction until `release()`.
 */
export async function holdShowLock(db: Knex, showId: number): Promise<{ release: () => Promise<void> }> {
  const conn = await db.client.acquireConnection();
  await conn.query('SELECT pg_advisory_lock(7001, $1)', [showId]);
  return {
    release: async () => {
      await conn.query('SELECT pg_advisory_unlock(7001, $1)', [showId]);
      await db.client.releaseConnection(conn);
    },
  };
}

/** A worker's DATABASE_URL tagged with an application_name, to find its backends in pg_stat_activity. */
export function taggedDatabaseUrl(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set('application_name', name);
  return u.toString();
}
