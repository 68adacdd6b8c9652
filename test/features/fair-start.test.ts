import { expect } from 'chai';
import { config } from '../../shared/config';
import { waitingRoomPriority } from '../../shared/queue/producer';
import { waitForOutcomes } from '../support/invariants';
import { createShow, createUsers, TestUser } from '../support/fixtures';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { showQueue, stopWorkers } from './feature-helpers';

/** Request ids of a show in the order the worker finished them. */
async function finishedOrder(ids: string[]): Promise<{ id: string; finished_at: Date }[]> {
  return testDb()('requests').whereIn('id', ids).orderBy([{ column: 'finished_at' }, { column: 'id' }]).select('id', 'finished_at');
}

describe('fair start: the waiting room before sales_open_at', () => {
  let t: TestGateway;
  let worker: WorkerProcess;
  let users: TestUser[];
  before(async () => {
    [t, worker] = await Promise.all([startTestGateway(), spawnWorker()]);
    users = await createUsers(30);
  });
  after(() => Promise.all([stopWorkers([worker]), stopTestGateway(t)]));

  const book = (u: TestUser, showId: number) =>
    t.api.post(`/shows/${showId}/book`, { token: u.token, body: { quantity: 1 }, headers: { Prefer: 'respond-async' } });

  it('when a request comes before the waiting room opens, then 425 TOO_EARLY says when to come back and nothing is queued', async () => {
    const prequeue = config().PREQUEUE_SECONDS;
    const opensAt = new Date(Date.now() + (prequeue + 120) * 1000);
    const show = await createShow({ sales_open_at: opensAt });
    const res = await book(users[0], show.id);
    expect(res.status, res.text).to.equal(425);
    expect(res.body.error.code).to.equal('TOO_EARLY');
    expect(Number(res.headers.get('retry-after'))).to.be.within(118, 121);
    expect(res.body.error.details.sales_open_at).to.equal(opensAt.toISOString());
    const shown = await t.api.get(`/shows/${show.id}`);
    expect(shown.body).to.include({ status: 'scheduled', queue_depth: 0 });
  });

  it('when 30 requests wait in the waiting room, then at opening they run in the seeded shuffle order, which is logged once', async () => {
    const opensAt = new Date(Date.now() + 3500);
    const show = await createShow({ sales_open_at: opensAt, row_lengths: [10, 10, 10, 10] });
    const arrival: string[] = [];
    for (const u of users) {
      const res = await book(u, show.id);
      expect(res.status, res.text).to.equal(202);
      expect(res.body).to.include({ status: 'queued', position: null, eta_seconds: null });
      arrival.push(res.body.id);
    }
    expect(Date.now(), 'all requests arrived before opening').to.be.lessThan(opensAt.getTime());
    expect((await t.api.get(`/shows/${show.id}`)).body).to.include({ status: 'scheduled' });

    await waitForOutcomes(testDb(), arrival, 20_000);
    const finished = await finishedOrder(arrival);
    const order = finished.map((r) => r.id);
    expect(finished.every((r) => r.finished_at.getTime() >= opensAt.getTime()), 'nothing ran before opening').to.equal(true);
    expect([...order].sort()).to.deep.equal([...arrival].sort());
    expect(order).to.not.deep.equal(arrival);
    const { shuffle_seed: seed } = await testDb()('shows').where('id', show.id).first('shuffle_seed');
    const seeded = [...arrival].sort((a, b) => waitingRoomPriority(seed, a) - waitingRoomPriority(seed, b));
    expect(order).to.deep.equal(seeded);
    const moved = order.filter((id, i) => arrival[i] !== id).length;
    console.log(`      waiting room: ${moved}/30 requests ran out of arrival order (seed ${seed})`);

    const opened = worker.logs.filter((l) => l.msg === 'waiting room opened' && l.show_id === show.id);
    expect(opened).to.have.length(1);
    expect(opened[0]).to.include({ shuffle_seed: String(seed), waiting: 30 });
    const completed = await testDb()('requests').whereIn('id', arrival).where('status', 'completed').count('* as n');
    expect(Number(completed[0].n)).to.equal(30);
  });

  it('when requests arrive after opening, then they are served first come, first served', async () => {
    const show = await createShow({ sales_open_at: new Date(Date.now() - 1000) });
    const queue = showQueue(show.id);
    await queue.pause();
    const arrival: string[] = [];
    for (const u of users.slice(0, 15)) {
      const res = await book(u, show.id);
      expect(res.status, res.text).to.equal(202);
      expect(res.body.position).to.equal(arrival.length);
      arrival.push(res.body.id);
    }
    await queue.resume();
    await waitForOutcomes(testDb(), arrival, 20_000);
    expect((await finishedOrder(arrival)).map((r) => r.id)).to.deep.equal(arrival);
    expect(worker.logs.some((l) => l.msg === 'waiting room opened' && l.show_id === show.id)).to.equal(false);
  });
});
