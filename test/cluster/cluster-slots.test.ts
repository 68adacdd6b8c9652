import { expect } from 'chai';
import { QueueKeys, Worker } from 'bullmq';
import { ConfigError, loadConfig } from '../../shared/config';
import type { BookJob } from '../../shared/queue/jobs';
import { dueShowsKey, queuePrefix, resultsChannel, showQueueName, showStatsKey } from '../../shared/queue/names';
import { ShowQueues } from '../../shared/queue/producer';
import { clusterSpec, createRedis, deleteKeys, keyServers, RedisClient, scanKeys, waitReady } from '../../shared/redis';
import { LocalRedis, startLocalCluster } from './local-redis';

const keySlot: (key: string) => number = require('cluster-key-slot');

/** Every key a show's queue uses: BullMQ's own, a job hash and its lock/logs, and our stats hash. */
function showKeys(showId: number): string[] {
  const name = showQueueName(showId);
  const bull = Object.values(new QueueKeys(queuePrefix()).getKeys(name));
  const job = `${queuePrefix()}:${name}:${showId}-0123456789abcdef`;
  return [...bull, job, `${job}:lock`, `${job}:logs`, showStatsKey(showId)];
}

/** slot -> master port, from CLUSTER SLOTS. */
async function slotOwners(redis: RedisClient): Promise<(slot: number) => number> {
  const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return (slot) => ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
}

