import { Queue } from 'bullmq';
import { queuePrefix, showQueueName } from '../../shared/queue/names';
import { createRedis } from '../../shared/redis';
import { onCleanup } from '../support/cleanup';
import { testDb } from '../support/gateway';
import type { WorkerProcess } from '../support/workers';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `everyMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as T;
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Seat number -> status of the active (booked or held) bookings of a show, from Postgres. */
export async function activeSeats(showId: number): Promise<Map<number, string>> {
  const rows = await testDb()('bookings').where('show_id', showId).whereIn('status', ['booked', 'held']).select('seat_number', 'status');
  return new Map(rows.map((r: { seat_number: number; status: string }) => [r.seat_number, r.status]));
}

/** Statuses of the bookings a request created, in seat order. */
export async function bookingStatuses(requestId: string): Promise<string[]> {
  return testDb()('bookings').where('request_id', requestId).orderBy('seat_number').pluck('status');
}

let redis: ReturnType<typeof createRedis> | undefined;

/** One Redis connection for the suite's own reads and queue handles (closed after the run). */
export function testRedis(): ReturnType<typeof createRedis> {
  if (!redis) {
    redis = createRedis({ blocking: true, name: 'test-features' });
    onCleanup(async () => {
      await redis?.quit();
      redis = undefined;
    });
  }
  return redis;
}

/** A BullMQ handle on a show's queue (to pause it so a backlog can build up, then resume it). */
export function showQueue(showId: number): Queue {
  const queue = new Queue(showQueueName(showId), { connection: testRedis() as never, prefix: queuePrefix() });
  onCleanup(() => queue.close());
  return queue;
}

/** Stops the given worker processes (a suite leaves no worker behind to take another suite's jobs). */
export async function stopWorkers(workers: WorkerProcess[]): Promise<void> {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
}

