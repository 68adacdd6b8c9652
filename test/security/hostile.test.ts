import { expect } from 'chai';
import { Show } from '../../shared/db/models';
import { createShow, createUser, TestUser } from '../support/fixtures';
import { testDb, TestGateway } from '../support/gateway';
import { expectCleanError, expectNoLeak, stopAndForgetRateLimits, randomIp, rawHttp, startSecurityGateway, suiteWorker } from './security-helpers';

const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);
const nestedObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('hostile input: no 5xx, no hang, no stack trace', function () {
  this.timeout(30_000);
  suiteWorker();
  let t: TestGateway;
  let customer: TestUser;
  let admin: TestUser;
  let show: Show;
  const ip = randomIp();
  const post = (path: string, opts: { token?: string; raw?: string; body?: unknown; headers?: Record<string, string> }) =>
    t.api.post(path, { ...opts, headers: { 'x-forwarded-for': ip, ...(opts.headers ?? {}) } });

  before(async () => {
    [t, customer, admin, show] = await Promise.all([startSecurityGateway(), createUser(), createUser('admin'), createShow({ total_seats: 100 })]);
  });
  after(() => stopAndForgetRateLimits(t));

  describe('bodies', () => {
    const MALFORMED = ['{', '{"username":}', '[1,]', "{'a':1}", 'NaN', '"just a string"', '12', 'null', '{"a":1}{"b":2}', '\u0000', '\ufeff{"a":1}', '{"a":"\\ud800"', '{"a":1e999999'];

    it('when the JSON is malformed, then every JSON route answers 400 in the error shape', async () => {
      const routes: [string, string?][] = [['/login'], ['/signup'], [`/shows/${show.id}/book`, customer.token], ['/movies', admin.token]];
      for (const [path, token] of routes) {
        for (const raw of MALFORMED) {
          const res = await post(path, { token, raw });
          expectCleanError(res, [400]);
        }
      }
    });

    it('when the body is not JSON, then it answers 415', async () => {
      const types = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'image/png', 'application/json-seq'];
      for (const type of types) {
        const res = await post('/login', { raw: 'username=a&password=b', headers: { 'content-type': type } });
        expectCleanError(res, [415]);
      }
      const zipped = await post('/login', { raw: '{"username":"a"}', headers: { 'content-encoding': 'compress' } });
      expectCleanError(zipped, [415]);
    });

    it('when a body has no content type, then it answers 415, and when there is no body at all, 400', async () => {
      const raw = await rawHttp(t.gw.port, 'POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
      expectCleanError(raw, [415]);
      const empty = await rawHttp(t.gw.port, 'POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      expectCleanError(empty, [400]);
    });

    it('when a body is over BODY_LIMIT (16kb), then it answers 413, also when its Content-Length lies or it comes chunked', async () => {
      const big = JSON.stringify({ username: 'a'.repeat(17 * 1024), password: 'x' });
      expectCleanError(await post('/login', { raw: big }), [413]);
      expectCleanError(await post('/login', { raw: JSON.stringify({ username: 'a'.repeat(1024 * 1024), password: 'x' }) }), [413]);
      for (const length of ['100000', '1000000000000', '9007199254740993']) {
        const lying = await rawHttp(t.gw.port, `POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"a":1}`);
        expectCleanError(lying, [413]);
      }
      const chunk = 'a'.repeat(8192);
      const chunked = `POST /signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${
        Array.from({ length: 4 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('')}0\r\n\r\n`;
      expectCleanError(await rawHttp(t.gw.port, chunked), [413]);
    });

    it('when JSON is nested 8,000 deep within the limit, then it answers 400; 100,000 deep (over the limit), 413', async () => {
      const deepArrays = nested(8000);
      expect(deepArrays.length).to.be.below(16 * 1024);
      expectCleanError(await post(`/shows/${show.id}/book`, { token: customer.token, raw: `{"seat_numbers":${deepArrays}}` }), [400]);
      expectCleanError(await post('/login', { raw: deepArrays }), [400]);
      expectCleanError(await post('/movies', { token: admin.token, raw: nestedObject(2700) }), [400]);
      expectCleanError(await post('/login', { raw: nested(100_000) }), [413]);
    });

    it('when a body carries __proto__ or constructor.prototype keys (prototype pollution), then it answers 400 and nothing is polluted', async () => {
      const bodies = ['{"__proto__":{"polluted":true},"username":"a","password":"b"}', '{"constructor":{"prototype":{"polluted":true}},"username":"a","password":"b"}',
        `{"seat_numbers":${nested(3000, '{"__proto__":{"polluted":true}}')}}`];
      for (const raw of bodies) expectCleanError(await post('/login', { raw }), [400]);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });
  });

  describe('seat numbers', () => {
    const BAD_SEATS = ['1e308', '18446744073709551616', '1e400', '-1', '0', '-0.5', '1.5', '100001', '"5"', '"1; DROP TABLE bookings"', 'null', 'true', '[1]', '{}', '[]'];

    it('when seat_number, seat_numbers or quantity is huge, negative, fractional, a string, null or an array, then it answers 400 and nothing is queued', async () => {
      for (const v of BAD_SEATS) {
        const bodies = [`{"seat_number":${v}}`, `{"seat_numbers":[${v}]}`, `{"quantity":${v}}`, ...(v === '[1]' ? [] : [`{"seat_numbers":${v}}`])];
        for (const raw of bodies) {
          const res = await post(`/shows/${show.id}/book`, { token: customer.token, raw });
          expectCleanError(res, [400]);
        }
      }
      for (const raw of ['{"seat_number":1,"seat_numbers":[2]}', '{"seat_numbers":[3,3]}', '{"seat_numbers":[1,2,3,4,5,6,7,8,9,10,11]}', '{"quantity":2,"hold":"yes"}', '{}']) {
        expectCleanError(await post(`/shows/${show.id}/book`, { token: customer.token, raw }), [400]);
      }
      const depth = await t.gw.deps.queues.queue(show.id).count();
      expect(depth, 'nothing reached the queue').to.equal(0);
    });

    it('when a seat number is within the schema but beyond the show, then it answers 400 naming it', async () => {
      const res = await post(`/shows/${show.id}/book`, { token: customer.token, body: { seat_numbers: [5, 100000] } });
      expectCleanError(res, [400]);
      expect(res.body.error.details).to.deep.equal({ seats: [100000] });
    });
  });

  describe('path ids', () => {
    const IDS = ['abc', '99999999999999999999', '-1', '0', '1.5', '2147483648', '1e400', '%20', '%00', '%ff', '%c0%ae%c0%ae', '..%2f..%2fetc%2fpasswd', "1'%20OR%20'1'%3D'1", '%F0%9F%8E%AC', 'x'.repeat(5000)];

    it('when a show, movie or booking id is not a positive 32-bit integer, then it answers 400 (or 404), never 5xx', async () => {
      for (const id of IDS) {
        for (const [method, path, token] of [['GET', `/shows/${id}`], ['GET', `/shows/${id}/seats`], ['GET', `/movies/${id}`], ['GET', `/movies/${id}/shows`],
          ['POST', `/shows/${id}/book`, customer.token], ['POST', `/bookings/${id}/cancel`, customer.token], ['DELETE', `/shows/${id}`, admin.token]] as const) {
          const res = await t.api.request(method, path, { token, body: method === 'POST' ? { seat_number: 1 } : undefined });
          expectCleanError(res, [400, 404]);
        }
      }
    });

    it('when a job id is weird, then GET /jobs/:id answers 400 or 404, never 5xx', async () => {
      const jobIds = [...IDS, '1-x', '0-x', '99999999999999999999-x', '2147483648-x', '1-' + 'a'.repeat(78), '1-' + 'a'.repeat(79), '-', '1--', 'k', '1-k%27'];
      for (const id of jobIds) {
        const res = await t.api.get(`/jobs/${id}`, { token: customer.token });
        expectCleanError(res, [400, 404]);
      }
    });

    it('when a query parameter is out of range, repeated or unknown, then it answers 400', async () => {
      for (const q of ['limit=abc', 'limit=0', 'limit=101', 'limit=1e400', 'offset=-1', 'limit=1&limit=2', 'format=pdf', 'extra=1', 'limit[]=1']) {
        const path = q.startsWith('format') ? `/shows/${show.id}/seats?${q}` : `/movies?${q}`;
        expectCleanError(await t.api.get(path), [400]);
      }
    });
  });

  describe('strings', () => {
    const SQLISH = ["' OR '1'='1", "x'); DROP TABLE users; --", '1; SELECT pg_sleep(10)', '$$; DELETE FROM shows; $$', '\\x00', '%s%s%s%n'];
    const UNICODE = ['Zoë 🎬 Ünïcödé', '\u202Egnp.exe', 'zero\u200bwidth', '𝕳𝖊𝖑𝖑𝖔', '\ud83d', 'ﷺ'.repeat(50), '日本語のタイトル'];

    it('when signup gets SQL-looking or unicode usernames, then it answers 400 by the username pattern and creates no user', async () => {
      const before = await testDb()('users').count('* as n').first();
      for (const name of [...SQLISH, ...UNICODE]) {
        const res = await post('/signup', { body: { username: name, email: 'a@example.com', password: 'long-enough-1' } });
        expectCleanError(res, [400]);
      }
      const after = await testDb()('users').count('* as n').first();
      expect(after?.n).to.equal(before?.n);
    });

    it('when login gets SQL-looking or unicode credentials, then it answers 401 (or 400 for a NUL byte)', async () => {
      const tries = [SQLISH[0], SQLISH[1], UNICODE[0], UNICODE[1]].map((s) => post('/login', { body: { username: s, password: s }, headers: { 'x-forwarded-for': randomIp() } }));
      for (const res of await Promise.all(tries)) expectCleanError(res, [401]);
      expectCleanError(await post('/login', { body: { username: 'a\u0000b', password: 'x' }, headers: { 'x-forwarded-for': randomIp() } }), [400]);
    });

    it('when a movie title is SQL-looking or unicode, then it is stored exactly as sent; with a NUL byte it answers 400', async () => {
      for (const title of [...SQLISH, ...UNICODE.filter((u) => u !== '\ud83d')]) {
        const res = await post('/movies', { token: admin.token, body: { title, duration_minutes: 90, description: title } });
        expect(res.status, res.text).to.equal(201);
        expect(res.body.title).to.equal(title);
        expectNoLeak(res.text);
      }
      expectCleanError(await post('/movies', { token: admin.token, body: { title: 'nul\u0000byte', duration_minutes: 90 } }), [400]);
      const lone = await post('/movies', { token: admin.token, body: { title: 'lone \ud83d surrogate', duration_minutes: 90 } });
      expect(lone.status, lone.text).to.be.oneOf([201, 400]);
      expectNoLeak(lone.text);
      const users = await testDb()('users').count('* as n').first();
      expect(Number(users?.n)).to.be.greaterThan(0);
    });
  });

  describe('headers', () => {
    const book = (headers: Record<string, string>) => post(`/shows/${show.id}/book`, { token: customer.token, body: { quantity: 1 }, headers });

    it('when Prefer or Idempotency-Key is 10 KB long, then it answers 400', async () => {
      expectCleanError(await book({ prefer: `wait=1, ${'x'.repeat(10 * 1024)}` }), [400]);
      expectCleanError(await book({ 'idempotency-key': 'k'.repeat(10 * 1024) }), [400]);
    });

    it('when a header is 100 KB long (over Node\'s 16 KB header limit), then it answers 431 in the error shape and closes', async () => {
      for (const header of ['Prefer', 'Idempotency-Key', 'Authorization', 'X-Anything']) {
        const res = await rawHttp(t.gw.port, `POST /shows/${show.id}/book HTTP/1.1\r\nHost: x\r\n${header}: ${'y'.repeat(100 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`);
        expectCleanError(res, [431]);
        expect(res.headers.connection).to.equal('close');
      }
      const longUrl = await rawHttp(t.gw.port, `GET /shows/${'9'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expectCleanError(longUrl, [431]);
    });

    it('when Idempotency-Key has spaces, control or non-ASCII characters, then it answers 400', async () => {
      for (const key of ['has space', 'tab\there', 'caf\u00e9', 'mid\u00a0nbsp']) {
        const res = await rawHttp(t.gw.port, Buffer.from(`POST /shows/${show.id}/book HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${customer.token}\r\n`
          + `Content-Type: application/json\r\nIdempotency-Key: ${key}\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{"quantity":1}`, 'latin1'));
        expectCleanError(res, [400]);
      }
      const control = await rawHttp(t.gw.port, `POST /shows/${show.id}/book HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\u0001b\r\nContent-Length: 0\r\n\r\n`);
      expectCleanError(control, [400]);
    });

    it('when the Authorization header is junk, then it answers 401', async () => {
      for (const auth of [`Bearer ${'x'.repeat(10 * 1024)}`, 'Bearer', 'Basic YWRtaW46YWRtaW4=', `Bearer ${customer.token}.x`, 'Bearer a.b.c', 'Bearer ..', "Bearer ' OR 1=1"]) {
        expectCleanError(await t.api.get('/my-bookings', { headers: { authorization: auth } }), [401]);
      }
    });

    it('when X-Request-Id is hostile, then the gateway uses its own id instead', async () => {
      const res = await t.api.get('/healthz', { headers: { 'x-request-id': '<script>alert(1)</script>' } });
      expect(res.status).to.equal(200);
      expect(res.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    });
  });

  describe('protocol', () => {
    it('when the method is unknown to HTTP or to the route, then it answers 400 or 405 in the error shape', async () => {
      expectCleanError(await rawHttp(t.gw.port, 'FOO /movies HTTP/1.1\r\nHost: x\r\n\r\n'), [400]);
      expectCleanError(await t.api.request('PUT', '/movies', { body: {} }), [405]);
      expectCleanError(await t.api.request('DELETE', '/login'), [405]);
    });

    it('when the request line or a header is malformed, then it answers 400 in the error shape', async () => {
      for (const raw of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /movies HTTP/1.1\r\nBad Header\r\n\r\n', 'GET /movies HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
        'POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']) {
        expectCleanError(await rawHttp(t.gw.port, raw), [400]);
      }
    });
  });
});
