import IORedis, { Cluster, RedisOptions } from 'ioredis';
import { config } from './config';

export type RedisClient = IORedis | Cluster;

/** Cluster seed nodes from REDIS_CLUSTER_NODES or a redis-cluster:// URL; empty for a single server. */
export function clusterNodes(url = config().REDIS_URL, list = config().REDIS_CLUSTER_NODES): { host: string; port: number }[] {
  const spec = list || (url.startsWith('redis-cluster://') ? url.slice('redis-cluster://'.length).replace(/\/.*$/, '') : '');
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((hp) => {
    const [host, port] = hp.split(':');
    return { host, port: Number(port ?? 6379) };
  });
}

/**
 * Opens a Redis connection (single server or cluster).
 * `blocking` connections (BullMQ workers) retry commands forever; the others fail fast while
 * Redis is unreachable so the gateway can answer 503 instead of hanging.
 */
export function createRedis(opts: { blocking: boolean; name?: string; url?: string; nodes?: string }): RedisClient {
  const common: RedisOptions = {
    maxRetriesPerRequest: opts.blocking ? null : 1,
    enableOfflineQueue: opts.blocking,
    connectionName: opts.name,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    enableAutoPipelining: !opts.blocking,
  };
  const nodes = clusterNodes(opts.url ?? config().REDIS_URL, opts.nodes ?? config().REDIS_CLUSTER_NODES);
  if (nodes.length > 0) {
    return new Cluster(nodes, { redisOptions: common, enableOfflineQueue: opts.blocking, enableAutoPipelining: !opts.blocking });
  }
  return new IORedis(opts.url ?? config().REDIS_URL, common);
}

/** Resolves once the connection is ready (or rejects after timeoutMs). */
export async function waitReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Redis not ready in time')), timeoutMs);
    client.once('ready', () => { clearTimeout(timer); resolve(); });
  });
}
