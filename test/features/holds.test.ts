import { expect } from 'chai';
import { checkInvariants } from '../support/invariants';
import { createShow, createUser, createUsers } from '../support/fixtures';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { ShowQueues } from '../../shared/queue/producer';
import { activeSeats, bookingStatuses, showQueue, sleep, stopWorkers, testRedis, waitFor } from './feature-helpers';

const HOLD_SECONDS = 2;

/** Polls Postgres until no seat of the hold is held; answers how long after `expiresAt` that was seen (ms). */
async function expiryLatency(requestId: string, expiresAt: string): Promise<number> {
  await waitFor('the hold to be released', async () => (await bookingStatuses(requestId)).every((s) => s !== 'held'), 20_000, 10);
  return Date.now() - new Date(expiresAt).getTime();
}

const hold = (t: TestGateway, token: string, showId: number, body: object) =>
  t.api.post(`/shows/${showId}/book`, { token, body: { ...body, hold: true } });

describe(`holds with expiry (worker process with HOLD_SECONDS=${HOLD_SECONDS})`, () => {
  let t: TestGateway;
  let worker: WorkerProcess;
  before(async () => {
    [t, worker] = await Promise.all([startTestGateway(), spawnWorker({ HOLD_SECONDS: String(HOLD_SECONDS) })]);
  });
  after(() => Promise.all([stopWorkers([worker]), stopTestGateway(t)]));

  it('when a customer holds seats, then the answer is 201 with status held and result.expires_at HOLD_SECONDS ahead', async () => {
    const show = await createShow();
    const user = await createUser();
    const res = await hold(t, user.token, show.id, { quantity: 2 });
    expect(res.status, res.text).to.equal(201);
    const { bookings, expires_at } = res.body.result;
    expect(bookings.map((b: any) => b.status)).to.deep.equal(['held', 'held']);
    expect(bookings.every((b: any) => b.hold_expires_at === expires_at)).to.equal(true);
    const ahead = new Date(expires_at).getTime() - new Date(res.body.finished_at).getTime();
    expect(ahead).to.be.within(HOLD_SECONDS * 1000 - 50, HOLD_SECONDS * 1000 + 50);
    const job = await t.api.get(`/jobs/${res.body.id}`, { token: user.token });
    expect(job.body.result.expires_at).to.equal(expires_at);
  });

  it('when the holder confirms in time, then the whole hold turns into bookings (200) and stays booked after expires_at', async () => {
    const show = await createShow();
    const user = await createUser();
    const held = await hold(t, user.token, show.id, { seat_numbers: [1, 2, 3] });
    expect(held.status, held.text).to.equal(201);
    const confirm = await t.api.post(`/bookings/${held.body.result.bookings[1].id}/confirm`, { token: user.token });
    expect(confirm.status, confirm.text).to.equal(200);
    expect(confirm.body.type).to.equal('confirm');
    expect(confirm.body.result.bookings.map((b: any) => [b.seat_number, b.status])).to.deep.equal([[1, 'booked'], [2, 'booked'], [3, 'booked']]);
    await waitFor('the expiry job to run', async () => worker.logs.some((l) => l.msg === 'hold expired' && l.job_id === `expire-${held.body.id}`), 10_000);
    expect(await bookingStatuses(held.body.id)).to.deep.equal(['booked', 'booked', 'booked']);
    const again = await t.api.post(`/bookings/${held.body.result.bookings[0].id}/confirm`, { token: user.token });
    expect(again.status, again.text).to.equal(409);
    expect(again.body.error.code).to.equal('NOT_HELD');
  });

  it('when the holder cancels a held seat, then that seat is free at once and the rest of the hold stays held', async () => {
    const show = await createShow();
    const [user, other] = await createUsers(2);
    const held = await hold(t, user.token, show.id, { seat_numbers: [4, 5] });
    expect(held.status, held.text).to.equal(201);
    const cancel = await t.api.post(`/bookings/${held.body.result.bookings[0].id}/cancel`, { token: user.token });
    expect(cancel.status, cancel.text).to.equal(200);
    expect(cancel.body.result.bookings[0]).to.include({ seat_number: 4, status: 'cancelled' });
    const map = await t.api.get(`/shows/${show.id}/seats`);
    const status = Object.fromEntries(map.body.rows.flatMap((r: any) => r.seats.map((s: any) => [s.number, s.status])));
    expect([status[4], status[5]]).to.deep.equal(['free', 'held']);
    const taken = await t.api.post(`/shows/${show.id}/book`, { token: other.token, body: { seat_number: 4 } });
    expect(taken.status, taken.text).to.equal(201);
  });

  it('when an expiry job fires a few milliseconds before its hold is due, then that job waits and releases the hold itself', async () => {
    const show = await createShow();
    const user = await createUser();
    const held = await hold(t, user.token, show.id, { seat_numbers: [7, 8] });
    expect(held.status, held.text).to.equal(201);
    const due = new Date(held.body.result.expires_at).getTime();
    const early = `expire-${held.body.id}-early`;
    const queues = new ShowQueues(testRedis());
    try {
      await queues.add(show.id, { type: 'expire', show_id: show.id, hold_request_id: held.body.id }, { jobId: early, priority: 1, delay: Math.max(0, due - 40 - Date.now()) });
      const line = await waitFor('the early expiry job', async () => worker.logs.find((l) => l.msg === 'hold expired' && l.job_id === early), 10_000);
      expect(line.released, 'released by the early job, not by a second trip through the queue').to.deep.equal([7, 8]);
      expect(await bookingStatuses(held.body.id)).to.deep.equal(['expired', 'expired']);
    } finally {
      await queues.close();
    }
  });

  it('when nobody confirms, then the seats are free within a second of expires_at and a late confirm is 409 HOLD_EXPIRED', async () => {
    const shows = await Promise.all([createShow(), createShow(), createShow()]);
    const users = await createUsers(3);
    const holds = await Promise.all(shows.map((s, i) => hold(t, users[i].token, s.id, { quantity: 3 })));
    holds.forEach((h) => expect(h.status, h.text).to.equal(201));
    const latencies = await Promise.all(holds.map((h) => expiryLatency(h.body.id, h.body.result.expires_at)));
    console.log(`      hold expiry: seats seen free ${latencies.join(', ')} ms after expires_at`);
    for (const ms of latencies) expect(ms).to.be.within(0, 1000);
    for (const [i, h] of holds.entries()) {
      expect(await bookingStatuses(h.body.id)).to.deep.equal(['expired', 'expired', 'expired']);
      const map = await t.api.get(`/shows/${shows[i].id}/seats`);
      expect(map.body.available_seats).to.equal(shows[i].total_seats);
      const late = await t.api.post(`/bookings/${h.body.result.bookings[0].id}/confirm`, { token: users[i].token });
      expect(late.status, late.text).to.equal(409);
      expect(late.body.error.code).to.equal('HOLD_EXPIRED');
    }
  });

  it('when a confirm races the expiry, then exactly one of them wins and the database agrees', async () => {
    const show = await createShow();
    const users = await createUsers(8);
    const offsets = [-300, -150, -60, -30, -10, 0, 10, 40];
    const holds = await Promise.all(users.map((u) => hold(t, u.token, show.id, { quantity: 2 })));
    holds.forEach((h) => expect(h.status, h.text).to.equal(201));
    const confirms = await Promise.all(holds.map(async (h, i) => {
      await sleep(new Date(h.body.result.expires_at).getTime() + offsets[i] - Date.now());
      return t.api.post(`/bookings/${h.body.result.bookings[0].id}/confirm`, { token: users[i].token });
    }));
    await sleep(300);
    const won = { confirmed: 0, expired: 0 };
    for (const [i, c] of confirms.entries()) {
      const statuses = await bookingStatuses(holds[i].body.id);
      if (c.status === 200) {
        won.confirmed++;
        expect(statuses).to.deep.equal(['booked', 'booked']);
      } else {
        expect(c.status, c.text).to.equal(409);
        expect(c.body.error.code).to.equal('HOLD_EXPIRED');
        won.expired++;
        expect(statuses).to.deep.equal(['expired', 'expired']);
      }
    }
    console.log(`      confirm at expires_at ${offsets.join('/')} ms: ${won.confirmed} confirmed, ${won.expired} expired`);
    const confirmIds = confirms.map((c) => c.body.id ?? c.body.error.details?.job_id).filter(Boolean);
    const outcomes = await testDb()('requests').whereIn('id', confirmIds).select('id', 'status');
    expect(outcomes).to.have.length(confirmIds.length);
    const report = await checkInvariants(testDb(), show.id, holds.map((h) => h.body.id));
    expect(report).to.include({ duplicates: 0, counter: 2 * won.confirmed, activeSeats: 2 * won.confirmed });
    expect(report.mismatched).to.deep.equal([]);
  });
});

