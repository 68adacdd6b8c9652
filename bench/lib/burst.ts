import type { BenchUser } from './fixtures';
import { Answer, HttpClient } from './http-client';
import { Rng } from './rng';
import type { Timeline } from './stats';

export type Kind = 'single' | 'multi' | 'best' | 'hold' | 'confirm';

export interface BurstOptions {
  showId: number;
  seats: number;
  requests: number;
  /** Booking requests in flight at once (awaiting ones hold their slot until answered). */
  concurrency: number;
  /** Share of booking requests sent with `Prefer: respond-async` (then polled). */
  asyncShare: number;
  /** Relative weights of single-seat, multi-seat, best-available and hold requests. */
  mix: Record<Exclude<Kind, 'confirm'>, number>;
  /** Share of successful holds confirmed later; the rest are left to expire. */
  confirmShare: number;
  seed: number;
  /** Gives up polling a job this long after the last request was sent. */
  pollTimeoutMs: number;
}

/** One request as the client saw it. */
export interface Tracked {
  kind: Kind;
  async: boolean;
  user: number;
  /** Seats asked for (the quantity for best available). */
  asked: number;
  /** The seat numbers named, for explicit requests. */
  seats?: number[];
  sentAt: number;
  status: number;
  ms: number;
  /** The job id, once the request was acknowledged (a job id in the answer). */
  id?: string;
  /** Refused before any job was made (e.g. 409 SOLD_OUT from the gateway's cache), with the error code. */
  refused?: string;
  transportError?: string;
  final?: { status: 'completed' | 'failed'; code?: string; bookingIds: number[]; expiresAt?: string; at: number };
  polls: number;
}

export interface BurstResult {
  tracked: Tracked[];
  startedAt: number;
  sendingEndedAt: number;
  endedAt: number;
  /** Holds nobody confirmed: their seats must be released when they expire. */
  lapsedHolds: { id: string; bookingIds: number[]; expiresAt: string }[];
}

const epochNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const asyncHeaders = { prefer: 'respond-async' };

/**
 * The launch burst: `requests` booking calls over random seats with the configured mix, at most
 * `concurrency` in flight; 202 answers are polled on GET /jobs/:id, some holds are confirmed later.
 * Resolves when every acknowledged request has a final answer (or polling gave up).
 */
export class Burst {
  private readonly rng: Rng;
  private readonly tracked: Tracked[] = [];
  private readonly background = new Set<Promise<void>>();
  private readonly lapsedHolds: BurstResult['lapsedHolds'] = [];
  private sendingEndedAt = Infinity;

  constructor(
    private readonly client: HttpClient,
    private readonly pollClient: HttpClient,
    private readonly users: BenchUser[],
    private readonly opts: BurstOptions,
    private readonly timeline: Timeline,
  ) {
    this.rng = new Rng(opts.seed);
  }

