import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import type { Knex } from 'knex';
import { bookSeats } from '../../services/worker/allocation/allocate';
import { createDb } from '../../shared/db';
import type { BookJob } from '../../shared/queue/jobs';
import { queuePrefix } from '../../shared/queue/names';
import { createRedis, waitReady } from '../../shared/redis';
import type { BenchUser } from './fixtures';
import { HttpClient, runPool } from './http-client';
import { round, Summary, summarize } from './stats';

export interface AcceptResult {
  requests: number;
  seconds: number;
  /** Requests acknowledged (202) per second. */
  rate: number;
  latencyMs: Summary;
  statuses: Record<string, number>;
  /** CPU milliseconds the serving process used per acknowledged request. */
  cpuMsPerRequest: number;
}

/** One measurement's raw numbers, so that several rounds can be merged. */
export interface AcceptSample {
  accepted: number;
  requests: number;
  seconds: number;
  cpuSeconds: number;
  latencies: number[];
  statuses: Record<string, number>;
}

/** Merges rounds of one target into one result. */
export function mergeAccept(samples: AcceptSample[]): AcceptResult {
  const sum = (f: (s: AcceptSample) => number) => samples.reduce((n, s) => n + f(s), 0);
  const statuses: Record<string, number> = {};
  for (const s of samples) for (const [k, v] of Object.entries(s.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const seconds = sum((s) => s.seconds);
  return {
    requests: sum((s) => s.requests), seconds: round(seconds, 2), rate: round(sum((s) => s.accepted) / seconds),
    latencyMs: summarize(samples.flatMap((s) => s.latencies)), statuses,
    cpuMsPerRequest: round((sum((s) => s.cpuSeconds) * 1000) / Math.max(1, sum((s) => s.accepted)), 3),
  };
}

/**
 * Fires `n` single-seat booking requests (`Prefer: respond-async`, random seats, round-robin users)
 * at `concurrency` and measures how fast they are acknowledged. Used for ceiling (a) and for the
 * project's gateway with the same load.
 */
export async function measureAccept(
  target: { port: number; cpuSeconds(): number }, showId: number, seats: number, users: BenchUser[], n: number, concurrency: number, userOffset = 0,
): Promise<AcceptSample> {
  const client = new HttpClient(target.port, concurrency);
  const cpuBefore = target.cpuSeconds();
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  await runPool(n, concurrency, async (i) => {
    const user = users[(userOffset + i) % users.length];
    const a = await client.call('POST', `/shows/${showId}/book`, {
      token: user.token, body: { seat_number: 1 + Math.floor(Math.random() * seats) }, headers: { prefer: 'respond-async' },
    });
    const key = a.transportError ? 'transport' : String(a.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (a.status === 202) latencies.push(a.ms);
  });
  const seconds = (performance.now() - started) / 1000;
  client.close();
  return { accepted: statuses['202'] ?? 0, requests: n, seconds, cpuSeconds: target.cpuSeconds() - cpuBefore, latencies, statuses };
}

export interface DrainResult {
  jobs: number;
  seconds: number;
  rate: number;
  /** CPU milliseconds per job in the worker's process (Redis's own CPU not counted). */
  cpuMsPerJob: number;
}

/**
 * Ceiling (b): one BullMQ Worker, concurrency 1, no-op processor, draining a queue pre-filled
 * with `n` jobs shaped like booking jobs (same retention options as the project's).
 */
export async function measureBullDrain(n: number): Promise<DrainResult> {
  const producer = createRedis({ blocking: true, name: 'ceiling-b-producer' });
  const consumer = createRedis({ blocking: true, name: 'ceiling-b-worker' });
  await Promise.all([waitReady(producer), waitReady(consumer)]);
  const name = `{ceiling-drain-${randomUUID().slice(0, 8)}}`;
  const queue = new Queue(name, { connection: producer as never, prefix: queuePrefix() });
  for (let start = 0; start < n; start += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, n - start) }, (_, i) => {
      const id = `1-${randomUUID().replace(/-/g, '')}`;
      const data: BookJob = {
        type: 'book', request_id: id, user_id: start + i + 1, show_id: 1, seats: [start + i + 1], hold: false,
        created_at: new Date().toISOString(), body_hash: 'x'.repeat(32),
      };
      return { name: 'book', data, opts: { jobId: id, removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } } };
    }));
  }
  let done = 0;
  let started = 0;
  const cpuBefore = process.cpuUsage();
  const finished = new Promise<void>((resolve) => {
    const worker = new Worker(name, async () => undefined, { connection: consumer as never, prefix: queuePrefix(), concurrency: 1 });
    worker.on('active', () => { started ||= performance.now(); });
    worker.on('completed', () => {
      if (++done === n) void worker.close().then(() => resolve());
    });
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await Promise.all([producer.quit(), consumer.quit()]);
  return { jobs: n, seconds: round(seconds, 2), rate: round(n / seconds), cpuMsPerJob: round((cpu.user + cpu.system) / 1000 / n, 3) };
}

export interface TxResult {
  transactions: number;
  seconds: number;
  rate: number;
  latencyMs: Summary;
}

/**
 * Ceiling (c): the project's allocation transaction (bx_book through bookSeats) in a loop on one
 * Postgres connection, no queue: distinct users, consecutive free seats, for `seconds`.
 */
export async function measureAllocationLoop(databaseUrl: string, showId: number, totalSeats: number, users: BenchUser[], seconds: number): Promise<TxResult> {
  const db: Knex = createDb(databaseUrl, 1);
  const lat: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let i = 0;
  while (performance.now() < deadline && i < totalSeats) {
    const seat = ++i;
    const job: BookJob = {
      type: 'book', request_id: `${showId}-c${seat}`, user_id: users[seat % users.length].id, show_id: showId, seats: [seat], hold: false,
      created_at: new Date().toISOString(), body_hash: 'x'.repeat(32),
    };
    const t = performance.now();
    const out = await bookSeats(db, job, [seat], 0);
    lat.push(performance.now() - t);
    if (out.status !== 'completed') throw new Error(`ceiling (c): seat ${seat} was not booked: ${JSON.stringify(out.error)}`);
  }
  const elapsed = (performance.now() - started) / 1000;
  await db.destroy();
  return { transactions: i, seconds: round(elapsed, 2), rate: round(i / elapsed), latencyMs: summarize(lat) };
}
