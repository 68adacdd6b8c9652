import http from 'node:http';
import { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import knexFactory from 'knex';
import pino from 'pino';
import { createApp } from '../../services/gateway/app';
import type { GatewayDeps } from '../../services/gateway/deps';
import { readiness } from '../../services/gateway/ops/ops.routes';
import { createRedis } from '../../shared/redis';
import { onCleanup } from '../support/cleanup';
import { expectMatchesSpec } from '../support/contract';
import { createShow } from '../support/fixtures';
import { TestGateway } from '../support/gateway';
import { foundationGateway } from './shared-gateway';
import { client, Client } from '../support/http';

/** Serves the real app over a socket with some dependencies swapped (an unreachable store, a capturing logger). */
async function serveWith(deps: GatewayDeps): Promise<Client> {
  const server = http.createServer(createApp(deps).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  return client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

function deadRedis() {
  const redis = createRedis({ blocking: false, name: 'dead', url: 'redis://127.0.0.1:1', nodes: '' });
  redis.on('error', () => undefined);
  onCleanup(async () => redis.disconnect());
  return redis;
}

describe('ops: liveness, readiness and request ids', () => {
  let t: TestGateway;

  before(async () => {
    t = await foundationGateway();
  });

  it('when GET /healthz is called, then it answers 200', async () => {
    const res = await t.api.get('/healthz');
    expect(res.status).to.equal(200);
    expectMatchesSpec('healthz', 200, res.body);
    expect(res.body.status).to.equal('ok');
  });

  it('when Postgres and Redis are reachable, then GET /readyz answers 200 with both checks ok', async () => {
    const res = await t.api.get('/readyz');
    expect(res.status, res.text).to.equal(200);
    expectMatchesSpec('readyz', 200, res.body);
    expect(res.body).to.deep.equal({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('when Redis is unreachable, then readiness() is not ready and names the Redis failure', async () => {
    const report = await readiness({ db: t.gw.deps.db, redis: deadRedis() });
    expect(report.ready).to.equal(false);
    expect(report.checks.postgres).to.equal('ok');
    expect(report.checks.redis).to.not.equal('ok');
  });

  it('when Postgres is unreachable, then readiness() is not ready and names the Postgres failure', async () => {
    const quiet = () => undefined;
    const db = knexFactory({
      client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none', pool: { min: 0, max: 1 },
      log: { warn: quiet, error: quiet, debug: quiet, deprecate: quiet },
    });
    onCleanup(() => db.destroy());
    const report = await readiness({ db, redis: t.gw.deps.redis });
    expect(report.ready).to.equal(false);
    expect(report.checks.redis).to.equal('ok');
    expect(report.checks.postgres).to.not.equal('ok');
  });

  it('when the app runs with Redis unreachable, then GET /readyz answers 503 unavailable while /healthz stays 200', async () => {
    const api = await serveWith({ ...t.gw.deps, redis: deadRedis() });
    const res = await api.get('/readyz');
    expect(res.status, res.text).to.equal(503);
    expectMatchesSpec('readyz', 503, res.body);
    expect(res.body.status).to.equal('unavailable');
    expect(res.body.checks.postgres).to.equal('ok');
    expect((await api.get('/healthz')).status).to.equal(200);
  });

  it('when a request carries X-Request-Id, then the response echoes it', async () => {
    const res = await t.api.get('/healthz', { headers: { 'x-request-id': 'trace-42.a_b' } });
    expect(res.headers.get('x-request-id')).to.equal('trace-42.a_b');
  });

  it('when a request has no usable X-Request-Id, then the response carries a fresh one', async () => {
    const none = await t.api.get('/healthz');
    const bad = await t.api.get('/healthz', { headers: { 'x-request-id': 'has spaces and "quotes"' } });
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(none.headers.get('x-request-id')).to.match(uuid);
    expect(bad.headers.get('x-request-id')).to.match(uuid);
    expect(none.headers.get('x-request-id')).to.not.equal(bad.headers.get('x-request-id'));
  });

  it('when a request ends, then one JSON log line carries its request id, route and status but no secrets', async () => {
    const lines: any[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
    const api = await serveWith({ ...t.gw.deps, log: pino({ level: 'info' }, sink) });
    await api.post('/token/refresh', { body: { refresh: 'secret-refresh-value' }, headers: { 'x-request-id': 'log-check-1' } });
    const entry = lines.find((l) => l.request_id === 'log-check-1' && l.msg === 'request');
    expect(entry, JSON.stringify(lines)).to.include({ method: 'POST', route: '/token/refresh', status: 401, error_code: 'UNAUTHORIZED' });
    expect(entry.duration_ms).to.be.a('number');
    expect(JSON.stringify(lines)).to.not.include('secret-refresh-value');
  });

  it('when a handler fails unexpectedly, then the client gets a bare 500 INTERNAL and the error is logged', async () => {
    const lines: any[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
    const broken = { zcard: () => Promise.reject(new TypeError('internal detail xyz')), llen: () => Promise.resolve(0) };
    const api = await serveWith({ ...t.gw.deps, redis: broken as never, log: pino({ level: 'info' }, sink) });
    const show = await createShow();
    const res = await api.get(`/shows/${show.id}`);
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal({ error: { code: 'INTERNAL', message: 'Internal server error' } });
    expect(lines.some((l) => l.msg === 'unhandled error' && JSON.stringify(l).includes('internal detail xyz'))).to.equal(true);
  });
});
