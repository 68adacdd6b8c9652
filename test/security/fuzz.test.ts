import { expect } from 'chai';
import fc, { Arbitrary } from 'fast-check';
import jwt from 'jsonwebtoken';
import { config } from '../../shared/config';
import { listOperations, loadSpec, Operation, resolveRef } from '../../shared/openapi';
import { expectMatchesSpec } from '../support/contract';
import { createShow, createUser, TEST_PASSWORD, TestUser } from '../support/fixtures';
import { TestGateway } from '../support/gateway';
import { expectNoLeak, stopAndForgetRateLimits, startSecurityGateway, suiteWorker } from './security-helpers';
import { arbitraryFor, BodyMutation, Hints, mutatedBody } from './spec-arbitraries';

/** Fixed seed and run counts: the same requests every time, about 1,500 of them. */
const SEED = 0x5ec0_2026;
const RUNS: Record<string, number> = {
  signup: 10, login: 12, refreshToken: 40, bookSeats: 250, cancelBooking: 100, confirmBooking: 100, getJob: 100, createShow: 100, updateShow: 100,
  createMovie: 80, updateMovie: 80, deleteMovie: 40, deleteShow: 40, healthz: 10, readyz: 10, metrics: 10, openapiJson: 10, docs: 10,
};
const DEFAULT_RUNS = 60;
const REQUEST_TIMEOUT_MS = 20_000;

interface FuzzRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: BodyMutation;
}

interface Pools {
  customers: TestUser[];
  admin: TestUser;
  movieIds: number[];
  showIds: number[];
  bookingIds: number[];
  jobIds: string[];
  refreshTokens: string[];
}

const printable = (max: number) => fc.string({ maxLength: max, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }).map((s) => s.trim());
/** `arb` one time in `n`, otherwise undefined. */
const rarely = <T>(arb: Arbitrary<T>, n: number): Arbitrary<T | undefined> => fc.oneof({ weight: n - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const ID_EDGES = ['0', '-1', '1.5', '1e3', '0x10', '2147483648', '9007199254740993', '99999999999999999999', 'null', '%00', '%ff', ' 1'];

function pathIdArb(op: Operation, pools: Pools): Arbitrary<string> {
  if (op.path.startsWith('/jobs')) {
    return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...pools.jobIds) }, fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/), fc.constantFrom('1-x', '0-x', `${2 ** 40}-x`, 'x'.repeat(81)))
      .map(encodeURIComponent);
  }
  const known = op.path.startsWith('/movies') ? pools.movieIds : op.path.startsWith('/bookings') ? pools.bookingIds : pools.showIds;
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known).map(String) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 2 ** 31 - 1 }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom(...ID_EDGES) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s !== '.' && s !== '..').map(encodeURIComponent) },
  );
}

function queryArb(op: Operation): Arbitrary<string> {
  const params = op.parameters.filter((p) => p.in === 'query');
  const fields = params.map((p) => fc.option(fc.oneof({ weight: 3, arbitrary: arbitraryFor(p.schema).map(String) }, printable(30)), { nil: undefined }).map((v) => [p.name, v] as const));
  const extra = rarely(fc.tuple(fc.stringMatching(/^[a-z_]{1,8}$/), printable(10)), 10);
  return fc.tuple(fc.tuple(...fields), extra).map(([pairs, more]) => {
    const q = new URLSearchParams();
    for (const [k, v] of pairs) if (v !== undefined) q.append(k, v);
    if (more) q.append(more[0], more[1]);
    const s = q.toString();
    return s ? `?${s}` : '';
  });
}

function headersArb(op: Operation, tokens: Arbitrary<string | undefined>): Arbitrary<Record<string, string>> {
  const names = op.parameters.filter((p) => p.in === 'header').map((p) => p.name.toLowerCase());
  const prefer = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('respond-async', 'wait=0', 'wait=1', 'respond-async, wait=2', 'wait=abc', 'handling=strict') }, printable(300));
  const key = fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[\x21-\x7E]{1,128}$/) }, printable(200));
  return fc.record({
    token: tokens,
    prefer: names.includes('prefer') ? fc.option(prefer, { nil: undefined }) : fc.constant(undefined),
    key: names.includes('idempotency-key') ? fc.option(key, { nil: undefined }) : fc.constant(undefined),
  }).map(({ token, prefer: p, key: k }) => {
    const h: Record<string, string> = {};
    if (token !== undefined) h.authorization = token;
    if (p) h.prefer = p;
    if (k) h['idempotency-key'] = k;
    return h;
  });
}

