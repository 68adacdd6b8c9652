import type { Job } from 'bullmq';
import type { AnyJob, BookJob, BookingActionJob, ExpireHoldJob, JobType, Outcome } from '../../../shared/queue/jobs';
import { JOB_TYPES } from '../../../shared/queue/jobs';
import { bullKey } from '../../../shared/queue/names';
import { FIFO_PRIORITY } from '../../../shared/queue/producer';
import { publishOutcome, publishSeatsLeft } from '../../../shared/queue/results';
import type { WorkerDeps } from '../deps';
import { bookingAction } from './allocate';
import { BookBatcher } from './book-batch';
import { ExpiryBatcher } from './expire-batch';

/** What a processed job reports back to BullMQ (the full outcome lives in Postgres). */
export interface JobReport {
  status: string;
  code?: string;
  seats?: number;
  /** The request already had its outcome (the job ran before, e.g. after a stall). */
  replayed?: boolean;
}

type JobHandler = (job: Job<AnyJob>) => Promise<JobReport>;

/** After a hold is stored, its expiry goes on the same show queue (idempotent by job id, so a replay re-adds it safely). */
async function scheduleExpiry(deps: WorkerDeps, job: BookJob, outcome: Outcome) {
  const expiresAt = outcome.result?.expires_at;
  if (!expiresAt || outcome.status !== 'completed') return;
  const stillHeld = (outcome.result?.bookings as { status: string }[]).some((b) => b.status === 'held');
  if (!stillHeld && outcome.replayed) return;
  const expiry: ExpireHoldJob = { type: 'expire', show_id: job.show_id, hold_request_id: job.request_id };
  // expires_at is to the millisecond, the stored time to the microsecond: +1 ms so the job is not due before the hold.
  await deps.queues.add(job.show_id, expiry, { delay: Math.max(0, new Date(expiresAt).getTime() + 1 - Date.now()), priority: 1 });
}

const OPENED_TTL_SECONDS = 7 * 24 * 3600;
/** An expiry this close to due waits in the job instead of being queued again (a delayed job can take seconds to come back). */
const SHORT_WAIT_MS = 50;

/**
 * The first waiting-room request a worker runs means the show has opened: log the seed of the
 * shuffle once per show (a Redis SET NX, so once across workers and restarts).
 */
async function noteOpening(deps: WorkerDeps, job: Job<AnyJob>, opened: Set<number>) {
  const showId = job.data.show_id;
  if ((job.opts.priority ?? FIFO_PRIORITY) >= FIFO_PRIORITY || opened.has(showId)) return;
  if (opened.size > 10_000) opened.clear();
  opened.add(showId);
  if (!(await deps.redis.set(bullKey(showId, 'opened'), String(Date.now()), 'EX', OPENED_TTL_SECONDS, 'NX'))) return;
  const show = await deps.db('shows').where('id', showId).first('shuffle_seed', 'sales_open_at');
  const waiting = await deps.redis.zcard(bullKey(showId, 'prioritized'));
  deps.log.info({ show_id: showId, shuffle_seed: String(show?.shuffle_seed), sales_open_at: show?.sales_open_at, waiting: waiting + 1 }, 'waiting room opened');
}

function report(outcome: Outcome, seats?: number): JobReport {
  return { status: outcome.status, ...(outcome.error ? { code: outcome.error.code } : {}), ...(seats ? { seats } : {}), ...(outcome.replayed ? { replayed: true } : {}) };
}

/** One handler per job type; startup fails if a type has none. */
export function makeProcessor(deps: WorkerDeps): JobHandler {
  const hold = deps.cfg.HOLD_SECONDS;
  const batcher = new BookBatcher(deps.db, deps.redis, hold, deps.cfg.ALLOCATION_BATCH, {
    publish: (outcomes) => { for (const o of outcomes) void publishOutcome(deps.redis, o); },
    settle: (job, outcome) => scheduleExpiry(deps, job, outcome),
    onError: (err) => deps.log.warn({ err: err.message }, 'allocating ahead failed; the jobs run on their own'),
  });
  const expiries = new ExpiryBatcher(deps.db, deps.redis, deps.cfg.ALLOCATION_BATCH, (showId, available) => void publishSeatsLeft(deps.redis, showId, available));
  const opened = new Set<number>();
  const handlers: Record<JobType, JobHandler> = {
    async book(job) {
      const data = job.data as BookJob;
      await noteOpening(deps, job, opened).catch((err) => deps.log.warn({ show_id: data.show_id, err: err.message }, 'could not note the opening'));
      // Published by the batcher, with any jobs behind this one decided in the same transaction.
      const { outcome, settled } = await batcher.book(data);
      if (!settled) await scheduleExpiry(deps, data, outcome);
      return report(outcome, data.seats?.length ?? data.quantity);
    },
    async cancel(job) {
      const outcome = await bookingAction(deps.db, job.data as BookingActionJob);
      void publishOutcome(deps.redis, outcome);
      return report(outcome);
    },
    async confirm(job) {
      const outcome = await bookingAction(deps.db, job.data as BookingActionJob);
      void publishOutcome(deps.redis, outcome);
      return report(outcome);
    },
    async expire(job) {
      const data = job.data as ExpireHoldJob;
      // A batch announces the seats it released (at once, with the show's count after all of them).
      let { result: res, early } = await expiries.expire(job.id!, data);
      if (res.retry_in_ms !== null && res.retry_in_ms <= SHORT_WAIT_MS) {
        // Due within a few milliseconds (clocks a hair apart): wait here rather than go back on the queue.
        await new Promise((r) => setTimeout(r, res.retry_in_ms! + 1));
        ({ result: res, early } = await expiries.expire(job.id!, data));
      }
      if (res.retry_in_ms !== null) {
        // Fired early (clock skew): look again when the hold is really due.
        await deps.queues.add(data.show_id, data, { jobId: `expire-${data.hold_request_id}-${Date.now()}`, delay: Math.max(1, res.retry_in_ms), priority: 1 });
      }
      deps.log.info({ job_id: job.id, show_id: data.show_id, released: res.released, ...(early ? { batched: true } : {}) }, 'hold expired');
      return { status: 'completed', seats: res.released.length };
    },
  };
  const missing = JOB_TYPES.filter((t) => !handlers[t]);
  if (missing.length) throw new Error(`No handler for job types: ${missing.join(', ')}`);
  return (job) => {
    const handler = handlers[job.name as JobType];
    if (!handler) throw new Error(`Unknown job type ${job.name}`);
    return handler(job);
  };
}
