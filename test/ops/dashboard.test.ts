import { expect } from 'chai';
import { showQueueName } from '../../shared/queue/names';
import { createShow, createUser, TestUser } from '../support/fixtures';
import { startTestGateway, stopTestGateway, TestGateway } from '../support/gateway';
import { until } from './processes';

describe('ops: queue dashboard at /admin/queues', () => {
  let t: TestGateway;
  let admin: TestUser;
  let customer: TestUser;

  before(async () => {
    t = await startTestGateway();
    [admin, customer] = await Promise.all([createUser('admin'), createUser('customer')]);
  });
  after(() => stopTestGateway(t));

  it('when an admin sends a Bearer token, then it answers 200 with the Bull Board page', async () => {
    const res = await t.api.get('/admin/queues', { token: admin.token });
    expect(res.status, res.text).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/text\/html/);
    expect(res.text).to.include('<base href="/admin/queues/"');
    const css = /href="(static\/css\/[^"]+)"/.exec(res.text)?.[1];
    const asset = await t.api.get(`/admin/queues/${css}`, { token: admin.token });
    expect(asset.status, css).to.equal(200);
    expect(asset.headers.get('content-type')).to.match(/text\/css/);
  });

  it('when a customer asks, then it answers 403 FORBIDDEN', async () => {
    const res = await t.api.get('/admin/queues', { token: customer.token });
    expect(res.status).to.equal(403);
    expect(res.body.error.code).to.equal('FORBIDDEN');
  });

  it('when nobody is logged in, or the token is bad, then the page and its API answer 401', async () => {
    for (const [path, token] of [['/admin/queues', undefined], ['/admin/queues/api/queues', undefined], ['/admin/queues', 'not.a.jwt']] as const) {
      const res = await t.api.get(path, { token });
      expect(res.status, path).to.equal(401);
      expect(res.body.error.code).to.equal('UNAUTHORIZED');
    }
  });

  it('when an admin opens ?token=, then an HttpOnly cookie scoped to the dashboard is set and the cookie alone then opens it', async () => {
    const res = await fetch(`${t.url}/admin/queues?token=${admin.token}`, { redirect: 'manual' });
    expect(res.status).to.equal(303);
    expect(res.headers.get('location')).to.equal('/admin/queues');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).to.match(/^bx_queues=[^;]+;/);
    expect(cookie.toLowerCase()).to.include('httponly').and.include('samesite=strict').and.include('path=/admin/queues');
    const page = await t.api.get('/admin/queues', { headers: { cookie: cookie.split(';')[0] } });
    expect(page.status).to.equal(200);
    const customerCookie = await fetch(`${t.url}/admin/queues?token=${customer.token}`, { redirect: 'manual' });
    expect(customerCookie.status).to.equal(403);
    expect(customerCookie.headers.get('set-cookie')).to.equal(null);
  });

  it('when a show has queued work, then the dashboard API lists its queue read-only', async () => {
    const show = await createShow();
    const user = await createUser();
    const booked = await t.api.post(`/shows/${show.id}/book`, { token: user.token, body: { seat_number: 1 }, headers: { Prefer: 'respond-async' } });
    expect(booked.status).to.be.oneOf([201, 202]);
    let listed: { name: string; readOnlyMode: boolean } | undefined;
    await until(async () => {
      const res = await t.api.get('/admin/queues/api/queues', { token: admin.token });
      expect(res.status, res.text).to.equal(200);
      listed = res.body.queues.find((q: { name: string }) => q.name === showQueueName(show.id));
      return listed !== undefined;
    }, 10_000, 'the show queue to be listed');
    expect(listed!.readOnlyMode).to.equal(true);
  });
});
