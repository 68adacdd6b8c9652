import { expect } from 'chai';
import { queuePrefix } from '../../shared/queue/names';
import { createShow, createUsers, TestUser } from '../support/fixtures';
import { testDb } from '../support/gateway';
import type { HttpResult } from '../support/http';
import { checkInvariants, waitForOutcomes } from '../support/invariants';
import type { WorkerProcess } from '../support/workers';
import { ClusterStack, startClusterStack } from './cluster-stack';
import { connectionNames } from './process-sockets';

const WAIT = { prefer: 'wait=30' };

/** The request id a booking answer names (201/202 body id, or the failure's details.job_id). */
const jobIdOf = (res: HttpResult) => (res.body?.id ?? res.body?.error?.details?.job_id) as string | undefined;

const countBy = <T>(items: T[], key: (t: T) => string) =>
  items.reduce<Record<string, number>>((acc, t) => ({ ...acc, [key(t)]: (acc[key(t)] ?? 0) + 1 }), {});

/** Shows a worker process is attached to now, from its log. */
function attachedNow(w: WorkerProcess): Set<number> {
  const live = new Set<number>();
  for (const l of w.logs) {
    if (l.msg === 'attached to show') live.add(l.show_id);
    if (l.msg === 'detached from idle show') live.delete(l.show_id);
  }
  return live;
}

/** BullMQ names a worker's blocking connection after the queue: one per attached show. */
const perShowConnections = (w: WorkerProcess) => connectionNames(w.proc.pid!, stack.cluster.ports).filter((n) => n.startsWith(`${queuePrefix()}:`)).length;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let stack: ClusterStack;

