import { Job, Worker } from 'bullmq';
import { dueShowsKey, queuePrefix, showQueueName } from '../../../shared/queue/names';
import { bullKey } from '../../../shared/queue/names';
import { ANNOUNCE_EVERY_MS } from '../../../shared/queue/producer';
import { writeDrainStats } from '../../../shared/queue/stats';
import type { AnyJob, BookJob, BookingActionJob } from '../../../shared/queue/jobs';
import type { WorkerDeps } from '../deps';
import type { JobReport } from '../allocation/processor';
import { recordFailure } from '../allocation/allocate';
import { publishOutcome } from '../../../shared/queue/results';
import { ShowPlacement } from './show-placement';

/** Removes (or moves to `next`) a show's due entry only if nobody announced new work since we read it. */
const COMPARE_AND_SET = `
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if current ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1`;

/** Workers heartbeat this often; one silent for PLACEMENT_LIVE_MS loses its shows to the others. */
const PLACEMENT_BEAT_MS = 1000;
const PLACEMENT_LIVE_MS = 4000;

/** Tries to store a final INTERNAL outcome (about a minute of backoff in all). */
const FAILURE_RECORD_ATTEMPTS = 10;

interface Attached {
  worker: Worker;
  lastActivity: number;
  processed: number;
  seatsAsked: number;
  rate: number;
}

/**
 * Finds shows with work (the due-shows sorted set) and runs one BullMQ worker, global
 * concurrency 1, for each show this process owns (ShowPlacement spreads the shows over the live
 * workers); detaches from a show once it has been idle for WORKER_IDLE_SECONDS.
 */
export class ShowAttacher {
  private readonly attached = new Map<number, Attached>();
  private readonly detachedAt = new Map<number, { at: number; score: string | null }>();
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private placement?: ShowPlacement;

  constructor(private readonly deps: WorkerDeps, private readonly processor: (job: Job<AnyJob>) => Promise<JobReport>) {}

  get activeShows(): number[] {
    return [...this.attached.keys()];
  }

  start() {
    const { WORKER_POLL_MS } = this.deps.cfg;
    const loop = (fn: () => Promise<void>, ms: number) => {
      let running = false;
      this.timers.push(setInterval(() => {
        if (running || this.stopping) return;
        running = true;
        fn().catch((err) => this.deps.log.warn({ err: err.message }, 'attacher loop error')).finally(() => { running = false; });
      }, ms));
    };
    const placement = new ShowPlacement(this.deps.redis, PLACEMENT_LIVE_MS);
    this.placement = placement;
    loop(() => this.discover(), WORKER_POLL_MS);
    loop(() => this.sweep(), 1000);
    loop(() => placement.heartbeat(), PLACEMENT_BEAT_MS);
    void placement.heartbeat().catch(() => undefined);
  }

  /** Attaches to every show whose work is due (or due within one poll). */
  private async discover() {
    if (this.placement && !this.placement.settled) return;
    const horizon = Date.now() + this.deps.cfg.WORKER_POLL_MS * 2;
    const entries = await this.deps.redis.zrangebyscore(dueShowsKey(), '-inf', horizon, 'WITHSCORES', 'LIMIT', 0, 1000);
    const due: number[] = [];
    for (let i = 0; i < entries.length; i += 2) {
      const showId = Number(entries[i]);
      if (this.attached.has(showId) || this.stopping) continue;
      if (this.placement && !this.placement.owns(showId)) continue;
      const left = this.detachedAt.get(showId);
      const idleMs = this.deps.cfg.WORKER_IDLE_SECONDS * 1000;
      if (left && left.score === entries[i + 1] && Date.now() - left.at < idleMs) continue;
      due.push(showId);
    }
    // Attached side by side: a burst of newly active shows is picked up in one poll, not one show at a time.
    await Promise.all(due.map((showId) => this.attach(showId)));
  }

