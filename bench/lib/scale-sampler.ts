import type { Knex } from 'knex';
import { bullKey } from '../../shared/queue/names';
import type { RedisClient } from '../../shared/redis';

export interface SerializationSample {
  samples: number;
  /** Most jobs seen in one show's BullMQ active list at once (global concurrency 1: must be 1). */
  maxActiveJobsPerShow: number;
  /** Most transactions seen holding or waiting for one show's allocation lock at once. */
  maxLockTxPerShow: number;
  /** Samples in which some show had a transaction waiting for its lock (a second run of a job, or a stalled one). */
  samplesWithLockWaits: number;
}

/** pg_locks rows of the per-show allocation lock (pg_advisory_xact_lock(7001, show)) in this database. */
const LOCKS_SQL = `
  SELECT objid::int AS show_id, count(*)::int AS n, count(*) FILTER (WHERE NOT granted)::int AS waiting
    FROM pg_locks
   WHERE locktype = 'advisory' AND classid = 7001 AND objsubid = 2
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
   GROUP BY objid`;

/**
 * Watches, while a run lasts, that each show has at most one job running (its BullMQ active list)
 * and at most one allocation transaction (holders and waiters of its advisory lock).
 */
export class SerializationSampler {
  private timer?: NodeJS.Timeout;
  private busy = false;
  private readonly result: SerializationSample = { samples: 0, maxActiveJobsPerShow: 0, maxLockTxPerShow: 0, samplesWithLockWaits: 0 };

  constructor(private readonly redis: RedisClient, private readonly db: Knex, private readonly shows: number[]) {}

  start(everyMs = 50): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.sample().catch(() => undefined).finally(() => { this.busy = false; });
    }, everyMs);
  }

  private async sample() {
    const [active, locks] = await Promise.all([
      Promise.all(this.shows.map((id) => this.redis.llen(bullKey(id, 'active')))),
      this.db.raw(LOCKS_SQL),
    ]);
    const rows = locks.rows as { show_id: number; n: number; waiting: number }[];
    const r = this.result;
    r.samples++;
    r.maxActiveJobsPerShow = Math.max(r.maxActiveJobsPerShow, ...active);
    r.maxLockTxPerShow = Math.max(r.maxLockTxPerShow, ...rows.map((x) => x.n));
    if (rows.some((x) => x.waiting > 0)) r.samplesWithLockWaits++;
  }

  async stop(): Promise<SerializationSample> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    return { ...this.result };
  }
}
