import { expect } from 'chai';
import { createShow, createUsers, TestUser } from '../support/fixtures';
import { testDb } from '../support/gateway';
import type { HttpResult } from '../support/http';
import { checkInvariants, waitForOutcomes } from '../support/invariants';
import { ClusterStack, startClusterStack } from './cluster-stack';
import { connectionNames } from './process-sockets';

const WAIT = { prefer: 'wait=30' };

/** The request id a booking answer names (201/202 body id, or the failure's details.job_id). */
const jobIdOf = (res: HttpResult) => (res.body?.id ?? res.body?.error?.details?.job_id) as string | undefined;

const countBy = <T>(items: T[], key: (t: T) => string) =>
  items.reduce<Record<string, number>>((acc, t) => ({ ...acc, [key(t)]: (acc[key(t)] ?? 0) + 1 }), {});

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('booking races on a 3-master Redis Cluster (gateway and 3 worker processes)', function () {
  this.timeout(120_000);
  let stack: ClusterStack;
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

  it('when 40 shows had traffic and went idle, then a worker holds per-show connections only while attached and drops them all after', async () => {
    const [worker] = stack.workers;
    const pid = worker.proc.pid!;
    const shared = new Set(['worker', 'worker-bull']);
    const perShow = () => connectionNames(pid, stack.cluster.ports).filter((n) => !shared.has(n)).length;
    const attached = () => {
      const live = new Set<number>();
      for (const l of worker.logs) {
        if (l.msg === 'attached to show') live.add(l.show_id);
        if (l.msg === 'detached from idle show') live.delete(l.show_id);
      }
      return live;
    };
    await until('earlier shows to go idle', () => attached().size === 0 && perShow() === 0, 60_000);
    const shows = await Promise.all(Array.from({ length: 40 }, () => createShow({ total_seats: 10 })));
    let peak = { conns: 0, attached: 0 };
    const sampler = setInterval(() => {
      const conns = perShow();
      if (conns > peak.conns) peak = { conns, attached: attached().size };
    }, 200);
    try {
      const answers = await Promise.all(shows.map((s, i) =>
        stack.gateway.api.post(`/shows/${s.id}/book`, { token: users[i].token, body: { seat_number: 1 }, headers: WAIT })));
      expect(answers.map((r) => r.status)).to.deep.equal(shows.map(() => 201));
      await until('the worker to detach from all 40 shows and close their connections', () => attached().size === 0 && perShow() === 0, 60_000);
    } finally {
      clearInterval(sampler);
    }
    const everAttached = new Set(worker.logs.filter((l) => l.msg === 'attached to show').map((l) => l.show_id));
    const left = connectionNames(pid, stack.cluster.ports);
    console.log(`      worker connections: peak ${peak.conns} per-show connections with ${peak.attached} shows attached; after idling: ${left.length} (${[...new Set(left)].join(', ')})`);
    expect(shows.filter((s) => !everAttached.has(s.id))).to.deep.equal([]);
    expect(peak.conns).to.be.at.least(peak.attached).and.to.be.greaterThan(0);
    expect(left.every((n) => shared.has(n))).to.equal(true);
    expect(left.length).to.be.at.most(2 * stack.cluster.ports.length);
  });
});
