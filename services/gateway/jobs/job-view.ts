import { RequestOutcome } from '../../../shared/db/models';
import { notFound } from '../../../shared/errors';
import type { ClientJob, JobError, Outcome } from '../../../shared/queue/jobs';
import { queuePrefix, showQueueName } from '../../../shared/queue/names';
import { jobPosition, readDrainStats } from '../../../shared/queue/stats';
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

/** The stored outcome of a request, if it has finished. */
export async function storedOutcome(id: string): Promise<RequestOutcome | undefined> {
  return RequestOutcome.query().findById(id);
}

/** A job that is still on its queue: state, position, ETA and the likely-sold-out warning. */
export async function viewOfQueuedJob(deps: GatewayDeps, showId: number, id: string): Promise<(JobView & { user_id: number }) | undefined> {
  const jobKey = `${queuePrefix()}:${showQueueName(showId)}:${id}`;
  const [data, finishedOn, failedReason, attempts] = await deps.redis.hmget(jobKey, 'data', 'finishedOn', 'failedReason', 'atm');
  if (!data) return undefined;
  const job = JSON.parse(data) as ClientJob;
  const base = { ...viewOfOutcome({ id, type: job.type, show_id: showId, status: 'queued', result: null, error: null, created_at: job.created_at, finished_at: job.created_at }), finished_at: null, user_id: job.user_id };
  if (finishedOn) {
    // Finished on the queue: the outcome is in Postgres (a completed job stored it before finishing;
    // a job out of retries gets its INTERNAL outcome a moment after).
    const stored = await storedOutcome(id);
    if (stored) return { ...viewOfOutcome(stored as unknown as Outcome), user_id: stored.user_id };
    return { ...base, status: 'failed', finished_at: iso(Number(finishedOn)), error: { code: 'INTERNAL', message: `The request could not be processed (${Number(attempts) || 1} attempts): ${failedReason ?? 'unknown error'}` } };
  }
  const position = await jobPosition(deps.redis, showId, id);
  if (position === undefined) {
    const delayed = await deps.redis.zscore(`${queuePrefix()}:${showQueueName(showId)}:delayed`, id);
    return delayed !== null ? base : { ...base, status: 'active', position: 0, eta_seconds: 0 };
  }
  const [stats, show] = await Promise.all([readDrainStats(deps.redis, showId), deps.shows.get(showId)]);
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
