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
  /** The outcome was decided earlier, in the batch of a job ahead of this one (already published). */
  early: boolean;
  /** Jobs queued behind this one whose outcomes this batch decided: publish them now. */
  ahead: { job: BookJob; outcome: Outcome }[];
}

/**
 * Allocation in batches while keeping one job at a time per show. When a book job starts, the
 * book jobs queued right behind it are allocated in the same transaction; their outcomes are
 * stored in Postgres (so a later run of those jobs replays them), published at once, and kept
 * here so that when BullMQ hands those jobs over they complete without another transaction.
 */
export class BookBatcher {
  private readonly decided = new Map<string, Outcome>();

  constructor(private readonly db: Knex, private readonly redis: RedisClient, private readonly holdSeconds: number, private readonly maxBatch: number, private readonly maxKept = 20_000) {}

  async book(job: BookJob): Promise<BatchResult> {
    const known = this.decided.get(job.request_id);
    if (known) {
      this.decided.delete(job.request_id);
      return { outcome: known, early: true, ahead: [] };
    }
    const behind = this.maxBatch > 1 ? await this.peek(job) : [];
    let outcomes: Outcome[];
    try {
      outcomes = await allocateBatch(this.db, [job, ...behind], this.holdSeconds);
    } catch (err) {
      if (behind.length === 0) throw err;
      // Maybe a job behind caused it: this one goes alone, the others get their own turn.
      return { outcome: (await allocateBatch(this.db, [job], this.holdSeconds))[0], early: false, ahead: [] };
    }
    const ahead = behind.map((b, i) => ({ job: b, outcome: outcomes[i + 1] }));
    for (const a of ahead) this.keep(a.job.request_id, a.outcome);
    return { outcome: outcomes[0], early: false, ahead };
  }

  private keep(id: string, outcome: Outcome) {
    if (this.decided.size >= this.maxKept) this.decided.delete(this.decided.keys().next().value as string);
    this.decided.set(id, outcome);
  }

  /** Book jobs waiting behind `job` on its show's queue that have no outcome decided here yet. */
  private async peek(job: BookJob): Promise<BookJob[]> {
    const prefix = `${queuePrefix()}:${showQueueName(job.show_id)}:`;
    const raw = (await this.redis.eval(PEEK_BOOK_JOBS, 1, bullKey(job.show_id, 'prioritized'), this.maxBatch - 1, prefix)) as string[];
    const out: BookJob[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i] === job.request_id || this.decided.has(raw[i])) break;
      const data = JSON.parse(raw[i + 1]) as BookJob;
      if (data.type !== 'book' || data.request_id !== raw[i] || data.show_id !== job.show_id) break;
      out.push(data);
    }
    return out;
  }
}
