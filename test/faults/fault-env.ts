import knexFactory, { Knex } from 'knex';
import { Model } from 'objection';
import { ensureDatabase, knexConfig, migrate } from '../../shared/db';
import { testDb } from '../support/gateway';
import { PrivatePostgres, PrivateRedis, startPostgres, startRedis } from '../support/servers';
import { QueueProbe, Stack } from './stack';

/**
 * Everything the fault scenarios break: a private Redis (AOF, fsync always) and a private
 * Postgres on spare loopback ports, and a gateway plus two workers as processes using them.
 * Started once for the fault suite; each scenario uses its own show.
 */
export interface FaultEnv {
  redis: PrivateRedis;
  pg: PrivatePostgres;
  dbUrl: string;
  /** The test's own handle on the private database (not bound to the models). */
  db: Knex;
  stack: Stack;
  queues: QueueProbe;
}

let env: Promise<FaultEnv> | undefined;

async function start(): Promise<FaultEnv> {
  const [redis, pg] = await Promise.all([startRedis({ appendonly: true }), startPostgres()]);
  const dbUrl = pg.url('boxoffice_faults');
  await ensureDatabase(dbUrl);
  const quiet = () => undefined;
  const db = knexFactory({ ...knexConfig(dbUrl, 5), log: { warn: quiet, error: quiet, debug: quiet, deprecate: quiet } });
  await migrate(db);
  // Clients retry during outages; the per-user booking rate limit (admission control, tested elsewhere) stays out of the way.
  const stack = await Stack.start({ DATABASE_URL: dbUrl, REDIS_URL: redis.url, BOOK_RATE_LIMIT: '0' }, ['w1', 'w2']);
  return { redis, pg, dbUrl, db, stack, queues: new QueueProbe(redis.url) };
}

/** The fault environment, started on first use. */
export function faultEnv(): Promise<FaultEnv> {
  env ??= start();
  return env;
}

/** Runs fixtures (objection models) against `db`, then gives the models back to the test database. */
export async function inDatabase<T>(db: Knex, fn: () => Promise<T>): Promise<T> {
  const home = testDb();
  Model.knex(db);
  try {
    return await fn();
  } finally {
    Model.knex(home);
  }
}

/** Stops the processes and removes the private servers. */
export async function stopFaultEnv(): Promise<void> {
  const e = await env?.catch(() => undefined);
  env = undefined;
  if (!e) return;
  await e.stack.stop();
  await e.queues.close();
  await e.db.destroy();
  await Promise.all([e.redis.destroy(), e.pg.destroy()]);
}
