import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../../shared/config';
import { AppError } from '../../../shared/errors';
import { bullKey } from '../../../shared/queue/names';
import { queueDepth, readDrainStats } from '../../../shared/queue/stats';
import type { RedisClient } from '../../../shared/redis';

type AdmissionConfig = Pick<Config, 'MAX_QUEUE_DEPTH' | 'BOOK_RATE_LIMIT' | 'BOOK_RATE_WINDOW_SECONDS'>;

/** How long a show's measured queue depth is trusted before it is read again from Redis. */
export const DEPTH_REFRESH_MS = 200;
/** Retry-After when the queue is full and no drain rate has been measured yet (e.g. before sales open). */
export const UNKNOWN_RATE_RETRY_SECONDS = 30;
const MAX_RETRY_SECONDS = 3600;
const MAX_SHOWS = 10_000;

interface ShowLoad {
  /** Jobs on the show's queue (waiting, running and delayed), plus the ones this process admitted since it was read. */
  depth: number;
  /** Jobs ahead of the next booking: the same without delayed jobs (hold expiries, the waiting room). */
  ahead: number;
  /** Jobs per second, from the workers' drain stats (0 when unknown). */
  rate: number;
  /** Mean seats asked per book job, from the same stats. */
  seatsPerJob: number;
  at: number;
}

/** Where an admitted booking stands: jobs ahead of it as this gateway counts them, and the drain stats. */
export interface Admitted {
  position: number;
  rate: number;
  seatsPerJob: number;
}

/** Seconds until `excess` jobs have drained at `rate` jobs per second. */
export function retryAfterSeconds(excess: number, rate: number): number {
  if (!(rate > 0)) return UNKNOWN_RATE_RETRY_SECONDS;
  return Math.min(MAX_RETRY_SECONDS, Math.max(1, Math.ceil(excess / rate)));
}

/**
 * Admission control in front of the show queues, cheap enough for the booking hot path:
 * - a per-user budget of queue-bound requests (book, cancel, confirm), in process;
 * - a maximum depth per show queue. The depth is read from Redis at most every DEPTH_REFRESH_MS
 *   per show (one pipelined round trip, shared by concurrent callers) and counted up locally in
 *   between; past MAX_QUEUE_DEPTH a booking answers 429 with a Retry-After from the drain rate.
 */
export class Admission {
  private readonly perUser?: RateLimiterMemory;
  private readonly loads = new Map<number, ShowLoad>();
  private readonly reading = new Map<number, Promise<ShowLoad>>();
  /** Bookings admitted per show by this process, ever: admissions during a read are added to what it measured. */
  private readonly admitted = new Map<number, number>();

  constructor(private readonly redis: RedisClient, private readonly cfg: AdmissionConfig) {
    if (cfg.BOOK_RATE_LIMIT > 0) this.perUser = new RateLimiterMemory({ points: cfg.BOOK_RATE_LIMIT, duration: cfg.BOOK_RATE_WINDOW_SECONDS });
  }

  /** Spends one of the user's queue-bound requests; 429 RATE_LIMITED when the window's budget is used up. */
  async admitUser(userId: number): Promise<void> {
    if (!this.perUser) return;
    try {
      await this.perUser.consume(String(userId));
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      const after = String(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
      throw new AppError(429, 'RATE_LIMITED', `At most ${this.cfg.BOOK_RATE_LIMIT} booking requests per ${this.cfg.BOOK_RATE_WINDOW_SECONDS}s per user`,
        { limit: this.cfg.BOOK_RATE_LIMIT, window_seconds: this.cfg.BOOK_RATE_WINDOW_SECONDS }, { 'Retry-After': after });
    }
  }

  /** Gives back one of the user's queue-bound requests (the request never reached the queue). */
  async refundUser(userId: number): Promise<void> {
    await this.perUser?.reward(String(userId), 1);
  }

  /**
   * Takes a place on the show's queue; 429 SHOW_QUEUE_FULL when it is at MAX_QUEUE_DEPTH.
   * The place is the depth this process knows (read from Redis at most every DEPTH_REFRESH_MS and
   * counted up since): exact with one gateway, a little low when several add to the same show.
   */
  async admitToShow(showId: number): Promise<Admitted> {
    const seen = await this.load(showId);
    const load = this.loads.get(showId) ?? seen;
    const max = this.cfg.MAX_QUEUE_DEPTH;
    if (load.depth >= max) {
      const after = retryAfterSeconds(load.depth - max + 1, load.rate);
      throw new AppError(429, 'SHOW_QUEUE_FULL', 'The show\'s queue is full; try again later',
        { queue_depth: load.depth, max_queue_depth: max, drain_rate: load.rate }, { 'Retry-After': String(after) });
    }
    const position = load.ahead;
    load.depth += 1;
    load.ahead += 1;
    this.admitted.set(showId, (this.admitted.get(showId) ?? 0) + 1);
    return { position, rate: load.rate, seatsPerJob: load.seatsPerJob };
  }

  /** The show's load: fresh, or stale while a read is under way unless the stale value would refuse. */
  private async load(showId: number): Promise<ShowLoad> {
    const known = this.loads.get(showId);
    if (known && Date.now() - known.at < DEPTH_REFRESH_MS) return known;
    const fresh = this.read(showId);
    if (known && known.depth < this.cfg.MAX_QUEUE_DEPTH) {
      fresh.catch(() => undefined);
      return known;
    }
    return fresh;
  }

  private read(showId: number): Promise<ShowLoad> {
    let pending = this.reading.get(showId);
    if (!pending) {
      pending = this.measure(showId).finally(() => this.reading.delete(showId));
      this.reading.set(showId, pending);
    }
    return pending;
  }

  private async measure(showId: number): Promise<ShowLoad> {
    const admittedBefore = this.admitted.get(showId) ?? 0;
    const [depth, delayed, stats] = await Promise.all([
      queueDepth(this.redis, showId), this.redis.zcard(bullKey(showId, 'delayed')), readDrainStats(this.redis, showId),
    ]);
    const admittedSince = (this.admitted.get(showId) ?? 0) - admittedBefore;
    const load = { depth: depth + delayed + admittedSince, ahead: depth + admittedSince, rate: stats.rate, seatsPerJob: stats.seatsPerJob, at: Date.now() };
    if (this.loads.size >= MAX_SHOWS && !this.loads.has(showId)) {
      this.loads.clear();
      this.admitted.clear();
    }
    this.loads.set(showId, load);
    return load;
  }
}
