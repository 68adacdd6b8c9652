import { expect } from 'chai';
import IORedis from 'ioredis';
import { createShow, createUsers, TestUser } from '../support/fixtures';
import { testDb } from '../support/gateway';
import { HttpResult } from '../support/http';
import { checkInvariants, waitForOutcomes } from '../support/invariants';
import { startRedis } from '../support/servers';
import { spawnWorker } from '../support/workers';
import { spawnGateway } from '../faults/gateway-process';
import { expectCleanError } from './security-helpers';

const MAXMEMORY = 2 * 1024 * 1024;
/** Room left for jobs once the filler is written: enough for a few dozen before Redis refuses. */
const HEADROOM = 100 * 1024;

const usedMemory = async (redis: IORedis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

/** Writes filler keys in small pieces (a single huge value would not fit through the query buffer) until Redis uses `target` bytes. */
async function fill(redis: IORedis, target: number): Promise<void> {
  const piece = 'x'.repeat(4 * 1024);
  for (let i = 0; (await usedMemory(redis)) < target; i += 4) {
    await Promise.all(Array.from({ length: 4 }, (_, j) => redis.set(`filler:${i + j}`, piece)));
  }
}

/** A Redis server of the test's own with MAXMEMORY and noeviction, and an admin connection to it. */
async function limitedRedis() {
  const redisServer = await startRedis({ appendonly: false });
  const admin = new IORedis(redisServer.url);
  await admin.config('SET', 'maxmemory', String(MAXMEMORY));
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
  return { redisServer, admin };
}

describe('Redis full (maxmemory 2mb, noeviction): a clear 503, no acknowledged job lost', function () {
  this.timeout(120_000);

  it('when Redis refuses writes, then bookings answer 503 QUEUE_FULL with Retry-After, and once room is made every acknowledged job and every retried one has exactly one outcome', async () => {
    const { redisServer, admin } = await limitedRedis();
    try {
      const [gateway, show, users] = await Promise.all([
        spawnGateway({ REDIS_URL: redisServer.url, BOOK_RATE_LIMIT: '0' }), createShow({ total_seats: 1000, max_seats_per_user: 100 }), createUsers(10),
      ]);
      // One booking first, so BullMQ's scripts are loaded (the script cache takes room too).
      const warmUp = await gateway.api.post(`/shows/${show.id}/book`, { token: users[0].token, body: { seat_number: 1000 }, headers: { prefer: 'respond-async' } });
      expect(warmUp.status, warmUp.text).to.equal(202);
      await fill(admin, MAXMEMORY - HEADROOM);

      const acked: string[] = [warmUp.body.id];
      const refused: { user: TestUser; key: string; seat: number; res: HttpResult }[] = [];
      for (let seat = 1; seat <= 600 && refused.length < 10; seat++) {
        const user = users[seat % users.length];
        const key = `full-${seat}`;
        const res = await gateway.api.post(`/shows/${show.id}/book`, {
          token: user.token, body: { seat_number: seat }, headers: { prefer: 'respond-async', 'idempotency-key': key },
        });
        expect(res.status, res.text).to.be.oneOf([202, 503]);
        if (res.status === 202) acked.push(res.body.id);
        else refused.push({ user, key, seat, res });
      }
      console.log(`      Redis full after ${acked.length} acknowledged bookings; then ${refused.length} answered 503 QUEUE_FULL`);
      expect(acked.length, 'some bookings fit before Redis was full').to.be.greaterThan(1);
      expect(refused.length, 'Redis refused writes').to.equal(10);
      for (const { res } of refused) {
        expectCleanError(res, [503]);
        expect(res.body.error.code).to.equal('QUEUE_FULL');
        expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
      }
      expect((await gateway.api.get(`/jobs/${acked[0]}`, { token: users[0].token })).status, 'reads still work').to.equal(200);

      await admin.del(await admin.keys('filler:*'));
      const retried: string[] = [];
      for (const { user, key, seat } of refused) {
        const res = await gateway.api.post(`/shows/${show.id}/book`, {
          token: user.token, body: { seat_number: seat }, headers: { prefer: 'respond-async', 'idempotency-key': key },
        });
        expect(res.status, res.text).to.equal(202);
        retried.push(res.body.id);
      }
      const worker = await spawnWorker({ REDIS_URL: redisServer.url });
      const all = [...acked, ...retried];
      await waitForOutcomes(testDb(), all, 60_000);
      await Promise.all([worker.kill('SIGTERM'), gateway.kill('SIGTERM')]);
      const report = await checkInvariants(testDb(), show.id, all);
      expect(report).to.deep.include({ duplicates: 0, lost: [], outcomes: all.length, mismatched: [], activeSeats: all.length });
    } finally {
      admin.disconnect();
    }
  });

  it('when bookings are refused with 503 because Redis is full, then they do not spend the caller\'s per-user budget', async () => {
    const { redisServer, admin } = await limitedRedis();
    try {
      const [gateway, show, [user]] = await Promise.all([
        spawnGateway({ REDIS_URL: redisServer.url, BOOK_RATE_LIMIT: '3', BOOK_RATE_WINDOW_SECONDS: '600' }), createShow({ total_seats: 100, max_seats_per_user: 100 }), createUsers(1),
      ]);
      const book = (seat: number) => gateway.api.post(`/shows/${show.id}/book`, { token: user.token, body: { seat_number: seat }, headers: { prefer: 'respond-async' } });
      expect((await book(100)).status, 'the warm-up booking spends 1 of 3').to.equal(202);
      // A limit below what Redis already uses: every write is refused (OOM) until it is raised again.
      await admin.config('SET', 'maxmemory', '1');
      for (let seat = 1; seat <= 5; seat++) {
        const res = await book(seat);
        expectCleanError(res, [503]);
        expect(res.body.error.code).to.equal('QUEUE_FULL');
      }
      await admin.config('SET', 'maxmemory', String(MAXMEMORY));
      expect((await book(6)).status, 'the budget still has 2 after five 503s').to.equal(202);
      expect((await book(7)).status).to.equal(202);
      const over = await book(8);
      expect(over.status, 'the limit itself still holds').to.equal(429);
      expect(over.body.error.code).to.equal('RATE_LIMITED');
      await gateway.kill('SIGTERM');
    } finally {
      admin.disconnect();
    }
  });
});
