import IORedis from 'ioredis';
import { Knex } from 'knex';
import { Client as PgClient } from 'pg';
import { config } from '../../shared/config';
import { bullKey } from '../../shared/queue/names';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { GatewayProcess, spawnGateway } from './gateway-process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The database URL with an application_name, so a worker's Postgres sessions can be told apart. */
export function withAppName(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set('application_name', name);
  return u.toString();
}

/** A gateway process and named worker processes, all on the same Postgres database and Redis. */
export class Stack {
  readonly workers = new Map<string, WorkerProcess>();
  gateway!: GatewayProcess;

  constructor(readonly env: { DATABASE_URL: string; REDIS_URL: string } & Record<string, string>) {}

  static async start(env: Partial<Stack['env']>, workerNames: string[]): Promise<Stack> {
    const stack = new Stack({ DATABASE_URL: config().DATABASE_URL, REDIS_URL: config().REDIS_URL, ...env } as Stack['env']);
    const gatewayEnv = { ...stack.env, DATABASE_URL: withAppName(stack.env.DATABASE_URL, 'fault-gateway') };
    const [gateway] = await Promise.all([spawnGateway(gatewayEnv), ...workerNames.map((n) => stack.spawnWorker(n))]);
    stack.gateway = gateway as GatewayProcess;
    return stack;
  }

  async spawnWorker(name: string): Promise<WorkerProcess> {
    const w = await spawnWorker({ ...this.env, DATABASE_URL: withAppName(this.env.DATABASE_URL, `fault-${name}`) });
    this.workers.set(name, w);
    return w;
  }

  /** Signals a worker and waits for it to exit; it is no longer part of the stack. */
  async stopWorker(name: string, signal: NodeJS.Signals): Promise<number | string | null> {
    const code = await this.worker(name).kill(signal);
    this.workers.delete(name);
    return code;
  }

  worker(name: string): WorkerProcess {
    const w = this.workers.get(name);
    if (!w) throw new Error(`no worker ${name}`);
    return w;
  }

  /** Every process still running (a killed one that was replaced is not counted). */
  alive(): boolean {
    const procs = [this.gateway.proc(), ...[...this.workers.values()].map((w) => w.proc)];
    return procs.every((p) => p !== undefined && p.exitCode === null && p.signalCode === null);
  }

  /** Which processes died, with their last output (for failure messages). */
  deaths(): string {
    const dead: string[] = [];
    const gw = this.gateway.proc();
    if (!gw || gw.exitCode !== null || gw.signalCode !== null) dead.push(`gateway exited (${gw?.exitCode ?? gw?.signalCode}):\n${this.gateway.tail()}`);
    for (const [name, w] of this.workers) {
      if (w.proc.exitCode !== null || w.proc.signalCode !== null) dead.push(`${name} exited (${w.proc.exitCode ?? w.proc.signalCode}):\n${w.logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`);
    }
    return dead.join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all([this.gateway.kill('SIGTERM'), ...[...this.workers.values()].map((w) => w.kill('SIGTERM'))]);
  }
}

/** Resolves with the first log line of `w` matching `pred` (rejects after timeoutMs). */
export async function waitForLog(w: WorkerProcess, pred: (line: any) => boolean, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = w.logs.find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error('log line not seen in time');
    await sleep(50);
  }
}

/**
 * Holds a show's allocation lock (the advisory lock bx_lock_show takes) from outside, so the
 * next job of that show stops inside Postgres: a worker is then provably mid-job.
 */
export class ShowLock {
  private constructor(private readonly client: PgClient, private readonly showId: number) {}

  static async take(dbUrl: string, showId: number): Promise<ShowLock> {
    const client = new PgClient({ connectionString: dbUrl });
    client.on('error', () => undefined);
    await client.connect();
    await client.query('SELECT pg_advisory_lock(7001, $1)', [showId]);
    return new ShowLock(client, showId);
  }

  /** Waits for a worker session blocked on the lock; resolves with the worker's name. */
  async blockedWorker(timeoutMs = 15_000): Promise<string> {
    return (await this.blockedSession(timeoutMs)).worker;
  }

  /** Waits for a worker session blocked on the lock: the worker's name and the session's pid. */
  async blockedSession(timeoutMs = 15_000): Promise<{ worker: string; pid: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.client.query(
        `SELECT pid, application_name FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()`);
      if (rows.length) return { worker: String(rows[0].application_name).replace(/^fault-/, ''), pid: rows[0].pid };
      if (Date.now() > deadline) throw new Error('no worker reached the show lock');
      await sleep(20);
    }
  }

  /** Whether a session is still connected. */
  async sessionAlive(pid: number): Promise<boolean> {
    const { rows } = await this.client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    return rows.length > 0;
  }

  async release(): Promise<void> {
    await this.client.query('SELECT pg_advisory_unlock(7001, $1)', [this.showId]).catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}

/** Read-only look at a show's BullMQ keys on a given Redis. */
export class QueueProbe {
  readonly redis: IORedis;

  constructor(url: string) {
    this.redis = new IORedis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => 200 });
    this.redis.on('error', () => undefined);
  }

  async activeJobs(showId: number): Promise<string[]> {
    return this.redis.lrange(bullKey(showId, 'active'), 0, -1);
  }

  /** Jobs still waiting, running or scheduled for a retry. */
  async unfinished(showId: number): Promise<number> {
    const [p, w, a, d] = await Promise.all([
      this.redis.zcard(bullKey(showId, 'prioritized')), this.redis.llen(bullKey(showId, 'wait')),
      this.redis.llen(bullKey(showId, 'active')), this.redis.zcard(bullKey(showId, 'delayed')),
    ]);
    return p + w + a + d;
  }

  /** The payload of a job still stored in Redis. */
  async jobData(showId: number, jobId: string): Promise<{ created_at: string } | undefined> {
    const data = await this.redis.hget(bullKey(showId, jobId), 'data');
    return data ? JSON.parse(data) : undefined;
  }

  async close() {
    this.redis.disconnect();
  }
}

/** Terminates every session the gateway and workers hold on the database (what a Postgres failover does to clients). */
export async function terminateBackends(db: Knex): Promise<number> {
  const res = await db.raw(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
                             WHERE datname = current_database() AND application_name LIKE 'fault-%' AND pid <> pg_backend_pid()`);
  return res.rows[0].n;
}
