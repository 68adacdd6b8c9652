import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger } from '../../shared/logger';
import { createShow } from '../support/fixtures';
import { startTestGateway, stopTestGateway, TestGateway } from '../support/gateway';
import type { Client } from '../support/http';

describe('ops: logs never carry secrets', () => {
  const lines: string[] = [];
  const secrets: string[] = [];
  let requests = 0;
  let send: Client['request'];
  let t: TestGateway;

  before(async () => {
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
    const log = createLogger('gateway', sink);
    log.level = 'trace';
    t = await startTestGateway({}, log);
    send = (method, path, opts) => {
      requests++;
      return t.api.request(method, path, opts);
    };
  });
  after(() => stopTestGateway(t));

  it('when a user signs up, logs in, refreshes and calls authenticated routes, then no password, token or Authorization value is logged', async () => {
    const username = `log_${randomBytes(4).toString('hex')}`;
    const password = `Pw-${randomBytes(8).toString('hex')}`;
    const wrongPassword = `Wrong-${randomBytes(8).toString('hex')}`;
    secrets.push(password, wrongPassword);
    expect((await send('POST', '/signup', { body: { username, email: `${username}@example.com`, password } })).status).to.equal(201);
    expect((await send('POST', '/login', { body: { username, password: wrongPassword } })).status).to.equal(401);
    const login = await send('POST', '/login', { body: { username, password } });
    expect(login.status).to.equal(200);
    const { access, refresh } = login.body;
    secrets.push(access, refresh, ...access.split('.').slice(1), ...refresh.split('.').slice(1));
    const refreshed = await send('POST', '/token/refresh', { body: { refresh } });
    expect(refreshed.status).to.equal(200);
    secrets.push(refreshed.body.access, ...refreshed.body.access.split('.').slice(1));
    expect((await send('GET', '/my-bookings', { token: access })).status).to.equal(200);
    const show = await createShow();
    const booked = await send('POST', `/shows/${show.id}/book`, { token: access, body: { seat_number: 1 }, headers: { Prefer: 'respond-async' } });
    expect(booked.status).to.be.oneOf([201, 202]);
    expect((await send('POST', '/login', { raw: `{"username":"${username}","password":"${password}"`, headers: { 'content-type': 'application/json' } })).status).to.equal(400);
    expect((await send('GET', '/my-bookings', { headers: { authorization: `Bearer ${access}x` } })).status).to.equal(401);
    expect((await send('GET', `/admin/queues?token=${access}`)).status).to.equal(403);
    expect((await send('POST', '/token/refresh', { body: { refresh: access } })).status).to.equal(401);

    const text = lines.join('\n');
    for (const secret of secrets) expect(text.includes(secret), `a secret of ${secret.length} characters appears in the logs`).to.equal(false);
    expect(text).to.not.match(/Bearer\s/i);
    expect(text).to.not.match(/"authorization"\s*:\s*"(?!\[redacted\])/i);
    expect(text).to.not.include('"cookie"');
  });

  it('when requests are served, then each gets exactly one JSON "request" line with request id, route, status and duration', () => {
    const entries = lines.map((l) => JSON.parse(l));
    const perRequest = entries.filter((e) => e.msg === 'request');
    expect(perRequest).to.have.length(requests);
    for (const e of perRequest) {
      expect(e).to.include.keys('request_id', 'method', 'route', 'status', 'duration_ms', 'time', 'level');
      expect(e.route, 'the route is a template, never a query string').to.not.include('?');
    }
    const booking = perRequest.find((e) => e.route === '/shows/{id}/book');
    expect(booking).to.include.keys('job_id', 'show_id', 'user_id');
  });
});
