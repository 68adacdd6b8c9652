import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { config } from '../../shared/config';
import type { BookJob } from '../../shared/queue/jobs';
import { FIFO_PRIORITY, ShowQueues } from '../../shared/queue/producer';
import { keyServers, RedisClient } from '../../shared/redis';
import { LocalRedis, startLocalCluster, startLocalRedis } from '../../test/cluster/local-redis';
import type { BenchUser } from './fixtures';

export type RedisMode = 'private' | 'cluster' | 'shared';

/**
 * The Redis a scale benchmark runs on: a redis-server of its own (so connection counts and
 * memory are the run's alone), a private 3-master cluster, or the shared server at REDIS_URL.
 */
export async function benchRedis(mode: RedisMode): Promise<LocalRedis> {
  if (mode === 'private') return startLocalRedis();
  if (mode === 'cluster') return startLocalCluster(3);
  if (mode === 'shared') {
    const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
    return { url, ports: [Number(new URL(url).port || 6379)], pids: [], stop: async () => undefined };
  }
  throw new Error(`--redis must be private, cluster or shared, got "${mode}"`);
}

/** used_memory summed over every master, in bytes. */
export async function redisMemory(redis: RedisClient): Promise<number> {
  const infos = await Promise.all(keyServers(redis).map((s) => s.info('memory')));
  return infos.reduce((n, info) => n + Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0), 0);
}

/** Connected clients summed over every master (CLIENT LIST). */
export async function redisClients(redis: RedisClient): Promise<{ name: string }[]> {
  const lists = await Promise.all(keyServers(redis).map((s) => s.client('LIST') as Promise<string>));
  return lists.flatMap((l) => l.split('\n').filter(Boolean).map((line) => ({ name: /\bname=(\S*)/.exec(line)?.[1] ?? '' })));
}

/**
 * Puts `n` single-seat book jobs on a show's queue exactly as the gateway's producer does, but
 * without announcing the show: no worker starts on it until `announce()`.
 */
export async function enqueueQuietly(queues: ShowQueues, showId: number, seats: number, users: BenchUser[], n: number): Promise<string[]> {
  const queue = queues.queue(showId);
  const ids: string[] = [];
  for (let start = 0; start < n; start += 500) {
    await Promise.all(Array.from({ length: Math.min(500, n - start) }, (_, i) => {
      const request_id = `${showId}-${randomUUID().replace(/-/g, '')}`;
      ids.push(request_id);
      const job: BookJob = {
        type: 'book', request_id, user_id: users[(start + i) % users.length].id, show_id: showId, seats: [1 + Math.floor(Math.random() * seats)],
        hold: false, created_at: new Date().toISOString(), body_hash: 'x'.repeat(32),
      };
      return queue.add('book', job, {
        jobId: request_id, priority: FIFO_PRIORITY, attempts: config().JOB_ATTEMPTS, backoff: { type: 'exponential', delay: 200 },
        removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 },
      });
    }));
  }
  return ids;
}

/** GETs a process's Prometheus text from 127.0.0.1:port/metrics. */
export function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Sum of every sample of a metric (all label sets) in Prometheus text. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}
