import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { newRequestId } from '../../services/gateway/bookings/request-ids';
import type { Show } from '../../shared/db/models';
import { createShow, createUsers, TestUser } from '../support/fixtures';
import { inDatabase } from './fault-env';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One client action of the burst: a booking (explicit seats or best available) or a cancel. */
export interface Op {
  kind: 'book' | 'cancel';
  user: TestUser;
  showId: number;
  seats?: number[];
  quantity?: number;
  bookingId?: number;
  /** Idempotency-Key: a client retrying after no answer or a 503 sends the same one. */
  key: string;
  respondAsync: boolean;
}

export interface OpResult {
  op: Op;
  /** Status of the last answer; 0 when no attempt got an answer. */
  status: number;
  body: any;
  /** The job the answer names (body.id, or error.details.job_id for a failure from the job). */
  jobId?: string;
  /** Statuses of every attempt (0: connection failed). */
  attempts: number[];
  sentAt: number;
  answeredAt: number;
}

/** The request id the gateway derives from the user and the Idempotency-Key. */
export const expectedRequestId = (op: Op) => newRequestId(op.showId, op.user.id, op.key);

/** Answered by a job: 201/200/202, or a failure that names its job. Everything else was not acknowledged. */
export function jobIdOf(status: number, body: any): string | undefined {
  if ([200, 201, 202].includes(status)) return typeof body?.id === 'string' ? body.id : undefined;
  const id = body?.error?.details?.job_id;
  return typeof id === 'string' ? id : undefined;
}

export const isAcknowledged = (r: OpResult) => r.jobId !== undefined;

export interface BurstShow {
  show: Show;
  users: TestUser[];
  /** Bookings made before the burst, for the cancel traffic. */
  seeded: { bookingId: number; user: TestUser; seat: number }[];
}

export const SHOW_SEATS = 120;
/** Seats the burst contends for; the rest stay free for the recovery probe. */
export const CONTENDED_SEATS = 100;

/** A show of 120 seats, 24 customers, and 20 seats already booked (seats 1-20) to cancel during the burst. */
export async function prepareShow(db: Knex): Promise<BurstShow> {
  const [show, users] = await inDatabase(db, async () => [await createShow({ total_seats: SHOW_SEATS, max_seats_per_user: 10 }), await createUsers(24)] as const);
  const rows = Array.from({ length: 20 }, (_, i) => ({
    user_id: users[i].id, show_id: show.id, seat_number: i + 1, status: 'booked', request_id: `${show.id}-seed${i}`,
  }));
  const ids: { id: number; seat_number: number }[] = await db('bookings').insert(rows).returning(['id', 'seat_number']);
  const seeded = ids.map((r, i) => ({ bookingId: r.id, user: users[i], seat: r.seat_number }));
  return { show, users, seeded };
}

/** Book traffic on random contended seats (one or two at a time, some best-available) mixed with a cancel of every seeded booking. */
export function planOps(s: BurstShow, books: number, rand = Math.random): Op[] {
  const pick = () => 1 + Math.floor(rand() * CONTENDED_SEATS);
  const base = (user: TestUser) => ({ user, showId: s.show.id, key: randomUUID(), respondAsync: rand() < 0.3 });
  const ops: Op[] = [];
  for (let i = 0; i < books; i++) {
    const user = s.users[Math.floor(rand() * s.users.length)];
    const r = rand();
    if (r < 0.1) ops.push({ ...base(user), kind: 'book', quantity: 2 });
    else ops.push({ ...base(user), kind: 'book', seats: r < 0.4 ? [...new Set([pick(), pick()])] : [pick()] });
  }
  for (const b of s.seeded) ops.push({ ...base(b.user), kind: 'cancel', bookingId: b.bookingId });
  for (let i = ops.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ops[i], ops[j]] = [ops[j], ops[i]];
  }
  return ops;
}

async function sendOnce(baseUrl: string, op: Op, timeoutMs: number): Promise<{ status: number; body: any }> {
  const path = op.kind === 'book' ? `/shows/${op.showId}/book` : `/bookings/${op.bookingId}/cancel`;
  const body = op.kind === 'book' ? JSON.stringify(op.seats ? { seat_numbers: op.seats } : { quantity: op.quantity }) : undefined;
  const headers: Record<string, string> = {
    authorization: `Bearer ${op.user.token}`, 'idempotency-key': op.key, prefer: op.respondAsync ? 'respond-async' : 'wait=10',
  };
  if (body) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep the text */
  }
  return { status: res.status, body: parsed };
}

/** No answer, a 429, or a 502/503/504 that names no job: the request was not taken, so the client sends it again. */
const worthRetrying = (status: number, body: any) => status === 0 || ([429, 502, 503, 504].includes(status) && jobIdOf(status, body) === undefined);

/** Sends one op like a careful client: retries with the same Idempotency-Key until answered or `retryForMs` has passed. */
export async function perform(baseUrl: string, op: Op, retryForMs: number): Promise<OpResult> {
  const sentAt = Date.now();
  const attempts: number[] = [];
  let last: { status: number; body: any } = { status: 0, body: undefined };
  for (;;) {
    last = await sendOnce(baseUrl, op, 25_000).catch((err: Error) => ({ status: 0, body: String(err.cause ?? err.message) }));
    attempts.push(last.status);
    if (!worthRetrying(last.status, last.body) || Date.now() - sentAt > retryForMs) break;
    await sleep(Math.min(150 * attempts.length, 1000));
  }
  return { op, status: last.status, body: last.body, jobId: jobIdOf(last.status, last.body), attempts, sentAt, answeredAt: Date.now() };
}

export interface BurstOptions {
  baseUrl: string;
  ops: Op[];
  /** Requests started per second. */
  rate: number;
  /** At most this many requests in flight. */
  concurrency: number;
  retryForMs?: number;
}

/** Runs the ops at a steady rate with bounded concurrency. `reached(n)` resolves once n requests have been started. */
export class Burst {
  started = 0;
  /** Requests answered so far (or given up on), in the order they finished. */
  readonly answered: OpResult[] = [];
  readonly done: Promise<OpResult[]>;
  private readonly marks: { n: number; resolve: () => void }[] = [];

  constructor(private readonly opts: BurstOptions) {
    this.done = this.run();
  }

  reached(n: number): Promise<void> {
    if (this.started >= n) return Promise.resolve();
    return new Promise((resolve) => this.marks.push({ n, resolve }));
  }

  private async run(): Promise<OpResult[]> {
    const { ops, rate, concurrency, baseUrl, retryForMs = 40_000 } = this.opts;
    const results: Promise<OpResult>[] = [];
    let inFlight = 0;
    const t0 = Date.now();
    for (const op of ops) {
      while (inFlight >= concurrency) await sleep(5);
      const due = t0 + (this.started * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      inFlight++;
      results.push(perform(baseUrl, op, retryForMs).then((r) => {
        this.answered.push(r);
        return r;
      }).finally(() => { inFlight--; }));
      this.started++;
      for (const m of this.marks.filter((x) => x.n <= this.started)) m.resolve();
    }
    return Promise.all(results);
  }
}
