import type { Knex } from 'knex';
import type { ShowQueues } from '../../shared/queue/producer';
import { queueDepth } from '../../shared/queue/stats';
import type { RedisClient } from '../../shared/redis';
import { Child, cpuSecondsOf } from './children';
import type { BenchUser } from './fixtures';
import { checkInvariants } from './invariants';
import { metricSum, scrape } from './scale-servers';
import { SerializationSample, SerializationSampler } from './scale-sampler';
import type { BenchStack } from './stack';
import { round, summarize } from './stats';

export interface ScaleContext {
  stack: BenchStack;
  db: Knex;
  redis: RedisClient;
  queues: ShowQueues;
  users: BenchUser[];
  seats: number;
  poolTotal: number;
  idleSeconds: number;
  /** redis-server processes of the run (empty: not measured). */
  redisPids: number[];
}

export interface RoundResult {
  workers: number;
  /** DB_POOL_MAX of each worker. */
  pool: number;
  jobs: number;
  /** First to last stored outcome. */
  seconds: number;
  /** Outcomes per second over all shows. */
  rate: number;
  /** Announcement to the first outcome (workers finding and attaching to the shows). */
  attachMs: number;
  /** Outcomes per second of one typical show (median over the shows but the busy one), and of the busy show. */
  perShowRate: number;
  hotRate: number;
  /** Seconds from the announcement until the typical shows were drained (median, last), and the busy show. */
  normalDoneP50: number;
  normalDoneMax: number;
  hotDone: number;
  /** Jobs each worker process finished (its boxoffice_jobs_finished_total). */
  jobsPerWorker: number[];
  /** Mean time a worker spent on one job (boxoffice_job_processing_seconds), ms. */
  jobMs: number;
  /** Worker CPU per outcome, ms. */
  cpuMsPerJob: number;
  /** CPU of the Postgres backends serving the workers, and of the redis-server processes, per outcome (ms; null when not measured). */
  pgCpuMsPerJob: number;
  redisCpuMsPerJob: number | null;
  serial: SerializationSample;
  invariants: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForAll(db: Knex, shows: number[], total: number, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ n }] = await db('requests').whereIn('show_id', shows).count('* as n');
    if (Number(n) >= total) return;
    if (Date.now() > deadline) throw new Error(`only ${n} of ${total} outcomes after ${timeoutMs / 1000}s`);
    await sleep(200);
  }
}

async function waitForDrain(redis: RedisClient, shows: number[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await Promise.all(shows.map((id) => queueDepth(redis, id)))).some((d) => d > 0)) {
    if (Date.now() > deadline) throw new Error('show queues not drained in time');
    await sleep(100);
  }
}

const WORKER_APP = 'boxoffice-scale-worker';

/** CPU seconds of each Postgres backend the workers hold (application_name WORKER_APP). */
async function workerBackends(db: Knex): Promise<Map<number, number>> {
  const rows = (await db.raw('SELECT pid FROM pg_stat_activity WHERE application_name = ?', [WORKER_APP])).rows as { pid: number }[];
  return new Map(rows.map((r) => [r.pid, cpuSecondsOf(r.pid)]));
}

/** Invariants of every show of the round: "ok" or what broke. */
async function invariantsOf(db: Knex, shows: number[], ids: string[][]): Promise<string> {
  const broken: string[] = [];
  for (let i = 0; i < shows.length; i++) {
    const r = await checkInvariants(db, shows[i], ids[i]);
    if (r.duplicates || r.lost.length || r.mismatched.length || r.counter !== r.activeSeats) {
      broken.push(`show ${shows[i]}: ${r.duplicates} dup, ${r.lost.length} lost, ${r.mismatched.length} mismatched, counter ${r.counter}/${r.activeSeats}`);
    }
  }
  return broken.length ? broken.join('; ') : 'ok';
}

