import { config } from '../config';

/** One BullMQ queue per show. The braces are a Redis Cluster hash tag: a show's keys share one slot. */
export const showQueueName = (showId: number) => `{show-${showId}}`;

export const showIdFromQueueName = (name: string): number | undefined => {
  const m = /^\{show-(\d+)\}$/.exec(name);
  return m ? Number(m[1]) : undefined;
};

export const queuePrefix = () => config().QUEUE_PREFIX;

/** Sorted set: show id -> time (ms) from which a worker should be attached to it. */
export const dueShowsKey = () => `${queuePrefix()}:shows:due`;

/** Pub/sub channel on which workers publish every finished request's outcome. */
export const resultsChannel = () => `${queuePrefix()}:results`;

/** Per-show stats hash (drain rate), in the show's slot. */
export const showStatsKey = (showId: number) => `${queuePrefix()}:${showQueueName(showId)}:stats`;

/** BullMQ's own key for a show queue's part (wait, prioritized, active, delayed, ...). */
export const bullKey = (showId: number, part: string) => `${queuePrefix()}:${showQueueName(showId)}:${part}`;
