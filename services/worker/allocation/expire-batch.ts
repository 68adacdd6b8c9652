import type { Knex } from 'knex';
import type { ExpireHoldJob } from '../../../shared/queue/jobs';
import type { RedisClient } from '../../../shared/redis';
import { expireHolds, ExpiryResult } from './allocate';
import { batchAtHead } from './queue-head';

const STALE_MS = 30_000;
const MAX_REMEMBERED = 10_000;

export interface Expiry {
  result: ExpiryResult;
  /** Released earlier, in the batch of an expiry ahead of this one (its seats were announced then). */
  early: boolean;
}

/**
 * Hold expiries in batches. The holds of a burst lapse together, and their expiry jobs then sit at
 * the head of the show's queue (priority 1) in front of every booking: one transaction each would
 * stall the show's allocation for seconds. When an expiry job runs, the expiry jobs queued right
 * behind it are released in the same statement; when their turn comes they complete from what
 * was decided here, without another transaction. Nothing but expiries is jumped (the batch stops
 * at the first other job), releasing is idempotent (a job run again elsewhere finds its hold
 * already released), and an expiry that turns out not to be due yet is left to its own turn.
 */
export class ExpiryBatcher {
  private readonly decided = new Map<string, { result: ExpiryResult; at: number }>();

  /** `announce` is told a show's free seats after a batch released any. */
  constructor(private readonly db: Knex, private readonly redis: RedisClient, private readonly maxBatch: number,
    private readonly announce: (showId: number, available: number) => void) {}

  async expire(jobId: string, job: ExpireHoldJob): Promise<Expiry> {
    const known = this.decided.get(jobId);
    if (known) {
      this.decided.delete(jobId);
      if (Date.now() - known.at < STALE_MS) return { result: known.result, early: true };
    }
    const behind = this.maxBatch > 1 ? await this.peek(job.show_id, jobId) : [];
    const results = await expireHolds(this.db, job.show_id, [job.hold_request_id, ...behind.map((b) => b.data.hold_request_id)]);
    this.forgetStale();
    const at = Date.now();
    behind.forEach((b, i) => {
      const result = results[i + 1];
      if (result.retry_in_ms === null) this.decided.set(b.id, { result, at });
    });
    const last = results[results.length - 1];
    if (results.some((r) => r.released.length > 0)) this.announce(job.show_id, last.available_seats);
    return { result: results[0], early: false };
  }

  /** Expiry jobs of the show queued right behind `current`, not decided here yet. */
  private peek(showId: number, current: string) {
    // Decided jobs are skipped; a batch begins with the job running, so few are ever at the head.
    return batchAtHead<ExpireHoldJob>(this.redis, showId, 'expire', this.maxBatch - 1, {
      skip: (id) => id === current || this.decided.has(id),
      skipping: 1 + Math.min(this.decided.size, this.maxBatch),
    });
  }

  /** Decided expiries whose jobs another worker ran instead (they found their hold released). */
  private forgetStale() {
    if (this.decided.size < MAX_REMEMBERED) return;
    const now = Date.now();
    for (const [id, d] of this.decided) if (now - d.at >= STALE_MS) this.decided.delete(id);
    if (this.decided.size >= MAX_REMEMBERED) this.decided.clear();
  }
}
