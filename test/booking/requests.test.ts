import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { createShow, createUser } from '../support/fixtures';
import { heardOfChange, startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { activeSeats, ASYNC, AWAIT, book, cancel, jobIdOf, pollJob } from './booking-client';

describe('booking requests: validation, all or nothing, idempotency, cancel', function () {
  this.timeout(60_000);
  let t: TestGateway;
  let worker: WorkerProcess;
  before(async () => {
    [t, worker] = await Promise.all([startTestGateway(), spawnWorker({ DB_POOL_MAX: '3' })]);
  });
  after(() => Promise.all([worker.kill('SIGTERM'), stopTestGateway(t)]));

  /** Every job a show's queue holds, in any state. */
  const jobsOn = async (showId: number) => {
    const counts = await t.gw.deps.queues.queue(showId).getJobCounts('wait', 'prioritized', 'active', 'delayed', 'completed', 'failed');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };
  const outcomesOf = async (showId: number) => Number((await testDb()('requests').where('show_id', showId).count('* as n'))[0].n);
  const withKey = (key: string, extra: Record<string, string> = AWAIT) => ({ ...extra, 'Idempotency-Key': key });

  describe('validation before anything is enqueued', () => {
    it('when the show is unknown, then 404 NOT_FOUND', async () => {
      const u = await createUser();
      const res = await book(t.api, u.token, 987_654, { seat_number: 1 });
      expect(res.status, res.text).to.equal(404);
      expect(res.body.error.code).to.equal('NOT_FOUND');
    });

    it('when the show has started, then 409 SHOW_STARTED and no job', async () => {
      const [u, show] = await Promise.all([createUser(), createShow({ date_time: new Date(Date.now() - 60_000) })]);
      const res = await book(t.api, u.token, show.id, { seat_number: 1 });
      expect(res.status, res.text).to.equal(409);
      expect(res.body.error.code).to.equal('SHOW_STARTED');
      expect(await jobsOn(show.id)).to.equal(0);
    });

    it('when a seat is 0, above total_seats, repeated, or more than 10 are asked, then 400 and no job', async () => {
      const [u, show] = await Promise.all([createUser(), createShow({ total_seats: 30 })]);
      const bodies = [
        { seat_number: 0 }, { seat_number: 31 }, { seat_numbers: [5, 31] }, { seat_numbers: [4, 4] }, { seat_numbers: [] },
        { seat_numbers: Array.from({ length: 11 }, (_, i) => i + 1) }, { seat_number: 2, seat_numbers: [3] },
      ];
      for (const body of bodies) {
        const res = await book(t.api, u.token, show.id, body as never);
        expect(res.status, `${JSON.stringify(body)}: ${res.text}`).to.equal(400);
        expect(res.body.error.code).to.equal('VALIDATION_FAILED');
      }
      const above = await book(t.api, u.token, show.id, { seat_numbers: [5, 31] });
      expect(above.body.error.details.seats).to.deep.equal([31]);
      expect(await jobsOn(show.id)).to.equal(0);
      expect(await outcomesOf(show.id)).to.equal(0);
    });

    it('when the show is sold out, then 409 SOLD_OUT without a job being added', async () => {
      const [a, b, show] = await Promise.all([createUser(), createUser(), createShow({ total_seats: 1 })]);
      expect((await book(t.api, a.token, show.id, { seat_number: 1 })).status).to.equal(201);
      expect(await jobsOn(show.id)).to.equal(1);
      for (const body of [{ seat_number: 1 }, { quantity: 1 }]) {
        const res = await book(t.api, b.token, show.id, body);
        expect(res.status, res.text).to.equal(409);
        expect(res.body.error.code).to.equal('SOLD_OUT');
        expect(jobIdOf(res), 'no job named').to.equal(undefined);
      }
      expect(await jobsOn(show.id), 'still only the first job').to.equal(1);
      expect(await outcomesOf(show.id)).to.equal(1);
    });

    it('when a show is known to be sold out, then its refusals spend none of the caller\'s booking budget and do not ask the user directory', async () => {
      const [a, b, c, show, other] = await Promise.all([createUser(), createUser(), createUser(), createShow({ total_seats: 1 }), createShow({ total_seats: 5 })]);
      expect((await book(t.api, a.token, show.id, { seat_number: 1 })).status).to.equal(201);
      // More refusals than BOOK_RATE_LIMIT (30 per window): none of them is a 429.
      const refused = await Promise.all(Array.from({ length: 40 }, () => book(t.api, b.token, show.id, { quantity: 1 })));
      expect(refused.map((r) => r.status)).to.deep.equal(Array(40).fill(409));
      expect((await book(t.api, b.token, other.id, { seat_number: 1 })).status, 'the budget is untouched').to.equal(201);
      // The user directory is not asked: a deleted user's token is refused as sold out there, as unknown elsewhere.
      await testDb()('users').where('id', c.id).delete();
      await heardOfChange(t.gw, c.id);
      expect((await book(t.api, c.token, show.id, { quantity: 1 })).body.error.code).to.equal('SOLD_OUT');
      expect((await book(t.api, c.token, other.id, { quantity: 1 })).status).to.equal(401);
    });
  });

  it('when seats [1,2,3] are asked and 2 is taken, then 409 SEAT_TAKEN names [2] and seats 1 and 3 stay free', async () => {
    const [a, b, show] = await Promise.all([createUser(), createUser(), createShow({ total_seats: 20 })]);
    expect((await book(t.api, a.token, show.id, { seat_number: 2 })).status).to.equal(201);
    const res = await book(t.api, b.token, show.id, { seat_numbers: [1, 2, 3] });
    expect(res.status, res.text).to.equal(409);
    expect(res.body.error.code).to.equal('SEAT_TAKEN');
    expect(res.body.error.details.seats).to.deep.equal([2]);
    expect(await activeSeats(testDb(), show.id)).to.deep.equal([2]);
    const map = await t.api.get(`/shows/${show.id}/seats`);
    expect(map.body.free).to.include.members([1, 3]);
    expect(map.body.taken).to.deep.equal([2]);
    const free = await book(t.api, b.token, show.id, { seat_numbers: [1, 3] });
    expect(free.status, 'the free ones can still be booked together').to.equal(201);
    expect(free.body.result.bookings.map((x: any) => x.seat_number)).to.deep.equal([1, 3]);
  });

  describe('Idempotency-Key', () => {
    it('when the same key and body are sent twice, then both get the same job and outcome and one booking is made', async () => {
      const [u, show] = await Promise.all([createUser(), createShow()]);
      const key = randomUUID();
      const first = await book(t.api, u.token, show.id, { seat_number: 4 }, withKey(key));
      const again = await book(t.api, u.token, show.id, { seat_number: 4 }, withKey(key));
      expect(first.status, first.text).to.equal(201);
      expect(again.status, again.text).to.equal(201);
      expect(again.body.id).to.equal(first.body.id);
      expect(again.body.result).to.deep.equal(first.body.result);
      expect(await testDb()('bookings').where('request_id', first.body.id).count('* as n')).to.deep.equal([{ n: 1 }]);
    });

    it('when the same keyed request is sent 5 times at once, then all get the same job and outcome and one booking is made', async () => {
      const [u, show] = await Promise.all([createUser(), createShow()]);
      const key = randomUUID();
      const answers = await Promise.all(Array.from({ length: 5 }, () => book(t.api, u.token, show.id, { seat_numbers: [6, 7] }, withKey(key))));
      expect(answers.map((a) => a.status)).to.deep.equal([201, 201, 201, 201, 201]);
      expect(new Set(answers.map((a) => a.body.id)).size).to.equal(1);
      expect(new Set(answers.map((a) => JSON.stringify(a.body.result))).size).to.equal(1);
      expect(await activeSeats(testDb(), show.id)).to.deep.equal([6, 7]);
      expect(await outcomesOf(show.id)).to.equal(1);
    });

    it('when a key is reused with a different body, then 422 IDEMPOTENCY_KEY_REUSED and nothing more is booked', async () => {
      const [u, show, other] = await Promise.all([createUser(), createShow(), createShow()]);
      const key = randomUUID();
      expect((await book(t.api, u.token, show.id, { seat_number: 8 }, withKey(key))).status).to.equal(201);
      for (const [showId, body] of [[show.id, { seat_number: 9 }], [other.id, { seat_number: 8 }]] as const) {
        const res = await book(t.api, u.token, showId, body, withKey(key));
        expect(res.status, res.text).to.equal(422);
        expect(res.body.error.code).to.equal('IDEMPOTENCY_KEY_REUSED');
      }
      expect(await activeSeats(testDb(), show.id)).to.deep.equal([8]);
      expect(await activeSeats(testDb(), other.id)).to.deep.equal([]);
    });

    it('when another user sends the same key and body, then it is a different request with its own outcome', async () => {
      const [a, b, show] = await Promise.all([createUser(), createUser(), createShow()]);
      const key = randomUUID();
      const first = await book(t.api, a.token, show.id, { seat_number: 10 }, withKey(key));
      const second = await book(t.api, b.token, show.id, { seat_number: 10 }, withKey(key));
      expect(first.status).to.equal(201);
      expect(second.status, second.text).to.equal(409);
      expect(second.body.error.code).to.equal('SEAT_TAKEN');
      expect(jobIdOf(second)).to.be.a('string').and.not.equal(first.body.id);
    });

    it('when a keyed booking is replayed after it sold the show out, then the replay answers the original 201, not SOLD_OUT', async () => {
      const [u, show] = await Promise.all([createUser(), createShow({ total_seats: 1 })]);
      const key = randomUUID();
      const first = await book(t.api, u.token, show.id, { seat_number: 1 }, withKey(key));
      const again = await book(t.api, u.token, show.id, { seat_number: 1 }, withKey(key));
      expect(first.status).to.equal(201);
      expect(again.status, again.text).to.equal(201);
      expect(again.body.id).to.equal(first.body.id);
    });

    it('when a keyed request is replayed while still queued, then the replay names the same queued job and one job runs', async () => {
      const [u, show] = await Promise.all([createUser(), createShow()]);
      const queue = t.gw.deps.queues.queue(show.id);
      await queue.pause();
      const key = randomUUID();
      const first = await book(t.api, u.token, show.id, { seat_number: 11 }, withKey(key, ASYNC));
      const again = await book(t.api, u.token, show.id, { seat_number: 11 }, withKey(key, ASYNC));
      expect([first.status, again.status]).to.deep.equal([202, 202]);
      expect(again.body.id).to.equal(first.body.id);
      expect(await jobsOn(show.id)).to.equal(1);
      await queue.resume();
      expect((await pollJob(t.api, u.token, first.body.id)).status).to.equal('completed');
      const late = await book(t.api, u.token, show.id, { seat_number: 11 }, withKey(key));
      expect(late.status).to.equal(201);
      expect(late.body.id).to.equal(first.body.id);
    });
  });

  describe('cancel', () => {
    it('when a customer cancels, then 200 with the cancelled booking, and someone else can book the seat at once', async () => {
      const [a, b, show] = await Promise.all([createUser(), createUser(), createShow({ total_seats: 10 })]);
      const booked = await book(t.api, a.token, show.id, { seat_number: 7 });
      const bookingId = booked.body.result.bookings[0].id;
      const res = await cancel(t.api, a.token, bookingId);
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.include({ type: 'cancel', status: 'completed', show_id: show.id });
      expect(res.body.result.bookings).to.have.length(1);
      expect(res.body.result.bookings[0]).to.include({ id: bookingId, seat_number: 7, status: 'cancelled' });
      expect(res.body.result.bookings[0].cancelled_at).to.be.a('string');
      const rebook = await book(t.api, b.token, show.id, { seat_number: 7 });
      expect(rebook.status, rebook.text).to.equal(201);
      expect((await t.api.get(`/shows/${show.id}`)).body.available_seats).to.equal(9);
    });

    it('when a booking is cancelled again, is someone else\'s, or is unknown, then 409, 403 and 404', async () => {
      const [a, b, show] = await Promise.all([createUser(), createUser(), createShow()]);
      const booked = await book(t.api, a.token, show.id, { seat_numbers: [1, 2] });
      const [first, second] = booked.body.result.bookings.map((x: any) => x.id);
      expect((await cancel(t.api, a.token, first)).status).to.equal(200);
      const twice = await cancel(t.api, a.token, first);
      expect(twice.status, twice.text).to.equal(409);
      expect(twice.body.error.code).to.equal('ALREADY_CANCELLED');
      const foreign = await cancel(t.api, b.token, second);
      expect(foreign.status, foreign.text).to.equal(403);
      expect(foreign.body.error.code).to.equal('FORBIDDEN');
      const unknown = await cancel(t.api, a.token, 99_999_999);
      expect(unknown.status, unknown.text).to.equal(404);
      expect(await activeSeats(testDb(), show.id)).to.deep.equal([2]);
    });

    it('when a keyed cancel is replayed, then it answers the original 200, not ALREADY_CANCELLED', async () => {
      const [u, show] = await Promise.all([createUser(), createShow()]);
      const bookingId = (await book(t.api, u.token, show.id, { seat_number: 3 })).body.result.bookings[0].id;
      const key = randomUUID();
      const first = await cancel(t.api, u.token, bookingId, withKey(key));
      const again = await cancel(t.api, u.token, bookingId, withKey(key));
      expect(first.status, first.text).to.equal(200);
      expect(again.status, again.text).to.equal(200);
      expect(again.body.id).to.equal(first.body.id);
    });

    it('when a cancel prefers respond-async, then 202 with its Location, and polling reaches the cancelled booking', async () => {
      const [u, show] = await Promise.all([createUser(), createShow()]);
      const bookingId = (await book(t.api, u.token, show.id, { seat_number: 5 })).body.result.bookings[0].id;
      const queue = t.gw.deps.queues.queue(show.id);
      await queue.pause();
      const res = await cancel(t.api, u.token, bookingId, ASYNC);
      expect(res.status, res.text).to.equal(202);
      expect(res.headers.get('location')).to.equal(`/jobs/${res.body.id}`);
      expect(res.body).to.include({ type: 'cancel', status: 'queued', position: 0 });
      await queue.resume();
      const done = await pollJob(t.api, u.token, res.body.id);
      expect(done.result.bookings[0]).to.include({ id: bookingId, status: 'cancelled' });
    });
  });
});