describe('holds across a worker restart', () => {
  const HOLD = 8;
  let t: TestGateway;
  const workers: WorkerProcess[] = [];
  before(async () => {
    const [gateway, first] = await Promise.all([startTestGateway(), spawnWorker({ HOLD_SECONDS: String(HOLD) })]);
    t = gateway;
    workers.push(first);
  });
  after(() => Promise.all([stopWorkers(workers), stopTestGateway(t)]));

  it('when the worker is killed while holds are pending, then a new worker takes the confirm sent meanwhile and releases the other hold on time', async () => {
    const show = await createShow();
    const [keeper, leaver] = await createUsers(2);
    const kept = await hold(t, keeper.token, show.id, { seat_numbers: [1, 2] });
    const left = await hold(t, leaver.token, show.id, { seat_numbers: [3, 4] });
    expect([kept.status, left.status], left.text).to.deep.equal([201, 201]);
    // The kill lands while the holds wait for their expiry, not inside a job: a 201 is sent once the
    // outcome is stored, a moment before BullMQ marks the job completed, and a job the worker dies in
    // blocks its show until the lock expires and the stall is noticed (the faults suites cover that).
    const queue = showQueue(show.id);
    await waitFor('BullMQ to finish both hold jobs', async () =>
      (await Promise.all([kept.body.id, left.body.id].map((id) => queue.getJobState(id)))).every((s) => s === 'completed'), 5000);
    expect(await workers[0].kill('SIGKILL')).to.equal('SIGKILL');
    const confirm = await t.api.post(`/bookings/${kept.body.result.bookings[0].id}/confirm`, { token: keeper.token, headers: { Prefer: 'respond-async' } });
    expect(confirm.status, confirm.text).to.equal(202);
    const restarted = await spawnWorker({ HOLD_SECONDS: String(HOLD) });
    workers.push(restarted);
    const readyAt = Date.now();

    const latency = await expiryLatency(left.body.id, left.body.result.expires_at);
    const late = readyAt - new Date(left.body.result.expires_at).getTime();
    console.log(`      hold expiry after a worker restart: seats seen free ${latency} ms after expires_at (new worker ready ${-late} ms before it)`);
    // On time, or at once if the new worker took longer to start than the hold had left.
    expect(latency).to.be.within(0, Math.max(0, late) + 1000);
    await waitFor('the new worker to log the expiry', async () => restarted.logs.some((l) => l.msg === 'hold expired' && l.job_id === `expire-${left.body.id}`), 5000);

    // The queued confirm wins if the new worker ran it before the hold was due, and is HOLD_EXPIRED otherwise.
    const done = await waitFor('the confirm outcome', async () => testDb()('requests').where('id', confirm.body.id).first());
    const inTime = new Date(done.finished_at).getTime() < new Date(kept.body.result.expires_at).getTime();
    expect(done.status).to.equal(inTime ? 'completed' : 'failed');
    if (!inTime) expect(done.error.code).to.equal('HOLD_EXPIRED');
    console.log(`      the confirm queued while no worker ran finished ${inTime ? 'in time: confirmed' : 'after expires_at: HOLD_EXPIRED'}`);
    expect(await bookingStatuses(kept.body.id)).to.deep.equal(inTime ? ['booked', 'booked'] : ['expired', 'expired']);
    expect(await bookingStatuses(left.body.id)).to.deep.equal(['expired', 'expired']);
    expect([...(await activeSeats(show.id)).keys()].sort()).to.deep.equal(inTime ? [1, 2] : []);
  });
});
