import { expect } from 'chai';
import { allSpecOperations, expectMatchesSpec } from '../support/contract';
import { createShow, createUser, TestUser } from '../support/fixtures';
import { TestGateway } from '../support/gateway';
import { foundationGateway } from './shared-gateway';

const ADMIN_ROUTES = [
  'POST /movies', 'PATCH /movies/{id}', 'DELETE /movies/{id}', 'POST /shows', 'PATCH /shows/{id}', 'DELETE /shows/{id}',
  'GET /admin/queues',
];

describe('roles: admin-only catalog routes', () => {
  let t: TestGateway;
  let customer: TestUser;
  let admin: TestUser;
  let movieId: number;
  let showId: number;

  before(async () => {
    t = await foundationGateway();
    [customer, admin] = [await createUser('customer'), await createUser('admin')];
    const show = await createShow();
    movieId = show.movie_id;
    showId = show.id;
  });

  const call = (route: string, token?: string) => {
    const [method, path] = route.split(' ');
    const url = path.replace('/movies/{id}', `/movies/${movieId}`).replace('/shows/{id}', `/shows/${showId}`);
    const body = method === 'PATCH' ? { screen_name: 'Changed' } : method === 'POST' ? { title: 'x' } : undefined;
    return t.api.request(method, url, { token, body });
  };

  it('when the spec is read, then exactly the catalog write routes and the queue dashboard are admin-only', () => {
    const admins = allSpecOperations().filter((o) => o.op['x-role'] === 'admin').map((o) => `${o.method} ${o.path}`);
    expect(admins.sort()).to.deep.equal([...ADMIN_ROUTES].sort());
  });

  for (const route of ADMIN_ROUTES) {
    it(`when a customer calls ${route}, then it answers 403 before looking at the body`, async () => {
      const res = await call(route, customer.token);
      expect(res.status, res.text).to.equal(403);
      expect(res.body.error.code).to.equal('FORBIDDEN');
    });

    it(`when nobody is logged in and calls ${route}, then it answers 401`, async () => {
      const res = await call(route);
      expect(res.status, res.text).to.equal(401);
      expect(res.body.error.code).to.equal('UNAUTHORIZED');
    });
  }

  it('when an admin creates, changes and deletes a movie and a show, then each call succeeds', async () => {
    const movie = await t.api.post('/movies', { token: admin.token, body: { title: 'Admin Cut', duration_minutes: 99 } });
    expect(movie.status, movie.text).to.equal(201);
    expectMatchesSpec('createMovie', 201, movie.body);
    const patched = await t.api.patch(`/movies/${movie.body.id}`, { token: admin.token, body: { description: 'Longer' } });
    expect(patched.status, patched.text).to.equal(200);
    expect(patched.body).to.include({ title: 'Admin Cut', description: 'Longer' });
    const date = new Date(Date.now() + 3 * 24 * 3600_000).toISOString();
    const show = await t.api.post('/shows', { token: admin.token, body: { movie_id: movie.body.id, screen_name: 'S1', date_time: date, total_seats: 40 } });
    expect(show.status, show.text).to.equal(201);
    const changed = await t.api.patch(`/shows/${show.body.id}`, { token: admin.token, body: { screen_name: 'S2' } });
    expect(changed.status, changed.text).to.equal(200);
    expect(changed.body.screen_name).to.equal('S2');
    expect((await t.api.delete(`/shows/${show.body.id}`, { token: admin.token })).status).to.equal(204);
    expect((await t.api.delete(`/movies/${movie.body.id}`, { token: admin.token })).status).to.equal(204);
    expect((await t.api.get(`/movies/${movie.body.id}`)).status).to.equal(404);
  });
});
