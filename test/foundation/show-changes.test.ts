import { expect } from 'chai';
import { Show } from '../../shared/db/models';
import { expectMatchesSpec } from '../support/contract';
import { createShow, createUser, TestUser } from '../support/fixtures';
import { TestGateway } from '../support/gateway';
import { book } from './direct-bookings';
import { foundationGateway } from './shared-gateway';

const inDays = (d: number) => new Date(Date.now() + d * 24 * 3600_000);

describe('catalog: seat maps, show changes and deletes', () => {
  let t: TestGateway;
  let admin: TestUser;
  let customer: TestUser;

  before(async () => {
    t = await foundationGateway();
    admin = await createUser('admin');
    customer = await createUser('customer');
  });

  describe('seat map', () => {
    it('when the seat map is read, then booked and held seats are taken and the rest free, by row', async () => {
      const show = await createShow({ row_lengths: [4, 6] });
      await book(show, customer.id, [2]);
      await book(show, customer.id, [6], 'held');
      await book(show, customer.id, [3], 'cancelled');
      const res = await t.api.get(`/shows/${show.id}/seats`);
      expect(res.status, res.text).to.equal(200);
      expectMatchesSpec('getSeatMap', 200, res.body);
      expect(res.body).to.include({ show_id: show.id, total_seats: 10, available_seats: 8 });
      expect(res.body.taken).to.deep.equal([2, 6]);
      expect(res.body.free).to.deep.equal([1, 3, 4, 5, 7, 8, 9, 10]);
      expect(res.body.rows.map((r: any) => [r.row, r.seats.length])).to.deep.equal([['A', 4], ['B', 6]]);
      expect(res.body.rows[1].seats[1]).to.deep.equal({ number: 6, label: 'B2', status: 'held' });
    });

    it('when the seat map is asked for as text or SVG, then it comes with that content type', async () => {
      const show = await createShow({ row_lengths: [3, 3] });
      await book(show, customer.id, [1]);
      const text = await t.api.get(`/shows/${show.id}/seats?format=text`);
      expect(text.headers.get('content-type')).to.match(/^text\/plain/);
      expect(text.text).to.match(/^A\s+X\.\.$/m);
      const svg = await t.api.get(`/shows/${show.id}/seats?format=svg`);
      expect(svg.headers.get('content-type')).to.match(/^image\/svg\+xml/);
      expect(svg.text).to.match(/^<svg[\s\S]*<\/svg>$/);
      expect((await t.api.get(`/shows/${show.id}/seats?format=xml`)).status).to.equal(400);
    });
  });

  describe('changing and deleting shows', () => {
    it('when a show has bookings, then deleting it answers 409 and keeps it', async () => {
      const show = await createShow({ total_seats: 10 });
      await book(show, customer.id, [2], 'cancelled');
      const res = await t.api.delete(`/shows/${show.id}`, { token: admin.token });
      expect(res.status, res.text).to.equal(409);
      expectMatchesSpec('deleteShow', 409, res.body);
      expect(await Show.query().findById(show.id)).to.not.equal(undefined);
    });

    it('when a show has no bookings, then deleting it answers 204 and a second delete 404', async () => {
      const show = await createShow({ total_seats: 10 });
      expect((await t.api.delete(`/shows/${show.id}`, { token: admin.token })).status).to.equal(204);
      expect((await t.api.delete(`/shows/${show.id}`, { token: admin.token })).status).to.equal(404);
    });

    it('when a shrink would drop a booked seat, then it answers 409 and the layout stays', async () => {
      const show = await createShow({ total_seats: 30 });
      await book(show, customer.id, [25]);
      const res = await t.api.patch(`/shows/${show.id}`, { token: admin.token, body: { total_seats: 20 } });
      expect(res.status, res.text).to.equal(409);
      expectMatchesSpec('updateShow', 409, res.body);
      expect(res.body.error.details).to.deep.equal({ highest_taken_seat: 25 });
      expect((await Show.query().findById(show.id))!.total_seats).to.equal(30);
    });

    it('when a shrink would drop a held seat, then it answers 409', async () => {
      const show = await createShow({ total_seats: 30 });
      await book(show, customer.id, [28], 'held');
      const res = await t.api.patch(`/shows/${show.id}`, { token: admin.token, body: { rows: 2, seats_per_row: 10 } });
      expect(res.status, res.text).to.equal(409);
    });

    it('when a shrink keeps every booked seat (cancelled ones may go), then it answers 200 with the new layout', async () => {
      const show = await createShow({ total_seats: 30 });
      await book(show, customer.id, [5, 20]);
      await book(show, customer.id, [29], 'cancelled');
      const res = await t.api.patch(`/shows/${show.id}`, { token: admin.token, body: { row_lengths: [10, 10] } });
      expect(res.status, res.text).to.equal(200);
      expectMatchesSpec('updateShow', 200, res.body);
      expect(res.body).to.include({ total_seats: 20, available_seats: 18 });
      expect(res.body.row_lengths).to.deep.equal([10, 10]);
    });

    it('when sales_open_at is moved after date_time, then it answers 400; null clears it', async () => {
      const show = await createShow({ sales_open_at: new Date(Date.now() + 3600_000) });
      const late = await t.api.patch(`/shows/${show.id}`, { token: admin.token, body: { sales_open_at: inDays(5).toISOString() } });
      expect(late.status, late.text).to.equal(400);
      const cleared = await t.api.patch(`/shows/${show.id}`, { token: admin.token, body: { sales_open_at: null } });
      expect(cleared.status, cleared.text).to.equal(200);
      expect(cleared.body).to.include({ sales_open_at: null, status: 'on_sale' });
    });

    it('when an unknown show is patched, then it answers 404', async () => {
      const res = await t.api.patch('/shows/2147483647', { token: admin.token, body: { screen_name: 'Nowhere' } });
      expect(res.status, res.text).to.equal(404);
    });
  });
});
