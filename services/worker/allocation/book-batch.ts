import type { Knex } from 'knex';
import type { BookJob, Outcome } from '../../../shared/queue/jobs';
import { bullKey, queuePrefix, showQueueName } from '../../../shared/queue/names';
import type { RedisClient } from '../../../shared/redis';
import { bookBestAvailable, bookBestIn, bookSeats } from './allocate';
import { applyOutcome, loadSeatMap, SeatMap } from './seat-map';

/**
 * The book jobs waiting at the head of a show's queue, in the order BullMQ hands them over
 * (the prioritized set's order), up to the first job that is not a booking. Returns id, data pairs.
 */
const PEEK_BOOK_JOBS = `
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  local fields = redis.call('HMGET', ARGV[2] .. id, 'name', 'data')
  if fields[1] ~= 'book' or not fields[2] then break end
  out[#out + 1] = id
  out[#out + 1] = fields[2]
end
return out`;

const first = (res: { rows: Record<string, unknown>[] }) => Object.values(res.rows[0])[0];

const rowOf = (job: BookJob, holdSeconds: number) => ({
  request_id: job.request_id, user_id: job.user_id, show_id: job.show_id, seats: job.seats, hold_seconds: job.hold ? holdSeconds : 0, created_at: job.created_at,
});

/**
 * Allocates several book jobs of one show, in order, in one transaction under the show's lock:
 * runs of explicit-seat jobs go to bx_book_batch in one round trip; best-available jobs share one
 * seat map read for the whole batch. Each job gets exactly the outcome it would get alone.
 */
export async function allocateBatch(db: Knex, jobs: BookJob[], holdSeconds: number): Promise<Outcome[]> {
  if (jobs.length === 1) return [jobs[0].seats ? await bookSeats(db, jobs[0], jobs[0].seats, holdSeconds) : await bookBestAvailable(db, jobs[0], holdSeconds)];
  const showId = jobs[0].show_id;
  return db.transaction(async (trx) => {
    await trx.raw('SELECT bx_lock_show(?)', [showId]);
    const outcomes: Outcome[] = [];
    let map: SeatMap | undefined;
    let mapLoaded = false;
    const seatMap = async () => {
      if (!mapLoaded) {
        map = await loadSeatMap(trx, showId);
        mapLoaded = true;
      }
      return map;
    };
    for (let i = 0; i < jobs.length;) {
      let j = i;
      while (j < jobs.length && jobs[j].seats) j++;
      const decided = j > i
        ? (first(await trx.raw('SELECT bx_book_batch(?::jsonb)', [JSON.stringify(jobs.slice(i, j).map((job) => rowOf(job, holdSeconds)))])) as Outcome[])
        : [await bookBestIn(trx, jobs[i], holdSeconds, seatMap)];
      for (const o of decided) {
        outcomes.push(o);
        if (map) applyOutcome(map, o);
      }
      i = Math.max(j, i + 1);
    }
    return outcomes;
  });
}

export interface BatchResult {
  outcome: Outcome;
  /** The outcome was decided earlier, in a batch ahead of this job, and published then. */
  early: boolean;
}

interface Decided {
  outcome: Outcome;
  at: number;
}

const STALE_MS = 30_000;

/**
 * Allocation in batches while keeping one allocation transaction at a time per show. When a book
 * job starts, the book jobs queued right behind it are allocated in the same transaction; and
 * while BullMQ hands over jobs decided that way, the next batch is allocated in the background.
 * Decided outcomes are stored in Postgres (a later run of the job replays them), published at
 * once, and kept here so that the job completes without another transaction when its turn comes.
 */
export class BookBatcher {
  private readonly decided = new Map<number, Map<string, Decided>>();
  private readonly running = new Map<number, Promise<void>>();

  constructor(
    private readonly db: Knex,
    private readonly redis: RedisClient,
    private readonly holdSeconds: number,
    private readonly maxBatch: number,
    /** Publishes outcomes, in the order they were decided. */
    private readonly publish: (outcomes: Outcome[]) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  async book(job: BookJob): Promise<BatchResult> {
    let known = this.take(job);
    if (!known && this.running.has(job.show_id)) {
      await this.running.get(job.show_id);
      known = this.take(job);
    }
    if (known) {
      this.prefetchIfLow(job.show_id);
      return { outcome: known, early: true };
    }
    const behind = this.maxBatch > 1 ? await this.peek(job.show_id, this.maxBatch - 1, job.request_id) : [];
    let outcomes: Outcome[];
    try {
      outcomes = await allocateBatch(this.db, [job, ...behind], this.holdSeconds);
    } catch (err) {
      if (behind.length === 0) throw err;
      // Maybe a job behind caused it: this one goes alone, the others get their own turn.
      outcomes = await allocateBatch(this.db, [job], this.holdSeconds);
    }
    this.keep(job.show_id, behind, outcomes.slice(1));
    this.publish([outcomes[0], ...outcomes.slice(1).filter((o) => !o.replayed)]);
    this.prefetchIfLow(job.show_id);
    return { outcome: outcomes[0], early: false };
  }

  private take(job: BookJob): Outcome | undefined {
    const show = this.decided.get(job.show_id);
    const hit = show?.get(job.request_id);
    if (hit) show!.delete(job.request_id);
    return hit?.outcome;
  }

  private keep(showId: number, jobs: BookJob[], outcomes: Outcome[]) {
    let show = this.decided.get(showId);
    if (!show) this.decided.set(showId, (show = new Map()));
    const at = Date.now();
    jobs.forEach((j, i) => show!.set(j.request_id, { outcome: outcomes[i], at }));
  }

  /** Starts the next batch in the background when fewer than half a batch is decided ahead. */
  private prefetchIfLow(showId: number) {
    if (this.maxBatch <= 1 || this.running.has(showId)) return;
    const show = this.decided.get(showId);
    if (show) {
      // Decided jobs another worker ran instead: they replay there, forget them here.
      for (const [id, d] of show) {
        if (Date.now() - d.at < STALE_MS) break;
        show.delete(id);
      }
      if (show.size >= this.maxBatch / 2) return;
      if (show.size === 0) this.decided.delete(showId);
    }
    const run = this.prefetch(showId).catch((err) => this.onError(err)).finally(() => this.running.delete(showId));
    this.running.set(showId, run);
  }

  private async prefetch(showId: number) {
    const jobs = await this.peek(showId, this.maxBatch);
    if (jobs.length === 0) return;
    const outcomes = await allocateBatch(this.db, jobs, this.holdSeconds);
    this.keep(showId, jobs, outcomes);
    this.publish(outcomes.filter((o) => !o.replayed));
  }

  /** Up to `n` book jobs waiting at the head of the show's queue, in order, not decided here yet. */
  private async peek(showId: number, n: number, current?: string): Promise<BookJob[]> {
    const known = this.decided.get(showId);
    const prefix = `${queuePrefix()}:${showQueueName(showId)}:`;
    const raw = (await this.redis.eval(PEEK_BOOK_JOBS, 1, bullKey(showId, 'prioritized'), n + (known?.size ?? 0), prefix)) as string[];
    const out: BookJob[] = [];
    for (let i = 0; i < raw.length && out.length < n; i += 2) {
      if (raw[i] === current || known?.has(raw[i])) continue;
      const data = JSON.parse(raw[i + 1]) as BookJob;
      if (data.type !== 'book' || data.request_id !== raw[i] || data.show_id !== showId) break;
      out.push(data);
    }
    return out;
  }
}
