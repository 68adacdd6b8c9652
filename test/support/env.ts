import { randomBytes } from 'node:crypto';

/**
 * Each test run gets its own database and Redis key prefix, set before any module reads the config.
 * TEST_DATABASE_URL / REDIS_URL point at the servers (defaults: the local ones).
 */
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
const server = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
server.pathname = `/boxoffice_test_${run}`;

export const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  DATABASE_URL: server.toString(),
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: `bxt_${run}`,
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  METRICS_PORT: '0',
  WORKER_POLL_MS: '100',
  WORKER_IDLE_SECONDS: '3',
  JOB_LOCK_SECONDS: '3',
  BOOK_WAIT_SECONDS: '10',
  DB_POOL_MAX: '10',
};

for (const [k, v] of Object.entries(TEST_ENV)) process.env[k] = v;
