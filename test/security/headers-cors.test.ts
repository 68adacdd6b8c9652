import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { createUser, TestUser } from '../support/fixtures';
import { stopTestGateway, TestGateway } from '../support/gateway';
import { startSecurityGateway } from './security-helpers';

/** Directive name -> its sources, from a Content-Security-Policy value. */
const directives = (csp: string) => new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...sources]) => [name, sources]));
/** How the policy must name where a page resource comes from. */
const sourceFor = (url: string) => (/^https?:/.test(url) ? new URL(url).origin : "'self'");

/** What every API answer carries (OWASP's REST Security Cheat Sheet, and a same-origin resource policy). */
const SECURITY_HEADERS: Record<string, RegExp> = {
  'content-security-policy': /^default-src 'none';.*frame-ancestors 'none'/,
  'x-content-type-options': /^nosniff$/,
  'x-frame-options': /^DENY$/,
  'strict-transport-security': /^max-age=\d+; includeSubDomains$/,
  'referrer-policy': /^no-referrer$/,
  'cross-origin-resource-policy': /^same-origin$/,
  'cache-control': /^no-store$/,
};
/** helmet's headers that only a rendered document uses: on HTML pages, not on JSON answers. */
const DOCUMENT_HEADERS: Record<string, RegExp> = {
  'cross-origin-opener-policy': /^same-origin$/,
  'origin-agent-cluster': /^\?1$/,
  'x-dns-prefetch-control': /^off$/,
  'x-download-options': /^noopen$/,
  'x-permitted-cross-domain-policies': /^none$/,
  'x-xss-protection': /^0$/,
};

