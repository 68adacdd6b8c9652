import { createHash } from 'node:crypto';
import { Job, JobsOptions, Queue } from 'bullmq';
import { config } from '../config';
import { metrics } from '../metrics';
import type { RedisClient } from '../redis';
import type { AnyJob } from './jobs';
import { dueShowsKey, queuePrefix, showQueueName } from './names';

/** BullMQ's lowest priority. Every job is prioritized, so FIFO order is kept within a priority and position is one ZRANK. */
export const FIFO_PRIORITY = 2 ** 21 - 1;

/** A request that arrived in the waiting room gets a priority drawn from the show's seed: a seeded shuffle at opening. */
export function waitingRoomPriority(seed: string | number, requestId: string): number {
  const h = createHash('sha256').update(`${seed}:${requestId}`).digest();
  return 1 + (h.readUInt32BE(0) % (FIFO_PRIORITY - 2));
}

const QUEUE_CACHE = 1000;
/** A producer moves a show's due-shows score at most this often for work that is due now. */
export const ANNOUNCE_EVERY_MS = 1000;

/**
 * Producer side of the per-show queues. Queue objects share one Redis connection and are kept
 * in a small LRU; adding a job also announces the show to workers (at most once a second per show).
 */
export class ShowQueues {
  private readonly queues = new Map<number, Queue>();
  private readonly announced = new Map<number, number>();
  private readonly announcing = new Map<number, Promise<void>>();

  constructor(private readonly redis: RedisClient) {}

  queue(showId: number): Queue {
    let q = this.queues.get(showId);
    if (q) {
      this.queues.delete(showId);
      this.queues.set(showId, q);
      return q;
    }
    q = new Queue(showQueueName(showId), { connection: this.redis as never, prefix: queuePrefix(), skipWaitingForReady: true });
    q.on('error', () => undefined);
    this.queues.set(showId, q);
    if (this.queues.size > QUEUE_CACHE) {
      const [oldest, old] = this.queues.entries().next().value as [number, Queue];
      this.queues.delete(oldest);
      void old.close().catch(() => undefined);
    }
    return q;
  }

  /**
   * Adds a job (id = request id) and makes sure a worker will look at the show. The show is
   * announced first: a failed announcement leaves nothing on the queue that no worker would find.
   */
  async add(showId: number, job: AnyJob, opts: JobsOptions = {}): Promise<Job> {
    const jobId = job.type === 'expire' ? `expire-${job.hold_request_id}` : job.request_id;
    const announcing = this.announce(showId, opts.delay ? Date.now() + opts.delay : Date.now());
    if (announcing) await announcing;
    const added = await this.queue(showId).add(job.type, job, {
      jobId,
      priority: FIFO_PRIORITY,
      attempts: config().JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: 200 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
      ...opts,
    });
    metrics().jobsEnqueued.inc({ type: job.type });
    return added;
  }

  /**
   * Tells workers the show has work from `at` (ms). Work due now is announced at most once per
   * ANNOUNCE_EVERY_MS per show; callers in the meantime share the announcement under way, so
   * nobody goes on as if announced when it failed. Nothing to wait for (undefined) when the show
   * was announced within the last ANNOUNCE_EVERY_MS: the common case on a booking's hot path.
   */
  announce(showId: number, at = Date.now()): Promise<void> | undefined {
    const now = Date.now();
    // Delayed work only moves the score earlier (LT), never postponing work that is already due.
    if (at > now) return this.redis.zadd(dueShowsKey(), 'LT', at, String(showId)).then(() => undefined);
    const underWay = this.announcing.get(showId);
    if (underWay) return underWay;
    if (now - (this.announced.get(showId) ?? 0) < ANNOUNCE_EVERY_MS) return undefined;
    if (this.announced.size > 10_000) this.announced.clear();
    // Work due now always moves the score, so a worker's compare-and-remove on detach cannot drop it.
    const announcing = this.redis.zadd(dueShowsKey(), now, String(showId))
      .then(() => void this.announced.set(showId, now))
      .finally(() => this.announcing.delete(showId));
    this.announcing.set(showId, announcing);
    return announcing;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.queues.clear();
  }
}
