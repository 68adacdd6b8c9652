import { Queue } from 'bullmq';
import { bullKey, dueShowsKey, queuePrefix, showQueueName, showStatsKey } from '../../shared/queue/names';
import { createRedis, waitReady } from '../../shared/redis';

/** Removes a show's queue and its due-shows entry, so workers started later never see it. */
export async function discardShowQueue(showId: number): Promise<void> {
  const redis = createRedis({ blocking: true, name: 'bench-discard' });
  await waitReady(redis);
  const queue = new Queue(showQueueName(showId), { connection: redis as never, prefix: queuePrefix() });
  await queue.obliterate({ force: true });
  await queue.close();
  await redis.zrem(dueShowsKey(), String(showId));
  await redis.del(showStatsKey(showId));
  await redis.quit();
}

/** BullMQ's job-id counter of a show queue: one increment per add, so it counts the jobs accepted. */
export async function addsSoFar(showId: number): Promise<number> {
  const redis = createRedis({ blocking: true, name: 'bench-adds' });
  const n = Number((await redis.get(bullKey(showId, 'id'))) ?? 0);
  await redis.quit();
  return n;
}
