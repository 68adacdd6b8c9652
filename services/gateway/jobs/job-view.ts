import { RequestOutcome } from '../../../shared/db/models';
import { notFound } from '../../../shared/errors';
import type { ClientJob, JobError, Outcome } from '../../../shared/queue/jobs';
import { queuePrefix, showQueueName, showStatsKey } from '../../../shared/queue/names';
import type { Caller, GatewayDeps } from '../deps';
import { showIdOfRequest } from '../bookings/request-ids';

export interface JobView {
  id: string;
  type: ClientJob['type'];
  show_id: number;
  status: 'queued' | 'active' | 'completed' | 'failed';
  position: number | null;
  eta_seconds: number | null;
  likely_sold_out: boolean;
  result: Outcome['result'];
  error: JobError | null;
  created_at: string;
  finished_at: string | null;
}

const iso = (d: string | number | Date) => new Date(d).toISOString();

type OutcomeFields = Pick<Outcome, 'id' | 'type' | 'show_id' | 'result' | 'error' | 'created_at' | 'finished_at'> & { status: JobView['status'] };

export function viewOfOutcome(o: OutcomeFields): JobView {
  return {
    id: o.id, type: o.type, show_id: o.show_id, status: o.status, position: null, eta_seconds: null, likely_sold_out: false,
    result: o.result ?? null, error: o.error ?? null, created_at: iso(o.created_at), finished_at: iso(o.finished_at),
  };
}

/** Where a queued job stands: unknown (null) until its place has been counted. */
export type QueuePlace = Pick<JobView, 'position' | 'eta_seconds' | 'likely_sold_out'>;
const UNPLACED: QueuePlace = { position: null, eta_seconds: null, likely_sold_out: false };

/**
 * A job still waiting on its queue: before anything is known of its place, or at `place`. Built as
 * one literal (no spreads): a booking's 202 is made from it on the hot path. A job's `created_at`
 * is already the gateway's own toISOString().
 */
export function queuedView(job: Pick<ClientJob, 'type' | 'created_at'>, id: string, showId: number, place = UNPLACED): JobView {
  return {
    id, type: job.type, show_id: showId, status: 'queued', position: place.position, eta_seconds: place.eta_seconds, likely_sold_out: place.likely_sold_out,
    result: null, error: null, created_at: job.created_at, finished_at: null,
  };
}

export type StoredOutcome = Pick<RequestOutcome, 'id' | 'user_id' | 'show_id' | 'type' | 'status' | 'result' | 'error' | 'created_at' | 'finished_at'>;

/** The stored outcome of a request, if it has finished (a plain query: polls and waits run it often). */
export async function storedOutcome(id: string): Promise<StoredOutcome | undefined> {
  const res = await RequestOutcome.knex().raw(
    'SELECT id, user_id, show_id, type, status, result, error, created_at, finished_at FROM requests WHERE id = ?', [id]);
  return res.rows[0];
}

/**
 * Everything a queued job's view needs, read atomically in one round trip: the job's data and
 * end state, its rank, the queue's running and waiting counts, whether it is delayed, and the
 * show's drain stats. (Keys all carry the show's hash tag, so this works on a cluster too.)
 */
const QUEUED_JOB_STATE = `
local job = redis.call('HMGET', KEYS[1], 'data', 'finishedOn', 'failedReason', 'atm')
if not job[1] then return false end
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
local delayed = false
if not rank then delayed = redis.call('ZSCORE', KEYS[5], ARGV[1]) end
local stats = redis.call('HMGET', KEYS[6], 'rate', 'seats_per_job')
return {job[1], job[2] or false, job[3] or false, job[4] or false, rank or false,
        redis.call('LLEN', KEYS[3]), redis.call('LLEN', KEYS[4]), delayed or false, stats[1] or false, stats[2] or false}`;

type QueuedJobState = [string, string | null, string | null, string | null, number | null, number, number, string | null, string | null, string | null];

/**
 * Defines the job-view script on the gateway's connection. Call it before the connection carries
 * any command: defined later on an auto-pipelined connection, commands already queued in the same
 * tick's pipeline make ioredis reject the call and throw an uncaught error that ends the process.
 */
export function defineJobViewCommands(redis: GatewayDeps['redis']) {
  if (!(redis as unknown as { bxQueuedJobState?: unknown }).bxQueuedJobState) {
    redis.defineCommand('bxQueuedJobState', { numberOfKeys: 6, lua: QUEUED_JOB_STATE });
  }
}

function queuedJobState(redis: GatewayDeps['redis'], showId: number, id: string): Promise<QueuedJobState | null> {
  const client = redis as unknown as { bxQueuedJobState?: (...args: (string | number)[]) => Promise<QueuedJobState | null> };
  defineJobViewCommands(redis);
  const key = (part: string) => `${queuePrefix()}:${showQueueName(showId)}:${part}`;
  return client.bxQueuedJobState!(key(id), key('prioritized'), key('active'), key('wait'), key('delayed'), showStatsKey(showId), id);
}

/** A job that is still on its queue: state, position, ETA and the likely-sold-out warning. */
export async function viewOfQueuedJob(deps: GatewayDeps, showId: number, id: string): Promise<(JobView & { user_id: number }) | undefined> {
  const state = await queuedJobState(deps.redis, showId, id);
  if (!state) return undefined;
  const [data, finishedOn, failedReason, attempts, rank, active, wait, delayed, rate, seatsPerJob] = state;
  const job = JSON.parse(data) as ClientJob;
  const base = { ...queuedView(job, id, showId), user_id: job.user_id };
  if (finishedOn) {
    // Finished on the queue: the outcome is in Postgres (a completed job stored it before finishing;
    // a job out of retries gets its INTERNAL outcome a moment after).
    const stored = await storedOutcome(id);
    if (stored) return { ...viewOfOutcome(stored as unknown as Outcome), user_id: stored.user_id };
    return { ...base, status: 'failed', finished_at: iso(Number(finishedOn)), error: { code: 'INTERNAL', message: `The request could not be processed (${Number(attempts) || 1} attempts): ${failedReason ?? 'unknown error'}` } };
  }
  if (rank === null) return delayed !== null ? base : { ...base, status: 'active', position: 0, eta_seconds: 0 };
  const position = rank + active + wait;
  const stats = { rate: Number(rate) || 0, seatsPerJob: Number(seatsPerJob) || 1 };
  const show = await deps.shows.get(showId);
  return {
    ...base,
    position,
    eta_seconds: stats.rate > 0 ? Math.round((position / stats.rate) * 10) / 10 : null,
    likely_sold_out: job.type === 'book' && show !== undefined && position * stats.seatsPerJob >= show.available,
  };
}

/** GET /jobs/:id: the owner's view of a request; anyone else gets 404. */
export async function getJob(deps: GatewayDeps, caller: Caller, id: string): Promise<JobView> {
  const showId = showIdOfRequest(id);
  const stored = await storedOutcome(id);
  if (stored) {
    if (stored.user_id !== caller.id) throw notFound('Job');
    return viewOfOutcome(stored as unknown as Outcome);
  }
  const queued = await viewOfQueuedJob(deps, showId, id);
  if (!queued || queued.user_id !== caller.id) throw notFound('Job');
  const { user_id: _owner, ...view } = queued;
  return view;
}