  async run(): Promise<BurstResult> {
    const startedAt = epochNow();
    let next = 0;
    const lane = async () => {
      while (next < this.opts.requests) await this.book(next++);
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, this.opts.requests) }, lane));
    this.sendingEndedAt = epochNow();
    while (this.background.size) await Promise.all([...this.background]);
    return { tracked: this.tracked, startedAt, sendingEndedAt: this.sendingEndedAt, endedAt: epochNow(), lapsedHolds: this.lapsedHolds };
  }

  private pickKind(): Exclude<Kind, 'confirm'> {
    const { mix } = this.opts;
    let r = this.rng.next() * (mix.single + mix.multi + mix.best + mix.hold);
    for (const k of ['single', 'multi', 'best', 'hold'] as const) {
      if ((r -= mix[k]) < 0) return k;
    }
    return 'single';
  }

  private seatRun(len: number): number[] {
    const start = 1 + this.rng.int(this.opts.seats - len + 1);
    return Array.from({ length: len }, (_, i) => start + i);
  }

  private bodyFor(kind: Exclude<Kind, 'confirm'>): { body: Record<string, unknown>; asked: number; seats?: number[] } {
    switch (kind) {
      case 'single': {
        const seat = 1 + this.rng.int(this.opts.seats);
        return { body: { seat_number: seat }, asked: 1, seats: [seat] };
      }
      case 'multi': {
        const seats = this.seatRun(2 + this.rng.int(3));
        return { body: { seat_numbers: seats }, asked: seats.length, seats };
      }
      case 'best': {
        const quantity = 1 + this.rng.int(4);
        return { body: { quantity }, asked: quantity };
      }
      case 'hold': {
        if (this.rng.next() < 0.5) {
          const seat = 1 + this.rng.int(this.opts.seats);
          return { body: { seat_number: seat, hold: true }, asked: 1, seats: [seat] };
        }
        const quantity = 1 + this.rng.int(2);
        return { body: { quantity, hold: true }, asked: quantity };
      }
    }
  }

  private async book(i: number) {
    const kind = this.pickKind();
    const { body, asked, seats } = this.bodyFor(kind);
    const async = this.rng.next() < this.opts.asyncShare;
    const user = i % this.users.length;
    const sentAt = epochNow();
    this.timeline.count('sent', sentAt);
    const a = await this.client.call('POST', `/shows/${this.opts.showId}/book`, { token: this.users[user].token, body, headers: async ? asyncHeaders : undefined });
    const t: Tracked = { kind, async, user, asked, seats, sentAt, status: a.status, ms: a.ms, polls: 0 };
    this.tracked.push(t);
    this.settle(t, a);
  }

  /** Reads an answer: final, acknowledged (poll it), refused before queueing, or a transport failure. */
  private settle(t: Tracked, a: Answer) {
    const answeredAt = t.sentAt + a.ms;
    if (a.transportError) {
      t.transportError = a.transportError;
      return;
    }
    const jobId: string | undefined = a.status === 202 || a.status === 200 || a.status === 201 ? a.body?.id : a.body?.error?.details?.job_id;
    if (!jobId) {
      t.refused = a.body?.error?.code ?? `HTTP_${a.status}`;
      this.timeline.count('refused', answeredAt);
      if (t.refused === 'SOLD_OUT') this.timeline.sample('sold_out_ms', answeredAt, a.ms);
      return;
    }
    t.id = jobId;
    if (a.status === 202) {
      if (t.async) this.timeline.sample('accept_ms', answeredAt, a.ms);
      this.spawn(this.poll(t));
    } else if (a.status === 200 || a.status === 201) {
      this.finish(t, a.body, answeredAt);
    } else {
      t.final = { status: 'failed', code: a.body.error.code, bookingIds: [], at: answeredAt };
      this.timeline.sample('result_ms', answeredAt, answeredAt - t.sentAt);
    }
  }

  private spawn(p: Promise<void>) {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** A finished job view (from the answer or a poll). */
  private finish(t: Tracked, view: any, at: number) {
    const bookings: { id: number }[] = view.result?.bookings ?? [];
    t.final = {
      status: view.status, code: view.error?.code, bookingIds: bookings.map((b) => b.id), expiresAt: view.result?.expires_at, at,
    };
    this.timeline.sample('result_ms', at, at - t.sentAt);
    if (t.kind === 'hold' && view.status === 'completed' && t.final.expiresAt) {
      if (this.rng.next() < this.opts.confirmShare) this.spawn(this.confirm(t));
      else this.lapsedHolds.push({ id: t.id!, bookingIds: t.final.bookingIds, expiresAt: t.final.expiresAt });
    }
  }

  private async poll(t: Tracked) {
    let wait = 500;
    for (;;) {
      await sleep(wait);
      if (epochNow() - this.sendingEndedAt > this.opts.pollTimeoutMs) return;
      const a = await this.pollClient.call('GET', `/jobs/${t.id}`, { token: this.users[t.user].token });
      t.polls++;
      if (a.status === 200 && (a.body.status === 'completed' || a.body.status === 'failed')) {
        this.finish(t, a.body, Date.parse(a.body.finished_at));
        return;
      }
      // As a client would: come back around the ETA the job view gives (bounded), with some jitter.
      const eta = Number(a.body?.eta_seconds);
      const base = Number.isFinite(eta) && eta > 0 ? Math.min(15_000, Math.max(500, eta * 800)) : 1000;
      wait = base * (0.75 + this.rng.next() * 0.5);
    }
  }

  /** Confirms a hold a little later, awaiting the answer (polling if it comes back 202). */
  private async confirm(hold: Tracked) {
    await sleep(500 + this.rng.int(2500));
    const sentAt = epochNow();
    const a = await this.pollClient.call('POST', `/bookings/${hold.final!.bookingIds[0]}/confirm`, { token: this.users[hold.user].token });
    const t: Tracked = { kind: 'confirm', async: false, user: hold.user, asked: 0, sentAt, status: a.status, ms: a.ms, polls: 0 };
    this.tracked.push(t);
    this.settle(t, a);
  }
}
