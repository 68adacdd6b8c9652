import { expect } from 'chai';
import { testDb } from '../support/gateway';
import { createUser } from '../support/fixtures';
import { PrivateRedis, startRedis } from '../support/servers';
import { isAcknowledged } from './burst';
import { runScenario } from './scenario';
import { QueueProbe, ShowLock, Stack } from './stack';
import { expectInvariants, expectRecovered } from './verify';
import './report';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('faults: Redis restarted mid-burst', function () {
  this.timeout(180_000);
  let redis: PrivateRedis;
  let stack: Stack;
  let queues: QueueProbe;

  before(async () => {
    redis = await startRedis({ appendonly: true });
    stack = await Stack.start({ REDIS_URL: redis.url }, ['w1', 'w2']);
    queues = new QueueProbe(redis.url);
  });
  after(async () => {
    await stack?.stop();
    await queues?.close();
    await redis?.destroy();
  });

  it('when Redis (AOF, fsync always) crashes mid-burst and restarts, then gateway and workers reconnect by themselves and every acknowledged request has exactly one outcome', async () => {
    const db = testDb();
    let crashedAt = 0;
    let backlog: string[] = [];
    const { run, results, settled } = await runScenario('Redis crash + AOF restart', stack, queues, db, async ({ show, burst }) => {
      // Hold the show for a moment so acknowledged jobs are still queued in Redis when it dies.
      const lock = await ShowLock.take(stack.env.DATABASE_URL, show.show.id);
      await sleep(1000);
      crashedAt = Date.now();
      await redis.kill('SIGKILL');
      const ackedBefore = burst.answered.filter((r) => isAcknowledged(r) && r.answeredAt < crashedAt);
      const done = new Set<string>(await db('requests').whereIn('id', ackedBefore.map((r) => r.jobId!)).pluck('id'));
      backlog = ackedBefore.map((r) => r.jobId!).filter((id) => !done.has(id));
      await lock.release();
      await sleep(1500);
      await redis.start();
    });
    expectInvariants(settled);
    expect(backlog.length, 'requests acknowledged before the crash and still queued').to.be.greaterThan(0);
    expect(settled.report.lost.filter((id) => backlog.includes(id))).to.deep.equal([]);
    expect(results.filter((r) => r.attempts.includes(503)).length, 'requests refused with 503 while Redis was down').to.be.greaterThan(0);
    expect(stack.alive(), 'gateway and workers running').to.equal(true);
    await expectRecovered(db, stack.gateway.url, run.show.show.id, await createUser());
  });
});