  private async attach(showId: number) {
    const { cfg, log } = this.deps;
    await this.deps.queues.queue(showId).setGlobalConcurrency(1);
    if (this.stopping || this.attached.has(showId)) return;
    const lockDuration = cfg.JOB_LOCK_SECONDS * 1000;
    const worker = new Worker<AnyJob, JobReport>(showQueueName(showId), this.processor, {
      connection: this.deps.bullClient as never,
      prefix: queuePrefix(),
      concurrency: 1,
      lockDuration,
      stalledInterval: lockDuration,
      maxStalledCount: 100,
      drainDelay: 2,
    });
    const state: Attached = { worker, lastActivity: Date.now(), processed: 0, seatsAsked: 0, rate: 0 };
    this.attached.set(showId, state);
    worker.on('active', () => { state.lastActivity = Date.now(); });
    worker.on('completed', (job, rep) => {
      state.lastActivity = Date.now();
      state.processed++;
      if (job.name === 'book') state.seatsAsked += rep?.seats ?? 1;
      log.info({ request_id: (job.data as { request_id?: string }).request_id, job_id: job.id, show_id: showId, type: job.name, status: rep?.status, code: rep?.code, replayed: rep?.replayed, duration_ms: (job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now()), attempts: job.attemptsMade }, 'job done');
    });
    worker.on('failed', (job, err) => void this.onFailed(showId, job, err));
    worker.on('stalled', (jobId) => log.warn({ job_id: jobId, show_id: showId }, 'job stalled (its worker stopped renewing the lock): back on the queue'));
    worker.on('error', (err) => log.warn({ show_id: showId, err: err.message }, 'worker error'));
    log.info({ show_id: showId }, 'attached to show');
  }

  /** A job out of retries still gets exactly one outcome: INTERNAL, unless it already has one. */
  private async onFailed(showId: number, job: Job<AnyJob> | undefined, err: Error) {
    if (!job) return;
    // finishedOn is set once the job is moved to failed for good: out of attempts, unrecoverable, or stalled too often.
    const final = job.finishedOn !== undefined || job.attemptsMade >= (job.opts.attempts ?? 1);
    this.deps.log.warn({ job_id: job.id, show_id: showId, attempt: job.attemptsMade, final, err: err.message }, 'job attempt failed');
    if (!final || job.data.type === 'expire') return;
    const reason = `The request could not be processed (${job.attemptsMade} attempts): ${err.message}`;
    // The retries often ran out because Postgres is away: keep trying to store the one outcome for a while.
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await recordFailure(this.deps.db, job.data as BookJob | BookingActionJob, reason);
        void publishOutcome(this.deps.redis, outcome);
        return;
      } catch (e) {
        this.deps.log.error({ job_id: job.id, attempt, err: (e as Error).message }, 'could not store the failure outcome');
        if (attempt >= FAILURE_RECORD_ATTEMPTS || this.stopping) return;
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 10_000)));
      }
    }
  }

  /** Every second: publish drain rates, and detach from shows idle for WORKER_IDLE_SECONDS. */
  private async sweep() {
    const now = Date.now();
    for (const [showId, s] of this.attached) {
      if (s.processed > 0) {
        s.rate = s.rate === 0 ? s.processed : 0.7 * s.rate + 0.3 * s.processed;
        await writeDrainStats(this.deps.redis, showId, { rate: s.rate, seatsPerJob: s.seatsAsked / s.processed || 1 });
        s.processed = 0;
        s.seatsAsked = 0;
      }
      if (now - s.lastActivity >= this.deps.cfg.WORKER_IDLE_SECONDS * 1000) await this.tryDetach(showId, s);
    }
  }

  private async tryDetach(showId: number, s: Attached) {
    const r = this.deps.redis;
    const score = await r.zscore(dueShowsKey(), String(showId));
    // A producer announces a show at most once per ANNOUNCE_EVERY_MS: work added just after a recent
    // announcement may not move the score, so the entry is only removed once that window has passed.
    if (score !== null && Date.now() - Number(score) < 2 * ANNOUNCE_EVERY_MS) return;
    const [prioritized, wait, active, nextDelayed] = await Promise.all([
      r.zcard(bullKey(showId, 'prioritized')), r.llen(bullKey(showId, 'wait')), r.llen(bullKey(showId, 'active')),
      r.zrange(bullKey(showId, 'delayed'), '0', '0', 'WITHSCORES'),
    ]);
    if (prioritized + wait > 0) {
      s.lastActivity = Date.now();
      return;
    }
    this.attached.delete(showId);
    this.detachedAt.set(showId, { at: Date.now(), score });
    await s.worker.close();
    if (this.detachedAt.size > 10_000) this.detachedAt.clear();
    if (score !== null && active === 0) {
      // BullMQ's delayed score is timestamp * 4096 + counter.
      const next = nextDelayed.length ? String(Math.floor(Number(nextDelayed[1]) / 4096)) : '';
      await r.eval(COMPARE_AND_SET, 1, dueShowsKey(), String(showId), score, next);
    }
    this.deps.log.info({ show_id: showId }, 'detached from idle show');
  }

  /** Stops taking jobs; the job each show is running finishes first. */
  async close() {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await this.placement?.leave();
    await Promise.all([...this.attached.values()].map((s) => s.worker.close()));
    this.attached.clear();
  }
}
