import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { config } from '../../shared/config';
import { scanKeys } from '../../shared/redis';
import { createUser, TEST_PASSWORD, TestUser } from '../support/fixtures';
import { TestGateway } from '../support/gateway';
import { HttpResult } from '../support/http';
import { addressBucket } from '../../services/gateway/security/login-limiter';
import { expectCleanError, forgetRateLimits, stopAndForgetRateLimits, randomIp, startSecurityGateway } from './security-helpers';

const PER_USER = 2;
const PER_IP = 2;
const WINDOW = 120;

function expectTooMany(res: HttpResult) {
  expectCleanError(res, [429]);
  expect(res.body.error.code).to.equal('TOO_MANY_ATTEMPTS');
  const after = Number(res.headers.get('retry-after'));
  expect(after, 'Retry-After in seconds').to.be.within(1, WINDOW);
}

describe('login brute force: per username and per address, in Redis', function () {
  this.timeout(60_000);
  let t: TestGateway;
  const login = (username: string, password: string, ip: string) => t.api.post('/login', { body: { username, password }, headers: { 'x-forwarded-for': ip } });
  const wrong = (u: TestUser, ip: string) => login(u.username, 'wrong-password', ip);

  before(async () => {
    t = await startSecurityGateway({ LOGIN_MAX_FAILURES_PER_USER: PER_USER, LOGIN_MAX_FAILURES_PER_IP: PER_IP, LOGIN_FAILURE_WINDOW_SECONDS: WINDOW });
  });
  after(() => stopAndForgetRateLimits(t));

  it(`when a username has failed ${PER_USER} times, then the next login answers 429 with Retry-After, even with the right password and from another address`, async () => {
    const user = await createUser();
    const failures = await Promise.all(Array.from({ length: PER_USER }, () => wrong(user, randomIp())));
    failures.forEach((res) => expectCleanError(res, [401]));
    expectTooMany(await login(user.username, TEST_PASSWORD, randomIp()));
    expectTooMany(await wrong(user, randomIp()));
    const keys = await scanKeys(t.gw.deps.redis, `${config().QUEUE_PREFIX}:rl:login-user:${user.username}`);
    expect(keys, 'the count lives in Redis under QUEUE_PREFIX').to.have.length(1);
  });

  it('when 8 wrong guesses for one username arrive at once, then only the allowed number is checked and the rest answer 429', async () => {
    const user = await createUser();
    const answers = await Promise.all(Array.from({ length: 8 }, () => wrong(user, randomIp())));
    expect(answers.filter((a) => a.status === 401)).to.have.length(PER_USER);
    answers.filter((a) => a.status !== 401).forEach(expectTooMany);
  });

  it('when a login succeeds, then the username\'s earlier failures are forgotten', async () => {
    const user = await createUser();
    const ip = randomIp();
    expectCleanError(await wrong(user, ip), [401]);
    expect((await login(user.username, TEST_PASSWORD, ip)).status).to.equal(200);
    // Without the reset this would be attempt PER_USER + 1 and answer 429.
    expectCleanError(await wrong(user, ip), [401]);
  });

  it(`when one address has failed ${PER_IP} times over different usernames, then its next login answers 429; other addresses are not affected`, async () => {
    const ip = randomIp();
    const users = await Promise.all(Array.from({ length: PER_IP + 1 }, () => createUser()));
    const failures = await Promise.all(users.slice(0, PER_IP).map((u) => wrong(u, ip)));
    failures.forEach((res) => expectCleanError(res, [401]));
    const last = users[PER_IP];
    expectTooMany(await login(last.username, TEST_PASSWORD, ip));
    // One trusted proxy: only the last X-Forwarded-For entry (the one it added) counts, so a forged first entry changes nothing.
    expectTooMany(await login(last.username, TEST_PASSWORD, `203.0.113.${randomBytes(1)[0]}, ${ip}`));
    expect((await login(last.username, TEST_PASSWORD, randomIp())).status, 'another address').to.equal(200);
  });

  it(`when one address logs in successfully ${PER_IP + 1} times, then none of it counts toward its failure limit`, async () => {
    const ip = randomIp();
    const users = await Promise.all(Array.from({ length: PER_IP + 1 }, () => createUser()));
    const answers = await Promise.all(users.map((u) => login(u.username, TEST_PASSWORD, ip)));
    expect(answers.map((a) => a.status)).to.deep.equal(users.map(() => 200));
  });

  it('when the gateway trusts no proxy (TRUST_PROXY_HOPS=0), then a forged X-Forwarded-For does not give a fresh address', async () => {
    const direct = await startSecurityGateway({ TRUST_PROXY_HOPS: 0, LOGIN_MAX_FAILURES_PER_USER: 100, LOGIN_MAX_FAILURES_PER_IP: 2, LOGIN_FAILURE_WINDOW_SECONDS: WINDOW });
    try {
      // Without a trusted proxy every caller in this run is 127.0.0.1: failed logins other suites
      // sent from it must not count here.
      await forgetRateLimits(direct);
      const users = await Promise.all([createUser(), createUser(), createUser()]);
      for (const u of users.slice(0, 2)) expectCleanError(await direct.api.post('/login', { body: { username: u.username, password: 'nope' }, headers: { 'x-forwarded-for': randomIp() } }), [401]);
      expectTooMany(await direct.api.post('/login', { body: { username: users[2].username, password: TEST_PASSWORD }, headers: { 'x-forwarded-for': randomIp() } }));
    } finally {
      await stopAndForgetRateLimits(direct);
    }
  });

  it('when client addresses are bucketed, then IPv4 (also IPv4-mapped) counts alone and IPv6 counts per /64', () => {
    expect(addressBucket('::ffff:10.1.2.3')).to.equal('10.1.2.3');
    expect(addressBucket('10.1.2.3')).to.equal('10.1.2.3');
    expect(addressBucket('2001:db8:1:2:aaaa::1')).to.equal('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:2:ffff:ffff:ffff:ffff')).to.equal('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::5')).to.equal('2001:db8:0:0::/64');
    expect(addressBucket('::1')).to.equal('0:0:0:0::/64');
  });
});
