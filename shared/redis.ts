import IORedis, { Cluster, RedisOptions } from 'ioredis';
import { config } from './config';

export type RedisClient = IORedis | Cluster;

export interface ClusterSpec {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
}

/**
 * The cluster named by REDIS_CLUSTER_NODES (`host:port,host:port`) or by a
 * `redis-cluster://[user:pass@]host:port,host:port` REDIS_URL; no nodes for a single server.
 * Credentials come from the URL in both cases.
 */
export function clusterSpec(url = config().REDIS_URL, list = config().REDIS_CLUSTER_NODES): ClusterSpec {
  const m = /^[a-z-]+:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]*)/i.exec(url);
  const username = m?.[1] ? decodeURIComponent(m[1]) : undefined;
  const password = m?.[2] ? decodeURIComponent(m[2]) : undefined;
  const spec = list || (url.startsWith('redis-cluster://') ? (m?.[3] ?? '') : '');
  const nodes = spec.split(',').map((s) => s.trim()).filter(Boolean).map((hp) => {
    const i = hp.lastIndexOf(':');
    return i > 0 ? { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) } : { host: hp, port: 6379 };
  });
  const bad = nodes.find((n) => !n.host || !Number.isInteger(n.port) || n.port < 1 || n.port > 65535);
  if (bad) throw new Error(`Invalid Redis Cluster node "${bad.host}:${bad.port}" (REDIS_CLUSTER_NODES / REDIS_URL)`);
  return { nodes, username, password };
}

/**
 * Opens a Redis connection (single server or cluster).
 * `blocking` connections (BullMQ workers, the results subscriber) retry commands forever; the
 * others fail fast while Redis is unreachable so the gateway can answer 503 instead of hanging.
 * On a cluster, node connections open lazily: a client talks only to the masters that own the
 * slots it uses (a BullMQ worker's blocking connection to its show's master).
 */
export function createRedis(opts: { blocking: boolean; name?: string; url?: string; nodes?: string }): RedisClient {
  const url = opts.url ?? config().REDIS_URL;
  const spec = clusterSpec(url, opts.nodes ?? (opts.url ? '' : config().REDIS_CLUSTER_NODES));
  const common: RedisOptions = {
    maxRetriesPerRequest: opts.blocking ? null : 1,
    enableOfflineQueue: opts.blocking,
    connectionName: opts.name,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    enableAutoPipelining: !opts.blocking,
  };
  if (spec.nodes.length > 0) {
    return new Cluster(spec.nodes, {
      redisOptions: { ...common, username: spec.username, password: spec.password },
      enableOfflineQueue: opts.blocking,
      enableAutoPipelining: !opts.blocking,
      clusterRetryStrategy: (times) => Math.min(times * 100, 2000),
      retryDelayOnClusterDown: 200,
      retryDelayOnFailover: 200,
    });
  }
  return new IORedis(url, common);
}

export const isCluster = (client: RedisClient): client is Cluster => client instanceof Cluster;

/** One client per server holding keys: every master of a cluster, or the single server. */
export function keyServers(client: RedisClient): IORedis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** Every key matching `pattern`, scanned on every master. */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  if (isCluster(client)) await waitReady(client);
  for (const server of keyServers(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** Removes every key matching `pattern` (one UNLINK per key, so no command spans two slots). Returns the count. */
export async function deleteKeys(client: RedisClient, pattern: string): Promise<number> {
  const keys = await scanKeys(client, pattern);
  for (let i = 0; i < keys.length; i += 1000) {
    await Promise.all(keys.slice(i, i + 1000).map((k) => client.unlink(k)));
  }
  return keys.length;
}

/** Resolves once the connection is ready (or rejects after timeoutMs). */
export async function waitReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Redis not ready in time')), timeoutMs);
    client.once('ready', () => { clearTimeout(timer); resolve(); });
  });
}
