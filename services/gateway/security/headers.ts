import { createHash } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import helmet from 'koa-helmet';

/** The API answers JSON, text and SVG: nothing it serves may load or run anything, or be framed. */
const API_POLICY = {
  useDefaults: false as const,
  directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] },
};

/** The Swagger UI page loads its bundle and styles from this origin (/docs/assets) and its fonts from Google Fonts. */
const SWAGGER_ASSETS = "'self'";
const FONT_CSS = 'https://fonts.googleapis.com';
const FONT_FILES = 'https://fonts.gstatic.com';

const inlineScripts = (html: string) => [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The policy for the Swagger UI page: its bundle from /docs/assets, its one inline script allowed by
 * hash (not 'unsafe-inline'), inline styles (Swagger UI sets style attributes), and requests
 * only to this origin.
 */
export function docsPolicy(html: string): string {
  return [
    "default-src 'none'",
    `script-src ${[SWAGGER_ASSETS, ...inlineScripts(html).map(sha256)].join(' ')}`,
    `style-src ${SWAGGER_ASSETS} ${FONT_CSS} 'unsafe-inline'`,
    `font-src ${FONT_FILES} data:`,
    "img-src 'self' data: https:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Security headers on every answer (helmet: CSP, HSTS, nosniff, frame and referrer policies, ...),
 * `Cache-Control: no-store` unless a handler says otherwise, and the Swagger UI policy on /docs.
 */
export function securityHeaders(): Middleware[] {
  let docs: { html: string; policy: string } | undefined;
  const headers = helmet({ contentSecurityPolicy: API_POLICY, referrerPolicy: { policy: 'no-referrer' }, xFrameOptions: { action: 'deny' } });
  const noStore: Middleware = async (ctx: Context, next: Next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
    if (ctx.path === '/docs' && ctx.status === 200 && typeof ctx.body === 'string') {
      if (docs?.html !== ctx.body) docs = { html: ctx.body, policy: docsPolicy(ctx.body) };
      ctx.set('Content-Security-Policy', docs.policy);
    }
  };
  return [headers, noStore];
}
