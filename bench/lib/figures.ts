import type { BurstResult } from './burst';
import type { ShowSampler } from './sampler';
import { round, Summary, summarize, Timeline } from './stats';

export interface BurstFigures {
  requests: number;
  seconds: number;
  /** Jobs put on the show's queue per second, from the first request until the show sold out (or sending ended). */
  acceptRate: number;
  /** 202 latency of `Prefer: respond-async` booking requests during the burst. */
  acceptLatencyMs: Summary;
  /** Outcomes per second while the show's queue had a backlog. */
  allocationJobsPerS: number;
  /** Seats allocated per second from the first outcome until sold out. */
  allocationSeatsPerS: number;
  outcomes: number;
  seatsAllocated: number;
  timeToSellOutS: number | null;
  maxQueueDepth: number;
  /** Request to final outcome, every acknowledged request (awaited or polled). */
  resultLatencyMs: Summary;
  /** The same, only requests answered with the outcome in the same HTTP call. */
  awaitedResultMs: Summary;
  /** 409 SOLD_OUT answered by the gateway without enqueueing. */
  soldOutAnswers: Summary & { perS: number };
  firstAnswers: Record<string, number>;
  outcomesByCode: Record<string, number>;
  refusedByCode: Record<string, number>;
  transportErrors: number;
  polls: number;
}

const tally = (keys: string[]) => keys.reduce<Record<string, number>>((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {});

/** Busy-time rate of a counted series: its total over buckets where `busy` holds, per second. */
function busyRate(timeline: Timeline, series: string, busy: (bucket: number) => boolean): number {
  const counts = timeline.counts.get(series) ?? [];
  let n = 0;
  let buckets = 0;
  counts.forEach((c, i) => {
    if (busy(i)) {
      n += c;
      buckets++;
    }
  });
  return buckets ? round(n / ((buckets * timeline.bucketMs) / 1000)) : 0;
}

/** The headline numbers of a burst, from the client's records, the sampler and the timeline. */
export function burstFigures(burst: BurstResult, sampler: ShowSampler, timeline: Timeline): BurstFigures {
  const t = burst.tracked;
  const acked = t.filter((x) => x.id && x.final);
  const acceptUntil = sampler.soldOutAt ?? burst.sendingEndedAt;
  const accepted = t.filter((x) => x.id && x.kind !== 'confirm' && x.sentAt <= acceptUntil).length;
  const depth = timeline.gauges.get('queue_depth') ?? [];
  const jobs = timeline.counts.get('allocated_jobs') ?? [];
  const seats = timeline.counts.get('allocated_seats') ?? [];
  const firstOutcome = jobs.findIndex((c) => c > 0);
  const soldBucket = sampler.soldOutAt ? Math.floor((sampler.soldOutAt - timeline.startMs) / timeline.bucketMs) : seats.length - 1;
  const seatsBeforeSoldOut = seats.slice(0, soldBucket + 1).reduce((a, b) => a + b, 0);
  const sellingSeconds = firstOutcome >= 0 ? ((soldBucket - firstOutcome + 1) * timeline.bucketMs) / 1000 : 0;
  const soldOut = t.filter((x) => x.refused === 'SOLD_OUT');
  const soldOutSpan = soldOut.length > 1 ? (Math.max(...soldOut.map((x) => x.sentAt + x.ms)) - Math.min(...soldOut.map((x) => x.sentAt))) / 1000 : 0;
  return {
    requests: t.filter((x) => x.kind !== 'confirm').length,
    seconds: round((burst.endedAt - burst.startedAt) / 1000, 2),
    acceptRate: round(accepted / Math.max(0.001, (acceptUntil - burst.startedAt) / 1000)),
    acceptLatencyMs: summarize(t.filter((x) => x.async && x.status === 202).map((x) => x.ms)),
    allocationJobsPerS: busyRate(timeline, 'allocated_jobs', (i) => (depth[i] ?? 0) >= 20 && (depth[i + 1] ?? 0) >= 20),
    allocationSeatsPerS: sellingSeconds ? round(seatsBeforeSoldOut / sellingSeconds) : 0,
    outcomes: sampler.outcomes,
    seatsAllocated: sampler.seatsTaken,
    timeToSellOutS: sampler.soldOutAt ? round((sampler.soldOutAt - burst.startedAt) / 1000, 2) : null,
    maxQueueDepth: sampler.maxDepth,
    resultLatencyMs: summarize(acked.map((x) => x.final!.at - x.sentAt)),
    awaitedResultMs: summarize(acked.filter((x) => !x.async && x.status !== 202).map((x) => x.ms)),
    soldOutAnswers: { ...summarize(soldOut.map((x) => x.ms)), perS: soldOutSpan ? round(soldOut.length / soldOutSpan) : 0 },
    firstAnswers: tally(t.map((x) => (x.transportError ? 'transport' : String(x.status)))),
    outcomesByCode: tally(acked.map((x) => `${x.kind}:${x.final!.status === 'completed' ? 'completed' : x.final!.code}`)),
    refusedByCode: tally(t.filter((x) => x.refused).map((x) => `${x.status} ${x.refused}`)),
    transportErrors: t.filter((x) => x.transportError).length,
    polls: t.reduce((n, x) => n + x.polls, 0),
  };
}