function tokenArb(op: Operation, pools: Pools): Arbitrary<string | undefined> {
  const cfg = config();
  const bearer = (u: TestUser) => `Bearer ${u.token}`;
  const expired = `Bearer ${jwt.sign({ sub: String(pools.admin.id), typ: 'access', role: 'admin', iat: 1, exp: 2 }, cfg.JWT_SECRET, { issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE })}`;
  const bad = fc.constantFrom<string | undefined>(undefined, 'Bearer garbage', expired, `Bearer ${pools.refreshTokens[0]}`, 'Basic YWRtaW46eA==');
  const right = op.op['x-role'] === 'admin' ? fc.constant(bearer(pools.admin)) : fc.constantFrom(...pools.customers.map(bearer), bearer(pools.admin));
  const wrongRole = fc.constantFrom(...pools.customers.map(bearer));
  if (!op.op.security?.length) return fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, right, bad);
  return fc.oneof({ weight: 16, arbitrary: right }, { weight: 2, arbitrary: wrongRole }, { weight: 2, arbitrary: bad });
}

function bodyArb(op: Operation, hints: Hints): Arbitrary<BodyMutation | undefined> {
  const schema = op.op.requestBody?.content?.['application/json']?.schema;
  if (op.method === 'get') return fc.constant(undefined);
  if (!schema) return rarely(mutatedBody({ type: 'object', properties: {} }), 8);
  const valid = arbitraryFor(schema, undefined, hints).map((value): BodyMutation => ({ kind: 'json', value }));
  const weight = op.operationId === 'signup' ? 1 : 3;
  return fc.oneof({ weight, arbitrary: valid }, { weight: 2, arbitrary: mutatedBody(schema, undefined, hints) });
}

/** Requests for one operation: valid-ish parameters and bodies from its schemas, and mutations of them. */
function requestArb(op: Operation, pools: Pools, hints: Hints): Arbitrary<FuzzRequest> {
  return fc.record({ id: pathIdArb(op, pools), query: queryArb(op), headers: headersArb(op, tokenArb(op, pools)), body: bodyArb(op, hints) })
    .map(({ id, query, headers, body }) => ({ method: op.method.toUpperCase(), path: op.path.replace('{id}', id), query, headers, body }));
}

