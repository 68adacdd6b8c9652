import { expect } from 'chai';
import { checkInvariants } from '../support/invariants';
import { createShow, createUsers, TestUser } from '../support/fixtures';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorkers, WorkerProcess } from '../support/workers';
import { activeSeats, book, eventually, jobIdOf } from './booking-client';

const WORKERS = 3;
const WORKER_ENV = { DB_POOL_MAX: '3' };

/** How many jobs of a show each worker process finished, from its logs. */
const jobsDoneBy = (workers: WorkerProcess[], showId: number) =>
  workers.map((w) => w.logs.filter((l) => l.msg === 'job done' && l.show_id === showId).length);

const attachedTo = (workers: WorkerProcess[], showId: number) =>
  workers.filter((w) => w.logs.some((l) => l.msg === 'attached to show' && l.show_id === showId)).length;

describe(`booking races over ${WORKERS} worker processes`, function () {
  this.timeout(120_000);
  let t: TestGateway;
  let workers: WorkerProcess[];
  let users: TestUser[];

  before(async () => {
    [t, workers, users] = await Promise.all([startTestGateway(), spawnWorkers(WORKERS, WORKER_ENV), createUsers(100)]);
  });
  after(async () => {
    await Promise.all([...workers.map((w) => w.kill('SIGTERM')), stopTestGateway(t)]);
  });

  it('when 300 requests race for the same seat, then exactly one gets 201 and every other one 409 SEAT_TAKEN naming it', async () => {
    const show = await createShow({ total_seats: 50 });
    const seat = 17;
    const requesters = Array.from({ length: 300 }, (_, i) => users[i % 30]);
    const answers = await Promise.all(requesters.map((u) => book(t.api, u.token, show.id, { seat_number: seat })));

    const won = answers.filter((a) => a.status === 201);
    const lost = answers.filter((a) => a.status === 409);
    expect(won, 'one winner').to.have.length(1);
    expect(lost, 'all others refused').to.have.length(299);
    expect(won[0].body.result.bookings.map((b: any) => b.seat_number)).to.deep.equal([seat]);
    for (const a of lost) {
      expect(a.body.error.code).to.equal('SEAT_TAKEN');
      expect(a.body.error.details.seats).to.deep.equal([seat]);
    }
    const ids = answers.map(jobIdOf);
    expect(new Set(ids).size, 'one distinct request id per request').to.equal(300);
    expect(await activeSeats(testDb(), show.id)).to.deep.equal([seat]);
    const report = await checkInvariants(testDb(), show.id, ids as string[]);
    expect(report).to.deep.include({ duplicates: 0, lost: [], outcomes: 300, mismatched: [], activeSeats: 1, counter: 1 });
    // Worker logs arrive through a pipe that this process reads as it can: the line may trail the answers.
    await eventually(async () => attachedTo(workers, show.id) >= 1, 5_000, 'a worker process (the show\'s owner) to log that it attached to the show');
    console.log(`      300 same-seat requests, jobs finished per worker process: ${jobsDoneBy(workers, show.id).join(' / ')}`);
  });

  it('when 1,000 single-seat requests hit random seats of a 200-seat show, then no seat is booked twice and bookings equal the 201 answers', async () => {
    const show = await createShow({ total_seats: 200 });
    // 100 users x 10 requests: nobody can pass the 10-seat limit, so every refusal is a taken seat.
    const requests = Array.from({ length: 1000 }, (_, i) => ({ user: users[i % 100], seat: 1 + Math.floor(Math.random() * 200) }));
    const started = Date.now();
    let lastAnswer = started;
    const answers = await Promise.all(requests.map(async (r) => {
      const res = await book(t.api, r.user.token, show.id, { seat_number: r.seat });
      lastAnswer = Math.max(lastAnswer, Date.now());
      return res;
    }));
    const drainMs = lastAnswer - started;

    const statuses = answers.reduce<Record<number, number>>((acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }), {});
    expect(Object.keys(statuses).map(Number).sort(), JSON.stringify(statuses)).to.satisfy((s: number[]) => s.every((x) => x === 201 || x === 409));
    const codes = new Set(answers.filter((a) => a.status === 409).map((a) => a.body.error.code));
    expect([...codes].every((c) => c === 'SEAT_TAKEN' || c === 'SOLD_OUT'), [...codes].join()).to.equal(true);
    const created = answers.filter((a) => a.status === 201);
    const booked = await activeSeats(testDb(), show.id);
    expect(booked.length, 'seats booked = 201 answers').to.equal(created.length);
    expect(new Set(booked).size, 'no seat twice').to.equal(booked.length);
    expect(created.map((a) => a.body.result.bookings[0].seat_number).sort((x, y) => x - y)).to.deep.equal(booked);
    expect(booked).to.deep.equal([...new Set(requests.map((r) => r.seat))].sort((x, y) => x - y));

    // Refusals at the gateway (sold out) never reached a queue; everything else has exactly one stored outcome.
    const ids = answers.map(jobIdOf).filter((id): id is string => id !== undefined);
    const report = await checkInvariants(testDb(), show.id, ids);
    expect(report).to.deep.include({ duplicates: 0, lost: [], mismatched: [], activeSeats: booked.length, counter: booked.length });
    expect(report.outcomes).to.equal(ids.length);
    const [{ n }] = await testDb()('requests').where('show_id', show.id).count('* as n');
    expect(Number(n), 'no outcome without an answer').to.equal(ids.length);

    const shown = await t.api.get(`/shows/${show.id}`);
    expect(shown.body.available_seats).to.equal(200 - booked.length);
    const map = await t.api.get(`/shows/${show.id}/seats`);
    expect(map.body.taken).to.deep.equal(booked);
    expect(map.body.free).to.have.length(200 - booked.length);

    console.log(`      1,000 requests over ${WORKERS} workers: ${created.length} booked, ${answers.length - created.length} refused; `
      + `drained in ${drainMs} ms (${Math.round(1000 / (drainMs / 1000))} requests/s); jobs per worker ${jobsDoneBy(workers, show.id).join(' / ')}`);
  });
});
