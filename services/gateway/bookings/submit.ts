import { Sema } from 'async-sema';
import type { JobsOptions } from 'bullmq';
import { AppError } from '../../../shared/errors';
import type { ClientJob, Outcome } from '../../../shared/queue/jobs';
import type { Waiting } from '../../../shared/queue/results';
import { queuePrefix } from '../../../shared/queue/names';
import type { GatewayDeps } from '../deps';
import { JobView, queuedView, storedOutcome, viewOfOutcome, viewOfQueuedJob } from '../jobs/job-view';
import type { Admitted } from '../security/admission';
import type { LaterReply, Reply } from '../http/respond-later';
import { idempotencyHash } from './request-ids';

const FAILURE_STATUS: Record<string, number> = { NOT_FOUND: 404, INVALID_SEAT: 400, INTERNAL: 503 };
const IDEMPOTENCY_TTL_SECONDS = 2 * 24 * 3600;

/** How a finished request is answered: 201/200 with the job, or its failure in the error shape. */
export function replyForOutcome(o: Outcome | JobView): Reply {
  const view = 'position' in o ? o : viewOfOutcome(o);
  if (view.status === 'completed') return { status: view.type === 'book' ? 201 : 200, body: view };
  const err = view.error ?? { code: 'INTERNAL', message: 'Unknown failure' };
  const details = { job_id: view.id, ...(err.details && typeof err.details === 'object' ? err.details : {}) };
  return { status: FAILURE_STATUS[err.code] ?? 409, body: { error: { code: err.code, message: err.message, details } } };
}

const accepted = (view: JobView): Reply => ({ status: 202, body: view, headers: { Location: `/jobs/${view.id}` } });

const keySlot = (userId: number, key: string) => `${queuePrefix()}:idem:${idempotencyHash(userId, key)}`;
const keyValue = (job: Pick<ClientJob, 'request_id' | 'body_hash'>) => `${job.request_id}|${job.body_hash}`;
const keyReused = () => new AppError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request');

/**
 * A keyed request claims its Idempotency-Key once (SET NX). A later request with the same key
 * and the same body is the same request; with another body it is refused with 422.
 * Returns true when this call made the claim (nobody sent the key before).
 */