describe('Redis Cluster: one hash slot per show', () => {
  let cluster: LocalRedis;
  let redis: RedisClient;
  let blocking: RedisClient;

  before(async () => {
    cluster = await startLocalCluster(3);
    redis = createRedis({ blocking: false, url: cluster.url, name: 'test-slots' });
    blocking = createRedis({ blocking: true, url: cluster.url, name: 'test-slots-bull' });
    await Promise.all([waitReady(redis), waitReady(blocking)]);
  });

  after(async () => {
    await Promise.all([redis?.quit().catch(() => undefined), blocking?.quit().catch(() => undefined)]);
    await cluster?.stop();
  });

  it('when the keys of 100 shows are hashed, then each show\'s keys share one slot and the shows spread over all 3 masters', async () => {
    const owner = await slotOwners(redis);
    const perMaster = new Map<number, number>();
    for (let showId = 1; showId <= 100; showId++) {
      const slots = new Set(showKeys(showId).map(keySlot));
      expect([...slots], `show ${showId}`).to.deep.equal([keySlot(`show-${showId}`)]);
      const master = owner([...slots][0]);
      perMaster.set(master, (perMaster.get(master) ?? 0) + 1);
    }
    expect([...perMaster.keys()].sort()).to.deep.equal([...cluster.ports].sort());
    for (const [master, shows] of perMaster) expect(shows, `shows on master ${master}`).to.be.at.least(15);
  });

  it('when a cluster is named by REDIS_URL or REDIS_CLUSTER_NODES, then its nodes and credentials are read, and a bad node is refused', () => {
    expect(clusterSpec('redis-cluster://app:s%40cret@r1:7000,r2:7001/', '')).to.deep.equal({
      nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }], username: 'app', password: 's@cret',
    });
    expect(clusterSpec('redis://:pw@ignored:6379', 'a:7000, b')).to.deep.equal({ nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 6379 }], username: undefined, password: 'pw' });
    expect(clusterSpec('redis://127.0.0.1:6379', '').nodes).to.deep.equal([]);
    expect(() => clusterSpec('redis-cluster://r1:70000', '')).to.throw(/r1:70000/);
  });

  it('when the queue prefix contains a hash-tag brace, then the config is refused naming QUEUE_PREFIX', () => {
    const env = { ...process.env, QUEUE_PREFIX: 'box{office}' };
    expect(() => loadConfig(env)).to.throw(ConfigError, /QUEUE_PREFIX/);
  });

  it('when BullMQ queues and workers run on the cluster, then jobs complete and each show\'s real keys sit in its slot on one master', async () => {
    const shows = Array.from({ length: 12 }, (_, i) => 900_001 + i);
    const queues = new ShowQueues(redis);
    const done = new Set<string>();
    const workers = shows.map((showId) => new Worker(showQueueName(showId), async (job) => { done.add(job.id!); return { ok: true }; },
      { connection: blocking as never, prefix: queuePrefix(), concurrency: 1, drainDelay: 1 }));
    try {
      for (const showId of shows) await queues.queue(showId).setGlobalConcurrency(1);
      const job = (showId: number, n: number): BookJob => ({
        type: 'book', request_id: `${showId}-${n}`, user_id: 1, show_id: showId, seats: [n], hold: false, created_at: new Date().toISOString(), body_hash: 'x',
      });
      await Promise.all(shows.flatMap((showId) => [1, 2, 3].map((n) => queues.add(showId, job(showId, n)))));
      const deadline = Date.now() + 20_000;
      while (done.size < shows.length * 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(done.size).to.equal(shows.length * 3);

      const owner = await slotOwners(redis);
      const masters = new Set<number>();
      for (const server of keyServers(redis)) {
        const port = server.options.port!;
        for (const key of await scanKeys(server, `${queuePrefix()}:{show-*`)) {
          const showId = Number(/\{show-(\d+)\}/.exec(key)![1]);
          expect(keySlot(key), key).to.equal(keySlot(`show-${showId}`));
          expect(owner(keySlot(key)), key).to.equal(port);
          masters.add(port);
        }
      }
      expect(masters.size, 'masters holding the 12 shows').to.equal(3);
      const due = await redis.zrange(dueShowsKey(), '0', '-1');
      expect(due.map(Number).sort()).to.deep.equal(shows);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await queues.close();
    }
  });

  it('when outcomes are published and idempotency keys claimed on the cluster, then subscribers receive them and SET NX GET returns the first claim', async () => {
    const subscriber = createRedis({ blocking: true, url: cluster.url, name: 'test-sub' });
    try {
      const got: string[] = [];
      subscriber.on('message', (_ch: string, msg: string) => got.push(msg));
      await subscriber.subscribe(resultsChannel());
      await Promise.all(Array.from({ length: 20 }, (_, i) => redis.publish(resultsChannel(), `msg-${i}`)));
      const deadline = Date.now() + 5000;
      while (got.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(got.sort()).to.deep.equal(Array.from({ length: 20 }, (_, i) => `msg-${i}`).sort());

      const keys = Array.from({ length: 30 }, (_, i) => `${queuePrefix()}:idem:k${i}`);
      const first = await Promise.all(keys.map((k) => redis.set(k, 'a', 'EX', 60, 'NX', 'GET')));
      const second = await Promise.all(keys.map((k) => redis.set(k, 'b', 'EX', 60, 'NX', 'GET')));
      expect(first.every((v) => v === null)).to.equal(true);
      expect(second.every((v) => v === 'a')).to.equal(true);
      const owner = await slotOwners(redis);
      expect(new Set(keys.map((k) => owner(keySlot(k)))).size, 'masters holding the keys').to.equal(3);
    } finally {
      await subscriber.quit().catch(() => undefined);
    }
  });

  it('when the suite cleanup runs on the cluster, then the prefix\'s keys on every master are removed', async () => {
    const before = await scanKeys(redis, `${queuePrefix()}:*`);
    const perServer = await Promise.all(keyServers(redis).map(async (s) => (await scanKeys(s, `${queuePrefix()}:*`)).length));
    expect(perServer.every((n) => n > 0), `keys per master: ${perServer}`).to.equal(true);
    expect(await deleteKeys(redis, `${queuePrefix()}:*`)).to.equal(before.length);
    expect(await scanKeys(redis, `${queuePrefix()}:*`)).to.deep.equal([]);
  });
});
