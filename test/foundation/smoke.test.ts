import { expect } from 'chai';
import { TestGateway } from '../support/gateway';
import { foundationGateway } from './shared-gateway';
import { createShow, createUser } from '../support/fixtures';
import { spawnWorker, WorkerProcess } from '../support/workers';

describe('smoke: gateway and a worker process', () => {
  let t: TestGateway;
  let worker: WorkerProcess;
  before(async () => {
    t = await foundationGateway();
    worker = await spawnWorker();
  });

  it('when a customer books a free seat, then it answers 201 with the booking', async () => {
    const user = await createUser();
    const show = await createShow();
    const res = await t.api.post(`/shows/${show.id}/book`, { token: user.token, body: { seat_number: 3 } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.result.bookings[0]).to.include({ seat_number: 3, seat_label: 'A3', status: 'booked' });
  });

  it('when the worker gets SIGTERM, then it stops cleanly with exit code 0', async () => {
    const code = await worker.kill('SIGTERM');
    expect(code).to.equal(0);
    expect(worker.logs.map((l) => l.msg)).to.include('worker started');
  });
});
