import { expect } from 'chai';
import type Router from '@koa/router';
import { createApp } from '../../services/gateway/app';
import { Movie } from '../../shared/db/models';
import { listOperations, loadSpec } from '../../shared/openapi';
import { allSpecOperations, expectMatchesSpec } from '../support/contract';
import { createShow, createUser, TEST_PASSWORD, TestUser } from '../support/fixtures';
import { TestGateway } from '../support/gateway';
import { foundationGateway } from './shared-gateway';

/**
 * Every router the real app mounts: those of the spec's routes (`routers`), and any mounted as is
 * (found through the dispatch middleware @koa/router marks with `.router`).
 */
function mountedRouters(t: TestGateway): Router[] {
  const app = createApp(t.gw.deps);
  return app.middleware.flatMap((m) => {
    const mounted = m as unknown as { router?: Router; routers?: Router[] };
    return mounted.routers ?? (mounted.router ? [mounted.router] : []);
  });
}

const specRoutes = () => listOperations().map((o) => `${o.method.toUpperCase()} ${o.koaPath}`).sort();

describe('contract: the OpenAPI document and the gateway agree', () => {
  let t: TestGateway;
  let customer: TestUser;

  before(async () => {
    t = await foundationGateway();
    customer = await createUser();
  });

  describe('spec and routes', () => {
    it('when the real app is built, then its router serves exactly the operations of openapi.yaml', () => {
      const routers = mountedRouters(t);
      expect(routers, 'the app mounts the spec router').to.have.length.greaterThan(0);
      const routes = routers.flatMap((r) => r.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${layer.path}`)));
      expect(routes.length, 'no route is registered twice').to.equal(new Set(routes).size);
      expect([...routes].sort()).to.deep.equal(specRoutes());
    });

    it('when each spec operation (mounted apps included) is called over HTTP, then something serves it (never the unknown-route 404 or a 405)', async () => {
      for (const op of allSpecOperations()) {
        const path = op.path.replace('{id}', op.path.startsWith('/jobs') ? '1-x' : '1');
        const res = await t.api.request(op.method, path, { headers: { accept: 'application/json' } });
        expect(res.status, `${op.method} ${op.path}`).to.not.equal(405);
        expect(res.body?.error?.message ?? '', `${op.method} ${op.path}`).to.not.match(/^No route/);
      }
    });

    it('when every operation is listed, then each has a unique operationId, a summary and documented responses', () => {
      const ops = listOperations();
      expect(new Set(ops.map((o) => o.operationId)).size).to.equal(ops.length);
      for (const o of ops) {
        expect(o.op.summary, o.operationId).to.be.a('string');
        expect(Object.keys(o.op.responses ?? {}), o.operationId).to.have.length.greaterThan(0);
        if (o.op.security?.length) expect(o.op.responses, `${o.operationId} documents 401`).to.have.property('401');
        if (o.op['x-role']) expect(o.op.responses, `${o.operationId} documents 403`).to.have.property('403');
        if (o.op.requestBody) expect(o.op.responses, `${o.operationId} documents 400`).to.have.property('400');
      }
    });

    it('when GET /openapi.json is called, then it serves the whole document with bearer auth declared', async () => {
      const res = await t.api.get('/openapi.json');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/application\/json/);
      expect(res.body).to.deep.equal(JSON.parse(JSON.stringify(loadSpec())));
      expect(res.body.openapi).to.match(/^3\.1\./);
      expect(res.body.components.securitySchemes.bearer).to.include({ type: 'http', scheme: 'bearer' });
    });

    it('when GET /docs is called, then it serves the Swagger UI page pointing at /openapi.json', async () => {
      const res = await t.api.get('/docs');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/text\/html/);
      expect(res.text).to.include('swagger-ui');
      expect(res.text).to.include('SwaggerUIBundle');
      expect(res.text).to.include('/openapi.json');
      expect(res.text).to.include('persistAuthorization');
    });
  });

  describe('bad requests get the one error shape', () => {
    it('when the JSON body is malformed, then it answers 400 MALFORMED_JSON', async () => {
      const res = await t.api.post('/signup', { raw: '{"username": "x",' });
      expect(res.status, res.text).to.equal(400);
      expectMatchesSpec('signup', 400, res.body);
      expect(res.body.error.code).to.equal('MALFORMED_JSON');
    });

    it('when the JSON body is a bare string, then it answers 400 MALFORMED_JSON', async () => {
      const res = await t.api.post('/login', { raw: '"admin"' });
      expect(res.status, res.text).to.equal(400);
      expect(res.body.error.code).to.equal('MALFORMED_JSON');
    });

    it('when the JSON body is an array, then it answers 400 VALIDATION_FAILED', async () => {
      const res = await t.api.post('/login', { raw: '[]' });
      expect(res.status, res.text).to.equal(400);
      expect(res.body.error.code).to.equal('VALIDATION_FAILED');
    });

    it('when the body is sent as text/plain or a form, then it answers 415', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        const res = await t.api.post('/login', { raw: 'username=a&password=b', headers: { 'content-type': type } });
        expect(res.status, `${type}: ${res.text}`).to.equal(415);
        expectMatchesSpec('login', 415, res.body);
        expect(res.body.error.code).to.equal('UNSUPPORTED_MEDIA_TYPE');
      }
    });

    it('when a route that needs a body gets none, then it answers 400', async () => {
      const res = await t.api.post('/token/refresh');
      expect(res.status, res.text).to.equal(400);
      expectMatchesSpec('refreshToken', 400, res.body);
    });

    it('when the body is over the size limit, then it answers 413', async () => {
      const res = await t.api.post('/login', { body: { username: 'x', password: 'y'.repeat(64 * 1024) } });
      expect(res.status, res.text).to.equal(413);
      expectMatchesSpec('login', 413, res.body);
    });

    it('when a query parameter is repeated, then it answers 400 rather than guessing', async () => {
      const res = await t.api.get('/movies?limit=1&limit=2');
      expect(res.status, res.text).to.equal(400);
    });

    it('when the route is unknown, then it answers a JSON 404 in the error shape', async () => {
      const res = await t.api.get('/no/such/thing');
      expect(res.status).to.equal(404);
      expect(res.headers.get('content-type')).to.match(/application\/json/);
      expect(res.body).to.deep.equal({ error: { code: 'NOT_FOUND', message: 'No route for GET /no/such/thing' } });
    });

    it('when the method is wrong for a known path, then it answers a JSON 405 with Allow', async () => {
      const res = await t.api.request('PUT', '/movies');
      expect(res.status, res.text).to.equal(405);
      expect(res.body.error.code).to.equal('METHOD_NOT_ALLOWED');
      expect(res.headers.get('allow')?.split(', ')).to.include.members(['GET', 'POST']);
    });

    it('when a body field has the wrong type, then details name the field and nothing reaches the database', async () => {
      const before = await Movie.query().resultSize();
      const res = await t.api.post('/movies', { token: (await createUser('admin')).token, body: { title: ['x'], duration_minutes: '90' } });
      expect(res.status, res.text).to.equal(400);
      const fields = res.body.error.details.map((d: any) => d.field);
      expect(fields).to.include.members(['body/title', 'body/duration_minutes']);
      expect(await Movie.query().resultSize()).to.equal(before);
    });
  });

  describe('responses match their schemas', () => {
    it('when the main auth and catalog routes answer, then each body matches the spec', async () => {
      const show = await createShow({ total_seats: 12 });
      const checks: [string, string, string][] = [
        ['listMovies', 'GET', '/movies'],
        ['getMovie', 'GET', `/movies/${show.movie_id}`],
        ['listMovieShows', 'GET', `/movies/${show.movie_id}/shows`],
        ['getShow', 'GET', `/shows/${show.id}`],
        ['getSeatMap', 'GET', `/shows/${show.id}/seats`],
        ['healthz', 'GET', '/healthz'],
        ['readyz', 'GET', '/readyz'],
        ['getMovie', 'GET', '/movies/2147483647'],
        ['getShow', 'GET', '/shows/2147483647'],
      ];
      for (const [operationId, method, path] of checks) {
        const res = await t.api.request(method, path);
        expectMatchesSpec(operationId, res.status, res.body);
      }
      const mine = await t.api.get('/my-bookings', { token: customer.token });
      expectMatchesSpec('listMyBookings', mine.status, mine.body);
      const login = await t.api.post('/login', { body: { username: customer.username, password: TEST_PASSWORD } });
      expect(login.status, login.text).to.equal(200);
      expectMatchesSpec('login', 200, login.body);
    });

    it('when a response has a field the spec does not declare, then expectMatchesSpec fails', () => {
      expect(() => expectMatchesSpec('getMovie', 200, { id: 1, title: 't', duration_minutes: 1, description: '', secret: 1 })).to.throw(/secret|unevaluated/);
      expect(() => expectMatchesSpec('getMovie', 200, { id: 1, title: 't', duration_minutes: 1, description: '' })).to.not.throw();
    });
  });
});
