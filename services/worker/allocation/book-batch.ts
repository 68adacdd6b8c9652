import type { Knex } from 'knex';
import type { BookJob, Outcome } from '../../../shared/queue/jobs';
import type { RedisClient } from '../../../shared/redis';
import { BatchAllocator } from './allocate-batch';
import { batchAtHead } from './queue-head';

export interface BatchResult {
  outcome: Outcome;
  /** The outcome was decided earlier, in a batch ahead of this job, and published then. */
  early: boolean;
  /** `hooks.settle` already ran for it successfully. */
  settled: boolean;
}

export interface BatchHooks {
  /** Publishes outcomes, in the order they were decided. */
  publish(outcomes: Outcome[]): void;
  /** Follow-up work of a job decided ahead of its turn (e.g. scheduling a hold's expiry); redone at its turn if this fails. */
  settle(job: BookJob, outcome: Outcome): Promise<void>;
  onError(err: Error): void;
}

interface Decided {
  outcome: Outcome;
  at: number;
  settled: boolean;
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
  private readonly allocator: BatchAllocator;

  constructor(db: Knex, private readonly redis: RedisClient, holdSeconds: number, private readonly maxBatch: number, private readonly hooks: BatchHooks) {
    this.allocator = new BatchAllocator(db, holdSeconds);
  }

  async book(job: BookJob): Promise<BatchResult> {
    let known = this.take(job);
    if (!known && this.running.has(job.show_id)) {
      await this.running.get(job.show_id);
      known = this.take(job);
    }
    if (known) {
      this.prefetchIfLow(job.show_id);
      return { outcome: known.outcome, early: true, settled: known.settled };
    }
    const behind = this.maxBatch > 1 ? await this.peek(job.show_id, this.maxBatch - 1, job.request_id) : [];
    let outcomes: Outcome[];
    try {
      outcomes = await this.allocator.allocate([job, ...behind]);
    } catch (err) {
      if (behind.length === 0) throw err;
      // Maybe a job behind caused it: this one goes alone, the others get their own turn.
      outcomes = await this.allocator.allocate([job]);
    }
    this.keep(job.show_id, behind, outcomes.slice(1));
    this.hooks.publish([outcomes[0], ...outcomes.slice(1).filter((o) => !o.replayed)]);
    this.prefetchIfLow(job.show_id);
    return { outcome: outcomes[0], early: false, settled: false };
  }

  private take(job: BookJob): Decided | undefined {
    const show = this.decided.get(job.show_id);
    const hit = show?.get(job.request_id);
    if (hit) show!.delete(job.request_id);
    return hit;
  }

  /** Remembers outcomes decided ahead and starts their follow-up work. */
  private keep(showId: number, jobs: BookJob[], outcomes: Outcome[]) {
    let show = this.decided.get(showId);
    if (!show) this.decided.set(showId, (show = new Map()));
    const at = Date.now();
    jobs.forEach((job, i) => {
      const entry: Decided = { outcome: outcomes[i], at, settled: false };
      show!.set(job.request_id, entry);
      this.hooks.settle(job, entry.outcome).then(() => { entry.settled = true; }, () => undefined);
    });
  }

  /** Keeps up to two batches decided ahead: starts the next one in the background when fewer are. */
  private prefetchIfLow(showId: number) {
    if (this.maxBatch <= 1 || this.running.has(showId)) return;
    const show = this.decided.get(showId);
    if (show) {
      // Decided jobs another worker ran instead: they replay there, forget them here.
      for (const [id, d] of show) {
        if (Date.now() - d.at < STALE_MS) break;
        show.delete(id);
      }
      if (show.size >= 2 * this.maxBatch) return;
      if (show.size === 0) this.decided.delete(showId);
    }
    const run = this.prefetch(showId).catch((err) => this.hooks.onError(err)).finally(() => this.running.delete(showId));
    this.running.set(showId, run);
  }

  private async prefetch(showId: number) {
    const jobs = await this.peek(showId, this.maxBatch);
    if (jobs.length === 0) return;
    const outcomes = await this.allocator.allocate(jobs);
    this.keep(showId, jobs, outcomes);
    this.hooks.publish(outcomes.filter((o) => !o.replayed));
  }

  /** Up to `n` book jobs waiting at the head of the show's queue, in order, not decided here yet. */
  private async peek(showId: number, n: number, current?: string): Promise<BookJob[]> {
    const known = this.decided.get(showId);
    const head = await batchAtHead<BookJob>(this.redis, showId, 'book', n, {
      skip: (id) => id === current || known?.has(id) === true,
      skipping: known?.size ?? 0,
      fits: (id, data) => data.request_id === id,
    });
    return head.map((e) => e.data);
  }
}