describe('fuzz: requests generated from the OpenAPI schemas, against the running app', function () {
  this.timeout(120_000);
  suiteWorker();
  let t: TestGateway;
  let pools: Pools;
  let hints: Hints;
  const tally = { requests: 0, fiveXX: 0, statuses: new Map<number, number>() };

  async function send(req: FuzzRequest) {
    const headers: Record<string, string> = { 'x-forwarded-for': '10.99.0.1', ...req.headers };
    let payload: string | undefined;
    if (req.body?.kind === 'json') {
      payload = JSON.stringify(req.body.value);
      headers['content-type'] = 'application/json';
    } else if (req.body?.kind === 'raw') {
      payload = req.body.text;
      headers['content-type'] = req.body.contentType ?? 'application/json';
    }
    const res = await fetch(`${t.url}${req.path}${req.query}`, { method: req.method, headers, body: payload, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    let body: unknown = text || undefined;
    try { body = text ? JSON.parse(text) : undefined; } catch { /* text, svg, html */ }
    tally.requests += 1;
    tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) tally.fiveXX += 1;
    return { status: res.status, text, body, type: (res.headers.get('content-type') ?? '').split(';')[0] };
  }

  before(async () => {
    t = await startSecurityGateway({ BOOK_RATE_LIMIT: 1000, LOGIN_MAX_FAILURES_PER_USER: 2, LOGIN_MAX_FAILURES_PER_IP: 4 });
    const [customers, admin, other] = await Promise.all([Promise.all([createUser(), createUser(), createUser()]), createUser('admin'), createUser()]);
    const open = await createShow({ total_seats: 1000, max_seats_per_user: 100 });
    const waiting = await createShow({ total_seats: 50, sales_open_at: new Date(Date.now() + 10 * 60_000) });
    const started = await createShow({ total_seats: 50, date_time: new Date(Date.now() - 60_000) });
    const early = await createShow({ total_seats: 50, sales_open_at: new Date(Date.now() + 30 * 24 * 3600_000) });
    const booked: { id: number; job: string }[] = [];
    for (const [user, body] of [[customers[0], { seat_numbers: [1, 2] }], [customers[0], { seat_number: 3, hold: true }], [other, { seat_number: 4 }], [other, { quantity: 2, hold: true }]] as const) {
      const res = await t.api.post(`/shows/${open.id}/book`, { token: user.token, body });
      expect(res.status, res.text).to.equal(201);
      for (const b of res.body.result.bookings) booked.push({ id: b.id, job: res.body.id });
    }
    const queued = await t.api.post(`/shows/${waiting.id}/book`, { token: customers[1].token, body: { seat_number: 1 } });
    const login = await t.api.post('/login', { body: { username: customers[2].username, password: TEST_PASSWORD } });
    pools = {
      customers, admin,
      movieIds: [open.movie_id, waiting.movie_id, started.movie_id, early.movie_id],
      showIds: [open.id, waiting.id, started.id, early.id],
      bookingIds: booked.map((b) => b.id),
      jobIds: [...new Set([...booked.map((b) => b.job), queued.body.id])],
      refreshTokens: [login.body.refresh],
    };
    const usernames = [...customers, admin, other].map((u) => u.username);
    hints = {
      username: fc.constantFrom(...usernames),
      password: fc.constantFrom(TEST_PASSWORD, 'wrong-password-1', 'wrong-password-2'),
      refresh: fc.constantFrom(...pools.refreshTokens, customers[0].token),
      movie_id: fc.constantFrom(...pools.movieIds),
      seat_number: fc.integer({ min: 1, max: 1100 }),
      seat_numbers: fc.uniqueArray(fc.integer({ min: 1, max: 1100 }), { minLength: 1, maxLength: 4 }),
    };
  });
  after(() => stopAndForgetRateLimits(t));

  for (const [index, op] of listOperations().entries()) {
    const documented = Object.keys(op.op.responses ?? {}).map(Number);
    it(`when ${RUNS[op.operationId] ?? DEFAULT_RUNS} generated requests hit ${op.method.toUpperCase()} ${op.path}, then every status is documented (${documented.join('/')}) and every body matches the spec`, async () => {
      await fc.assert(fc.asyncProperty(requestArb(op, pools, hints), async (req) => {
        const res = await send(req);
        const what = `${req.method} ${req.path}${req.query} ${JSON.stringify(req.body ?? null).slice(0, 300)} -> ${res.status} ${res.text.slice(0, 300)}`;
        expect(documented, `undocumented status: ${what}`).to.include(res.status);
        expect(res.status, `server error: ${what}`).to.be.below(500);
        const media = Object.keys(resolveRef(loadSpec(), op.op.responses[String(res.status)])?.content ?? {});
        if (media.length) expect(media, `undocumented content type ${res.type}: ${what}`).to.include(res.type);
        if (res.type === 'application/json' || !media.length) expectMatchesSpec(op.operationId, res.status, res.body);
        expectNoLeak(res.text, what);
      }), { seed: SEED + index, numRuns: RUNS[op.operationId] ?? DEFAULT_RUNS, endOnFailure: true });
    });
  }

  it('when the fuzzing is over, then no request got a 5xx (the tally is printed)', () => {
    const statuses = [...tally.statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
    console.log(`      fuzz: ${tally.requests} requests over ${listOperations().length} operations (seed ${SEED}); 5xx: ${tally.fiveXX}; statuses ${statuses}`);
    expect(tally.requests).to.be.greaterThan(1000);
    expect(tally.fiveXX).to.equal(0);
  });
});
