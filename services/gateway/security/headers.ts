import { createHash } from 'node:crypto';
import { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Context } from 'koa';
import helmet from 'koa-helmet';
import type { EdgeStep } from '../http/edge.middleware';

/** The API answers JSON, text and SVG: nothing it serves may load or run anything, or be framed. */
const API_POLICY = {
  useDefaults: false as const,
  directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] },
};

/** How a CSP names where `url` comes from: `'self'` for this origin, else the URL's origin. */
export function sourceOf(url: string): string {
  return /^https?:\/\//i.test(url) ? new URL(url).origin : "'self'";
}

const unique = (xs: string[]) => [...new Set(xs)];
const captured = (html: string, re: RegExp) => [...html.matchAll(re)].map((m) => m[1]);
const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The policy for an HTML page the gateway serves (Swagger UI at /docs, the queue dashboard),
 * derived from the page itself: scripts and stylesheets only from where it loads them, its inline
 * scripts by hash (never 'unsafe-inline' for scripts), inline styles (Swagger UI sets style
 * attributes), Google Fonts when the page links them, and requests only to this origin.
 */
export function pagePolicy(html: string): string {
  const scripts = captured(html, /<script[^>]*\ssrc="([^"]+)"/g).map(sourceOf);
  const inline = captured(html, /<script>([\s\S]*?)<\/script>/g).map(sha256);
  const styles = captured(html, /<link[^>]*\shref="([^"]+)"[^>]*>/g).filter((href) => !/\.(png|ico|svg)$/i.test(href)).map(sourceOf);
  const fonts = styles.includes('https://fonts.googleapis.com') ? ['https://fonts.gstatic.com'] : [];
  return [
    "default-src 'none'",
    `script-src ${unique([...scripts, ...inline]).join(' ')}`,
    `style-src ${unique([...styles, "'unsafe-inline'"]).join(' ')}`,
    `font-src ${unique(["'self'", ...fonts, 'data:']).join(' ')}`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * helmet's headers that only mean something to a browser rendering a document: a JSON answer
 * gets none of them (OWASP's REST Security Cheat Sheet lists what an API answer needs; these are
 * not in it). Each is a few dozen bytes that every client would otherwise parse on every answer.
 */
const DOCUMENT_ONLY = {
  crossOriginOpenerPolicy: false, originAgentCluster: false, xDnsPrefetchControl: false, xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false, xXssProtection: false,
} as const;

/**
 * The headers helmet sets with these options. They are the same for every answer (no nonces), so
 * they are captured once (helmet sets them synchronously) and copied onto each answer, which costs
 * about half as much as running helmet's middleware chain per request.
 */
export function helmetHeaders(kind: 'api' | 'document'): [string, OutgoingHttpHeader][] {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  const run = helmet({
    contentSecurityPolicy: API_POLICY, referrerPolicy: { policy: 'no-referrer' }, xFrameOptions: { action: 'deny' }, ...(kind === 'api' ? DOCUMENT_ONLY : {}),
  });
  void run({ req: res.req, res } as unknown as Context, async () => undefined);
  const headers = Object.entries(res.getHeaders()).filter((e): e is [string, OutgoingHttpHeader] => e[1] !== undefined);
  if (!headers.some(([name]) => name === 'content-security-policy')) throw new Error('helmet did not set its headers synchronously');
  return [...headers, ['cache-control', 'no-store']];
}

/**
 * Security headers on every answer, from helmet: on an API answer (JSON, the spec, Swagger UI's
 * assets) the ones OWASP lists for APIs (CSP `default-src 'none'; frame-ancestors 'none'`, HSTS,
 * nosniff, X-Frame-Options, no referrer, same-origin resource policy); on an HTML page (Swagger
 * UI at /docs, the queue dashboard) helmet's whole set with a policy that allows exactly what the
 * page loads. `Cache-Control: no-store` unless a handler says otherwise. They are set when the
 * answer is ready (also when a handler threw: the edge renders the error first), so a caller
 * awaiting a later answer does not hold them while it waits.
 */
export function securityHeaders(): EdgeStep {
  const api = helmetHeaders('api');
  const document = helmetHeaders('document');
  const policies = new Map<string, string>();
  const put = (ctx: Context, headers: [string, OutgoingHttpHeader][]) => {
    for (let i = 0; i < headers.length; i++) {
      const name = headers[i][0];
      if (name !== 'cache-control' || !ctx.res.hasHeader(name)) ctx.res.setHeader(name, headers[i][1]);
    }
  };
  const apply = (ctx: Context) => {
    if (ctx.res.headersSent) return;
    if (ctx.status === 200 && typeof ctx.body === 'string' && ctx.response.is('html')) {
      put(ctx, document);
      let policy = policies.get(ctx.body);
      if (!policy) {
        if (policies.size >= 16) policies.clear();
        policy = pagePolicy(ctx.body);
        policies.set(ctx.body, policy);
      }
      ctx.set('Content-Security-Policy', policy);
      return;
    }
    put(ctx, api);
  };
  return { beforeAnswer: apply };
}
