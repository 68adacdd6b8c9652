import type { IncomingMessage, ServerResponse } from 'node:http';
import { expect } from 'chai';
import { Movie } from '../../shared/db/models';
import { bullKey } from '../../shared/queue/names';
import { createShow, createUser, createUsers } from '../support/fixtures';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { viewOfQueuedJob } from '../../services/gateway/jobs/job-view';
import { activeSeats, ASYNC, book, eventually, pollJob } from './booking-client';

describe('booking pipeline: await or poll, jobs, reads', function () {
  this.timeout(60_000);
  let t: TestGateway;
  let worker: WorkerProcess;
  before(async () => {
    [t, worker] = await Promise.all([startTestGateway(), spawnWorker({ DB_POOL_MAX: '3' })]);
  });
  after(() => Promise.all([worker.kill('SIGTERM'), stopTestGateway(t)]));

  /** A fresh show whose queue takes jobs but runs none until `resume()` (as if no worker were up). */
  async function pausedShow(opts: Parameters<typeof createShow>[0] = {}) {
    const show = await createShow(opts);
    const queue = t.gw.deps.queues.queue(show.id);
    await queue.pause();
    return { show, resume: () => queue.resume() };
  }

  describe('await or poll', () => {
    it('when a booking call sends no Prefer, then it waits and answers 201 with the completed job and its bookings', async () => {
      const [u, show] = await Promise.all([createUser(), createShow()]);
      const res = await book(t.api, u.token, show.id, { seat_number: 5 }, {});
      expect(res.status, res.text).to.equal(201);
      expect(res.body).to.include({ type: 'book', show_id: show.id, status: 'completed', position: null, error: null });
      expect(res.body.id).to.match(new RegExp(`^${show.id}-`));
      expect(res.body.finished_at).to.be.a('string');
      expect(res.body.result.bookings).to.have.length(1);
      expect(res.body.result.bookings[0]).to.include({ seat_number: 5, seat_label: 'A5', status: 'booked', show_id: show.id });
    });

    it('when a call prefers respond-async or wait=0, then 202 with Location and the queued job with its position; polling reaches completed', async () => {
      const [u, { show, resume }] = await Promise.all([createUser(), pausedShow()]);
      const first = await book(t.api, u.token, show.id, { seat_number: 1 }, ASYNC);
      const second = await book(t.api, u.token, show.id, { seat_number: 2 }, { Prefer: 'wait=0' });
      for (const [res, position] of [[first, 0], [second, 1]] as const) {
        expect(res.status, res.text).to.equal(202);
        expect(res.headers.get('location')).to.equal(`/jobs/${res.body.id}`);
        expect(res.body).to.include({ type: 'book', show_id: show.id, status: 'queued', position, result: null, error: null, finished_at: null });
      }
      const polled = await t.api.get(second.headers.get('location')!, { token: u.token });
      expect(polled.status).to.equal(200);
      expect(polled.body).to.include({ id: second.body.id, status: 'queued', position: 1 });
      await resume();
      const done = await pollJob(t.api, u.token, second.body.id);
      expect(done).to.include({ status: 'completed', position: null });
      expect(done.result.bookings[0]).to.include({ seat_number: 2, status: 'booked' });
    });

    it('when the job is not done within Prefer: wait=1, then the call answers 202 after about a second and the job completes later', async () => {
      const [u, { show, resume }] = await Promise.all([createUser(), pausedShow()]);
      const started = Date.now();
      const res = await book(t.api, u.token, show.id, { seat_number: 3 }, { Prefer: 'wait=1' });
      const waited = Date.now() - started;
      expect(res.status, res.text).to.equal(202);
      expect(waited).to.be.within(900, 5000);
      expect(res.headers.get('location')).to.equal(`/jobs/${res.body.id}`);
      expect(res.body.status).to.equal('queued');
      await resume();
      expect((await pollJob(t.api, u.token, res.body.id)).status).to.equal('completed');
    });

    it("when a caller is awaiting, then Koa's on-finished watch on its response has ended, and the later answer still carries the request id and the security headers", async () => {
      const [u, { show, resume }] = await Promise.all([createUser(), pausedShow()]);
      const responses: ServerResponse[] = [];
      const capture = (req: IncomingMessage, res: ServerResponse) => {
        if (req.url === `/shows/${show.id}/book`) responses.push(res);
      };
      t.gw.server.prependListener('request', capture);
      try {
        const waitsBefore = t.gw.deps.waiter.pending;
        const call = book(t.api, u.token, show.id, { seat_number: 4 }, { Prefer: 'wait=30', 'X-Request-Id': 'awaiting-watch-1' });
        await eventually(async () => t.gw.deps.waiter.pending === waitsBefore + 1, 10_000, 'the caller waiting');
        expect(responses).to.have.length(1);
        const res = responses[0] as ServerResponse & { __onFinished?: unknown };
        // on-finished marks a watched response with __onFinished and clears it when the watch ends.
        expect(res).to.have.property('__onFinished', null);
        expect(res.listenerCount('end')).to.equal(0);
        expect(res.headersSent).to.equal(false);
        await resume();
        const answer = await call;
        expect(answer.status, answer.text).to.equal(201);
        expect(answer.headers.get('x-request-id')).to.equal('awaiting-watch-1');
        expect(answer.headers.get('content-security-policy')).to.equal("default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'");
        expect(answer.headers.get('cache-control')).to.equal('no-store');
        expect(answer.body).to.include({ status: 'completed', show_id: show.id });
      } finally {
        t.gw.server.off('request', capture);
      }
    });

    it('when awaiting callers hang up, then their waits end at once and their jobs still run to a stored outcome', async () => {
      const [users, { show, resume }] = await Promise.all([createUsers(3), pausedShow()]);
      const waitsBefore = t.gw.deps.waiter.pending;
      const hangUps = users.map(() => new AbortController());
      const calls = users.map((u, i) => fetch(`${t.url}/shows/${show.id}/book`, {
        method: 'POST', signal: hangUps[i].signal,
        headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json', prefer: 'wait=60' },
        body: JSON.stringify({ seat_number: i + 1 }),
      }).catch((err: Error) => err.name));
      await eventually(async () => t.gw.deps.waiter.pending === waitsBefore + 3, 10_000, 'three callers waiting');
      hangUps.forEach((h) => h.abort());
      expect(await Promise.all(calls)).to.deep.equal(['AbortError', 'AbortError', 'AbortError']);
      await eventually(async () => t.gw.deps.waiter.pending === waitsBefore, 5_000, 'the waits to end');
      await resume();
      await eventually(async () => (await activeSeats(testDb(), show.id)).length === 3, 15_000, 'the three bookings');
      const outcomes = await testDb()('requests').where('show_id', show.id).select('status');
      expect(outcomes.map((o) => o.status)).to.deep.equal(['completed', 'completed', 'completed']);
    });
  });

  it('when another user asks for a job, queued or finished, then 404 with no job data; the owner gets the job', async () => {
    const [owner, other, { show, resume }] = await Promise.all([createUser(), createUser(), pausedShow()]);
    const id = (await book(t.api, owner.token, show.id, { seat_number: 4 }, ASYNC)).body.id;
    const check = async (status: string) => {
      const foreign = await t.api.get(`/jobs/${id}`, { token: other.token });
      expect(foreign.status).to.equal(404);
      expect(Object.keys(foreign.body)).to.deep.equal(['error']);
      expect(foreign.body.error.code).to.equal('NOT_FOUND');
      expect(foreign.text).not.to.contain(id);
      const own = await t.api.get(`/jobs/${id}`, { token: owner.token });
      expect(own.status).to.equal(200);
      expect(own.body).to.include({ id, status });
    };
    await check('queued');
    await resume();
    await pollJob(t.api, owner.token, id);
    await check('completed');
  });

  it('when a show is created while the workers run, then its first booking is served within seconds', async () => {
    const u = await createUser();
    const show = await createShow();
    const started = Date.now();
    const res = await book(t.api, u.token, show.id, { seat_number: 1 }, {});
    const servedMs = Date.now() - started;
    expect(res.status, res.text).to.equal(201);
    expect(servedMs).to.be.below(10_000);
    console.log(`      a show created after the worker started was served in ${servedMs} ms`);
  });

  it('when a job has just finished on its queue, then its queue view is the stored outcome, not a failure', async () => {
    const [u, show] = await Promise.all([createUser(), createShow()]);
    const done = await book(t.api, u.token, show.id, { seat_number: 7 });
    // The outcome is published as soon as it is stored; BullMQ marks the job finished just after.
    await eventually(async () => typeof (await t.gw.deps.redis.hget(bullKey(show.id, done.body.id), 'finishedOn')) === 'string', 10_000, 'BullMQ to mark the job finished');
    // What a poll sees when the job finishes between its Postgres read and its Redis read.
    const view = await viewOfQueuedJob(t.gw.deps, show.id, done.body.id);
    expect(view).to.deep.include({ status: 'completed', result: done.body.result, error: null });
  });

  it('when a worker has detached from an idle show, then a new booking on it is still served', async () => {
    const [u, show] = await Promise.all([createUser(), createShow()]);
    expect((await book(t.api, u.token, show.id, { seat_number: 1 })).status).to.equal(201);
    const logged = (msg: string) => worker.logs.filter((l) => l.msg === msg && l.show_id === show.id).length;
    // WORKER_IDLE_SECONDS is 10; a loaded machine may take a little longer.
    await eventually(async () => logged('detached from idle show') === 1, 30_000, 'the worker to detach');
    const again = await book(t.api, u.token, show.id, { seat_number: 2 });
    expect(again.status, again.text).to.equal(201);
    // Worker logs arrive through a pipe that this process reads as it can: the line may trail the answer.
    await eventually(async () => logged('attached to show') === 2, 5_000, 'the worker to log that it attached again');
  });

  it('when the job is gone from Redis, then GET /jobs/:id still answers its outcome from Postgres', async () => {
    const [a, b, show] = await Promise.all([createUser(), createUser(), createShow()]);
    const won = await book(t.api, a.token, show.id, { seat_number: 6 });
    const lost = await book(t.api, b.token, show.id, { seat_number: 6 });
    expect([won.status, lost.status]).to.deep.equal([201, 409]);
    const lostId = lost.body.error.details.job_id;
    await t.gw.deps.queues.queue(show.id).obliterate({ force: true });
    expect(await t.gw.deps.redis.exists(bullKey(show.id, won.body.id), bullKey(show.id, lostId))).to.equal(0);
    const first = await t.api.get(`/jobs/${won.body.id}`, { token: a.token });
    expect(first.status).to.equal(200);
    expect(first.body).to.deep.equal(won.body);
    const second = await t.api.get(`/jobs/${lostId}`, { token: b.token });
    expect(second.body).to.include({ status: 'failed', result: null });
    expect(second.body.error).to.deep.include({ code: 'SEAT_TAKEN', details: { seats: [6] } });
  });

  describe('reads', () => {
    it('when a customer has several bookings, then my-bookings lists them newest first with show and movie fields, page by page', async () => {
      const [u, show] = await Promise.all([createUser(), createShow()]);
      for (const body of [{ seat_number: 1 }, { seat_number: 2 }, { seat_numbers: [3, 4] }]) {
        expect((await book(t.api, u.token, show.id, body)).status).to.equal(201);
      }
      const movie = await Movie.query().findById(show.movie_id);
      const page1 = await t.api.get('/my-bookings?limit=3&offset=0', { token: u.token });
      const page2 = await t.api.get('/my-bookings?limit=3&offset=3', { token: u.token });
      expect(page1.status).to.equal(200);
      expect(page1.body).to.include({ total: 4, limit: 3, offset: 0 });
      expect(page2.body).to.include({ total: 4, limit: 3, offset: 3 });
      expect(page1.body.items.map((b: any) => b.seat_number)).to.deep.equal([4, 3, 2]);
      expect(page2.body.items.map((b: any) => b.seat_number)).to.deep.equal([1]);
      expect(page1.body.items[0]).to.include({
        show_id: show.id, seat_label: 'A4', status: 'booked', screen_name: show.screen_name,
        show_date_time: show.date_time.toISOString(), movie_id: show.movie_id, movie_title: movie!.title,
      });
      const stranger = await createUser();
      expect((await t.api.get('/my-bookings', { token: stranger.token })).body).to.include({ total: 0 });
    });

    it('when a burst of bookings has run, then the seat map and available_seats match the bookings exactly', async () => {
      const [users, show] = await Promise.all([createUsers(5), createShow({ total_seats: 40 })]);
      const seats = Array.from({ length: 40 }, () => 1 + Math.floor(Math.random() * 40));
      const answers = await Promise.all(seats.map((seat, i) => book(t.api, users[i % 5].token, show.id, { seat_number: seat })));
      const booked = await activeSeats(testDb(), show.id);
      expect(booked.length).to.equal(answers.filter((a) => a.status === 201).length);
      const map = await t.api.get(`/shows/${show.id}/seats`);
      expect(map.body.taken).to.deep.equal(booked);
      expect(map.body.free).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1).filter((s) => !booked.includes(s)));
      expect(map.body.available_seats).to.equal(40 - booked.length);
      expect((await t.api.get(`/shows/${show.id}`)).body.available_seats).to.equal(40 - booked.length);
    });
  });
});
