import { expect } from 'chai';
import { readDrainStats } from '../../shared/queue/stats';
import { waitForOutcomes } from '../support/invariants';
import { createShow, createUsers } from '../support/fixtures';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { showQueue, sleep, stopWorkers, testRedis, waitFor } from './feature-helpers';

describe('position, ETA and show status', () => {
  let t: TestGateway;
  let worker: WorkerProcess;
  before(async () => {
    [t, worker] = await Promise.all([startTestGateway(), spawnWorker()]);
  });
  after(() => Promise.all([stopWorkers([worker]), stopTestGateway(t)]));

  it('when a backlog waits on a show, then each job has its position, eta_seconds from the drain rate and likely_sold_out past the seats left', async () => {
    const show = await createShow({ row_lengths: [10, 10] });
    const users = await createUsers(24);
    const warmup = await Promise.all(users.slice(0, 8).map((u) => t.api.post(`/shows/${show.id}/book`, { token: u.token, body: { quantity: 1 } })));
    warmup.forEach((r) => expect(r.status, r.text).to.equal(201));
    await waitFor('the worker to publish a drain rate', async () => (await readDrainStats(testRedis(), show.id)).rate > 0);
    await sleep(1100); // the next sweep folds in any job counted after the first one; idle seconds leave the rate alone
    const stats = await readDrainStats(testRedis(), show.id);

    const queue = showQueue(show.id);
    await queue.pause();
    const backlog = [];
    for (const u of users.slice(8)) {
      const res = await t.api.post(`/shows/${show.id}/book`, { token: u.token, body: { quantity: 1 }, headers: { Prefer: 'respond-async' } });
      expect(res.status, res.text).to.equal(202);
      expect(res.headers.get('location')).to.equal(`/jobs/${res.body.id}`);
      backlog.push({ id: res.body.id as string, token: u.token });
    }
    const shown = await t.api.get(`/shows/${show.id}`);
    expect(shown.body).to.include({ status: 'on_sale', queue_depth: 16, available_seats: 12 });

    const views = await Promise.all(backlog.map((b) => t.api.get(`/jobs/${b.id}`, { token: b.token })));
    views.forEach((v, position) => {
      expect(v.status, v.text).to.equal(200);
      expect(v.body).to.include({ status: 'queued', position });
      expect(v.body.eta_seconds).to.equal(Math.round((position / stats.rate) * 10) / 10);
      expect(v.body.likely_sold_out, `position ${position}`).to.equal(position * stats.seatsPerJob >= 12);
    });
    console.log(`      drain rate ${stats.rate} jobs/s: eta of the last job ${views[15].body.eta_seconds}s`);

    await queue.resume();
    await waitForOutcomes(testDb(), backlog.map((b) => b.id), 20_000);
    const outcomes = await testDb()('requests').whereIn('id', backlog.map((b) => b.id)).select('id', 'status');
    const failed = new Set(outcomes.filter((o: any) => o.status === 'failed').map((o: any) => o.id));
    expect(backlog.map((b, i) => [failed.has(b.id), views[i].body.likely_sold_out])).to.deep.equal(backlog.map((_, i) => [i >= 12, i >= 12]));
    const after = await waitFor('the queue to drain', async () => {
      const res = await t.api.get(`/shows/${show.id}`);
      return res.body.queue_depth === 0 ? res : undefined;
    });
    expect(after.body).to.include({ status: 'sold_out', available_seats: 0 });
  });

  it('when a show has not opened, has started or is open, then its status says scheduled, closed or on_sale', async () => {
    const hour = 3600_000;
    const scheduled = await createShow({ sales_open_at: new Date(Date.now() + hour) });
    const closed = await createShow({ date_time: new Date(Date.now() - hour) });
    const open = await createShow({ sales_open_at: new Date(Date.now() - hour) });
    const status = async (id: number) => (await t.api.get(`/shows/${id}`)).body.status;
    expect([await status(scheduled.id), await status(closed.id), await status(open.id)]).to.deep.equal(['scheduled', 'closed', 'on_sale']);
    const listed = await t.api.get(`/movies/${closed.movie_id}/shows`);
    expect(listed.body.items[0]).to.include({ status: 'closed', queue_depth: 0 });
  });
});
