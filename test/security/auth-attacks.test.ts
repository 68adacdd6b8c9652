import { createHmac, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { config } from '../../shared/config';
import { User } from '../../shared/db/models';
import { listOperations } from '../../shared/openapi';
import { createShow, createUser, TestUser } from '../support/fixtures';
import { stopTestGateway, testDb, TestGateway } from '../support/gateway';
import { HttpResult } from '../support/http';
import { expectCleanError, startSecurityGateway, suiteWorker } from './security-helpers';

const b64 = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const hs256 = (input: string, secret: string | Buffer) => createHmac('sha256', secret).update(input).digest('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** Claims the gateway would issue for `user`, valid for five minutes. */
function claimsOf(user: TestUser, extra: Record<string, unknown> = {}) {
  const cfg = config();
  return { sub: String(user.id), role: user.role, typ: 'access', username: user.username, iss: cfg.JWT_ISSUER, aud: cfg.JWT_AUDIENCE, iat: now(), exp: now() + 300, ...extra };
}

/** A compact JWS with any header, payload and HMAC key (or a given signature). */
function forge(header: object, payload: object, key?: string | Buffer, signature?: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signature ?? (key === undefined ? '' : hs256(input, key))}`;
}

function expectNoDataOf(res: HttpResult, owner: TestUser, secrets: string[]) {
  for (const s of [owner.username, ...secrets]) expect(res.text, `the answer mentions ${s}`).not.to.include(s);
}

describe('authentication and authorization attacks', function () {
  this.timeout(30_000);
  suiteWorker();
  let t: TestGateway;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  const secret = () => config().JWT_SECRET;

  before(async () => {
    [t, alice, bob, admin] = await Promise.all([startSecurityGateway(), createUser(), createUser(), createUser('admin')]);
  });
  after(() => stopTestGateway(t));

  describe('tokens that must not authenticate (401)', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const cases: [string, () => string | Promise<string>][] = [
      ['alg none without a signature', () => forge({ alg: 'none', typ: 'JWT' }, claimsOf(alice))],
      ['alg None with the original signature', () => forge({ alg: 'None', typ: 'JWT' }, claimsOf(alice), undefined, alice.token.split('.')[2])],
      ['alg NONE with an HS256 signature', () => forge({ alg: 'NONE' }, claimsOf(alice), secret())],
      ['RS256 signed with an attacker key pair', () => jwt.sign(claimsOf(alice), privateKey, { algorithm: 'RS256' })],
      ['RS256 header with an embedded attacker JWK', () => jwt.sign(claimsOf(alice), privateKey, { algorithm: 'RS256', header: { alg: 'RS256', jwk: publicKey.export({ format: 'jwk' }) } as never })],
      ['HS256 signed with a public key PEM as the secret', () => forge({ alg: 'HS256', typ: 'JWT' }, claimsOf(alice), publicPem)],
      ['HS256 with a jku pointing elsewhere, signed by the attacker', () => forge({ alg: 'HS256', jku: 'http://127.0.0.1:1/keys', kid: '../../dev/null' }, claimsOf(alice), 'attacker-secret')],
      ['HS512 with the real secret (algorithm not pinned)', () => jwt.sign(claimsOf(alice), secret(), { algorithm: 'HS512' })],
      ['the payload tampered to role admin, keeping the signature', () => {
        const [h, , s] = alice.token.split('.');
        return `${h}.${b64({ ...jwt.decode(alice.token) as object, role: 'admin' })}.${s}`;
      }],
      ['the payload tampered to another user, keeping the signature', () => {
        const [h, , s] = alice.token.split('.');
        return `${h}.${b64({ ...jwt.decode(alice.token) as object, sub: String(admin.id) })}.${s}`;
      }],
      ['the signature stripped', () => alice.token.split('.').slice(0, 2).join('.') + '.'],
      ['expired a minute ago', () => jwt.sign(claimsOf(alice, { iat: now() - 960, exp: now() - 60 }), secret(), { algorithm: 'HS256' })],
      ['not valid before a minute from now (nbf)', () => jwt.sign(claimsOf(alice, { nbf: now() + 60 }), secret(), { algorithm: 'HS256' })],
      ['a wrong issuer', () => jwt.sign(claimsOf(alice, { iss: 'evil' }), secret(), { algorithm: 'HS256' })],
      ['no issuer', () => jwt.sign({ ...claimsOf(alice), iss: undefined }, secret(), { algorithm: 'HS256' })],
      ['a wrong audience', () => jwt.sign(claimsOf(alice, { aud: 'other-api' }), secret(), { algorithm: 'HS256' })],
      ['an audience list without ours', () => jwt.sign(claimsOf(alice, { aud: ['a', 'b'] }), secret(), { algorithm: 'HS256' })],
      ['a refresh token used as access', () => t.gw.deps.tokens.sign({ id: alice.id, role: 'customer', username: alice.username }, 'refresh')],
      ['a non-numeric subject', () => jwt.sign(claimsOf(alice, { sub: '1 OR 1=1' }), secret(), { algorithm: 'HS256' })],
      ['a subject beyond 2^53', () => jwt.sign(claimsOf(alice, { sub: '9007199254740993' }), secret(), { algorithm: 'HS256' })],
      ['a user that has been deleted', async () => {
        const gone = await createUser();
        await User.query().deleteById(gone.id);
        return gone.token;
      }],
    ];

    for (const [what, make] of cases) {
      it(`when the token has ${what}, then a customer route and an admin route answer 401`, async () => {
        const token = await make();
        for (const res of [await t.api.get('/my-bookings', { token }), await t.api.post('/movies', { token, body: { title: 'Pwned', duration_minutes: 1 } })]) {
          expectCleanError(res, [401]);
          expect(res.body.error.code).to.equal('UNAUTHORIZED');
        }
      });
    }

    it('when the same claims are signed properly, then the route answers 200 (the cases above fail for their flaw alone)', async () => {
      const res = await t.api.get('/my-bookings', { token: jwt.sign(claimsOf(alice), secret(), { algorithm: 'HS256' }) });
      expect(res.status, res.text).to.equal(200);
    });
  });

  describe('other people\'s bookings and jobs', () => {
    let booked: { id: number; job: string; label: string };
    let held: { id: number; job: string; label: string };

    before(async () => {
      const show = await createShow({ total_seats: 40 });
      const one = await t.api.post(`/shows/${show.id}/book`, { token: alice.token, body: { seat_number: 7 } });
      const two = await t.api.post(`/shows/${show.id}/book`, { token: alice.token, body: { seat_number: 8, hold: true } });
      expect([one.status, two.status], one.text + two.text).to.deep.equal([201, 201]);
      booked = { id: one.body.result.bookings[0].id, job: one.body.id, label: one.body.result.bookings[0].seat_label };
      held = { id: two.body.result.bookings[0].id, job: two.body.id, label: two.body.result.bookings[0].seat_label };
    });

    it('when Bob cancels or confirms Alice\'s booking, then it answers 403 with nothing of hers, and her seats stay hers', async () => {
      for (const [action, target] of [['cancel', booked], ['confirm', held], ['cancel', held]] as const) {
        const res = await t.api.post(`/bookings/${target.id}/${action}`, { token: bob.token, headers: { prefer: 'respond-async' } });
        expectCleanError(res, [403]);
        expectNoDataOf(res, alice, [target.job, target.label]);
      }
      const rows = await testDb()('bookings').whereIn('id', [booked.id, held.id]).orderBy('id').select('status', 'user_id');
      expect(rows).to.deep.equal([{ status: 'booked', user_id: alice.id }, { status: 'held', user_id: alice.id }]);
    });

    it('when Bob reads Alice\'s finished job, or one still waiting on the queue, then it answers 404 with nothing of hers', async () => {
      const later = await createShow({ total_seats: 10, sales_open_at: new Date(Date.now() + 10 * 60_000) });
      const queued = await t.api.post(`/shows/${later.id}/book`, { token: alice.token, body: { seat_number: 3 } });
      expect(queued.status, queued.text).to.equal(202);
      for (const job of [booked.job, held.job, queued.body.id]) {
        const res = await t.api.get(`/jobs/${job}`, { token: bob.token });
        expectCleanError(res, [404]);
        expectNoDataOf(res, alice, [job]);
        expect((await t.api.get(`/jobs/${job}`, { token: alice.token })).status, 'the owner still sees it').to.equal(200);
      }
    });

    it('when Bob walks booking ids 1..50, then he cancels none of Alice\'s, learns nothing but 403/404, and is rate limited (429) past his budget', async () => {
      const statuses: number[] = [];
      for (let id = 1; id <= 50; id++) {
        const res = await t.api.post(`/bookings/${id}/cancel`, { token: bob.token, headers: { prefer: 'respond-async' } });
        expectCleanError(res, [403, 404, 429]);
        statuses.push(res.status);
      }
      expect(statuses.filter((s) => s === 429).length, 'requests past BOOK_RATE_LIMIT').to.be.at.least(50 - t.gw.deps.cfg.BOOK_RATE_LIMIT);
      const mine = await t.api.get('/my-bookings', { token: bob.token });
      expect(mine.body.items).to.deep.equal([]);
      const cancelled = await testDb()('bookings').where({ user_id: alice.id, status: 'cancelled' }).count('* as n').first();
      expect(Number(cancelled?.n)).to.equal(0);
    });
  });

  describe('admin routes', () => {
    const adminOps = listOperations().filter((o) => o.op['x-role'] === 'admin');

    it('when a customer calls each admin operation, even with a properly signed token claiming role admin, then it answers 403 and changes nothing', async () => {
      expect(adminOps.length).to.be.greaterThan(0);
      const show = await createShow();
      const forged = jwt.sign(claimsOf(alice, { role: 'admin' }), secret(), { algorithm: 'HS256' });
      const before = await testDb()('movies').count('* as n').first();
      for (const op of adminOps) {
        const path = op.path.replace('{id}', String(op.path.startsWith('/movies') ? show.movie_id : show.id));
        const body = op.method === 'delete' ? undefined : op.path.startsWith('/movies') ? { title: 'Mine now', duration_minutes: 5 } : { screen_name: 'Mine now' };
        for (const token of [alice.token, forged]) {
          const res = await t.api.request(op.method.toUpperCase(), path, { token, body });
          expectCleanError(res, [403]);
        }
      }
      expect(await testDb()('movies').count('* as n').first()).to.deep.equal(before);
      expect(await testDb()('shows').where({ id: show.id }).first('screen_name')).to.deep.equal({ screen_name: 'Screen 1' });
    });

    it('when signup carries role admin (mass assignment), then it answers 400 and no admin is created', async () => {
      const username = `mass_${Date.now()}`;
      const res = await t.api.post('/signup', { body: { username, email: `${username}@example.com`, password: 'long-enough-1', role: 'admin' } });
      expectCleanError(res, [400]);
      expect(await User.query().findOne({ username })).to.equal(undefined);
    });
  });
});
