import { expect } from 'chai';
import { DEPTH_REFRESH_MS, UNKNOWN_RATE_RETRY_SECONDS } from '../../services/gateway/security/admission';
import { bullKey } from '../../shared/queue/names';
import { writeDrainStats } from '../../shared/queue/stats';
import { createShow, createUser, createUsers, TestUser } from '../support/fixtures';
import { stopTestGateway, TestGateway } from '../support/gateway';
import { HttpResult } from '../support/http';
import { expectCleanError, startSecurityGateway } from './security-helpers';

const MAX_DEPTH = 5;
const USER_LIMIT = 3;
const WINDOW = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A show whose waiting room is open: bookings are answered 202 and wait on the queue until sales open. */
const waitingRoomShow = () => createShow({ total_seats: 100, sales_open_at: new Date(Date.now() + 10 * 60_000) });

function expect429(res: HttpResult, code: string): number {
  expectCleanError(res, [429]);
  expect(res.body.error.code).to.equal(code);
  const after = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(after) && after >= 1, `Retry-After ${res.headers.get('retry-after')}`).to.equal(true);
  return after;
}

describe('admission control: queue depth per show and booking rate per user', function () {
  this.timeout(30_000);
  let t: TestGateway;
  let users: TestUser[];
  const book = (gw: TestGateway, user: TestUser, showId: number, seat: number) =>
    gw.api.post(`/shows/${showId}/book`, { token: user.token, body: { seat_number: seat } });

  before(async () => {
    [t, users] = await Promise.all([
      startSecurityGateway({ MAX_QUEUE_DEPTH: MAX_DEPTH, BOOK_RATE_LIMIT: USER_LIMIT, BOOK_RATE_WINDOW_SECONDS: WINDOW }), createUsers(12),
    ]);
  });
  after(() => stopTestGateway(t));

  it(`when a user sends more than ${USER_LIMIT} booking requests in ${WINDOW}s, then the rest answer 429 RATE_LIMITED with Retry-After, cancels included, and other users are not affected`, async () => {
    const show = await waitingRoomShow();
    const [me, other] = await Promise.all([createUser(), createUser()]);
    const answers = [];
    for (let seat = 1; seat <= USER_LIMIT + 2; seat++) answers.push(await book(t, me, show.id, seat));
    expect(answers.map((a) => a.status)).to.deep.equal([...Array(USER_LIMIT).fill(202), 429, 429]);
    for (const res of answers.slice(USER_LIMIT)) expect(expect429(res, 'RATE_LIMITED')).to.be.at.most(WINDOW);
    expect429(await t.api.post('/bookings/1/cancel', { token: me.token }), 'RATE_LIMITED');
    expect((await book(t, other, show.id, 50)).status, 'another user').to.equal(202);
  });

  it(`when a show's queue holds ${MAX_DEPTH} jobs, then the next booking answers 429 SHOW_QUEUE_FULL and adds nothing; other shows are not affected`, async () => {
    const [show, otherShow] = await Promise.all([waitingRoomShow(), waitingRoomShow()]);
    for (let i = 0; i < MAX_DEPTH; i++) expect((await book(t, users[i], show.id, i + 1)).status).to.equal(202);
    const refused = await book(t, users[MAX_DEPTH], show.id, 20);
    expect(expect429(refused, 'SHOW_QUEUE_FULL'), 'no drain rate measured yet').to.equal(UNKNOWN_RATE_RETRY_SECONDS);
    expect(refused.body.error.details).to.deep.include({ queue_depth: MAX_DEPTH, max_queue_depth: MAX_DEPTH });
    expect(await t.gw.deps.redis.zcard(bullKey(show.id, 'delayed')), 'jobs on the queue').to.equal(MAX_DEPTH);
    expect((await book(t, users[MAX_DEPTH], otherShow.id, 20)).status, 'another show').to.equal(202);
  });

  it('when the queue is full and workers drain it at a measured rate, then Retry-After is the time to drain the excess at that rate, on every gateway', async () => {
    const show = await waitingRoomShow();
    for (let i = 0; i < MAX_DEPTH; i++) expect((await book(t, users[i], show.id, i + 1)).status).to.equal(202);
    await writeDrainStats(t.gw.deps.redis, show.id, { rate: 0.25, seatsPerJob: 1 });
    await sleep(DEPTH_REFRESH_MS + 50);
    // One job over the limit at 0.25 jobs/s: 4 seconds until there is room.
    expect(expect429(await book(t, users[MAX_DEPTH], show.id, 30), 'SHOW_QUEUE_FULL')).to.equal(4);
    const second = await startSecurityGateway({ MAX_QUEUE_DEPTH: MAX_DEPTH });
    try {
      expect(expect429(await book(second, users[MAX_DEPTH + 1], show.id, 31), 'SHOW_QUEUE_FULL'), 'a gateway that added none of them').to.equal(4);
    } finally {
      await stopTestGateway(second);
    }
  });

  it('when 60 bookings for one show arrive at once, then the queue depth is read from Redis about once per refresh interval, not per request', async () => {
    const gw = await startSecurityGateway({ BOOK_RATE_LIMIT: 0 });
    try {
      const show = await waitingRoomShow();
      const delayedKey = bullKey(show.id, 'delayed');
      const redis = gw.gw.deps.redis;
      const zcard = redis.zcard.bind(redis);
      let reads = 0;
      (redis as any).zcard = (key: string, ...rest: unknown[]) => {
        if (key === delayedKey) reads += 1;
        return (zcard as any)(key, ...rest);
      };
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => book(gw, users[i % users.length], show.id, i + 1)));
      const elapsed = Date.now() - started;
      (redis as any).zcard = zcard;
      expect(answers.map((a) => a.status)).to.deep.equal(answers.map(() => 202));
      expect(reads, `${reads} depth reads in ${elapsed} ms`).to.be.at.most(Math.ceil(elapsed / DEPTH_REFRESH_MS) + 1);
      console.log(`      60 concurrent bookings: ${reads} queue-depth reads from Redis in ${elapsed} ms`);
    } finally {
      await stopTestGateway(gw);
    }
  });
});
