import cors from '@koa/cors';
import type { Context, Middleware } from 'koa';
import type { Config } from '../../../shared/config';

/** Request headers a browser client may send, and response headers it may read. */
const ALLOW_HEADERS = ['Authorization', 'Content-Type', 'Prefer', 'Idempotency-Key', 'X-Request-Id'];
const EXPOSE_HEADERS = ['Location', 'Retry-After', 'X-Request-Id'];

/** The origins in CORS_ORIGINS (comma-separated; `*` allows any origin). */
export function allowedOrigins(cfg: Pick<Config, 'CORS_ORIGINS'>): Set<string> {
  return new Set(cfg.CORS_ORIGINS.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean));
}

/**
 * CORS for the origins in CORS_ORIGINS only; none when it is empty. Other origins get no
 * Access-Control-* headers, so browsers keep their pages from reading the answers. Tokens travel
 * in the Authorization header, never in cookies, so credentials are not allowed.
 */
export function corsPolicy(cfg: Pick<Config, 'CORS_ORIGINS'>): Middleware | undefined {
  const origins = allowedOrigins(cfg);
  if (origins.size === 0) return undefined;
  const any = origins.has('*');
  return cors({
    origin: (ctx: Context) => (any ? '*' : origins.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    allowMethods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowHeaders: ALLOW_HEADERS,
    exposeHeaders: EXPOSE_HEADERS,
    credentials: false,
    maxAge: 600,
  });
}