describe('security headers and CORS', function () {
  this.timeout(30_000);
  let t: TestGateway;
  let customer: TestUser;

  before(async () => {
    [t, customer] = await Promise.all([startSecurityGateway(), createUser()]);
  });
  after(() => stopTestGateway(t));

  it('when any API answer is sent (success, 401, 404, 413), then it carries the API security headers, none of the document-only ones and no X-Powered-By', async () => {
    const answers = await Promise.all([
      t.api.get('/movies'), t.api.get('/my-bookings', { token: customer.token }), t.api.get('/my-bookings'), t.api.get('/no/such/route'),
      t.api.post('/login', { raw: JSON.stringify({ username: 'x'.repeat(20_000) }) }),
    ]);
    expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 401, 404, 413]);
    for (const res of answers) {
      for (const [name, pattern] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name) ?? '', `${name} on ${res.status}`).to.match(pattern);
      for (const name of Object.keys(DOCUMENT_HEADERS)) expect(res.headers.get(name), `${name} on ${res.status}`).to.equal(null);
      expect(res.headers.get('x-powered-by')).to.equal(null);
    }
  });

  it('when an HTML page is served (/docs), then it carries every security header, the document-only ones too', async () => {
    const page = await t.api.get('/docs');
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    for (const [name, pattern] of Object.entries({ ...SECURITY_HEADERS, ...DOCUMENT_HEADERS })) expect(page.headers.get(name) ?? '', name).to.match(pattern);
  });

  it('when /docs is loaded, then its policy allows what the Swagger UI page uses (its scripts and styles, its inline script by hash, calls to this origin) and nothing more', async () => {
    const page = await t.api.get('/docs');
    expect(page.status).to.equal(200);
    const html = page.text;
    const csp = directives(page.headers.get('content-security-policy')!);
    const scripts = csp.get('script-src')!;
    expect(scripts, 'no unsafe script sources').to.not.include.members(["'unsafe-inline'", "'unsafe-eval'", '*']);
    const external = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(external.length).to.be.greaterThan(0);
    expect(scripts.filter((s) => !s.startsWith("'sha256-")), 'script sources are the ones the page uses').to.have.members([...new Set(external.map(sourceFor))]);
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    for (const code of inline) expect(scripts).to.include(`'sha256-${createHash('sha256').update(code).digest('base64')}'`);
    for (const href of [...html.matchAll(/<link[^>]+href="([^"]+\.css[^"]*|https:\/\/fonts[^"]+)"/g)].map((m) => m[1])) expect(csp.get('style-src'), href).to.include(sourceFor(href));
    for (const src of external.filter((s) => !/^https?:/.test(s))) expect((await t.api.get(src)).status, `${src} is served`).to.equal(200);
    expect(csp.get('connect-src')).to.deep.equal(["'self'"]);
    expect(csp.get('frame-ancestors')).to.deep.equal(["'none'"]);
    expect(html).to.include('"url":"/openapi.json"');
    expect((await t.api.get('/openapi.json')).status, 'the spec the page loads').to.equal(200);
  });

  it('when the queue dashboard page is served to an admin, then it carries the security headers and a policy allowing only its own scripts', async () => {
    const admin = await createUser('admin');
    const page = await t.api.get('/admin/queues', { token: admin.token });
    expect(page.status, page.text.slice(0, 200)).to.equal(200);
    for (const name of ['x-content-type-options', 'x-frame-options', 'strict-transport-security', 'referrer-policy', 'cross-origin-opener-policy']) {
      expect(page.headers.get(name) ?? '', name).to.match({ ...SECURITY_HEADERS, ...DOCUMENT_HEADERS }[name]);
    }
    const csp = directives(page.headers.get('content-security-policy')!);
    const external = [...page.text.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]);
    expect(csp.get('script-src')).to.have.members([...new Set(external.map(sourceFor))]);
    expect(csp.get('connect-src')).to.deep.equal(["'self'"]);
  });

  describe('CORS', () => {
    const allowed = 'https://app.example.com';
    let cors: TestGateway;

    before(async () => {
      cors = await startSecurityGateway({ CORS_ORIGINS: `${allowed}, http://localhost:5173` });
    });
    after(() => stopTestGateway(cors));

    it('when an allowed origin calls, then the answer (also an error) names that origin, exposes Location and Retry-After, and allows no credentials', async () => {
      for (const res of [await cors.api.get('/movies', { headers: { origin: allowed } }), await cors.api.get('/my-bookings', { headers: { origin: allowed } })]) {
        expect(res.headers.get('access-control-allow-origin'), String(res.status)).to.equal(allowed);
        expect(res.headers.get('access-control-expose-headers')).to.include('Location').and.include('Retry-After');
        expect(res.headers.get('access-control-allow-credentials')).to.equal(null);
        expect(res.headers.get('vary')).to.include('Origin');
      }
    });

    it('when an allowed origin sends a preflight for a booking, then it answers 204 allowing the method and the headers', async () => {
      const res = await cors.api.request('OPTIONS', '/shows/1/book', {
        headers: { origin: allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key,prefer' },
      });
      expect(res.status).to.equal(204);
      expect(res.headers.get('access-control-allow-origin')).to.equal(allowed);
      expect(res.headers.get('access-control-allow-methods')).to.include('POST');
      for (const h of ['Authorization', 'Content-Type', 'Idempotency-Key', 'Prefer']) expect(res.headers.get('access-control-allow-headers')).to.include(h);
    });

    it('when another origin calls or sends a preflight, then no Access-Control-Allow-* header is sent', async () => {
      for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'null', 'http://app.example.com']) {
        const simple = await cors.api.get('/movies', { headers: { origin } });
        const preflight = await cors.api.request('OPTIONS', '/shows/1/book', { headers: { origin, 'access-control-request-method': 'POST' } });
        for (const res of [simple, preflight]) {
          expect(res.status, origin).to.be.below(500);
          expect(res.headers.get('access-control-allow-origin'), origin).to.equal(null);
          expect(res.headers.get('access-control-allow-methods'), origin).to.equal(null);
        }
      }
    });

    it('when CORS_ORIGINS is empty (the default), then no origin gets CORS headers', async () => {
      const res = await t.api.get('/movies', { headers: { origin: allowed } });
      expect(res.status).to.equal(200);
      expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });
});
