import { expect } from 'chai';
import { startTestGateway, TestGateway } from '../support/gateway';
import { createShow, createUser } from '../support/fixtures';
import { spawnWorker } from '../support/workers';

describe('smoke: gateway and a worker process', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway();
    await spawnWorker();
  });

  it('when a customer books a free seat, then it answers 201 with the booking', async () => {
    const user = await createUser();
    const show = await createShow();
    const res = await t.api.post(`/shows/${show.id}/book`, { token: user.token, body: { seat_number: 3 } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body.result.bookings[0]).to.include({ seat_number: 3, seat_label: 'A3', status: 'booked' });
  });
});
