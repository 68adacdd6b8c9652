import http from 'node:http';
import { AddressInfo } from 'node:net';
import { Config, config } from '../../shared/config';
import { createDb } from '../../shared/db';
import { createLogger, Logger } from '../../shared/logger';
import { watchConnections, watchQueueDepth } from '../../shared/metrics';
import { ShowQueues } from '../../shared/queue/producer';
import { ResultWaiter } from '../../shared/queue/results';
import { createRedis } from '../../shared/redis';
import { createApp } from './app';
import { Tokens } from './auth/tokens';
import { UserChanges } from './auth/user-changes';
import { UserDirectory } from './auth/user-directory';
import { ShowCache } from './catalog/show-cache';
import { Admission } from './security/admission';
import { hardenHttpServer } from './security/http-server';
import { LoginLimiter } from './security/login-limiter';
import type { GatewayDeps } from './deps';
import { defineJobViewCommands } from './jobs/job-view';
import { drainable } from './ops/http-drain';

/**
 * Connections the kernel may queue before the gateway accepts them. Node's default (511) is too
 * few for an on-sale, when thousands of clients connect in the same second: past it, connection
 * attempts are dropped and clients retry after 1, 3, 7, 15... seconds. The kernel caps it at
 * net.core.somaxconn (4096 on current kernels; docker-compose.yml sets it for the gateway).
 */
export const LISTEN_BACKLOG = 4096;

export interface RunningGateway {
  server: http.Server;
  port: number;
  deps: GatewayDeps;
  /** Graceful stop: no new connections, in-flight requests finish (waiters answer 202), pools close. */
  close(): Promise<void>;
}

/** Builds the gateway's dependencies and starts listening on `port` (0 picks a free one). */
export async function startGateway(opts: { cfg?: Config; port?: number; log?: Logger } = {}): Promise<RunningGateway> {
  const cfg = opts.cfg ?? config();
  const log = opts.log ?? createLogger('gateway');
  const db = createDb(cfg.DATABASE_URL, cfg.DB_POOL_MAX);
  const redis = createRedis({ blocking: false, name: 'gateway' });
  defineJobViewCommands(redis);
  const subscriber = createRedis({ blocking: true, name: 'gateway-results' });
  const stopping = new AbortController();
  const waiter = new ResultWaiter(subscriber, stopping.signal);
  const shows = new ShowCache();
  waiter.on('seats', (showId: number, available: number) => shows.seatsLeft(showId, available));
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  subscriber.on('error', (err) => log.warn({ err: err.message }, 'redis subscriber error'));
  await waiter.start();
  const users = new UserDirectory();
  const userChanges = new UserChanges(cfg.DATABASE_URL, log, (channel, payload) => db.raw('SELECT pg_notify(?, ?)', [channel, payload]), (id) => users.forget(id));
  // Not awaited: until it listens (within a second, or never behind a transaction pooler) users are looked up.
  void userChanges.start();
  const deps: GatewayDeps = {
    cfg, db, redis, queues: new ShowQueues(redis), waiter, tokens: new Tokens(cfg), users, userChanges, shows, log,
    admission: new Admission(redis, cfg), loginLimiter: new LoginLimiter(redis, cfg, cfg.QUEUE_PREFIX),
    shutdown: stopping.signal,
  };
  const app = createApp(deps);
  const server = http.createServer(app.callback());
  hardenHttpServer(server);
  server.keepAliveTimeout = 65_000;
  const inFlight = drainable(server);
  const unwatch = [watchConnections('gateway', db, { gateway: redis, 'gateway-results': subscriber }), watchQueueDepth(redis)];
  await new Promise<void>((resolve) => server.listen({ port: opts.port ?? cfg.PORT, backlog: LISTEN_BACKLOG }, resolve));
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, 'gateway listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      log.info('gateway stopping');
      const drained = inFlight.drain();
      stopping.abort();
      await drained;
      unwatch.forEach((stop) => stop());
      await deps.queues.close();
      await Promise.all([waiter.close(), redis.quit().catch(() => undefined), db.destroy(), userChanges.stop()]);
      log.info('gateway stopped');
    })();
    return closing;
  };
  return { server, port, deps, close };
}
