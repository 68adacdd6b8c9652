import type { Job } from 'bullmq';
import type { Knex } from 'knex';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { dueShowsKey } from './queue/names';
import { queueDepth } from './queue/stats';
import type { RedisClient } from './redis';

/** How many of the busiest shows get their own queue-depth series (the label set stays bounded). */
export const TOP_SHOWS = 10;
/** Shows with due work looked at per scrape. */
const SHOWS_SCANNED = 500;
const OUTCOME_CODE = /^[A-Z][A-Z0-9_]{0,39}$/;

const pools = new Map<string, Knex>();
const redisConnections = new Map<string, RedisClient>();
let queueSource: RedisClient | undefined;
let queueSample: Promise<QueueSample> | undefined;

interface QueueSample {
  top: { showId: number; depth: number }[];
  total: number;
  shows: number;
}

/** Counters and histograms the gateway and workers update as requests and jobs go by. */
function eventMetrics(registry: Registry) {
  const http = new Histogram({
    name: 'boxoffice_http_request_duration_seconds',
    help: 'Gateway HTTP request duration by method, route (OpenAPI path template) and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const jobsEnqueued = new Counter({
    name: 'boxoffice_jobs_enqueued_total', help: 'Jobs put on a show queue, by type', labelNames: ['type'] as const, registers: [registry],
  });
  const jobsFinished = new Counter({
    name: 'boxoffice_jobs_finished_total',
    help: 'Jobs that reached their outcome, by type, status (completed/failed) and outcome (completed or the failure code)',
    labelNames: ['type', 'status', 'outcome'] as const,
    registers: [registry],
  });
  const jobAttemptErrors = new Counter({
    name: 'boxoffice_job_attempt_errors_total',
    help: 'Job attempts that threw (retried unless final), by type',
    labelNames: ['type', 'final'] as const,
    registers: [registry],
  });
  const jobWait = new Histogram({
    name: 'boxoffice_job_wait_seconds',
    help: 'Time from a job being due (added, or its delay over) to a worker starting it',
    labelNames: ['type'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const jobProcessing = new Histogram({
    name: 'boxoffice_job_processing_seconds',
    help: 'Time a worker spends on one job attempt',
    labelNames: ['type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { http, jobsEnqueued, jobsFinished, jobAttemptErrors, jobWait, jobProcessing };
}

/** Gauges read from Redis when scraped: the busiest show queues with a bounded label set. */
function queueGauges(registry: Registry) {
  new Gauge({
    name: 'boxoffice_queue_depth_top',
    help: `Jobs waiting or running on the ${TOP_SHOWS} busiest show queues (rank 1 is the busiest)`,
    labelNames: ['rank', 'show_id'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const sample = await sampleQueues();
      sample?.top.forEach((s, i) => this.set({ rank: String(i + 1), show_id: String(s.showId) }, s.depth));
    },
  });
  new Gauge({
    name: 'boxoffice_queue_depth_total',
    help: `Jobs waiting or running over all show queues with due work (at most ${SHOWS_SCANNED} shows looked at)`,
    registers: [registry],
    async collect() {
      const sample = await sampleQueues();
      if (sample) this.set(sample.total);
    },
  });
  new Gauge({
    name: 'boxoffice_shows_with_work',
    help: `Shows with jobs waiting or running (of at most ${SHOWS_SCANNED} announced to workers)`,
    registers: [registry],
    async collect() {
      const sample = await sampleQueues();
      if (sample) this.set(sample.shows);
    },
  });
}

/** Gauges read from the watched Postgres pools and Redis connections when scraped. */
function connectionGauges(registry: Registry) {
  new Gauge({
    name: 'boxoffice_db_pool_connections',
    help: 'Postgres pool connections by component and state (used, free, pending_acquires, pending_creates)',
    labelNames: ['component', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [component, db] of pools) {
        const pool = (db.client as { pool?: PoolLike }).pool;
        if (!pool) continue;
        this.set({ component, state: 'used' }, pool.numUsed());
        this.set({ component, state: 'free' }, pool.numFree());
        this.set({ component, state: 'pending_acquires' }, pool.numPendingAcquires());
        this.set({ component, state: 'pending_creates' }, pool.numPendingCreates());
      }
    },
  });
  new Gauge({
    name: 'boxoffice_redis_connection_up',
    help: 'Redis connection ready (1) or not (0), by connection name',
    labelNames: ['connection'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [connection, client] of redisConnections) this.set({ connection }, client.status === 'ready' ? 1 : 0);
    },
  });
}

interface PoolLike {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

let registry: Registry | undefined;
let instruments: ReturnType<typeof eventMetrics> | undefined;

/** The process's Prometheus registry, with Node's default metrics and Boxoffice's own. */
export function metricsRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
    instruments = eventMetrics(registry);
    queueGauges(registry);
    connectionGauges(registry);
  }
  return registry;
}

/** Boxoffice's counters and histograms (created with the registry). */
export function metrics(): ReturnType<typeof eventMetrics> {
  metricsRegistry();
  return instruments!;
}

/**
 * Reports a component's Postgres pool and Redis connections until the returned function is
 * called. One entry per component name: a later registration replaces an earlier one.
 */
export function watchConnections(component: string, db: Knex, redis: Record<string, RedisClient>): () => void {
  metricsRegistry();
  pools.set(component, db);
  for (const [name, client] of Object.entries(redis)) redisConnections.set(name, client);
  return () => {
    if (pools.get(component) === db) pools.delete(component);
    for (const [name, client] of Object.entries(redis)) if (redisConnections.get(name) === client) redisConnections.delete(name);
  };
}

/** Samples queue depths through `redis` (the gateway does this) until the returned function is called. */
export function watchQueueDepth(redis: RedisClient): () => void {
  metricsRegistry();
  queueSource = redis;
  queueSample = undefined;
  return () => {
    if (queueSource === redis) queueSource = undefined;
  };
}

/** One sample shared by the queue gauges of a scrape: they collect concurrently, so it lives while in flight. */
function sampleQueues(): Promise<QueueSample | undefined> {
  const redis = queueSource;
  if (!redis || redis.status !== 'ready') return Promise.resolve(undefined);
  if (!queueSample) {
    const value = (async () => {
      const ids = await redis.zrangebyscore(dueShowsKey(), '-inf', Date.now(), 'LIMIT', 0, SHOWS_SCANNED);
      const depths = await Promise.all(ids.map(async (id) => ({ showId: Number(id), depth: await queueDepth(redis, Number(id)) })));
      depths.sort((a, b) => b.depth - a.depth);
      const busy = depths.filter((d) => d.depth > 0);
      return { top: busy.slice(0, TOP_SHOWS), total: busy.reduce((n, d) => n + d.depth, 0), shows: busy.length };
    })();
    queueSample = value;
    const forget = () => setImmediate(() => { if (queueSample === value) queueSample = undefined; });
    value.then(forget, forget);
  }
  return queueSample.catch(() => undefined);
}

/** A job's report as the processor returns it. */
export interface JobReportLike {
  status: string;
  code?: string;
}

/** Bounded outcome label: `completed`, or the failure code when it looks like one. */
export const outcomeLabel = (report: JobReportLike) =>
  report.status === 'completed' ? 'completed' : OUTCOME_CODE.test(report.code ?? '') ? report.code! : 'OTHER';

/**
 * Wraps a job processor: records wait time, processing time and the outcome of each job, and
 * counts attempts that throw (the last one is counted as an INTERNAL outcome).
 */
export function instrumentJobs<J extends Job, R extends JobReportLike>(processor: (job: J) => Promise<R>): (job: J) => Promise<R> {
  const m = metrics();
  return async (job) => {
    const type = job.name;
    const due = job.timestamp + (job.opts.delay ?? 0);
    m.jobWait.observe({ type }, Math.max(0, ((job.processedOn ?? Date.now()) - due) / 1000));
    const stop = m.jobProcessing.startTimer({ type });
    try {
      const report = await processor(job);
      m.jobsFinished.inc({ type, status: report.status === 'completed' ? 'completed' : 'failed', outcome: outcomeLabel(report) });
      return report;
    } catch (err) {
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      m.jobAttemptErrors.inc({ type, final: String(final) });
      if (final) m.jobsFinished.inc({ type, status: 'failed', outcome: 'INTERNAL' });
      throw err;
    } finally {
      stop();
    }
  };
}
