import { scryptSync } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { Tokens } from '../../services/gateway/auth/tokens';
import { config } from '../../shared/config';
import { User } from '../../shared/db/models';
import { expectMatchesSpec } from '../support/contract';
import { createUser, TestUser } from '../support/fixtures';
import { heardOfChange, testDb, TestGateway } from '../support/gateway';
import { foundationGateway } from './shared-gateway';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const unique = (p: string) => `${p}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

function expectUnauthorized(res: { status: number; body: any; headers: Headers }, operationId = 'listMyBookings') {
  expect(res.status, JSON.stringify(res.body)).to.equal(401);
  expect(res.body.error.code).to.equal('UNAUTHORIZED');
  expectMatchesSpec(operationId, 401, res.body);
  if (operationId === 'listMyBookings') expect(res.headers.get('www-authenticate')).to.match(/^Bearer realm="boxoffice"/);
}

describe('auth: signup, login, refresh and token checks', () => {
  let t: TestGateway;
  const password = 'a-long-password-1';
  const signedUp = { username: unique('alice'), email: `${unique('alice')}@Example.com`, password };
  let signupBody: any;
  let pair: any;

  before(async () => {
    t = await foundationGateway();
    testDb();
    const res = await t.api.post('/signup', { body: signedUp });
    expect(res.status, res.text).to.equal(201);
    signupBody = res.body;
    const login = await t.api.post('/login', { body: { username: signedUp.username, password } });
    expect(login.status, login.text).to.equal(200);
    pair = login.body;
  });

  describe('signup', () => {
    it('when the input is valid, then it answers 201 {id, username, email} with the email lower-cased', () => {
      expectMatchesSpec('signup', 201, signupBody);
      expect(signupBody).to.have.all.keys('id', 'username', 'email');
      expect(signupBody.username).to.equal(signedUp.username);
      expect(signupBody.email).to.equal(signedUp.email.toLowerCase());
      expect(signupBody.id).to.be.a('number');
    });

    it('when a user signs up, then the stored hash is scrypt N=131072 r=8 p=1 and holds no plaintext', async () => {
      const row = await User.query().findById(signupBody.id);
      expect(row!.role).to.equal('customer');
      const parts = row!.password_hash.split('$');
      expect(parts.slice(0, 4)).to.deep.equal(['scrypt', '131072', '8', '1']);
      expect(row!.password_hash).not.to.include(password);
      const salt = Buffer.from(parts[4], 'base64');
      const key = scryptSync(password, salt, Buffer.from(parts[5], 'base64').length, { N: 131072, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
      expect(key.toString('base64')).to.equal(parts[5]);
    });

    const bad: [string, Record<string, unknown>, string][] = [
      ['the password is shorter than 8 characters', { username: unique('b'), email: 'b@example.com', password: 'short7!' }, 'body/password'],
      ['the email is invalid', { username: unique('b'), email: 'not-an-email', password }, 'body/email'],
      ['an unknown field is sent', { username: unique('b'), email: 'b@example.com', password, role: 'admin' }, 'body/role'],
      ['a field is missing', { username: unique('b'), password }, 'body/email'],
      ['a field has the wrong type', { username: 12345, email: 'b@example.com', password }, 'body/username'],
    ];
    for (const [when, body, field] of bad) {
      it(`when ${when}, then it answers 400 naming ${field}`, async () => {
        const res = await t.api.post('/signup', { body });
        expect(res.status, res.text).to.equal(400);
        expectMatchesSpec('signup', 400, res.body);
        expect(res.body.error.code).to.equal('VALIDATION_FAILED');
        expect(res.body.error.details.map((d: any) => d.field)).to.include(field);
      });
    }

    it('when the username is taken, then it answers 409 with details.field username', async () => {
      const res = await t.api.post('/signup', { body: { ...signedUp, email: `${unique('other')}@example.com` } });
      expect(res.status, res.text).to.equal(409);
      expectMatchesSpec('signup', 409, res.body);
      expect(res.body.error.details).to.deep.equal({ field: 'username' });
    });

    it('when the email is taken (in any letter case), then it answers 409 with details.field email', async () => {
      const res = await t.api.post('/signup', { body: { ...signedUp, username: unique('other'), email: signedUp.email.toUpperCase() } });
      expect(res.status, res.text).to.equal(409);
      expect(res.body.error.details).to.deep.equal({ field: 'email' });
    });

    it('when two signups race for one username, then one gets 201 and the other 409 username', async () => {
      const username = unique('race');
      const [a, b] = await Promise.all([1, 2].map((i) => t.api.post('/signup', { body: { username, email: `${username}${i}@example.com`, password } })));
      expect([a.status, b.status].sort()).to.deep.equal([201, 409]);
      const lost = a.status === 409 ? a : b;
      expectMatchesSpec('signup', 409, lost.body);
      expect(lost.body.error.details).to.deep.equal({ field: 'username' });
      expect(await User.query().where('username', username).resultSize()).to.equal(1);
    });
  });

  describe('login and refresh', () => {
    it('when the password is right, then it answers 200 with an access and a refresh token', () => {
      expectMatchesSpec('login', 200, pair);
      expect(pair.token_type).to.equal('Bearer');
      expect(pair.expires_in).to.equal(config().ACCESS_TOKEN_TTL);
      expect(pair.access).to.not.equal(pair.refresh);
    });

    it('when the password is wrong, then it answers 401', async () => {
      const res = await t.api.post('/login', { body: { username: signedUp.username, password: 'wrong-password' } });
      expectUnauthorized(res, 'login');
    });

    it('when the user is unknown, then it answers 401', async () => {
      const res = await t.api.post('/login', { body: { username: unique('nobody'), password } });
      expectUnauthorized(res, 'login');
    });

    it('when the login body lacks the password, then it answers 400', async () => {
      const res = await t.api.post('/login', { body: { username: signedUp.username } });
      expect(res.status).to.equal(400);
      expectMatchesSpec('login', 400, res.body);
    });

    it('when a refresh token is exchanged, then the new access token works on a protected route', async () => {
      const res = await t.api.post('/token/refresh', { body: { refresh: pair.refresh } });
      expect(res.status, res.text).to.equal(200);
      expectMatchesSpec('refreshToken', 200, res.body);
      expect(res.body.access).to.not.equal(pair.access);
      const mine = await t.api.get('/my-bookings', { token: res.body.access });
      expect(mine.status, mine.text).to.equal(200);
      expectMatchesSpec('listMyBookings', 200, mine.body);
    });

    it('when an access token is sent to /token/refresh, then it answers 401', async () => {
      expectUnauthorized(await t.api.post('/token/refresh', { body: { refresh: pair.access } }), 'refreshToken');
    });

    it('when the user of a refresh token has been deleted, then /token/refresh answers 401', async () => {
      const gone = await createUser();
      const refreshToken = new Tokens(config()).sign(gone, 'refresh');
      await User.query().deleteById(gone.id);
      expectUnauthorized(await t.api.post('/token/refresh', { body: { refresh: refreshToken } }), 'refreshToken');
    });

    it('when a garbage refresh token is sent, then it answers 401', async () => {
      expectUnauthorized(await t.api.post('/token/refresh', { body: { refresh: 'x.y.z' } }), 'refreshToken');
    });
  });

  describe('protected routes reject bad tokens', () => {
    let user: TestUser;
    const claimsOf = (u: TestUser, extra: object = {}) => ({ sub: String(u.id), role: u.role, typ: 'access', username: u.username, ...extra });
    const signWith = (claims: object, opts: jwt.SignOptions = {}, secret = config().JWT_SECRET) =>
      jwt.sign(claims, secret, { algorithm: 'HS256', issuer: config().JWT_ISSUER, audience: config().JWT_AUDIENCE, expiresIn: 300, ...opts });

    before(async () => {
      user = await createUser();
    });

    it('when a valid access token is sent, then the route answers 200 (the baseline for the cases below)', async () => {
      const res = await t.api.get('/my-bookings', { token: user.token });
      expect(res.status, res.text).to.equal(200);
    });

    it('when no Authorization header is sent, then it answers 401', async () => {
      const res = await t.api.get('/my-bookings');
      expectUnauthorized(res);
      expect(res.headers.get('www-authenticate')).to.not.include('invalid_token');
    });

    it('when the token is sent without the Bearer scheme, then it answers 401', async () => {
      expectUnauthorized(await t.api.get('/my-bookings', { headers: { authorization: user.token } }));
    });

    it('when the token is garbage, then it answers 401', async () => {
      expectUnauthorized(await t.api.get('/my-bookings', { token: 'not-a-jwt' }));
    });

    it('when the signature was made with another secret, then it answers 401', async () => {
      expectUnauthorized(await t.api.get('/my-bookings', { token: signWith(claimsOf(user), {}, 'another-secret-that-is-long-enough-0123456789') }));
    });

    it('when the token says alg none and has no signature, then it answers 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      const payload = { ...claimsOf(user), iss: config().JWT_ISSUER, aud: config().JWT_AUDIENCE, iat: now, exp: now + 300 };
      const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
      expectUnauthorized(await t.api.get('/my-bookings', { token }));
    });

    it('when the token is signed with HS512 instead of the pinned HS256, then it answers 401', async () => {
      expectUnauthorized(await t.api.get('/my-bookings', { token: signWith(claimsOf(user), { algorithm: 'HS512' }) }));
    });

    it('when the token has expired, then it answers 401', async () => {
      const past = Math.floor(Date.now() / 1000) - 60;
      const token = jwt.sign({ ...claimsOf(user), iat: past - 900, exp: past }, config().JWT_SECRET,
        { algorithm: 'HS256', issuer: config().JWT_ISSUER, audience: config().JWT_AUDIENCE });
      const res = await t.api.get('/my-bookings', { token });
      expectUnauthorized(res);
      expect(res.body.error.message).to.equal('The token has expired');
      expect(res.headers.get('www-authenticate')).to.include('error="invalid_token"');
    });

    it('when a token that was accepted before expires, then the same header is refused as expired', async () => {
      const exp = Math.floor(Date.now() / 1000) + 2;
      const token = jwt.sign({ ...claimsOf(user), exp }, config().JWT_SECRET, { algorithm: 'HS256', issuer: config().JWT_ISSUER, audience: config().JWT_AUDIENCE });
      const first = await t.api.get('/my-bookings', { token });
      expect(first.status, first.text).to.equal(200);
      await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
      const later = await t.api.get('/my-bookings', { token });
      expectUnauthorized(later);
      expect(later.body.error.message).to.equal('The token has expired');
    });

    it('when an accepted token is sent again with one byte of its signature changed, then it answers 401', async () => {
      const token = signWith(claimsOf(user));
      expect((await t.api.get('/my-bookings', { token })).status).to.equal(200);
      const last = token.at(-2) === 'A' ? 'B' : 'A';
      expectUnauthorized(await t.api.get('/my-bookings', { token: `${token.slice(0, -2)}${last}${token.at(-1)}` }));
      expect((await t.api.get('/my-bookings', { token })).status).to.equal(200);
    });

    it('when the issuer is wrong, then it answers 401', async () => {
      expectUnauthorized(await t.api.get('/my-bookings', { token: signWith(claimsOf(user), { issuer: 'someone-else' }) }));
    });

    it('when the audience is wrong, then it answers 401', async () => {
      expectUnauthorized(await t.api.get('/my-bookings', { token: signWith(claimsOf(user), { audience: 'another-api' }) }));
    });

    it('when a refresh token is used as an access token, then it answers 401', async () => {
      expectUnauthorized(await t.api.get('/my-bookings', { token: pair.refresh }));
    });

    it('when the token has no typ claim, then it answers 401', async () => {
      const { typ: _typ, ...claims } = claimsOf(user);
      expectUnauthorized(await t.api.get('/my-bookings', { token: signWith(claims) }));
    });

    it('when the user of a valid token has been deleted, then it answers 401', async () => {
      const gone = await createUser();
      await User.query().deleteById(gone.id);
      await heardOfChange(t.gw, gone.id);
      expectUnauthorized(await t.api.get('/my-bookings', { token: gone.token }));
    });
  });
});
