import type { RedisClient } from '../redis';
import { bullKey, showStatsKey } from './names';

/** Jobs waiting or running on a show's queue (delayed hold expiries and the waiting room are not counted). */
export async function queueDepth(redis: RedisClient, showId: number): Promise<number> {
  const [prioritized, wait, active] = await Promise.all([
    redis.zcard(bullKey(showId, 'prioritized')),
    redis.llen(bullKey(showId, 'wait')),
    redis.llen(bullKey(showId, 'active')),
  ]);
  return prioritized + wait + active;
}

export interface DrainStats {
  /** Jobs per second the show's queue is being worked off at (0 when unknown). */
  rate: number;
  /** Mean seats asked per book job. */
  seatsPerJob: number;
}

/** Written by workers every second while a show is busy. */
export async function readDrainStats(redis: RedisClient, showId: number): Promise<DrainStats> {
  const [rate, seats] = await redis.hmget(showStatsKey(showId), 'rate', 'seats_per_job');
  return { rate: Number(rate) || 0, seatsPerJob: Number(seats) || 1 };
}

export async function writeDrainStats(redis: RedisClient, showId: number, stats: DrainStats): Promise<void> {
  const key = showStatsKey(showId);
  await redis.hset(key, 'rate', stats.rate.toFixed(2), 'seats_per_job', stats.seatsPerJob.toFixed(2));
  await redis.expire(key, 3600);
}

/**
 * Jobs ahead of `jobId`: the running one, the wait list (taken before prioritized jobs), and the
 * prioritized jobs before it. A job back in the wait list after a stall counts the entries nearer
 * the list's tail. Undefined if the job is not waiting.
 */
export async function jobPosition(redis: RedisClient, showId: number, jobId: string): Promise<number | undefined> {
  const [rank, active, wait] = await Promise.all([
    redis.zrank(bullKey(showId, 'prioritized'), jobId),
    redis.llen(bullKey(showId, 'active')),
    redis.llen(bullKey(showId, 'wait')),
  ]);
  if (rank !== null) return rank + active + wait;
  const index = wait > 0 ? await redis.lpos(bullKey(showId, 'wait'), jobId) : null;
  return index === null ? undefined : active + wait - 1 - index;
}