describe('booking races on a 3-master Redis Cluster (gateway and 3 worker processes)', function () {
  this.timeout(120_000);
  let users: TestUser[];

  before(async function () {
    this.timeout(60_000);
    [stack, users] = await Promise.all([startClusterStack(3, { WORKER_IDLE_SECONDS: '2' }), createUsers(300)]);
  });

  after(async () => {
    await stack?.stop();
  });

  it('when 300 customers ask for the same seat at once, then exactly one gets 201 and the others 409 SEAT_TAKEN', async () => {
    const show = await createShow({ total_seats: 100 });
    const answers = await Promise.all(users.map((u) =>
      stack.gateway.api.post(`/shows/${show.id}/book`, { token: u.token, body: { seat_number: 7 }, headers: WAIT })));
    const statuses = countBy(answers, (r) => `${r.status} ${r.body?.error?.code ?? ''}`.trim());
    expect(statuses).to.deep.equal({ 201: 1, '409 SEAT_TAKEN': 299 });
    const report = await checkInvariants(testDb(), show.id, answers.map(jobIdOf).filter((id): id is string => !!id));
    expect(report).to.include({ duplicates: 0, outcomes: 300, activeSeats: 1, counter: 1 });
    expect(report.lost).to.deep.equal([]);
    expect(report.mismatched).to.deep.equal([]);
  });

  it('when 500 random-seat requests hit 6 shows at once, then no seat is sold twice, every answer has its outcome and per-user limits hold', async () => {
    const shows = await Promise.all(Array.from({ length: 6 }, () => createShow({ total_seats: 60, max_seats_per_user: 3 })));
    const crowd = users.slice(0, 100);
    const asks = Array.from({ length: 500 }, (_, i) => {
      const seats = i % 4 === 0 ? [1 + ((i * 7) % 59), 2 + ((i * 7) % 59)] : [1 + Math.floor(Math.random() * 60)];
      return { show: shows[i % shows.length], user: crowd[Math.floor(Math.random() * crowd.length)], seats };
    });
    const answers = await Promise.all(asks.map((a) =>
      stack.gateway.api.post(`/shows/${a.show.id}/book`, { token: a.user.token, body: { seat_numbers: a.seats }, headers: WAIT })));
    const statuses = countBy(answers, (r) => String(r.status));
    expect(Object.keys(statuses).sort(), JSON.stringify(statuses)).to.satisfy((s: string[]) => s.every((x) => x === '201' || x === '409'));
    const refusedAtTheDoor = answers.filter((r) => !jobIdOf(r));
    expect(refusedAtTheDoor.every((r) => r.status === 409 && r.body.error.code === 'SOLD_OUT')).to.equal(true);
    const ids = answers.map(jobIdOf).filter((id): id is string => !!id);
    await waitForOutcomes(testDb(), ids);
    let booked = 0;
    for (const show of shows) {
      const report = await checkInvariants(testDb(), show.id, ids.filter((id) => id.startsWith(`${show.id}-`)));
      expect(report.duplicates, `show ${show.id}`).to.equal(0);
      expect(report.lost, `show ${show.id}`).to.deep.equal([]);
      expect(report.mismatched, `show ${show.id}`).to.deep.equal([]);
      expect(report.counter, `show ${show.id}`).to.equal(report.activeSeats);
      booked += report.activeSeats;
    }
    const seatsOf201 = answers.filter((r) => r.status === 201).reduce((n, r) => n + r.body.result.bookings.length, 0);
    expect(seatsOf201).to.equal(booked);
    const perUser = await testDb()('bookings').whereIn('show_id', shows.map((s) => s.id)).whereIn('status', ['booked', 'held'])
      .groupBy('show_id', 'user_id').select('show_id', 'user_id').count('* as n');
    expect(Math.max(...perUser.map((r) => Number(r.n)))).to.be.at.most(3);
  });

  it('when a request is sent async with an Idempotency-Key, then its job is found on the cluster and a replay returns the same job', async () => {
    const show = await createShow({ total_seats: 20 });
    const [user] = users;
    const headers = { prefer: 'respond-async', 'idempotency-key': `cluster-${show.id}` };
    const first = await stack.gateway.api.post(`/shows/${show.id}/book`, { token: user.token, body: { seat_number: 5 }, headers });
    expect(first.status, first.text).to.be.oneOf([201, 202]);
    const location = first.headers.get('location') ?? `/jobs/${first.body.id}`;
    let job: HttpResult | undefined;
    await until('the job to complete', async () => {
      job = await stack.gateway.api.get(location, { token: user.token });
      return job.status === 200 && job.body.status === 'completed';
    });
    expect(job!.body.result.bookings[0]).to.include({ seat_number: 5, status: 'booked' });
    const replay = await stack.gateway.api.post(`/shows/${show.id}/book`, { token: user.token, body: { seat_number: 5 }, headers });
    expect(replay.status, replay.text).to.equal(201);
    expect(replay.body.id).to.equal(first.body.id);
  });

  it('when 40 shows get traffic, then each is attached by one worker process, the shows spread over all 3, and per-show connections close once they are idle', async () => {
    const shows = await Promise.all(Array.from({ length: 40 }, () => createShow({ total_seats: 10 })));
    const ids = new Set(shows.map((s) => s.id));
    const since = stack.workers.map((w) => w.logs.length);
    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, ...stack.workers.map((w) => perShowConnections(w))); }, 200);
    try {
      const answers = await Promise.all(shows.map((s, i) =>
        stack.gateway.api.post(`/shows/${s.id}/book`, { token: users[i].token, body: { seat_number: 1 }, headers: WAIT })));
      expect(answers.map((r) => r.status)).to.deep.equal(shows.map(() => 201));
      await until('every worker to detach and close its per-show connections',
        () => stack.workers.every((w) => attachedNow(w).size === 0 && perShowConnections(w) === 0), 60_000);
    } finally {
      clearInterval(sampler);
    }
    const attachedBy = stack.workers.map((w, k) => w.logs.slice(since[k]).filter((l) => l.msg === 'attached to show' && ids.has(l.show_id)).map((l) => l.show_id as number));
    const owners = countBy(attachedBy.flatMap((a) => [...new Set(a)]), String);
    const left = stack.workers.map((w) => connectionNames(w.proc.pid!, stack.cluster.ports));
    console.log(`      shows attached per worker: ${attachedBy.map((a) => new Set(a).size).join(' / ')}; peak per-show connections of one worker: ${peak}; `
      + `connections left after idling: ${left.map((l) => l.length).join(' / ')}`);
    expect(Object.keys(owners).length, 'shows attached').to.equal(40);
    expect(Object.values(owners).every((n) => n === 1), 'each show attached by one worker').to.equal(true);
    expect(attachedBy.every((a) => a.length > 0), 'every worker got shows').to.equal(true);
    expect(peak).to.be.greaterThan(0);
    for (const names of left) {
      expect(names.filter((n) => n.startsWith(`${queuePrefix()}:`)), 'per-show connections left').to.deep.equal([]);
      expect(names.length).to.be.at.most(2 * stack.cluster.ports.length);
    }
  });

  it('when the worker that owns a show is killed, then another worker takes the show over and serves its next booking', async () => {
    const show = await createShow({ total_seats: 10 });
    const first = await stack.gateway.api.post(`/shows/${show.id}/book`, { token: users[0].token, body: { seat_number: 1 }, headers: WAIT });
    expect(first.status, first.text).to.equal(201);
    const doneBy = (id: string) => stack.workers.filter((w) => w.logs.some((l) => l.msg === 'job done' && l.request_id === id));
    await until('the worker log of the first booking', () => doneBy(first.body.id).length > 0);
    const [owner] = doneBy(first.body.id);
    await owner.kill('SIGKILL');
    const started = Date.now();
    const next = await stack.gateway.api.post(`/shows/${show.id}/book`, { token: users[1].token, body: { seat_number: 2 }, headers: WAIT });
    expect(next.status, next.text).to.equal(201);
    await until('the worker log of the next booking', () => doneBy(next.body.id).length > 0);
    const servedBy = doneBy(next.body.id);
    expect(servedBy).to.have.length(1);
    expect(servedBy[0]).to.not.equal(owner);
    console.log(`      the next booking was served by another worker ${Date.now() - started} ms after the owner was killed`);
  });
});