async function claimKey(deps: GatewayDeps, job: ClientJob, key: string): Promise<boolean> {
  const prior = await deps.redis.set(keySlot(job.user_id, key), keyValue(job), 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX', 'GET');
  if (prior !== null && prior !== keyValue(job)) throw keyReused();
  return prior === null;
}

/**
 * What an Idempotency-Key replay is answered before the gateway's checks, which only hold for
 * new requests (a replay after the show sold out still gets its own 201): the stored outcome if
 * the request has finished, `pending` if it was accepted and is still on its way, undefined if the
 * key is new. 422 if the key was sent with another body.
 */
export async function replayOfKey(deps: GatewayDeps, userId: number, key: string, asked: Pick<ClientJob, 'request_id' | 'body_hash'>): Promise<Reply | 'pending' | undefined> {
  const prior = await deps.redis.get(keySlot(userId, key));
  if (prior !== null && prior !== keyValue(asked)) throw keyReused();
  const done = await storedOutcome(asked.request_id);
  if (done) return replyForOutcome(done as unknown as Outcome);
  return prior === null ? undefined : 'pending';
}

export interface SubmitOptions {
  idempotencyKey?: string;
  /** Seconds to wait for the outcome; 0 answers 202 at once. */
  waitSeconds: number;
  jobOptions?: JobsOptions;
  /**
   * Where admission placed a new booking. With it, a 202 is answered from these figures instead
   * of reading the job back from the queue (one Redis round trip less on the hot path).
   */
  admitted?: Admitted & { available: number };
}

/** The 202 for a request admission has just placed on a live show's queue. */
function admittedView(job: ClientJob, admitted: NonNullable<SubmitOptions['admitted']>): JobView {
  const { position, rate, seatsPerJob, available } = admitted;
  return queuedView(job, job.request_id, job.show_id, {
    position,
    eta_seconds: rate > 0 ? Math.round((position / rate) * 10) / 10 : null,
    likely_sold_out: position * seatsPerJob >= available,
  });
}

/** Puts a request on its show's queue (once, whatever the retries), then answers 202 or waits for the outcome. */
export async function submit(deps: GatewayDeps, job: ClientJob, opts: SubmitOptions): Promise<Reply | LaterReply> {
  const repeated = opts.idempotencyKey ? !(await claimKey(deps, job, opts.idempotencyKey)) : false;
  const waiting = opts.waitSeconds > 0 ? deps.waiter.wait(job.request_id, opts.waitSeconds * 1000) : undefined;
  try {
    await deps.queues.add(job.show_id, job, opts.jobOptions);
  } catch (err) {
    waiting?.cancel();
    throw err;
  }
  // A repeated key may name a job that finished before this call listened: its outcome is stored by now.
  const early = repeated ? await storedOutcome(job.request_id) : undefined;
  if (early) {
    waiting?.cancel();
    return replyForOutcome(early as unknown as Outcome);
  }
  if (waiting) return answerLater(deps, waiting, job, opts.waitSeconds);
  if (opts.admitted && !repeated) return accepted(admittedView(job, opts.admitted));
  return settle(deps, job, opts.waitSeconds, undefined);
}

/** What settling a request needs of its job (an awaiting caller holds only this much of it). */
type JobRef = Pick<ClientJob, 'type' | 'request_id' | 'show_id' | 'created_at'>;

/** Look-ups (Postgres, then Redis) of requests whose wait ended without an outcome, at once per process. */
export const LOOKUPS_AT_ONCE = 64;
const lookups = new Sema(LOOKUPS_AT_ONCE);

/**
 * A wait that ends without an outcome (its time is up, the gateway is stopping, the caller went
 * away) looks its request up before answering. At shutdown every wait ends in the same moment:
 * with no bound, a gateway answering 10,000 callers ran 10,000 look-ups at once and went from
 * about 280 MB RSS to 378-380 MB; with LOOKUPS_AT_ONCE, to 320-328 MB, in about as long (3-4 s).
 */
async function settleLookingUp(deps: GatewayDeps, job: JobRef, waitSeconds: number): Promise<Reply> {
  await lookups.acquire();
  try {
    return await settle(deps, job, waitSeconds, undefined);
  } finally {
    lookups.release();
  }
}

/** The later reply of an awaiting caller. */
function answerLater(deps: GatewayDeps, waiting: Waiting, job: ClientJob, waitSeconds: number): LaterReply {
  const ref: JobRef = { type: job.type, request_id: job.request_id, show_id: job.show_id, created_at: job.created_at };
  const later = waiting.promise.then((outcome) => (outcome ? settle(deps, ref, waitSeconds, outcome) : settleLookingUp(deps, ref, waitSeconds)));
  return { later, abandon: () => waiting.cancel() };
}

/** The answer once the wait is over: the outcome, or the job's state on the queue (202 while it runs). */
async function settle(deps: GatewayDeps, job: JobRef, waitSeconds: number, outcome: Outcome | undefined): Promise<Reply> {
  const done = outcome ?? (waitSeconds > 0 ? await storedOutcome(job.request_id) : undefined);
  if (done) return replyForOutcome(done as unknown as Outcome);
  const queued = await viewOfQueuedJob(deps, job.show_id, job.request_id);
  if (queued) {
    const { user_id: _owner, ...view } = queued;
    const running = view.status === 'queued' || view.status === 'active';
    return running || waitSeconds === 0 ? accepted(view) : replyForOutcome(view);
  }
  const finished = await storedOutcome(job.request_id);
  if (finished) return replyForOutcome(finished as unknown as Outcome);
  // Queued for sure (the add succeeded) but between states as we looked: the client polls.
  return accepted(queuedView(job, job.request_id, job.show_id));
}
