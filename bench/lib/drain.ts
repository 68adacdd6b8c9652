import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { createRedis, waitReady } from '../../shared/redis';
import type { BookJob } from '../../shared/queue/jobs';
import { ShowQueues } from '../../shared/queue/producer';
import type { BenchUser } from './fixtures';
import { round } from './stats';

export interface ProjectDrainResult {
  jobs: number;
  seconds: number;
  /** Outcomes per second. */
  rate: number;
  seatsBooked: number;
  /** CPU milliseconds per job in the worker processes. */
  cpuMsPerJob: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Fills one show's queue with `n` booking jobs through the project's own producer (as the gateway
 * enqueues them), with no worker attached: single seats at random, a `mix.best` share of
 * best-available requests and a `mix.hold` share of holds.
 */
export async function fillShowQueue(showId: number, seats: number, users: BenchUser[], n: number, mix = { best: 0, hold: 0 }): Promise<string[]> {
  const redis = createRedis({ blocking: false, name: 'bench-fill' });
  await waitReady(redis);
  const queues = new ShowQueues(redis);
  const ids: string[] = [];
  for (let start = 0; start < n; start += 500) {
    await Promise.all(Array.from({ length: Math.min(500, n - start) }, (_, i) => {
      const request_id = `${showId}-${randomUUID().replace(/-/g, '')}`;
      ids.push(request_id);
      const r = Math.random();
      const ask = r < mix.best ? { quantity: 1 + Math.floor(Math.random() * 4), allow_split: false } : { seats: [1 + Math.floor(Math.random() * seats)] };
      const job: BookJob = {
        type: 'book', request_id, user_id: users[(start + i) % users.length].id, show_id: showId, ...ask,
        hold: r > 1 - mix.hold, created_at: new Date().toISOString(), body_hash: 'x'.repeat(32),
      };
      return queues.add(showId, job);
    }));
  }
  await queues.close();
  await redis.quit();
  return ids;
}

/**
 * Lets already-running workers drain a pre-filled show queue and times it from the first
 * outcome to the last (outcomes counted in Postgres).
 */
export async function timeDrain(db: Knex, showId: number, n: number, cpu: () => number, timeoutMs = 300_000): Promise<ProjectDrainResult> {
  const count = async () => Number((await db('requests').where('show_id', showId).count('* as n'))[0].n);
  const cpuBefore = cpu();
  const deadline = Date.now() + timeoutMs;
  let first = 0;
  let done = 0;
  while (done < n && Date.now() < deadline) {
    await sleep(50);
    done = await count();
    if (done > 0 && !first) first = performance.now();
  }
  const seconds = first ? (performance.now() - first) / 1000 : 0;
  const seatsBooked = Number((await db('bookings').where('show_id', showId).count('* as n'))[0].n);
  return {
    jobs: done, seconds: round(seconds, 2), rate: seconds ? round(done / seconds) : 0, seatsBooked,
    cpuMsPerJob: round(((cpu() - cpuBefore) * 1000) / Math.max(1, done), 3),
  };
}
