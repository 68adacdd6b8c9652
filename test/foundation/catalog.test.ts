import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Booking, Movie, Show } from '../../shared/db/models';
import { FIFO_PRIORITY } from '../../shared/queue/producer';
import { expectMatchesSpec } from '../support/contract';
import { createShow, createUser, TestUser } from '../support/fixtures';
import { testDb, TestGateway } from '../support/gateway';
import { book } from './direct-bookings';
import { foundationGateway } from './shared-gateway';

const inDays = (d: number) => new Date(Date.now() + d * 24 * 3600_000);

describe('catalog: movies and shows', () => {
  let t: TestGateway;
  let admin: TestUser;
  let customer: TestUser;

  before(async () => {
    t = await foundationGateway();
    testDb();
    admin = await createUser('admin');
    customer = await createUser('customer');
  });

  describe('movies', () => {
    it('when an admin creates, reads, patches and deletes a movie, then each answer matches the spec', async () => {
      const created = await t.api.post('/movies', { token: admin.token, body: { title: 'Dune', duration_minutes: 155, description: 'Sand.' } });
      expect(created.status, created.text).to.equal(201);
      expectMatchesSpec('createMovie', 201, created.body);
      const id = created.body.id;
      const got = await t.api.get(`/movies/${id}`);
      expectMatchesSpec('getMovie', 200, got.body);
      expect(got.body).to.deep.equal({ id, title: 'Dune', duration_minutes: 155, description: 'Sand.' });
      const patched = await t.api.patch(`/movies/${id}`, { token: admin.token, body: { duration_minutes: 166 } });
      expectMatchesSpec('updateMovie', 200, patched.body);
      expect(patched.body).to.include({ title: 'Dune', duration_minutes: 166 });
      const deleted = await t.api.delete(`/movies/${id}`, { token: admin.token });
      expect(deleted.status).to.equal(204);
      expect(deleted.text).to.equal('');
      expect(await Movie.query().findById(id)).to.equal(undefined);
    });

    it('when a movie is created without a description, then it reads back as an empty string', async () => {
      const created = await t.api.post('/movies', { token: admin.token, body: { title: 'Untold', duration_minutes: 90 } });
      expect(created.status, created.text).to.equal(201);
      expect(created.body.description).to.equal('');
    });

    it('when a movie patch is empty or has an unknown field, then it answers 400', async () => {
      const movie = await Movie.query().insert({ title: 'Patchable', duration_minutes: 90, description: '' });
      for (const body of [{}, { rating: 5 }]) {
        const res = await t.api.patch(`/movies/${movie.id}`, { token: admin.token, body });
        expect(res.status, res.text).to.equal(400);
        expectMatchesSpec('updateMovie', 400, res.body);
      }
    });

    it('when movies are listed page by page, then limit, offset and total describe the whole list', async () => {
      await Movie.query().insert([1, 2, 3, 4, 5].map((i) => ({ title: `Paged ${i}`, duration_minutes: 90 + i, description: '' })));
      const total = await Movie.query().resultSize();
      const all = await t.api.get('/movies?limit=100');
      expectMatchesSpec('listMovies', 200, all.body);
      expect(all.body).to.include({ total, limit: 100, offset: 0 });
      const first = await t.api.get('/movies?limit=2&offset=0');
      const second = await t.api.get('/movies?limit=2&offset=2');
      expect(first.body.items.map((m: any) => m.id)).to.deep.equal(all.body.items.slice(0, 2).map((m: any) => m.id));
      expect(second.body.items.map((m: any) => m.id)).to.deep.equal(all.body.items.slice(2, 4).map((m: any) => m.id));
      expect(second.body).to.include({ total, limit: 2, offset: 2 });
      const past = await t.api.get(`/movies?offset=${total}`);
      expect(past.body).to.include({ total, limit: 20, offset: total });
      expect(past.body.items).to.deep.equal([]);
    });

    const badQueries: [string, string][] = [
      ['limit is over 100', '/movies?limit=101'],
      ['limit is 0', '/movies?limit=0'],
      ['offset is negative', '/movies?offset=-1'],
      ['limit is not a number', '/movies?limit=ten'],
      ['an unknown query parameter is sent', '/movies?sort=title'],
    ];
    for (const [when, path] of badQueries) {
      it(`when ${when}, then GET /movies answers 400`, async () => {
        const res = await t.api.get(path);
        expect(res.status, res.text).to.equal(400);
        expectMatchesSpec('listMovies', 400, res.body);
        expect(res.body.error.code).to.equal('VALIDATION_FAILED');
      });
    }

    for (const id of ['abc', '0', '-3', '1.5', '99999999999']) {
      it(`when the movie id is ${id}, then it answers 400`, async () => {
        const res = await t.api.get(`/movies/${id}`);
        expect(res.status, res.text).to.equal(400);
        expectMatchesSpec('getMovie', 400, res.body);
      });
    }

    it('when the movie id is unknown, then GET /movies/:id and /movies/:id/shows answer 404', async () => {
      for (const path of ['/movies/2147483647', '/movies/2147483647/shows']) {
        const res = await t.api.get(path);
        expect(res.status, res.text).to.equal(404);
        expect(res.body.error.code).to.equal('NOT_FOUND');
      }
    });

    it('when an unknown movie is patched or deleted, then it answers 404', async () => {
      const patched = await t.api.patch('/movies/2147483647', { token: admin.token, body: { title: 'Ghost' } });
      expect(patched.status, patched.text).to.equal(404);
      expectMatchesSpec('updateMovie', 404, patched.body);
      const deleted = await t.api.delete('/movies/2147483647', { token: admin.token });
      expect(deleted.status, deleted.text).to.equal(404);
    });

    it('when a movie has shows, then deleting it answers 409 and keeps it', async () => {
      const show = await createShow();
      const res = await t.api.delete(`/movies/${show.movie_id}`, { token: admin.token });
      expect(res.status, res.text).to.equal(409);
      expectMatchesSpec('deleteMovie', 409, res.body);
      expect(await Movie.query().findById(show.movie_id)).to.not.equal(undefined);
    });
  });

  describe('creating shows', () => {
    let movie: Movie;
    before(async () => {
      movie = await Movie.query().insert({ title: 'Layouts', duration_minutes: 100, description: '' });
    });
    const post = (extra: object) => t.api.post('/shows', { token: admin.token, body: { movie_id: movie.id, screen_name: 'Screen 9', date_time: inDays(2).toISOString(), ...extra } });

    it('when only total_seats is given, then it is laid out in ceil(total/20) equal rows, the last taking the remainder', async () => {
      const res = await post({ total_seats: 61 });
      expect(res.status, res.text).to.equal(201);
      expectMatchesSpec('createShow', 201, res.body);
      expect(res.body).to.include({ total_seats: 61, available_seats: 61, movie_id: movie.id, status: 'on_sale', queue_depth: 0, max_seats_per_user: 10 });
      expect(res.body.row_lengths).to.deep.equal([16, 16, 16, 13]);
      const big = await post({ total_seats: 1000 });
      expect(big.body.row_lengths).to.have.length(26);
      expect(big.body.row_lengths.reduce((a: number, b: number) => a + b, 0)).to.equal(1000);
    });

    it('when rows x seats_per_row is given, then the show has that grid', async () => {
      const res = await post({ rows: 3, seats_per_row: 12, max_seats_per_user: 4 });
      expect(res.status, res.text).to.equal(201);
      expect(res.body).to.include({ total_seats: 36, max_seats_per_user: 4 });
      expect(res.body.row_lengths).to.deep.equal([12, 12, 12]);
    });

    it('when row_lengths and a matching total_seats are given, then the show has those rows', async () => {
      const res = await post({ row_lengths: [8, 10, 12], total_seats: 30 });
      expect(res.status, res.text).to.equal(201);
      expect(res.body.row_lengths).to.deep.equal([8, 10, 12]);
      expect(res.body.total_seats).to.equal(30);
    });

    const bad: [string, object, number][] = [
      ['total_seats does not match row_lengths', { row_lengths: [10, 10], total_seats: 25 }, 400],
      ['total_seats does not match rows x seats_per_row', { rows: 2, seats_per_row: 10, total_seats: 21 }, 400],
      ['rows comes without seats_per_row', { rows: 2 }, 400],
      ['no layout is given', {}, 400],
      ['sales_open_at is after date_time', { total_seats: 10, sales_open_at: inDays(3).toISOString() }, 400],
      ['date_time is not a timestamp', { total_seats: 10, date_time: 'tomorrow' }, 400],
    ];
    for (const [when, extra, status] of bad) {
      it(`when ${when}, then it answers ${status}`, async () => {
        const res = await post(extra);
        expect(res.status, res.text).to.equal(status);
        expectMatchesSpec('createShow', status, res.body);
      });
    }

    it('when the movie does not exist, then it answers 404', async () => {
      const res = await t.api.post('/shows', { token: admin.token, body: { movie_id: 2147483647, screen_name: 'X', date_time: inDays(2).toISOString(), total_seats: 10 } });
      expect(res.status, res.text).to.equal(404);
      expectMatchesSpec('createShow', 404, res.body);
    });
  });

  describe('availability and status', () => {
    it('when a movie\'s shows are listed, then available_seats counts booked and held seats but not cancelled ones', async () => {
      const a = await createShow({ total_seats: 30, date_time: inDays(1) });
      const b = await Show.query().insert({
        movie_id: a.movie_id, screen_name: 'Screen 2', date_time: inDays(2), total_seats: 20, row_lengths: [10, 10], max_seats_per_user: 10,
      } as Partial<Show>);
      await book(a, customer.id, [1, 2, 3]);
      await book(a, customer.id, [4], 'held');
      await book(a, customer.id, [5, 6], 'cancelled');
      await book(b, customer.id, [20]);
      const res = await t.api.get(`/movies/${a.movie_id}/shows`);
      expect(res.status, res.text).to.equal(200);
      expectMatchesSpec('listMovieShows', 200, res.body);
      expect(res.body.total).to.equal(2);
      expect(res.body.items.map((s: any) => [s.id, s.available_seats])).to.deep.equal([[a.id, 26], [b.id, 19]]);
      const active = await Booking.query().where('show_id', a.id).whereIn('status', ['booked', 'held']).resultSize();
      expect(res.body.items[0].available_seats).to.equal(30 - active);
      const page = await t.api.get(`/movies/${a.movie_id}/shows?limit=1&offset=1`);
      expect(page.body).to.include({ total: 2, limit: 1, offset: 1 });
      expect(page.body.items.map((s: any) => s.id)).to.deep.equal([b.id]);
    });

    it('when a show is fetched, then it carries every field with status on_sale and its queue depth', async () => {
      const show = await createShow({ total_seats: 20 });
      const queue = t.gw.deps.queues.queue(show.id);
      try {
        for (let i = 0; i < 3; i++) {
          await queue.add('book', { type: 'book', request_id: `${show.id}-${randomUUID()}` } as never, { priority: FIFO_PRIORITY });
        }
        const res = await t.api.get(`/shows/${show.id}`);
        expect(res.status, res.text).to.equal(200);
        expectMatchesSpec('getShow', 200, res.body);
        expect(res.body).to.include({ id: show.id, movie_id: show.movie_id, total_seats: 20, available_seats: 20, status: 'on_sale', queue_depth: 3 });
        expect(res.body.movie_title).to.be.a('string');
        expect(new Date(res.body.date_time).getTime()).to.equal(show.date_time.getTime());
      } finally {
        await queue.obliterate({ force: true });
      }
    });

    it('when sales open later, then the show is scheduled', async () => {
      const show = await createShow({ sales_open_at: new Date(Date.now() + 3600_000) });
      const res = await t.api.get(`/shows/${show.id}`);
      expect(res.body.status).to.equal('scheduled');
      expect(new Date(res.body.sales_open_at).getTime()).to.equal(show.sales_open_at!.getTime());
    });

    it('when the show has started, then it is closed', async () => {
      const show = await createShow({ date_time: new Date(Date.now() - 60_000) });
      expect((await t.api.get(`/shows/${show.id}`)).body.status).to.equal('closed');
    });

    it('when every seat is booked, then the show is sold_out with 0 available', async () => {
      const show = await createShow({ total_seats: 3 });
      await book(show, customer.id, [1, 2, 3]);
      const res = await t.api.get(`/shows/${show.id}`);
      expect(res.body).to.include({ status: 'sold_out', available_seats: 0 });
    });

    it('when the show id is unknown or malformed, then GET /shows/:id answers 404 or 400', async () => {
      expect((await t.api.get('/shows/2147483647')).status).to.equal(404);
      expect((await t.api.get('/shows/seven')).status).to.equal(400);
    });
  });
});
