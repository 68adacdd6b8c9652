import http from 'node:http';
import { AddressInfo } from 'node:net';
import { Config, config } from '../../shared/config';
import { createDb } from '../../shared/db';
import { createLogger, Logger } from '../../shared/logger';
import { instrumentJobs, metricsRegistry, watchConnections } from '../../shared/metrics';
import { ShowQueues } from '../../shared/queue/producer';
import { createRedis, waitReady } from '../../shared/redis';
import { makeProcessor } from './allocation/processor';
import { ShowAttacher } from './attach/show-attacher';
import type { WorkerDeps } from './deps';

export interface RunningWorker {
  deps: WorkerDeps;
  attacher: ShowAttacher;
  metricsPort: number;
  /** Finishes the running jobs, stops taking new ones, closes connections. */
  close(): Promise<void>;
}

/** A small HTTP listener for Prometheus (/metrics) and liveness (/healthz). */
function metricsServer(port: number): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      const registry = metricsRegistry();
      res.writeHead(200, { 'Content-Type': registry.contentType }).end(await registry.metrics());
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"code":"NOT_FOUND","message":"Not found"}}');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

/**
 * Worker sessions end a transaction left idle longer than a job lock: a stalled worker (paused VM,
 * stopped process) must not keep its show's allocation lock once another worker has taken its job over.
 */
export function stallSafeDatabaseUrl(url: string, lockSeconds: number): string {
  const u = new URL(url);
  const setting = `-c idle_in_transaction_session_timeout=${Math.ceil(lockSeconds * 1000)}`;
  const options = u.searchParams.get('options');
  u.searchParams.set('options', options ? `${options} ${setting}` : setting);
  return u.toString();
}

export async function startWorker(opts: { cfg?: Config; log?: Logger; metricsPort?: number } = {}): Promise<RunningWorker> {
  const cfg = opts.cfg ?? config();
  const log = opts.log ?? createLogger('worker');
  const db = createDb(stallSafeDatabaseUrl(cfg.DATABASE_URL, cfg.JOB_LOCK_SECONDS), cfg.DB_POOL_MAX);
  const redis = createRedis({ blocking: false, name: 'worker' });
  const bullClient = createRedis({ blocking: true, name: 'worker-bull' });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  bullClient.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  await Promise.all([waitReady(redis), waitReady(bullClient), db.raw('SELECT 1')]);
  const deps: WorkerDeps = { cfg, db, redis, bullClient, queues: new ShowQueues(bullClient), log };
  const unwatch = watchConnections('worker', db, { worker: redis, 'worker-bull': bullClient });
  const attacher = new ShowAttacher(deps, instrumentJobs(makeProcessor(deps)));
  attacher.start();
  const server = await metricsServer(opts.metricsPort ?? cfg.METRICS_PORT);
  const metricsPort = (server.address() as AddressInfo).port;
  log.info({ metrics_port: metricsPort }, 'worker started');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      log.info('worker stopping');
      await attacher.close();
      await deps.queues.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      unwatch();
      await Promise.all([redis.quit().catch(() => undefined), bullClient.quit().catch(() => undefined), db.destroy()]);
      log.info('worker stopped');
    })();
    return closing;
  };
  return { deps, attacher, metricsPort, close };
}
