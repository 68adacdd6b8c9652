import { expect } from 'chai';
import { createShow, createUser } from '../support/fixtures';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { spawnWorker, WorkerProcess } from '../support/workers';
import { stopWorkers } from './feature-helpers';

/** Active (booked or held) seats of one buyer on one show, from Postgres. */
async function seatsOf(userId: number, showId: number): Promise<number> {
  const [{ n }] = await testDb()('bookings').where({ user_id: userId, show_id: showId }).whereIn('status', ['booked', 'held']).count('* as n');
  return Number(n);
}

describe('per-buyer limit (max_seats_per_user)', () => {
  let t: TestGateway;
  let worker: WorkerProcess;
  before(async () => {
    [t, worker] = await Promise.all([startTestGateway(), spawnWorker()]);
  });
  after(() => Promise.all([stopWorkers([worker]), stopTestGateway(t)]));

  const book = (token: string, showId: number, body: object) => t.api.post(`/shows/${showId}/book`, { token, body });

  it('when one buyer sends 20 single-seat requests at once against a limit of 4, then exactly 4 succeed and 16 get 409 LIMIT_EXCEEDED', async () => {
    const show = await createShow({ max_seats_per_user: 4 });
    const user = await createUser();
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => book(user.token, show.id, { seat_number: i + 1 })));
    const ok = replies.filter((r) => r.status === 201);
    const refused = replies.filter((r) => r.status !== 201);
    expect(ok).to.have.length(4);
    expect(refused).to.have.length(16);
    for (const r of refused) {
      expect(r.status, r.text).to.equal(409);
      expect(r.body.error.code).to.equal('LIMIT_EXCEEDED');
      expect(r.body.error.details).to.include({ limit: 4, already: 4 });
    }
    expect(await seatsOf(user.id, show.id)).to.equal(4);
  });

  it('when held and booked seats together reach the limit, then further requests are refused until a hold is cancelled', async () => {
    const show = await createShow({ max_seats_per_user: 4 });
    const user = await createUser();
    const held = await book(user.token, show.id, { quantity: 2, hold: true });
    expect(held.status, held.text).to.equal(201);
    expect((await book(user.token, show.id, { seat_number: 1 })).status).to.equal(201);
    const race = await Promise.all(Array.from({ length: 5 }, () => book(user.token, show.id, { quantity: 1 })));
    expect(race.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409, 409]);
    expect(race.filter((r) => r.status === 409).every((r) => r.body.error.code === 'LIMIT_EXCEEDED')).to.equal(true);
    expect(await seatsOf(user.id, show.id)).to.equal(4);
    const cancel = await t.api.post(`/bookings/${held.body.result.bookings[0].id}/cancel`, { token: user.token });
    expect(cancel.status, cancel.text).to.equal(200);
    expect((await book(user.token, show.id, { quantity: 1 })).status).to.equal(201);
    expect(await seatsOf(user.id, show.id)).to.equal(4);
  });

  it('when several best-available requests of one buyer would pass the limit together, then whole requests are refused, never part of one', async () => {
    const show = await createShow({ max_seats_per_user: 5 });
    const [user, other] = [await createUser(), await createUser()];
    const replies = await Promise.all(Array.from({ length: 10 }, () => book(user.token, show.id, { quantity: 2 })));
    expect(replies.filter((r) => r.status === 201)).to.have.length(2);
    expect(replies.filter((r) => r.status === 409 && r.body.error.code === 'LIMIT_EXCEEDED')).to.have.length(8);
    expect(await seatsOf(user.id, show.id)).to.equal(4);
    expect((await book(user.token, show.id, { quantity: 2 })).status).to.equal(409);
    expect((await book(user.token, show.id, { quantity: 1 })).status).to.equal(201);
    expect((await book(other.token, show.id, { quantity: 5 })).status, 'another buyer has a limit of their own').to.equal(201);
  });
});