/** Outcome times per show from Postgres: the round's span, per-show rates, and when the shows were drained. */
async function showTimes(db: Knex, shows: number[], announcedAt: number) {
  const perShow: { show_id: number; n: number; first: Date; last: Date }[] = await db('requests').whereIn('show_id', shows)
    .groupBy('show_id').select('show_id').count('* as n').min('finished_at as first').max('finished_at as last');
  const rateOf = (s: (typeof perShow)[number]) => Number(s.n) / Math.max(0.001, (s.last.getTime() - s.first.getTime()) / 1000);
  const hot = perShow.find((s) => s.show_id === shows[0])!;
  const normal = perShow.filter((s) => s.show_id !== shows[0]);
  const done = summarize(normal.map((s) => (s.last.getTime() - announcedAt) / 1000));
  return {
    first: Math.min(...perShow.map((s) => s.first.getTime())), last: Math.max(...perShow.map((s) => s.last.getTime())),
    perShowRate: round(summarize(normal.map(rateOf)).p50), hotRate: round(rateOf(hot)),
    normalDoneP50: round(done.p50, 2), normalDoneMax: round(done.max, 2), hotDone: round((hot.last.getTime() - announcedAt) / 1000, 2),
  };
}

/**
 * One round: starts `workers` worker processes (DB_POOL_MAX = poolTotal / workers), announces the
 * pre-filled shows at once, waits for every outcome, then reads the figures and stops the workers.
 */
export async function runRound(ctx: ScaleContext, workers: number, shows: number[], ids: string[][], extraEnv: Record<string, string> = {}): Promise<RoundResult> {
  const pool = Math.max(1, Math.ceil(ctx.poolTotal / workers));
  const dbUrl = new URL(ctx.stack.env.DATABASE_URL);
  dbUrl.searchParams.set('application_name', WORKER_APP);
  const env = { DB_POOL_MAX: String(pool), WORKER_IDLE_SECONDS: String(ctx.idleSeconds), DATABASE_URL: dbUrl.toString(), ...extraEnv };
  const procs: Child[] = [];
  for (let i = 0; i < workers; i++) procs.push(await ctx.stack.startWorker(`w${workers}-${i}`, env));
  // Workers run long before an on-sale: let each see the others in the registry before the shows are due.
  await sleep(2500);
  const cpuBefore = procs.map((p) => p.cpuSeconds());
  const [pgBefore, redisBefore] = [await workerBackends(ctx.db), ctx.redisPids.map(cpuSecondsOf)];
  const sampler = new SerializationSampler(ctx.redis, ctx.db, shows);
  const total = ids.reduce((n, l) => n + l.length, 0);
  try {
    sampler.start();
    const announcedAt = Date.now();
    await Promise.all(shows.map((id) => ctx.queues.announce(id)));
    await waitForAll(ctx.db, shows, total);
    // Outcomes decided in a batch are stored before BullMQ hands their jobs over: let the queues empty too.
    await waitForDrain(ctx.redis, shows);
    const serial = await sampler.stop();
    const metrics = await Promise.all(procs.map((p) => scrape(p.port)));
    const cpu = procs.reduce((s, p, i) => s + p.cpuSeconds() - cpuBefore[i], 0);
    const pgCpu = [...(await workerBackends(ctx.db))].reduce((s, [pid, sec]) => s + sec - (pgBefore.get(pid) ?? 0), 0);
    const redisCpu = ctx.redisPids.reduce((s, pid, i) => s + cpuSecondsOf(pid) - redisBefore[i], 0);
    const { first, last, ...times } = await showTimes(ctx.db, shows, announcedAt);
    const processing = metrics.reduce((s, t) => s + metricSum(t, 'boxoffice_job_processing_seconds_sum'), 0);
    const processed = metrics.reduce((s, t) => s + metricSum(t, 'boxoffice_job_processing_seconds_count'), 0);
    return {
      workers, pool, jobs: total, seconds: round((last - first) / 1000, 2), rate: round(total / Math.max(0.001, (last - first) / 1000)),
      attachMs: first - announcedAt, ...times,
      jobsPerWorker: metrics.map((t) => metricSum(t, 'boxoffice_jobs_finished_total')),
      jobMs: round((processing / Math.max(1, processed)) * 1000, 2), cpuMsPerJob: round((cpu * 1000) / total, 2),
      pgCpuMsPerJob: round((pgCpu * 1000) / total, 2), redisCpuMsPerJob: ctx.redisPids.length ? round((redisCpu * 1000) / total, 2) : null,
      serial, invariants: await invariantsOf(ctx.db, shows, ids),
    };
  } finally {
    await sampler.stop();
    await Promise.all(procs.map((p) => ctx.stack.stop(p)));
  }
}
