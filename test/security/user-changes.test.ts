import { expect } from 'chai';
import { UserChanges } from '../../services/gateway/auth/user-changes';
import { config } from '../../shared/config';
import { User } from '../../shared/db/models';
import { createLogger } from '../../shared/logger';
import { createUser, TestUser } from '../support/fixtures';
import { until } from '../ops/processes';
import { startTestGateway, stopTestGateway, testDb, TestGateway } from '../support/gateway';

describe('auth: deletions and role changes of users reach the gateway from Postgres', function () {
  this.timeout(30_000);
  let t: TestGateway;
  let roleLookups: number[];

  before(async () => {
    t = await startTestGateway();
    testDb();
    await until(() => t.gw.deps.userChanges.connected, 5000, 'the change feed listening');
    // Counts what the user directory is asked (it still answers as always).
    roleLookups = [];
    const directory = t.gw.deps.users;
    const role = directory.role.bind(directory);
    directory.role = (id: number) => {
      roleLookups.push(id);
      return role(id);
    };
  });
  after(() => stopTestGateway(t));

  const myBookings = (u: TestUser) => t.api.get('/my-bookings', { token: u.token }).then((r) => r.status);

  it('when a customer nothing has changed of calls, then the token is taken at its word and the user directory is not asked', async () => {
    const user = await createUser();
    expect(await myBookings(user)).to.equal(200);
    expect(await myBookings(user)).to.equal(200);
    expect(roleLookups).to.not.include(user.id);
  });

  it('when a customer who has called before is deleted, then their token answers 401 within a second, not after a cache expires', async () => {
    const user = await createUser();
    expect(await myBookings(user)).to.equal(200);
    await User.query().deleteById(user.id);
    const ms = await until(async () => (await myBookings(user)) === 401, 1000, '401 for the deleted user');
    expect(ms).to.be.below(1000);
    expect(roleLookups, 'a changed user is asked of the directory').to.include(user.id);
  });

  it('when an admin is demoted to customer, then admin operations answer 403 within a second; when promoted again, 201', async () => {
    const admin = await createUser('admin');
    const createMovie = () => t.api.post('/movies', { token: admin.token, body: { title: `m-${Date.now()}`, duration_minutes: 100 } }).then((r) => r.status);
    expect(await createMovie()).to.equal(201);
    await User.query().findById(admin.id).patch({ role: 'customer' });
    await until(async () => (await createMovie()) === 403, 1000, '403 once demoted');
    await User.query().findById(admin.id).patch({ role: 'admin' });
    await until(async () => (await createMovie()) === 201, 1000, '201 once promoted');
  });

  it('when a customer\'s token claims admin, then the directory decides (403), whatever the change feed knows', async () => {
    const customer = await createUser();
    const forged = t.gw.deps.tokens.sign({ id: customer.id, role: 'admin', username: customer.username }, 'access');
    const res = await t.api.post('/movies', { token: forged, body: { title: 'x', duration_minutes: 100 } });
    expect(res.status).to.equal(403);
    expect(roleLookups).to.include(customer.id);
  });

  it('when the feed\'s connection is lost, then every user is looked up (a deletion counts at once) until it listens again, having read what changed meanwhile', async () => {
    const [seen, later] = await Promise.all([createUser(), createUser()]);
    expect(await myBookings(seen)).to.equal(200);
    const killed = await testDb().raw(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gateway-user-changes' AND datname = current_database()");
    expect(killed.rows.length).to.be.greaterThan(0);
    await until(() => !t.gw.deps.userChanges.connected, 2000, 'the feed noticing the lost connection');
    const asked = roleLookups.length;
    expect(await myBookings(seen)).to.equal(200);
    expect(roleLookups.slice(asked), 'an unchanged customer is asked of the directory while nothing is heard').to.include(seen.id);
    await testDb()('users').where('id', later.id).delete();
    expect(await myBookings(later)).to.equal(401);
    expect(t.gw.deps.userChanges.connected, 'still not listening when checked').to.equal(false);
    const ms = await until(() => t.gw.deps.userChanges.connected, 5000, 'the feed listening again');
    expect(ms).to.be.below(5000);
    expect(await myBookings(later)).to.equal(401);
    const again = roleLookups.length;
    expect(await myBookings(seen)).to.equal(200);
    expect(roleLookups.slice(again), 'listening again, the unchanged customer is not asked').to.not.include(seen.id);
  });

  it('when its heartbeats do not come back on the channel (as behind a pooler in transaction mode), then the feed is not trusted', async () => {
    const silent = createLogger('test', { write: () => undefined });
    const deaf = new UserChanges(config().DATABASE_URL, silent, async () => undefined);
    try {
      await deaf.start();
      const user = await createUser();
      expect(deaf.connected).to.equal(false);
      expect(deaf.unchanged(user.id)).to.equal(false);
    } finally {
      await deaf.stop();
    }
  });
});
