import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { bookSeats } from '../../services/worker/allocation/allocate';
import { ExpiryBatcher } from '../../services/worker/allocation/expire-batch';
import type { BookingActionJob, ExpireHoldJob } from '../../shared/queue/jobs';
import { ShowQueues } from '../../shared/queue/producer';
import { createRedis, RedisClient } from '../../shared/redis';
import { createShow, createUsers } from '../support/fixtures';
import { testDb } from '../support/gateway';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hold expiries in batches', function () {
  this.timeout(60_000);
  let redis: RedisClient;
  let queues: ShowQueues;

  before(() => {
    redis = createRedis({ blocking: true, name: 'expiry-batch-test' });
    queues = new ShowQueues(redis);
  });
  after(async () => {
    await queues.close();
    await redis.quit();
  });

  /** `n` one-second holds of one seat each on a fresh show, lapsed by the time this returns. */
  async function lapsedHolds(n: number) {
    const show = await createShow({ row_lengths: [10], max_seats_per_user: 10 });
    const users = await createUsers(n);
    const holds: string[] = [];
    for (let i = 0; i < n; i++) {
      const request_id = `${show.id}-${randomUUID().replace(/-/g, '')}`;
      const out = await bookSeats(testDb(), {
        type: 'book', request_id, user_id: users[i].id, show_id: show.id, seats: [i + 1], hold: true, created_at: new Date().toISOString(), body_hash: 'test',
      }, [i + 1], 1);
      expect(out.status, JSON.stringify(out.error)).to.equal('completed');
      holds.push(request_id);
    }
    await sleep(1100);
    return { showId: show.id, holds, users };
  }

  /** Queues the expiry jobs as the worker does (priority 1, due now); returns their job ids. */
  async function queueExpiries(showId: number, holds: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const hold_request_id of holds) {
      const job = await queues.add(showId, { type: 'expire', show_id: showId, hold_request_id } satisfies ExpireHoldJob, { priority: 1 });
      ids.push(job.id!);
    }
    return ids;
  }

  const statuses = async (requestIds: string[]) =>
    (await testDb()('bookings').whereIn('request_id', requestIds).orderBy('seat_number').pluck('status')) as string[];

  it('when several lapsed holds have their expiry jobs at the head of the queue, then the first job releases them all in one go and the rest complete from it', async () => {
    const { showId, holds } = await lapsedHolds(5);
    const ids = await queueExpiries(showId, holds);
    const announced: [number, number][] = [];
    const batcher = new ExpiryBatcher(testDb(), redis, 64, (show, available) => announced.push([show, available]));

    const first = await batcher.expire(ids[0], { type: 'expire', show_id: showId, hold_request_id: holds[0] });
    expect(first).to.deep.include({ early: false });
    expect(first.result.released).to.deep.equal([1]);
    expect(await statuses(holds)).to.deep.equal(['expired', 'expired', 'expired', 'expired', 'expired']);
    expect(announced).to.deep.equal([[showId, 10]]);

    for (let i = 1; i < holds.length; i++) {
      const later = await batcher.expire(ids[i], { type: 'expire', show_id: showId, hold_request_id: holds[i] });
      expect(later.early).to.equal(true);
      expect(later.result.released).to.deep.equal([i + 1]);
    }
    expect(announced).to.have.length(1);
  });

  it('when another kind of job is queued between expiries, then the batch stops at it', async () => {
    const { showId, holds, users } = await lapsedHolds(4);
    const ids = await queueExpiries(showId, holds.slice(0, 2));
    const confirm: BookingActionJob = {
      type: 'confirm', request_id: `${showId}-${randomUUID().replace(/-/g, '')}`, user_id: users[3].id, show_id: showId, booking_id: 1, created_at: new Date().toISOString(), body_hash: 'test',
    };
    await queues.add(showId, confirm, { priority: 1 });
    await queueExpiries(showId, holds.slice(2));
    const batcher = new ExpiryBatcher(testDb(), redis, 64, () => undefined);

    await batcher.expire(ids[0], { type: 'expire', show_id: showId, hold_request_id: holds[0] });
    expect(await statuses(holds)).to.deep.equal(['expired', 'expired', 'held', 'held']);
  });

  it('when batching is off (ALLOCATION_BATCH=1), then a job releases only its own hold', async () => {
    const { showId, holds } = await lapsedHolds(3);
    const ids = await queueExpiries(showId, holds);
    const batcher = new ExpiryBatcher(testDb(), redis, 1, () => undefined);

    await batcher.expire(ids[0], { type: 'expire', show_id: showId, hold_request_id: holds[0] });
    expect(await statuses(holds)).to.deep.equal(['expired', 'held', 'held']);
  });
});
