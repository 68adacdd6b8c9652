import { expect } from 'chai';
import type { Show } from '../../shared/db/models';
import { bullKey } from '../../shared/queue/names';
import { LOOKUPS_AT_ONCE } from '../../services/gateway/bookings/submit';
import { createRedis, RedisClient } from '../../shared/redis';
import { onCleanup } from '../support/cleanup';
import { createShow, createUsers, TestUser } from '../support/fixtures';
import { testDb } from '../support/gateway';
import { checkInvariants, waitForOutcomes } from '../support/invariants';
import { spawnWorker } from '../support/workers';
import { GatewayProcess, privatePrefix, spawnGateway, until } from './processes';

const BURST = 300;

describe('ops: graceful shutdown on SIGTERM', function () {
  this.timeout(90_000);
  let prefix: string;
  let gateway: GatewayProcess;
  let users: TestUser[];
  let redis: RedisClient;
  const key = (show: Show, part: string) => bullKey(show.id, part).replace(/^[^:]+/, prefix);
  const outcomes = async (ids: string[]) => Number((await testDb()('requests').whereIn('id', ids).count('* as n'))[0].n);

  before(async () => {
    prefix = privatePrefix('shutdown');
    gateway = await spawnGateway({ QUEUE_PREFIX: prefix });
    users = await createUsers(BURST / 10);
    redis = createRedis({ blocking: true, name: 'ops-shutdown-test' });
    onCleanup(() => redis.quit());
  });

  it('when a worker gets SIGTERM mid-burst, then it finishes its running job and exits 0, and a second worker completes the rest with nothing lost or done twice', async () => {
    const show = await createShow({ total_seats: BURST, max_seats_per_user: 10 });
    const first = await spawnWorker({ QUEUE_PREFIX: prefix });
    const burst = Promise.all(Array.from({ length: BURST }, (_, i) => gateway.api.post(`/shows/${show.id}/book`, {
      token: users[i % users.length].token, body: { seat_number: i + 1 }, headers: { Prefer: 'respond-async' },
    })));
    const ids: string[] = [];
    await until(async () => Number((await testDb()('requests').where('show_id', show.id).count('* as n'))[0].n) >= 20, 30_000, 'the first outcomes');
    expect(await first.kill('SIGTERM'), 'the worker exit code').to.equal(0);
    const active = await redis.llen(key(show, 'active'));
    const replies = await burst;
    for (const r of replies) {
      expect(r.status, r.text).to.be.oneOf([201, 202]);
      ids.push(r.body.id);
    }
    const doneByFirst = await outcomes(ids);
    expect(active, 'jobs left active by the stopped worker').to.equal(0);
    expect(first.logs.map((l) => l.msg)).to.include.members(['worker stopping', 'worker stopped']);
    expect(doneByFirst, 'the stop came mid-burst').to.be.lessThan(BURST);

    const second = await spawnWorker({ QUEUE_PREFIX: prefix });
    const ms = await waitForOutcomes(testDb(), ids, 60_000);
    const report = await checkInvariants(testDb(), show.id, ids);
    expect(report.lost).to.deep.equal([]);
    expect(report.duplicates).to.equal(0);
    expect(report.mismatched).to.deep.equal([]);
    expect(report.outcomes).to.equal(BURST);
    expect(report.activeSeats).to.equal(BURST);
    expect(report.counter).to.equal(BURST);
    expect(await second.kill('SIGTERM'), 'the second worker exit code').to.equal(0);
    console.log(`      first worker stored ${doneByFirst}/${BURST} before SIGTERM; the second finished the rest in ${ms} ms`);
  });

  it('when the gateway gets SIGTERM while more callers await their outcome than it looks up at once, then each gets 202 with its job, it exits 0, and every job is still done later', async () => {
    const callers = Array.from({ length: 2 * LOOKUPS_AT_ONCE + 8 }, (_, i) => users[i % users.length]);
    const show = await createShow({ total_seats: callers.length });
    const pending = Promise.all(callers.map((u, i) => gateway.api.post(`/shows/${show.id}/book`, {
      token: u.token, body: { seat_number: i + 1 }, headers: { Prefer: 'wait=30' },
    })));
    await until(async () => (await redis.zcard(key(show, 'prioritized'))) === callers.length, 20_000, 'all jobs queued');
    const started = Date.now();
    expect(await gateway.kill('SIGTERM'), 'the gateway exit code').to.equal(0);
    const stoppedMs = Date.now() - started;
    const replies = await pending;
    for (const r of replies) {
      expect(r.status, r.text).to.equal(202);
      expect(r.headers.get('location')).to.equal(`/jobs/${r.body.id}`);
      expect(r.body.status).to.equal('queued');
    }
    expect(gateway.logs.map((l) => l.msg)).to.include('gateway stopped');

    const ids = replies.map((r) => r.body.id as string);
    const rescuer = await spawnWorker({ QUEUE_PREFIX: prefix });
    await waitForOutcomes(testDb(), ids, 30_000);
    await rescuer.kill('SIGTERM');
    const report = await checkInvariants(testDb(), show.id, ids);
    expect(report.lost).to.deep.equal([]);
    expect(report.duplicates).to.equal(0);
    expect(report.activeSeats).to.equal(callers.length);
    console.log(`      gateway answered ${callers.length} waiting callers with 202 and exited ${stoppedMs} ms after SIGTERM`);
  });
});
